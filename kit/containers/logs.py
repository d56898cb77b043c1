"""`kit logs NAME`: a server's recent log lines (stderr only: stdout is the protocol) from its containers that keep
an engine log (KIT_ENGINE_LOGS; the clients' and the gateway's keep none by default)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kit.containers import engine
from kit.identity import SERVER


@dataclass(frozen=True)
class LogLine:
    container: str
    record: dict[str, Any]  # the JSON line, or {"message": text} for a line that is not JSON


def recent_logs(server: str, tail: int = 100) -> list[LogLine]:
    lines = []
    with engine.connected() as client:
        for container in client.containers.list(all=True, filters={"label": f"{SERVER}={server}"}):
            if container.attrs["HostConfig"].get("LogConfig", {}).get("Type") == "none":
                continue
            raw = container.logs(stdout=False, stderr=True, tail=tail).decode("utf-8", errors="replace")
            lines += [LogLine(container.short_id, _parse(text)) for text in raw.splitlines() if text.strip()]
    return sorted(lines, key=lambda line: str(line.record.get("time", "")))


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"message": text}
    return value if isinstance(value, dict) else {"message": text}
