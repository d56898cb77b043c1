"""The wall of the code step: what build commands (run as root) changed in the container the commit keeps."""

from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import code_layer
from kit.image.dockerfile import expander_archive
from kit.project.servers import load_server
from mcpkit_runtime import argv

# What the engine lists for the analyst's build: the folders above /opt/server and its data dir, and theirs.
ANALYST_BUILD = ["/opt", "/opt/server", "/opt/server/analyst", "/opt/server/analyst/server.py", "/opt/mcp",
                 "/opt/mcp/data", "/opt/mcp/data/demo.db"]  # fmt: skip


def test_changes_within_the_code_and_the_data_dirs_and_the_folders_above_them_pass(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    code_layer._check_changes(ANALYST_BUILD, analyst, [])


@pytest.mark.parametrize(
    "written",
    ["/etc/passwd", "/usr/local/lib/python3.11/site.py", "/opt/venv/bin/python", "/opt/mcp/other", "/root"],
)
def test_a_build_that_wrote_anywhere_else_fails(project: Path, written: str) -> None:
    analyst = load_server(project / "servers" / "analyst")
    with pytest.raises(KitError, match="wrote outside /opt/server and its data-dirs") as failure:
        code_layer._check_changes([*ANALYST_BUILD, written], analyst, [])
    assert written in failure.value.message


def test_a_build_that_did_not_make_its_data_dir_fails(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    with pytest.raises(KitError, match="did not make its data-dirs /opt/mcp/data"):
        code_layer._check_changes(["/opt", "/opt/server", "/opt/server/analyst"], analyst, [])


def test_only_the_very_files_the_kit_put_there_itself_are_let_by(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    kit_files = code_layer.tar_paths(expander_archive())
    assert kit_files == [argv.IN_IMAGE.rsplit("/", 1)[0], argv.IN_IMAGE], "the expander and its folder"
    code_layer._check_changes([*ANALYST_BUILD, *kit_files], analyst, kit_files)
    beside = argv.IN_IMAGE.rsplit("/", 1)[0] + "/sitecustomize.py"
    with pytest.raises(KitError, match=beside):
        code_layer._check_changes([*ANALYST_BUILD, *kit_files, beside], analyst, kit_files)
