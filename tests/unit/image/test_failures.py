"""A build that failed is remembered with what it was built from, so an unchanged fleet does not build it again."""

from __future__ import annotations

from pathlib import Path

from kit.image.failures import FailureMemory
from kit.project.servers import load_server


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


def test_a_lock_the_failed_build_wrote_counts_as_an_input_it_had(project: Path, tmp_path: Path) -> None:
    mailer = load_server(project / "servers" / "mailer")
    memory = FailureMemory(tmp_path / "cache", mailer, "sha256:base")
    lock = project / "locks" / "mailer.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("# written by the build that then failed\n")
    memory.remember("smoke test failed", None)
    assert FailureMemory(tmp_path / "cache", mailer, "sha256:base").recall() is not None
