"""The hook the kit writes into a server's venv: one .pth line that serves the start from its bundle where
the image has one and the runtime, and is silent where it has neither."""

import shlex
import subprocess
import sys
from pathlib import Path

from kit.image import start_bundle
from kit.image.dockerfile import render_dockerfile
from kit.project.servers import load_server


def test_the_build_stage_writes_the_hook_as_one_line_the_shell_passes_untouched_then_records(
    project: Path,
) -> None:
    write, record = start_bundle.build_stage_commands().split(" && ", 1)
    python, flag, script, hook = shlex.split(write)
    assert (python, flag, hook) == ("/opt/venv/bin/python", "-c", start_bundle.HOOK)
    assert start_bundle.NAME in script and "\n" not in start_bundle.HOOK, "site runs a .pth file line by line"
    assert "-m mcpkit_runtime.start_record dependencies" in record and "\n" not in record
    dockerfile = render_dockerfile(load_server(project / "servers" / "analyst"))
    assert f" && {start_bundle.build_stage_commands()} \\\n" in dockerfile


def _site_with_hook(tmp_path: Path, python_flags: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / start_bundle.NAME).write_text(start_bundle.HOOK + "\n")
    code = f"import site, sys; site.addsitedir({str(tmp_path)!r}); print([type(f).__name__ for f in sys.meta_path])"
    return subprocess.run(
        [sys.executable, *python_flags, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )


def test_the_hook_runs_the_runtime_s_install_which_finds_no_bundle_here(tmp_path: Path) -> None:
    done = _site_with_hook(tmp_path, [])
    assert "StartBundleFinder" not in done.stdout and done.stderr == ""
    assert "mcpkit_runtime.start_bundle" in _site_with_hook(tmp_path, ["-X", "importtime"]).stderr


def test_without_the_runtime_the_hook_does_nothing_and_says_nothing(tmp_path: Path) -> None:
    # No site: the venv, and the runtime in it, are not on the path.
    done = _site_with_hook(tmp_path, ["-S", "-I"])
    assert done.stderr == "" and "StartBundleFinder" not in done.stdout
