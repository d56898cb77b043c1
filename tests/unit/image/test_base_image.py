import pytest

from kit.errors import KitError
from kit.image import base_image
from kit.project.settings import Settings


def test_needs_root_and_says_what_to_do_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_image.os, "geteuid", lambda: 1000)
    with pytest.raises(KitError, match="needs root") as caught:
        base_image._check_prerequisites()
    assert "python:3.12-slim" in (caught.value.hint or "")


def test_missing_debootstrap_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_image.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        base_image.shutil, "which", lambda name: None if name == "debootstrap" else "/usr/bin/x"
    )
    with pytest.raises(KitError, match="debootstrap is not installed") as caught:
        base_image._check_prerequisites()
    assert "apt-get install debootstrap" in (caught.value.hint or "")


def test_only_the_kits_own_tag_counts_as_a_kit_base() -> None:
    assert base_image.is_kit_base(Settings())
    assert not base_image.is_kit_base(Settings(base_image="python:3.12-slim"))


def test_recipe_is_shipped_and_names_python() -> None:
    assert "python3" in base_image.load_recipe("base").include
