from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project.settings import DEFAULT_BASE_IMAGE, describe_settings, load_settings


def test_defaults_apply_without_manifest_or_environment(project: Path) -> None:
    settings = load_settings({}, cwd=project)
    assert settings.project_dir == project
    assert settings.base_image == DEFAULT_BASE_IMAGE
    assert settings.servers_path == project / "servers"


def test_project_is_found_from_a_subfolder(project: Path) -> None:
    settings = load_settings({}, cwd=project / "servers" / "analyst")
    assert settings.project_dir == project


def test_environment_overrides_manifest_which_overrides_default(project: Path) -> None:
    (project / "mcpkit.toml").write_text('[kit]\nbase_image = "python:3.12-slim"\nimage_prefix = "acme"\n')
    settings = load_settings({"KIT_IMAGE_PREFIX": "team"}, cwd=project)
    assert settings.base_image == "python:3.12-slim"
    assert settings.image_prefix == "team"


def test_relative_paths_in_manifest_resolve_against_the_project(project: Path) -> None:
    (project / "mcpkit.toml").write_text('[kit]\nservers_dir = "srv"\n')
    assert load_settings({}, cwd=project).servers_dir == project / "srv"


def test_unknown_manifest_key_is_refused_with_the_known_ones(project: Path) -> None:
    (project / "mcpkit.toml").write_text('[kit]\nbase_imgae = "x"\n')
    with pytest.raises(KitError, match="unknown setting 'base_imgae'") as caught:
        load_settings({}, cwd=project)
    assert "base_image" in (caught.value.hint or "")


def test_malformed_manifest_is_reported(project: Path) -> None:
    (project / "mcpkit.toml").write_text("[kit\n")
    with pytest.raises(KitError, match="not valid TOML"):
        load_settings({}, cwd=project)


def test_describe_names_the_source_of_each_value(project: Path) -> None:
    (project / "mcpkit.toml").write_text('[kit]\nimage_prefix = "acme"\n')
    rows = {r["name"]: r for r in describe_settings({"KIT_BASE_IMAGE": "python:3.12-slim"}, cwd=project)}
    assert rows["KIT_BASE_IMAGE"]["source"] == "environment"
    assert rows["KIT_IMAGE_PREFIX"]["source"] == "manifest"
    assert rows["KIT_DEBIAN_SUITE"]["source"] == "default"
    assert rows["KIT_SERVERS_DIR"]["value"] == str(project / "servers")
