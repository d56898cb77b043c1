from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import baked_files
from kit.image.dockerfile import render_dockerfile
from kit.project.servers import Server, load_index_server


def _server(project: Path, files: dict[str, str], **table: object) -> Server:
    return load_index_server(project, "embed", {"package": "some-embedding-mcp", "files": files, **table})


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    (folder / "mini").mkdir(parents=True)
    (folder / "mini" / "weights.bin").write_bytes(b"\0weights")
    (folder / ".env").write_text("TOKEN=secret")
    (folder / "mini" / "weights.bin").chmod(0o600)
    return folder


def test_a_folder_is_copied_into_the_context_without_secrets_and_readable_by_the_server(
    tmp_path: Path, models: Path
) -> None:
    server = _server(tmp_path, {"/opt/models": "./models", "/opt/readme.txt": "models/mini/weights.bin"})
    baked_files.into_context(server, tmp_path / "context")
    copied = tmp_path / "context" / "files"
    assert (copied / "0" / "mini" / "weights.bin").read_bytes() == b"\0weights"
    assert not (copied / "0" / ".env").exists()
    assert (copied / "0" / "mini" / "weights.bin").stat().st_mode & 0o004, "the server's user reads it"
    assert (copied / "1").is_file(), "a single file is copied as itself"
    dockerfile = render_dockerfile(server)
    final = dockerfile.split("FROM ${BASE_IMAGE}")[2]
    assert "COPY files/0 /opt/models" in final and "COPY files/1 /opt/readme.txt" in final
    assert final.index("COPY files/0") < final.index("COPY --from=build /opt/server"), (
        "cached past code changes"
    )


def test_what_leads_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside").mkdir()
    (project / "models").symlink_to(tmp_path / "outside")
    with pytest.raises(KitError, match="outside the project"):
        baked_files.sources(_server(project, {"/opt/models": "models"}))
    with pytest.raises(KitError, match="inside the project"):
        _server(project, {"/opt/models": "../outside"})
    with pytest.raises(KitError, match="absolute path"):
        _server(project, {"opt/models": "models"})
    with pytest.raises(KitError, match="does not exist"):
        baked_files.sources(_server(project, {"/opt/models": "nothing-here"}))


def test_the_digest_follows_the_contents(tmp_path: Path, models: Path) -> None:
    server = _server(tmp_path, {"/opt/models": "./models"})
    before = baked_files.digest(server)
    (models / "mini" / "weights.bin").write_bytes(b"\0other")
    assert baked_files.digest(server) != before
    assert baked_files.digest(_server(tmp_path, {"/opt/models": "./gone"})), "a missing entry does not raise"


def test_build_commands_run_for_a_package_index_server_too(tmp_path: Path) -> None:
    server = _server(
        tmp_path,
        {},
        **{"build-commands": [["python", "-m", "embed.fetch", "/opt/cache"]], "data-dirs": ["/opt/cache"]},
    )
    dockerfile = render_dockerfile(server)
    assert 'RUN ["python", "-m", "embed.fetch", "/opt/cache"]' in dockerfile
    assert "COPY --from=build /opt/cache /opt/cache" in dockerfile
