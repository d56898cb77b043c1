"""Lock files: what is written reads back the same, and a damaged or foreign file is never trusted."""

from pathlib import Path

from kit.project import locks
from kit.project.locks import Lock, LockedPackage

LOCK = Lock(
    "analyst",
    "CPython 3.11 manylinux_2_36_x86_64",
    "ab" * 32,
    [
        LockedPackage("anyio", "4.16.0", "c6" * 32, "anyio-4.16.0-py3-none-any.whl"),
        LockedPackage("mcpkit-runtime", "0.1.0", local="mcpkit-runtime"),
        LockedPackage(
            "Pydantic_Core", "2.41.0", "0f" * 32, "pydantic_core-2.41.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        ),
    ],
)


def test_a_lock_reads_back_as_it_was_written(tmp_path: Path) -> None:
    path = locks.lock_path(tmp_path, "analyst")
    locks.write(path, LOCK)
    assert path == tmp_path / "locks" / "analyst.lock"
    assert locks.read(path) == LOCK
    assert locks.read(path).version_of("pydantic-core") == "2.41.0"  # type: ignore[union-attr]


def test_the_image_installs_local_packages_with_the_hash_of_the_wheel_built_then() -> None:
    requirements = LOCK.requirements({"mcpkit-runtime": "99" * 32}).splitlines()
    assert requirements[1] == f"mcpkit-runtime==0.1.0 --hash=sha256:{'99' * 32}"
    assert all("--hash=sha256:" in line for line in requirements)


def test_a_damaged_or_missing_lock_is_resolved_again(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    assert locks.read(path) is None
    path.write_text("# fingerprint: abc\nanyio==4.16.0\n")  # no hash, not local
    assert locks.read(path) is None
    path.write_text("anyio==4.16.0 --hash=sha256:" + "c6" * 32 + "  # anyio-4.16.0-py3-none-any.whl\n")
    assert locks.read(path) is None, "no fingerprint: not written by the kit"
