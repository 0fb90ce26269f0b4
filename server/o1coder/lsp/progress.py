"""Work-done progress (`$/progress`) for long model work.

`progress_message` / `progress_percentage` are pure converters from the engine's
ProgressEvent; `WorkProgress` owns one server-initiated token. The engine calls `report`
from the worker thread: it is throttled there and handed to the event loop, which alone
writes to the client.

The engine reports at least every second while the model generates (its Meter's pulse), but
not while a model loads or candidates run in the sandbox. So the progress also ticks on its
own: when nothing was sent for TICK_SECONDS, the latest line is sent again. Every line ends with
the time the work has run ("· 12 s"), so a report that repeats the figures still shows that
the work goes on; no two reports are more than 1.5 x TICK_SECONDS apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from lsprotocol import types

from o1coder.engine.types import Budget, ProgressEvent

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

PHASE_TITLES = {
    "load": "loading the model",
    "tests": "writing tests",
    "plan": "planning",
    "search": "searching",
    "verify": "verifying",
    "done": "done",
}
MIN_INTERVAL = 0.1  # seconds between two reports of the same phase
CREATE_TIMEOUT = 2.0  # how long to wait for the client to accept a progress token
TICK_SECONDS = 1.0  # the longest the progress stays silent (up to half of it more)

_tokens = itertools.count(1)


def progress_message(event: ProgressEvent) -> str:
    """One line for the editor: phase, nodes expanded, best value, tests passing, tokens."""
    title = PHASE_TITLES.get(event.phase, event.phase)
    parts = [title, *event.counts()]
    if event.message and event.message.lower() not in (title, event.phase, "loading models"):
        parts.append(event.message)
    return " · ".join(parts)


def elapsed(seconds: float) -> str:
    """How long work has run, for a progress line: "7 s", "2 min 05 s"."""
    whole = max(0, int(seconds))
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def progress_percentage(event: ProgressEvent, budget: Budget | None) -> int | None:
    """How much of the budget is spent (the larger of tokens and nodes), 0-99; None without a budget."""
    if budget is None:
        return None
    if event.phase == "done":
        return 100
    shares = []
    if budget.tokens and event.tokens_generated:
        shares.append(event.tokens_generated / budget.tokens)
    if budget.nodes and event.nodes:
        shares.append(event.nodes / budget.nodes)
    if not shares:
        return None
    return max(0, min(99, int(100 * max(shares))))


def supports_progress(ls: LanguageServer) -> bool:
    window = getattr(ls.client_capabilities, "window", None)
    return bool(window and window.work_done_progress)


class WorkProgress:
    """One `$/progress` token: begin, throttled reports from any thread, end."""

    def __init__(
        self, ls: LanguageServer, title: str, budget: Budget | None = None, tick_seconds: float = TICK_SECONDS
    ):
        self.ls = ls
        self.title = title
        self.budget = budget
        self.token: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_phase = ""
        self._last_time = 0.0
        self._ended = False
        self._percentage = 0
        self.status = ""  # the latest progress line, even without a progress bar
        self.on_status: Callable[[str], None] | None = None
        self._tick_seconds = tick_seconds
        self._started = time.monotonic()
        self._last_sent = self._started  # when the client last got begin or a report (loop thread)
        self._ticker: asyncio.Task[None] | None = None

    async def begin(self, message: str = "") -> str | None:
        """Create the token and send `begin`; None (and no progress) if the client cannot show it."""
        self._loop = asyncio.get_running_loop()
        if not supports_progress(self.ls):
            return None
        token = f"o1coder-{os.getpid()}-{next(_tokens)}"
        try:
            await asyncio.wait_for(self.ls.work_done_progress.create_async(token), CREATE_TIMEOUT)
        except (TimeoutError, Exception) as exc:  # the client refused or never answered: no progress bar
            log.debug("progress token not created: %s", exc)
            return None
        self.token = token
        self.status = self.status or message
        self._started = self._last_sent = time.monotonic()
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(title=self.title, cancellable=True, message=message, percentage=0),
        )
        self._ticker = self._loop.create_task(self._tick())
        return token

    async def _tick(self) -> None:
        """Send the latest line again whenever nothing was sent for TICK_SECONDS."""
        while not self._ended:
            await asyncio.sleep(self._tick_seconds / 2)
            if not self._ended and time.monotonic() - self._last_sent >= self._tick_seconds:
                self._send_report(self.status, self._percentage)

    def report(self, event: ProgressEvent) -> None:
        """Called by the engine on the worker thread."""
        message = progress_message(event)
        self.status = message
        if self.on_status is not None:
            self.on_status(message)
        if self.token is None or self._ended or self._loop is None:
            return
        now = time.monotonic()
        if event.phase == self._last_phase and now - self._last_time < MIN_INTERVAL:
            return
        self._last_phase, self._last_time = event.phase, now
        percentage = progress_percentage(event, self.budget)
        if percentage is not None:
            self._percentage = max(self._percentage, percentage)  # never goes backwards
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is exiting
            self._loop.call_soon_threadsafe(self._send_report, message, self._percentage)

    def _send_report(self, message: str, percentage: int) -> None:
        if self.token is None or self._ended:
            return
        now = time.monotonic()
        self._last_sent = now
        line = " · ".join(part for part in (message, elapsed(now - self._started)) if part)
        self.ls.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=line, percentage=percentage, cancellable=True)
        )

    def end(self, message: str) -> None:
        """On the event loop thread."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self.token is None or self._ended:
            self._ended = True
            return
        self._ended = True
        self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.ls.work_done_progress.tokens.pop(self.token, None)
