import docker

from kit.image.base_image import BaseResult, ensure_base_image
from kit.image.wheelhouse import probe_python
from kit.project.settings import Settings
from kit.reporting import SilentReporter


def test_base_image_is_reused_by_tag(kit_settings: Settings, base_image: BaseResult) -> None:
    again = ensure_base_image(kit_settings, SilentReporter())
    assert not again.built and again.tag == kit_settings.base_image


def test_base_image_reports_its_python_and_libc(
    docker_client: docker.DockerClient, kit_settings: Settings, base_image: BaseResult
) -> None:
    target = probe_python(docker_client, kit_settings.base_image)
    assert target.short_version.startswith("3.")
    assert target.glibc is not None and target.platforms[0].startswith("manylinux_")
