"""An image's configuration with one more layer, as a commit would set it."""

from pathlib import Path

from kit import identity
from kit.image import layer_image

PARENT = {
    "Id": "sha256:parent",
    "Architecture": "amd64",
    "Os": "linux",
    "RootFS": {"Type": "layers", "Layers": ["sha256:a", "sha256:b"]},
    "Config": {"Env": ["PATH=/opt/venv/bin:/usr/bin", "HOME=/tmp"], "WorkingDir": "/tmp", "User": "0:0",
               "Entrypoint": None, "Cmd": ["python3"], "Labels": {"from.base": "kept", "io.mcpkit.server": "old"}},
}  # fmt: skip


def test_the_layer_goes_on_top_of_the_parent_s_and_the_start_settings_and_labels_are_set() -> None:
    config = layer_image.image_config(
        PARENT, "sha256:c", ["python", "-m", "demo"], [], {"HOME": "/data", "DEMO": "1"},
        {"io.mcpkit.server": "demo"},
    )  # fmt: skip
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:a", "sha256:b", "sha256:c"]}
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    start = config["config"]
    assert (start["Entrypoint"], start["Cmd"]) == (["python", "-m", "demo"], []), (
        "the parent's command is gone"
    )
    assert start["Env"] == ["HOME=/data", "DEMO=1", "PATH=/opt/venv/bin:/usr/bin"], (
        "given first, then the rest"
    )
    assert start["Labels"] == {"from.base": "kept", "io.mcpkit.server": "demo"}
    assert (start["User"], start["WorkingDir"]) == (identity.CONTAINER_USER, "/tmp")
    assert PARENT["Config"]["Cmd"] == ["python3"], "the parent's configuration is left as it was"


def test_a_layer_s_id_is_the_digest_of_its_tar(tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    layer.write_bytes(b"")
    assert layer_image.diff_id(layer) == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
