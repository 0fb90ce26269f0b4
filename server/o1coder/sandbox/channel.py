"""The result channel, parent side: a fresh key per run, and reading authenticated lines."""

from __future__ import annotations

import ast
import hmac
import secrets
from hashlib import blake2b

from o1coder.sandbox.child.protocol import DIGEST_SIZE

KEY_SIZE = 32
MAX_LINE = 1 << 16  # longer lines are not the harness's (its messages are capped far below)


def new_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def read_line(key: bytes, line: bytes) -> tuple | None:
    """The message of an authentic line, else None."""
    digest, _, body = line.partition(b" ")
    expected = blake2b(body, key=key, digest_size=DIGEST_SIZE).hexdigest().encode("ascii")
    if not hmac.compare_digest(digest, expected):
        return None
    try:
        message = ast.literal_eval(body.decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        return None
    return message if isinstance(message, tuple) and message and isinstance(message[0], str) else None
