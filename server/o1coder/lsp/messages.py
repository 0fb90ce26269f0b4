"""JSON-RPC and LSP lifecycle checks on a parsed message, before pygls dispatches it.

pygls drops a message without `"jsonrpc": "2.0"`, and anything after `shutdown`, with only a
log line, and runs requests that arrive before `initialize`. The client then waits for an
answer forever. These pure functions say which error answers such a message instead:

- not a JSON-RPC 2.0 request, notification or response: InvalidRequest (-32600), with the
  message's id when it has a usable one, else null;
- a request before `initialize`: ServerNotInitialized (-32002); a notification is dropped
  (except `exit`), as the LSP specification says;
- a request after `shutdown`: InvalidRequest (-32600); a notification other than `exit` is
  dropped;
- a second `initialize`: InvalidRequest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
SERVER_NOT_INITIALIZED = -32002
SERVER_BUSY = -32000  # JSON-RPC's implementation-defined server error range: a second TCP client

INITIALIZE = "initialize"
EXIT = "exit"


def valid_id(value: Any) -> bool:
    """LSP ids are integers or strings."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def usable_id(data: Any) -> int | str | None:
    """The id to answer `data` with: its own when valid, else None (JSON null)."""
    if isinstance(data, dict) and valid_id(data.get("id")):
        return data["id"]
    return None


def invalid_reason(data: Any) -> str | None:
    """Why `data` is not a JSON-RPC 2.0 request, notification or response (None when it is one)."""
    if isinstance(data, list):
        return "batches (JSON arrays) are not supported: send one message per frame"
    if not isinstance(data, dict):
        return f"a message must be a JSON object, not {type(data).__name__}"
    if data.get("jsonrpc") != "2.0":
        found = "lacks" if "jsonrpc" not in data else f"has {data['jsonrpc']!r} in"
        return f'the message {found} "jsonrpc": "2.0"; every message must carry it'
    if "method" in data:
        if not isinstance(data["method"], str):
            return "method must be a string"
        if "id" in data and not valid_id(data["id"]):
            return f"a request's id must be an integer or a string, not {data['id']!r}"
        if data.get("params") is not None and not isinstance(data["params"], dict | list):
            return "params must be an object or an array"
        return None
    if "id" not in data:
        return "a message needs a method (request, notification) or an id (response)"
    if ("result" in data) == ("error" in data):
        return "a response needs exactly one of result and error"
    return None


@dataclass(frozen=True)
class Refusal:
    """A message the lifecycle does not allow now: answered with `code`, or dropped when it is None."""

    code: int | None
    message: str


def lifecycle_refusal(method: str, is_request: bool, initialized: bool, shut_down: bool) -> Refusal | None:
    """Whether the server may handle `method` now (None), or how it refuses it."""
    if method == EXIT:
        return None
    refused = INVALID_REQUEST if is_request else None
    if shut_down:
        return Refusal(refused, f"{method} after shutdown: the server only accepts exit now")
    if method == INITIALIZE:
        if not is_request:
            return Refusal(None, "initialize must be a request (with an id)")
        if initialized:
            return Refusal(refused, "initialize was already sent on this connection")
        return None
    if not initialized:
        code = SERVER_NOT_INITIALIZED if is_request else None
        return Refusal(code, f"{method} before initialize: the server is not initialized; send initialize first")
    return None
