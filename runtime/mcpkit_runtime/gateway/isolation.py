"""Per-client servers: for a server whose isolation is "per-client", each client (mcpkit_runtime.clients) gets its
own instance (its own container), started at the client's first request to it and stopped once the client has been
idle for the gateway's session-idle-seconds, so a stateful server never mixes two clients' state and one client's
load never lands on another's container. Other servers are shared by every client, as before."""

from __future__ import annotations

from collections.abc import Callable

import anyio

from mcpkit_runtime.clients import ClientTable
from mcpkit_runtime.gateway.downstream import Downstream
from mcpkit_runtime.gateway.settings import GatewaySettings


class Instances:
    def __init__(self, settings: GatewaySettings, group: Callable[[], anyio.abc.TaskGroup]) -> None:
        self.settings = settings
        self._group = group
        self._tables: dict[str, ClientTable[Downstream]] = {}

    def of(self, template: Downstream, client: str) -> Downstream:
        """The instance of `template`'s server that serves `client`: the shared one, or the client's own."""
        if self.settings.isolation.get(template.name, "shared") != "per-client":
            return template
        table = self._tables.get(template.name)
        if table is None:

            def make() -> Downstream:
                own = Downstream(template.name, template.target, template.recorded, template.start_seconds)
                own.on_ready = template.on_ready
                return own

            table = self._tables[template.name] = ClientTable(
                make, self.settings.session_idle_seconds, self.settings.max_clients, on_drop=self._stop
            )
        return table.get(client)

    def _stop(self, instance: Downstream) -> None:
        self._group().start_soon(instance.stop)

    def sweep(self) -> None:
        """Stop the instances of clients gone idle (the tables forget them lazily, on their next use)."""
        for table in self._tables.values():
            len(table)

    async def sweeping(self) -> None:
        while True:
            await anyio.sleep(max(0.05, self.settings.session_idle_seconds / 4))
            self.sweep()

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: table.figures() for name, table in self._tables.items()}

    async def stop(self) -> None:
        for table in self._tables.values():
            for instance in table.values():
                await instance.stop()
