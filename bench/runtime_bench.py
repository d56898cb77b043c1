"""Import cost of mcpkit-runtime on top of the MCP SDK (it is imported at every container start).

Prints a table and writes .bench/runtime.json. Target: under 30 ms on top of the SDK.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

RUNS = 9
SDK = "import mcp.server.mcpserver"
WITH_RUNTIME = SDK + "; import mcpkit_runtime.server, mcpkit_runtime.job_tools"


def wall_ms(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", f"import time; t = time.perf_counter(); {code}; print((time.perf_counter() - t) * 1000)"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def runtime_self_ms() -> float:
    """Cumulative import time of the runtime's own modules, as -X importtime reports it (SDK already imported)."""
    samples = []
    for _ in range(RUNS):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", WITH_RUNTIME],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        total = sum(
            int(m.group(1))
            for m in re.finditer(
                r"import time:\s+\d+ \|\s+(\d+) \|\s*mcpkit_runtime\.(server|job_tools)$", err, re.M
            )
        )
        samples.append(total / 1000)
    return statistics.median(samples)


def main() -> None:
    sdk, both = wall_ms(SDK), wall_ms(WITH_RUNTIME)
    result = {
        "sdk_import_ms": round(sdk, 1),
        "sdk_plus_runtime_import_ms": round(both, 1),
        "runtime_on_top_ms": round(both - sdk, 1),
        "runtime_cumulative_importtime_ms": round(runtime_self_ms(), 1),
        "runs": RUNS,
        "target_ms": 30,
    }
    table = Table("measure", "ms", title="mcpkit-runtime import cost (median of 9 fresh interpreters)")
    for key, value in result.items():
        if key.endswith("_ms"):
            table.add_row(key, f"{value}")
    Console().print(table)
    out = Path(".bench") / "runtime.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    Console().print(f"saved {out}")


if __name__ == "__main__":
    main()
