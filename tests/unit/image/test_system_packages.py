from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import system_packages
from kit.image.dockerfile import render_dockerfile
from kit.image.system_packages import DebianBase, _apt_error, _AptRoot
from kit.project.servers import load_index_server
from kit.project.settings import load_settings


def _git(tmp_path: Path, packages: list[str]) -> str:
    table = {"package": "mcp-server-git", "script": "mcp-server-git", "system-packages": packages}
    return render_dockerfile(load_index_server(tmp_path, "git", table))


def test_system_packages_are_unpacked_in_the_build_stage_and_copied_in_one_layer(tmp_path: Path) -> None:
    build_stage, final_stage = _git(tmp_path, ["git"]).split("FROM ${BASE_IMAGE}")[1:]
    assert "COPY debs /debs" in build_stage and f"RUN sh /debs/{system_packages.INSTALLER}" in build_stage
    assert build_stage.index("-r /requirements.lock") < build_stage.index("COPY debs"), (
        "dependencies stay cached"
    )
    assert "COPY --from=build /opt/system/ /" in final_stage and "debs" not in final_stage
    assert final_stage.index("/opt/system/") < final_stage.index("USER 10001:10001")


def test_without_system_packages_nothing_is_added(tmp_path: Path) -> None:
    assert "/opt/system" not in _git(tmp_path, []) and "debs" not in _git(tmp_path, [])


@pytest.mark.parametrize("name", ["Git", "git;rm", "../x", "-y"])
def test_a_name_that_is_no_debian_package_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(KitError, match="not Debian package names"):
        _git(tmp_path, [name])


def test_apt_on_the_host_reads_the_base_image_status_and_its_suite_and_architecture(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Package: libc6\nStatus: install ok installed\n")
    settings = load_settings({"KIT_CACHE_DIR": str(tmp_path / "cache")}, cwd=tmp_path)
    apt = _AptRoot(tmp_path / "apt", DebianBase("trixie", "arm64", status), settings)
    assert apt.options["Dir::State::status"] == str(status)
    assert apt.options["APT::Architecture"] == "arm64"
    assert " trixie main" in (tmp_path / "apt" / "sources.list").read_text()
    assert all(str(tmp_path) in apt.options[k] for k in ("Dir::State", "Dir::Cache", "Dir::Etc::parts")), (
        "nothing of the host's own apt state is read or written"
    )


def test_apt_failures_say_which_kind_they_are() -> None:
    missing = _apt_error("downloading nope", "Reading package lists...\nE: Unable to locate package nope\n")
    assert "Unable to locate package nope" in missing.message and "packages.debian.org" in (
        missing.hint or ""
    )
    unreachable = _apt_error(
        "updating", "E: Failed to fetch http://deb.debian.org/debian/dists/x/InRelease\n"
    )
    assert "KIT_DEBIAN_MIRROR" in (unreachable.hint or "")
