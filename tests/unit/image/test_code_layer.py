"""The wall of the code step: what the layer the image keeps may hold, whatever the tar the container wrote says."""

import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import code_layer
from kit.image.dockerfile import expander_archive
from kit.project.servers import load_server
from mcpkit_runtime import argv

# What the code step keeps of the analyst's build: the folders above /opt/server and its data dir, and theirs.
ANALYST_BUILD = ["opt/", "opt/server/", "opt/server/analyst/", "opt/server/analyst/server.py", "opt/mcp/",
                 "opt/mcp/data/", "opt/mcp/data/demo.db"]  # fmt: skip


@pytest.fixture
def analyst_layer(project: Path, tmp_path: Path, make_tar: Callable[..., Path]) -> Callable[..., Path]:
    """The layer the code step makes of the analyst's build, had its container written a tar of `names` (and the
    `special` members), with the kit's own files `added`: the check's verdict, or the checked layer."""
    analyst = load_server(project / "servers" / "analyst")

    def check(
        names: list[str], special: list[tarfile.TarInfo] | None = None, added: bytes | None = None
    ) -> Path:
        layer = tmp_path / "layer.tar"
        code_layer.checked_layer(make_tar(tmp_path / "kept.tar", names, special), layer, analyst, added)
        return layer

    return check


def _layer_names(layer: Path) -> list[str]:
    with tarfile.open(layer) as archive:
        return archive.getnames()


def test_what_is_within_the_code_and_the_data_dirs_and_the_folders_above_them_is_kept(
    analyst_layer: Callable[..., Path],
) -> None:
    layer = analyst_layer(ANALYST_BUILD)
    assert _layer_names(layer) == [name.rstrip("/") for name in ANALYST_BUILD]
    with tarfile.open(layer) as archive:
        assert archive.extractfile("opt/mcp/data/demo.db").read() == b"opt/mcp/data/demo.db"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "written",
    ["etc/passwd", "usr/local/lib/python3.11/site.py", "opt/venv/bin/python", "opt/mcp/other", "root",
     "opt/server/../../etc/passwd", "/etc/passwd", "opt/server/.wh.analyst", "opt/server/.wh..wh..opq"],
)  # fmt: skip
def test_a_tar_that_holds_anything_else_fails_the_build(
    written: str, analyst_layer: Callable[..., Path]
) -> None:
    with pytest.raises(KitError, match="which may hold only files, folders and links within /opt/server"):
        analyst_layer([*ANALYST_BUILD, written])


def test_a_folder_above_the_kept_ones_is_kept_as_a_folder_only(analyst_layer: Callable[..., Path]) -> None:
    with pytest.raises(KitError, match="left /opt/mcp \\(a file\\)"):  # a file where a folder is
        analyst_layer([*ANALYST_BUILD, "opt/mcp"])


def _special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, linkname
    return member


@pytest.mark.parametrize(
    ("member", "why"),
    [(_special("opt/mcp/data/dev", tarfile.CHRTYPE), "a device or pipe"),
     (_special("opt/mcp/data/fifo", tarfile.FIFOTYPE), "a device or pipe"),
     (_special("opt/mcp/data/shadow", tarfile.LNKTYPE, "etc/shadow"), "a link")],
)  # fmt: skip
def test_devices_pipes_and_hard_links_to_what_the_layer_does_not_hold_fail_the_build(
    member: tarfile.TarInfo, why: str, analyst_layer: Callable[..., Path]
) -> None:
    with pytest.raises(KitError, match=why):
        analyst_layer(ANALYST_BUILD, [member])


def test_links_within_the_layer_and_symbolic_links_anywhere_are_kept(
    analyst_layer: Callable[..., Path],
) -> None:
    links = [_special("opt/mcp/data/same.db", tarfile.LNKTYPE, "opt/mcp/data/demo.db"),
             _special("opt/mcp/data/passwd", tarfile.SYMTYPE, "/etc/passwd")]  # fmt: skip
    layer = analyst_layer(ANALYST_BUILD, links)
    assert _layer_names(layer)[-2:] == ["opt/mcp/data/same.db", "opt/mcp/data/passwd"]


def test_a_build_that_wrote_nothing_into_its_data_dir_fails(analyst_layer: Callable[..., Path]) -> None:
    with pytest.raises(KitError, match="did not write into its data-dirs /opt/mcp/data"):
        analyst_layer(["opt/", "opt/server/", "opt/server/analyst/", "opt/mcp/", "opt/mcp/data/"])


def test_the_kit_s_own_files_are_added_to_the_layer(analyst_layer: Callable[..., Path]) -> None:
    layer = analyst_layer(ANALYST_BUILD, added=expander_archive())
    assert _layer_names(layer)[-1] == argv.IN_IMAGE.lstrip("/")


@pytest.mark.parametrize(
    "members",
    [[_special("opt/mcp/data/etc", tarfile.SYMTYPE, "/etc"), _special("opt/mcp/data/etc/passwd", tarfile.REGTYPE)],
     [_special("opt/mcp/data/up", tarfile.SYMTYPE, "../.."), _special("opt/mcp/data/up/x", tarfile.DIRTYPE)],
     [_special("opt/server", tarfile.SYMTYPE, "/etc")], [_special("opt/mcp", tarfile.SYMTYPE, "/usr")]],
)  # fmt: skip
def test_nothing_is_kept_beneath_a_symbolic_link_and_the_kept_folders_stay_folders(
    members: list[tarfile.TarInfo], analyst_layer: Callable[..., Path]
) -> None:
    with pytest.raises(KitError, match="which may hold only files, folders and links within /opt/server"):
        analyst_layer(ANALYST_BUILD, members)


def test_the_files_are_the_container_user_s_without_set_id_bits_or_attributes_whatever_the_tar_claims(
    project: Path, tmp_path: Path, make_tar: Callable[..., Path]
) -> None:
    mailer = load_server(project / "servers" / "mailer")
    assert not code_layer.as_root(mailer.declaration), "its code step runs as the server's user"
    claimed = _special("opt/server/mailer/shell", tarfile.REGTYPE)
    claimed.uid, claimed.gid, claimed.mode, claimed.uname = 0, 0, 0o4755, "root"
    claimed.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}
    kept = make_tar(tmp_path / "kept.tar", ["opt/", "opt/server/", "opt/server/mailer/"], [claimed])
    layer = tmp_path / "layer.tar"
    code_layer.checked_layer(kept, layer, mailer, None)
    with tarfile.open(layer) as archive:
        owners = {m.name: (m.uid, m.gid, m.mode & 0o7000, m.pax_headers) for m in archive}
    assert owners == {"opt": (0, 0, 0, {}), "opt/server": (10001, 10001, 0, {}),
                      "opt/server/mailer": (10001, 10001, 0, {}),
                      "opt/server/mailer/shell": (10001, 10001, 0, {})}  # fmt: skip
