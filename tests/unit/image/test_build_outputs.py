"""The build commands' output, kept for the next code change while what they read stays the same."""

import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from kit.errors import KitError
from kit.image import build_outputs, code_layer
from kit.project.servers import Server, ServerDeclaration, load_server
from kit.project.settings import Settings


def _analyst(project: Path, **update: object) -> Server:
    analyst = load_server(project / "servers" / "analyst")
    return analyst.model_copy(update={"declaration": analyst.declaration.model_copy(update=update)})


def _key(analyst: Server, dependencies: str = "sha256:deps") -> str | None:
    assert analyst.path is not None
    return build_outputs.key(analyst, analyst.path, dependencies, True)


def test_the_key_changes_with_the_inputs_the_commands_and_the_dependencies_and_nothing_else(
    project: Path,
) -> None:
    analyst = _analyst(project)
    assert analyst.declaration.build_inputs == ["analyst/demo_data.py"]
    before = _key(analyst)
    server = project / "servers" / "analyst" / "analyst" / "server.py"
    server.write_text(server.read_text() + "\n# a one-line change\n")
    assert _key(analyst) == before, "the server's other code is not an input"
    assert _key(analyst, "sha256:other") != before
    assert _key(_analyst(project, build_commands=[["python", "-c", "pass"]])) != before
    assert _key(_analyst(project, data_dirs=["/opt/other"])) != before
    generator = project / "servers" / "analyst" / "analyst" / "demo_data.py"
    generator.write_text(generator.read_text() + "\n# a change of what the command runs\n")
    assert _key(analyst) != before


def test_without_declared_inputs_nothing_is_kept_and_an_input_that_is_not_there_fails(project: Path) -> None:
    assert _key(_analyst(project, build_inputs=[])) is None
    with pytest.raises(KitError, match=r"analyst/gone\.py is not among the server's image files"):
        _key(_analyst(project, build_inputs=["analyst/gone.py"]))


def test_a_folder_input_counts_every_file_in_it(project: Path) -> None:
    before = _key(_analyst(project, build_inputs=["analyst/engines"]))
    engine = next((project / "servers" / "analyst" / "analyst" / "engines").glob("*.py"))
    engine.write_text(engine.read_text() + "\n# changed\n")
    assert _key(_analyst(project, build_inputs=["analyst/engines"])) != before


def test_only_the_data_dirs_and_the_folders_above_them_are_kept_and_only_the_last_output(
    project: Path, tmp_path: Path, make_tar: Callable[..., Path]
) -> None:
    settings = Settings(project_dir=project, cache_dir=tmp_path / "cache")
    analyst = _analyst(project)
    layer = make_tar(tmp_path / "layer.tar", ["opt/", "opt/server/", "opt/server/analyst/", "opt/server/analyst/x.py",
                                            "opt/mcp/", "opt/mcp/data/", "opt/mcp/data/demo.db"])  # fmt: skip
    build_outputs.remember(settings, analyst, "first", layer)
    build_outputs.remember(settings, analyst, "second", layer)
    assert build_outputs.recalled(settings, analyst, "first") is None, "an older output is removed"
    assert build_outputs.recalled(settings, analyst, None) is None
    kept = build_outputs.recalled(settings, analyst, "second")
    assert kept is not None
    with tarfile.open(kept) as archive:
        assert archive.getnames() == ["opt", "opt/mcp", "opt/mcp/data", "opt/mcp/data/demo.db"]


def test_a_reused_output_is_added_once_and_checked_as_what_the_container_kept(
    project: Path, tmp_path: Path, make_tar: Callable[..., Path]
) -> None:
    analyst = _analyst(project)
    code = make_tar(
        tmp_path / "code.tar", ["opt/", "opt/server/", "opt/server/analyst/", "opt/server/analyst/x.py"]
    )
    reused = make_tar(tmp_path / "reused.tar", ["opt/", "opt/mcp/", "opt/mcp/data/", "opt/mcp/data/demo.db"])
    layer = tmp_path / "layer.tar"
    code_layer.checked_layer(code, layer, analyst, None, reused)
    with tarfile.open(layer) as archive:
        assert archive.getnames() == ["opt", "opt/server", "opt/server/analyst", "opt/server/analyst/x.py",
                                      "opt/mcp", "opt/mcp/data", "opt/mcp/data/demo.db"]  # fmt: skip
    stray = make_tar(tmp_path / "stray.tar", ["opt/mcp/data/demo.db", "etc/passwd"])
    with pytest.raises(KitError, match="left /etc/passwd"):
        code_layer.checked_layer(code, layer, analyst, None, stray)


@pytest.mark.parametrize("path", ["/etc/passwd", "../other/generator.py", ""])
def test_inputs_are_paths_inside_the_server_s_folder(path: str) -> None:
    with pytest.raises(ValidationError, match="build-inputs must be paths inside the server's folder"):
        ServerDeclaration.model_validate({"module": "demo", "build-inputs": [path]})
