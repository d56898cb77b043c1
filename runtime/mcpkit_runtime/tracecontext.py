"""The trace a request belongs to, for its audit line: the W3C trace context a caller (the gateway, or any client
that traces) sent in the request's `_meta`, which the MCP SDK makes current while the request is handled. A server
that does not trace itself still carries its caller's span there, so its audit lines join the caller's trace."""

from __future__ import annotations

from opentelemetry import trace  # the SDK's own dependency: imported already, whether anything traces or not


def current_trace() -> dict[str, str]:
    """`trace_id` and `span_id` (hex, as in a traceparent) of the current span; nothing outside a trace."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
