"""What a call leaves behind for the next: the SQLite engine keeps connections between calls and one thread watches
every deadline, so the walls must hold on a reused connection exactly as on a fresh one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from analyst.engines import EngineError, Limits, open_engine
from analyst.engines.watchdog import Watchdog
from analyst.guard import QueryRefused
from analyst.pii import Policy
from analyst.runner import run_query

LIMITS = Limits(timeout_seconds=1.0)
PII_FILTER = "SELECT count(*) FROM customers WHERE email LIKE 'a%'"
HANG = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


def test_a_repeated_statement_is_checked_again_on_a_reused_connection(demo_db: Path) -> None:
    """The lineage comes from preparing the statement: a reused connection must not skip it."""
    engine = open_engine(f"sqlite:///{demo_db}")
    try:
        for _ in range(3):
            run_query(engine, Policy(), "SELECT count(*) FROM products", LIMITS)
            with pytest.raises(QueryRefused, match="personal data"):
                run_query(engine, Policy(), PII_FILTER, LIMITS)
            masked = run_query(engine, Policy(), "SELECT email FROM customers ORDER BY id LIMIT 1", LIMITS)
            assert "***@" in str(masked.rows[0][0])
    finally:
        engine.close()


def test_a_call_after_a_stopped_one_is_answered_and_bounded_again(demo_db: Path) -> None:
    engine = open_engine(f"sqlite:///{demo_db}")
    try:
        for _ in range(2):
            with pytest.raises(EngineError, match="ran longer than 1 s"):
                run_query(engine, Policy(), HANG, LIMITS)
            assert run_query(engine, Policy(), "SELECT count(*) FROM products", LIMITS).rows == [[100]]
    finally:
        engine.close()


def test_the_shared_watcher_cancels_only_what_outlives_its_deadline() -> None:
    cancelled: list[str] = []
    done = threading.Event()

    def cancel(name: str) -> None:
        cancelled.append(name)
        done.set()

    with Watchdog(lambda: cancel("long"), 3600.0) as long_one:
        with Watchdog(lambda: cancel("quick"), 3600.0) as quick:
            pass
        with Watchdog(lambda: cancel("hung"), 0.05) as hung:
            assert done.wait(30), "the hung call was never cancelled"
    time.sleep(0.1)
    assert hung.fired and not quick.fired and not long_one.fired
    assert set(cancelled) == {"hung"}


MOUNTINFO = """\
700 650 0:52 / / ro,relatime master:1 - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=0
701 700 0:55 / /proc rw,nosuid - proc proc rw
702 700 0:56 / /opt/mcp/data/live rw - ext4 /dev/sda1 rw
"""


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("image", True), ("live", False)],
)
def test_only_a_file_of_the_image_layers_is_read_as_immutable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, expected: bool
) -> None:
    """A database in the image cannot change while the server runs; one on a volume or a bind mount can."""
    from analyst.engines import sqlite

    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTINFO)
    database = Path(f"/opt/mcp/data/{folder}/demo.db")
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self)
    monkeypatch.setattr(sqlite.os, "access", lambda path, mode: False)  # the image's files: not ours to write
    assert sqlite.in_image_layers(database, mountinfo) is expected
    monkeypatch.setattr(sqlite.os, "access", lambda path, mode: True)
    assert sqlite.in_image_layers(database, mountinfo) is False, "a writable file can change"


def test_an_immutable_database_still_refuses_what_a_plain_one_refuses(demo_db: Path) -> None:
    from analyst.engines.sqlite import SqliteEngine

    engine = SqliteEngine(demo_db, immutable=True)
    try:
        with pytest.raises(QueryRefused, match="personal data"):
            run_query(engine, Policy(), PII_FILTER, LIMITS)
        with pytest.raises(EngineError):
            run_query(engine, Policy(), "SELECT soundex('x')", LIMITS)  # no function outside the allowlist
        assert run_query(engine, Policy(), "SELECT count(*) FROM products", LIMITS).rows == [[100]]
    finally:
        engine.close()


def test_an_immutable_database_is_kept_whole_in_the_page_cache_and_a_plain_one_is_not(demo_db: Path) -> None:
    from analyst.engines.sqlite import SqliteEngine

    size_kib = demo_db.stat().st_size // 1024
    for immutable, whole in ((True, True), (False, False)):
        connection = SqliteEngine(demo_db, immutable=immutable)._connect()
        try:
            (cache,) = connection.execute("PRAGMA cache_size").fetchone()
        finally:
            connection.close()
        assert (-cache >= size_kib) is whole
