"""`kit secret`: values kept out of every file a client reads. A secret is stored in the user's keyring when the
machine has one (macOS Keychain, Windows Credential Locker, the Secret Service), otherwise in a file of the user's
data folder, encrypted with a key kept beside it (both mode 0600): not a vault, but a value that never lands in a
client config, its backups, a dotfiles repository, `mcpkit.toml`, an image or a command line.

A client entry for a server whose secret is stored starts `kit launch --secret NAME -- docker run ...`: the kit
reads the value and hands it to the docker CLI's environment, which passes it to the container by name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from kit import files
from kit.errors import KitError
from kit.walls import ENV_NAME

if TYPE_CHECKING:
    from cryptography.fernet import Fernet
    from keyring.backend import KeyringBackend

SERVICE = "mcpkit"


def _folder() -> Path:
    return Path(platformdirs.user_data_dir("mcpkit")) / "secrets"


def backend_name() -> str:
    return "keyring" if _keyring() is not None else f"encrypted file in {_folder()}"


def set_secret(name: str, value: str) -> str:
    """Store `value` under `name`; where it went."""
    _check_name(name)
    if not value:
        raise KitError(
            f"no value given for {name}",
            hint="type it at the prompt, or pipe it: `... | kit secret set NAME`",
        )
    ring = _keyring()
    if ring is not None:
        ring.set_password(SERVICE, name, value)
    else:
        values = _file_values()
        values[name] = value
        _write_file_values(values)
    _write_names(sorted({*names(), name}))
    return backend_name()


def get_secret(name: str) -> str | None:
    ring = _keyring()
    if ring is not None:
        return ring.get_password(SERVICE, name)
    return _file_values().get(name)


def delete_secret(name: str) -> bool:
    if name not in names():
        return False
    ring = _keyring()
    if ring is not None:
        ring.delete_password(SERVICE, name)
    else:
        values = _file_values()
        values.pop(name, None)
        _write_file_values(values)
    _write_names([n for n in names() if n != name])
    return True


def names() -> list[str]:
    """The stored secrets' names (never their values)."""
    path = _folder() / "names.json"
    return list(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else []


def stored_values(wanted: list[str]) -> dict[str, str]:
    """The stored values of those of `wanted` that have one."""
    present = set(names())
    values = {name: get_secret(name) for name in wanted if name in present}
    return {name: value for name, value in values.items() if value is not None}


def launch_environment(wanted: list[str]) -> dict[str, str]:
    """For `kit launch`: every named secret's value, or an error naming the one missing."""
    values = stored_values(wanted)
    missing = [name for name in wanted if name not in values]
    if missing:
        raise KitError(
            f"secret(s) {', '.join(missing)} not stored for this user", hint=f"`kit secret set {missing[0]}`"
        )
    return values


def _check_name(name: str) -> None:
    if not ENV_NAME.match(name):
        raise KitError(
            f"{name!r} is not a variable name", hint="secrets are named like the variables servers take"
        )


def _keyring() -> KeyringBackend | None:
    """The keyring backend, when the machine has a real one; None on a headless machine without one."""
    if os.environ.get("KIT_SECRET_BACKEND") == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    ring = keyring.get_keyring()
    if isinstance(ring, fail.Keyring) or getattr(ring, "priority", 0) < 1:
        return None
    return ring


def _fernet() -> Fernet:
    from cryptography.fernet import Fernet

    key_file = _folder() / "key"
    if not key_file.is_file():
        _private_write(key_file, Fernet.generate_key().decode())
    return Fernet(key_file.read_bytes())


def _file_values() -> dict[str, str]:
    path = _folder() / "secrets.enc"
    if not path.is_file():
        return {}
    from cryptography.fernet import InvalidToken

    try:
        return dict(json.loads(_fernet().decrypt(path.read_bytes())))
    except (InvalidToken, ValueError):
        raise KitError(
            f"cannot decrypt {path}", hint="its key file beside it is not the one it was written with"
        ) from None


def _write_file_values(values: dict[str, str]) -> None:
    _private_write(_folder() / "secrets.enc", _fernet().encrypt(json.dumps(values).encode()).decode())


def _write_names(values: list[str]) -> None:
    _private_write(_folder() / "names.json", json.dumps(values))


def _private_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    files.write_atomically(
        path, text
    )  # a new file is created 0600 (mkstemp) and keeps its mode when replaced
    os.chmod(path, 0o600)
