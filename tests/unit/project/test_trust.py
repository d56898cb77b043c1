"""The host side of the walls: a project's files choose nothing that runs on the host, and a project another user
owns, or anyone may write into, is not adopted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project.settings import USER_ONLY, describe_settings, load_settings
from kit.project.trust import user_config_path

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
STRANGER = 54321


def _project(root: Path, kit_table: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mcpkit.toml").write_text(f"[kit]\n{kit_table}\n")
    return root


@pytest.mark.parametrize(
    ("name", "value"),
    [("docker_command", '"/tmp/evil.sh"'), ("cache_dir", '"/etc"'), ("debian_mirror", '"http://evil.invalid"'),
     ("labels", '"a=b"'), ("engine_logs", "true")],
)  # fmt: skip
def test_a_project_cannot_choose_what_runs_on_the_host(tmp_path: Path, name: str, value: str) -> None:
    project = _project(tmp_path / "p", f"{name} = {value}")
    with pytest.raises(
        KitError, match=f"{name} is set in .*mcpkit.toml, but a project cannot choose it"
    ) as caught:
        load_settings({}, cwd=project)
    assert f"KIT_{name.upper()}" in (caught.value.hint or "")


def test_every_setting_that_reaches_the_host_is_user_only() -> None:
    assert {"docker_command", "cache_dir", "debian_mirror"} <= set(USER_ONLY)


def test_the_user_chooses_them_in_the_environment_or_their_own_config(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    user_config_path().parent.mkdir(parents=True, exist_ok=True)
    user_config_path().write_text('[kit]\ndocker_command = "podman"\n')
    assert load_settings({}, cwd=project).docker_command == "podman"
    rows = {row["name"]: row for row in describe_settings({}, cwd=project)}
    assert rows["KIT_DOCKER_COMMAND"]["source"] == "user config"
    assert load_settings({"KIT_DOCKER_COMMAND": "docker"}, cwd=project).docker_command == "docker"


def test_servers_dir_stays_inside_the_project(tmp_path: Path) -> None:
    for outside in ('"/etc"', '"../elsewhere"'):
        project = _project(tmp_path / "p", f"servers_dir = {outside}")
        with pytest.raises(KitError, match="leads out of the project"):
            load_settings({}, cwd=project)


@needs_root
def test_a_project_another_user_owns_is_refused_unless_marked_safe(tmp_path: Path) -> None:
    project = _project(tmp_path / "theirs")
    os.chown(project / "mcpkit.toml", STRANGER, STRANGER)
    with pytest.raises(KitError, match="belongs to user id 54321, not to you") as caught:
        load_settings({}, cwd=project)
    assert "KIT_SAFE_DIRECTORIES" in (caught.value.hint or "")
    assert load_settings({"KIT_SAFE_DIRECTORIES": str(project)}, cwd=project).project_dir == project
    assert load_settings({"KIT_SAFE_DIRECTORIES": "*"}, cwd=project).project_dir == project


@needs_root
def test_a_manifest_planted_in_a_shared_parent_folder_is_not_adopted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    _project(shared, 'base_image = "evil/base:1"')
    shared.chmod(0o1777)
    os.chown(shared / "mcpkit.toml", STRANGER, STRANGER)
    mine = shared / "mine" / "deeper"
    mine.mkdir(parents=True)
    with pytest.raises(KitError, match=r"not to you|writable by every user"):
        load_settings({}, cwd=mine)
    shared.chmod(0o755)
    with pytest.raises(KitError, match="belongs to user id 54321"):
        load_settings({}, cwd=mine)


def test_a_project_anyone_may_write_into_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path / "open")
    project.chmod(0o777)
    with pytest.raises(KitError, match="writable by every user") as caught:
        load_settings({}, cwd=project)
    assert "chmod o-w" in (caught.value.hint or "")
    project.chmod(0o755)
    assert load_settings({}, cwd=project).project_dir == project


def test_a_sudo_run_in_the_users_own_project_is_accepted(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    if os.geteuid() == 0:
        os.chown(project / "mcpkit.toml", STRANGER, STRANGER)
        os.chown(project, STRANGER, STRANGER)
    assert load_settings({"SUDO_UID": str(STRANGER)}, cwd=project).project_dir == project
