"""Who a client is, and the table of their state: idle clients forgotten, the table bounded."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from mcpkit_runtime.clients import CLIENT_META_KEY, ClientTable, client_key, fingerprint


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _ctx(headers: dict[str, str] | None, meta: Any = None, peer: str = "10.0.0.7") -> Any:
    # The parts of a request context client_key reads; the HTTP tests exercise it through the real SDK.
    request = None if headers is None else SimpleNamespace(headers=headers, client=SimpleNamespace(host=peer))
    return SimpleNamespace(session=SimpleNamespace(), request=request, meta=meta)


def test_stdio_is_the_process() -> None:
    assert client_key(_ctx(None), "stdio-1") == "stdio-1"


def test_stateless_http_is_the_token_or_the_address_narrowed_by_a_client_id() -> None:
    token = {"authorization": "Bearer s3cret"}
    assert client_key(_ctx(token), "p") == f"token:{fingerprint('s3cret')}"
    assert "s3cret" not in client_key(_ctx(token), "p"), "the key never holds the token"
    assert client_key(_ctx({}), "p") == "peer:10.0.0.7"
    assert client_key(_ctx({**token, "mcp-client-id": "ann"}), "p") == f"token:{fingerprint('s3cret')}/ann"
    assert client_key(_ctx({}, meta={CLIENT_META_KEY: "bob"}), "p") == "peer:10.0.0.7/bob"


def test_idle_clients_are_forgotten_and_the_table_is_bounded() -> None:
    clock = Clock()
    table: ClientTable[dict[str, int]] = ClientTable(dict, 10.0, max_clients=3, clock=clock)
    for key in ("a", "b", "c"):
        table.get(key)
    clock.now = 5.0
    table.get("a")  # seen again: kept
    clock.now = 12.0
    assert len(table) == 1, "b and c were idle for 12 s"
    for key in ("d", "e", "f"):
        table.get(key)
    assert len(table) == 3 and table.figures() == {"active": 3, "opened": 6, "reaped": 3}
