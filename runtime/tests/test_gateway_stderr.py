"""A server's stderr kept as a bounded tail, read only when it is wanted."""

from __future__ import annotations

import subprocess
import sys

from mcpkit_runtime.gateway import stderr
from mcpkit_runtime.gateway.stderr import StderrTail


def test_the_reason_is_what_a_process_wrote_since_the_mark() -> None:
    tail = StderrTail()
    subprocess.run(
        [sys.executable, "-c", "import sys; sys.stderr.write('an earlier start\\n')"], stderr=tail.stream
    )
    mark = tail.mark
    script = "import sys; sys.stderr.write('starting\\n\\nstill\\ncannot start: X is not set\\nbye\\n')"
    subprocess.run([sys.executable, "-c", script], stderr=tail.stream)
    assert tail.reason(mark) == "still | cannot start: X is not set | bye"
    assert tail.reason(tail.mark, wait=0) is None, "nothing since"
    tail.close()


def test_the_file_is_emptied_past_its_bound_and_appends_go_on() -> None:
    tail = StderrTail()
    big = "x" * 1000
    subprocess.run([sys.executable, "-c", f"import sys\nfor _ in range(1100): print('{big}', file=sys.stderr)"],
                   stderr=tail.stream)  # fmt: skip
    assert tail.mark > stderr.MAX_BYTES
    tail.trim()
    assert tail.mark == 0
    subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('after\\n')"], stderr=tail.stream)
    assert tail.since(0) == ["after"], "written at the new end, not past a hole"
    tail.close()
