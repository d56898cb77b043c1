"""The gateway over N copies of the mailer, as `kit gateway` serves it: planned here (the kit's side, which never
loads the MCP SDK), then this process becomes the runtime's gateway. What bench/gateway_bench.py starts for its
1- and 5-server figures; kept apart from it so that this process imports what `kit gateway` imports, not the bench.

python bench/gateway_serve.py serve N          over stdio
python bench/gateway_serve.py serve-http PORT N over HTTP on PORT: the analyst first, then N-1 copies of the mailer
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from kit.containers import engine
from kit.containers.launch import launch_entries
from kit.gateway.serve import planned_server
from kit.project.servers import discover, select
from kit.project.settings import load_settings
from mcpkit_runtime.gateway.plan import FrontPlan, GatewayPlan, hand_over
from mcpkit_runtime.gateway.settings import GatewaySettings

PROJECT = Path(os.environ.get("BENCH_PROJECT_DIR", Path(__file__).resolve().parents[1]))
# The servers' own rate limits and budgets would measure refusals, not calls.
UNLIMITED = {"MCP_RATE_LIMITS": "*=1000000/min:1000000", "MCP_SESSION_BUDGET": "100000000"}


def serve(count: int, *, http_port: int | None = None) -> None:
    settings = load_settings(cwd=PROJECT)
    analyst, mailer = select(discover(settings), ["analyst", "mailer"])
    (entry,) = launch_entries(settings, [mailer], UNLIMITED)
    first = launch_entries(settings, [analyst], UNLIMITED) if http_port else []
    copies = [dataclasses.replace(entry, name=f"m{i}") for i in range(count - len(first))]
    with engine.connected() as client:
        images = {e.name: engine.find_image(client, str(e.image)) for e in [entry, *first]}
        version = client.api.api_version
    servers = [planned_server(e, images.get(e.name, images[entry.name]), version) for e in [*first, *copies]]
    front = FrontPlan(http=http_port is not None, port=http_port or 0)
    hand_over(GatewayPlan(servers=servers, settings=GatewaySettings(), front=front))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["serve-http"]:
        serve(int(sys.argv[3]), http_port=int(sys.argv[2]))
    else:
        sys.exit(__doc__)
