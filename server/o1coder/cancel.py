"""Cancellation: a token any thread may set, and the exception it raises where it is polled.

A leaf module (it imports nothing from o1coder), so that every layer can use it: the models
layer's backends poll the token between decode steps, the engine above them between model
calls, and the language server sets it. `o1coder.engine.types` re-exports both names.
"""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised where a set CancelToken is polled; nothing partial is returned."""


class CancelToken:
    """Set from any thread; the engine and the backends poll it between decode steps (every token)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()
