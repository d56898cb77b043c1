"""A Rust client in its `auto` lifecycle mode against the gateway, on a quiet and on a loaded machine.

rmcp (the Rust MCP SDK) in `auto` mode sends `server/discover` and falls back to `initialize` when no answer comes
within 10 s; a late answer then arrives in the middle of the fallback and breaks it. So a gateway that waits for its
containers before answering fails Rust clients on a busy machine. This starts the gateway as the client entry
`kit config --gateway` prints (command, arguments and env verbatim), and `bench/gateway_serve.py serve 5` (the gateway
over 5 servers), with `bench/rmcp_probe` (rmcp 3.11, auto mode), then lists the tools and calls one. Each case runs
quiet and under load (CPU burners, twice as many as cores); the negotiated protocol, the times and the outcome are
printed and written to .bench/rmcp_auto.json.

Needs cargo (the probe is built from crates.io on the host into .bench/rmcp-target); without it the bench says so and
writes nothing. RMCP_RUNS sets the runs per case (default 3).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kit.containers.launch import docker_client_env, launch_entries
from kit.image.builder import build_servers, raise_for_failures
from kit.project.servers import discover, select
from kit.project.settings import load_settings
from kit.reporting import SilentReporter

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / ".bench"
PROBE_SOURCE = REPO / "bench" / "rmcp_probe"
TARGET = OUT / "rmcp-target"
RUNS = int(os.environ.get("RMCP_RUNS", "3"))
RUN_LABEL = f"io.mcpkit.bench-run=rmcp-{os.getpid()}"
MAIL = json.dumps({"to": "a@example.com", "subject": "bench", "body": "b"})


def build_probe() -> Path | None:
    cargo = shutil.which("cargo")
    if cargo is None:
        return None
    subprocess.run(
        [
            cargo,
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--manifest-path",
            str(PROBE_SOURCE / "Cargo.toml"),
        ],
        env={**os.environ, "CARGO_TARGET_DIR": str(TARGET)},
        check=True,
    )
    return TARGET / "release" / "rmcp-auto-probe"


def burn() -> None:
    while True:
        pass


@contextlib.contextmanager
def loaded(on: bool) -> Iterator[None]:
    burners = [
        multiprocessing.Process(target=burn, daemon=True)
        for _ in range(2 * (os.cpu_count() or 1) if on else 0)
    ]
    for burner in burners:
        burner.start()
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.join()


def probe(binary: Path, command: list[str], env: dict[str, str], tool: str, arguments: str) -> dict[str, Any]:
    before = round(os.getloadavg()[0], 2)
    done = subprocess.run(
        [str(binary), tool, arguments, *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = done.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False, "error": done.stderr[-500:]}
    return report | {"load_before": before}


def gateway_entry() -> tuple[list[str], dict[str, str]]:
    """The gateway entry exactly as `kit config --gateway` prints it for the project's servers."""
    kit = Path(sys.executable).parent / "kit"
    printed = subprocess.run(
        [str(kit), "config", "--gateway", "--label", RUN_LABEL, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (entry,) = json.loads(printed)["mcpServers"].values()
    return [entry["command"], *entry["args"]], dict(entry.get("env", {}))


def main() -> None:
    binary = build_probe()
    if binary is None:
        print("rmcp auto-mode bench left out: cargo is not installed (the probe is a Rust program)")
        return
    settings = load_settings(cwd=REPO)
    raise_for_failures(
        build_servers(settings, select(discover(settings), ["analyst", "mailer"]), SilentReporter())
    )
    (mailer,) = select(discover(settings), ["mailer"])
    (direct,) = launch_entries(settings, [mailer], extra_labels=dict([RUN_LABEL.split("=", 1)]))
    gateway_command, gateway_env = gateway_entry()
    bench_env = {**docker_client_env(), "KIT_PROJECT_DIR": str(REPO), "KIT_LABELS": RUN_LABEL}
    cases = {
        "direct_mailer": (
            direct.stdio_params().command,
            list(direct.stdio_params().args),
            bench_env,
            "send_email",
        ),
        "kit_gateway_entry": (gateway_command[0], gateway_command[1:], gateway_env, "mailer__send_email"),
        "gateway_5_servers": (
            sys.executable,
            [str(REPO / "bench" / "gateway_serve.py"), "serve", "5"],
            bench_env,
            "m4__send_email",
        ),
    }
    results: dict[str, Any] = {}
    for condition in ("quiet", "loaded"):
        with loaded(condition == "loaded"):
            for name, (command, args, env, tool) in cases.items():
                runs = [probe(binary, [command, *args], env, tool, MAIL) for _ in range(RUNS)]
                results[f"{name}/{condition}"] = runs
    print(
        f"{'case':<32} {'ok':>5} {'protocol':>11} {'ready ms':>9} {'listed ms':>10} {'called ms':>10} {'load':>6}"
    )
    for case, runs in results.items():
        for run in runs:
            print(
                f"{case:<32} {run.get('ok')!s:>5} {run.get('protocol') or '-':>11} "
                f"{run.get('ready_ms', 0):>9.0f} {run.get('listed_ms', 0):>10.0f} {run.get('called_ms', 0):>10.0f} "
                f"{run['load_before']:>6}" + (f"  {run['error']}" if "error" in run else "")
            )
    OUT.mkdir(exist_ok=True)
    document = {
        "cpus": os.cpu_count(),
        "runs_per_case": RUNS,
        "auto_discover_timeout_s": 10,
        "results": results,
    }
    (OUT / "rmcp_auto.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
