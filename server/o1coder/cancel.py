"""Cancellation: a token any thread may set, and the exception it raises where it is polled.

A leaf module (it imports nothing from o1coder), so that every layer can use it: the models
layer's backends poll the token between decode steps, the engine above them between model
calls, and the language server sets it. `o1coder.engine.types` re-exports both names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


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


class Heartbeat(CancelToken):
    """A CancelToken that also calls `beat` each time a backend polls it.

    Backends poll their token between decode steps and prefill slices (the llama.cpp backend
    every decoded token), so polls are the pulse of model work: the engine's Meter passes one of
    these to report progress while a single long model call runs. It is cancelled with `inner`
    (and cancelling it cancels `inner`); `beat` runs on the polling thread, after the check, and
    may raise Cancelled itself.
    """

    def __init__(self, inner: CancelToken | None, beat: Callable[[], None]) -> None:
        super().__init__()
        self.inner = inner
        self._beat = beat

    def cancel(self) -> None:
        super().cancel()
        if self.inner is not None:
            self.inner.cancel()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self.inner is not None and self.inner.cancelled)

    def raise_if_cancelled(self) -> None:
        if self.inner is not None:
            self.inner.raise_if_cancelled()  # the inner token's own polling, if it has any
        if self._event.is_set():
            raise Cancelled()
        self._beat()
