"""A build that failed is remembered with what it was built from, so an unchanged fleet does not build it again."""

from __future__ import annotations

from pathlib import Path

from kit.image.failures import FailureMemory
from kit.project.servers import load_index_server, load_server


def test_a_failure_is_recalled_until_what_the_build_reads_changes(project: Path, tmp_path: Path) -> None:
    mailer = load_server(project / "servers" / "mailer")
    memory = FailureMemory(tmp_path / "cache", mailer, "sha256:base")
    assert memory.recall() is None
    memory.remember("smoke test failed: boom", "a hint")
    recalled = FailureMemory(tmp_path / "cache", mailer, "sha256:base").recall()
    assert recalled is not None and recalled.error == "smoke test failed: boom"
    assert FailureMemory(tmp_path / "cache", mailer, "sha256:other-base").recall() is None
    (project / "servers" / "mailer" / "mailer" / "server.py").write_text("# changed\n")
    assert FailureMemory(tmp_path / "cache", mailer, "sha256:base").recall() is None
    memory.forget()
    assert not memory.path.exists()


def test_a_first_build_that_wrote_its_lock_before_failing_is_remembered_with_it(tmp_path: Path) -> None:

    server = load_index_server(tmp_path, "time", {"package": "mcp-server-time"})
    memory = FailureMemory(tmp_path / "cache", server, "base")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "time.lock").write_text("# the lock the failed build resolved\n")
    memory.remember("smoke test failed: boom", None)
    assert FailureMemory(tmp_path / "cache", server, "base").recall() is not None
