"""Model work off the event loop: one worker thread, one job per document at a time.

Policy: **cancel-previous**. A new work request on a document cancels the job already
running (or queued) on that document; the cancelled request answers
`{"applied": false, "reason": "cancelled: superseded by ..."}` and the new one runs as soon
as the worker is free. Queueing was rejected: a queued job on the same document would
start after the first one applied its edit, so the version it was asked for is gone and
its edit would be refused as stale anyway; the newest request is the one the user wants.

All jobs (every document, every kind) share one worker thread, because one llama.cpp
context is not reentrant: work on different documents runs one after another. Inline
completions use their own lane per document, so a completion never cancels a search; they
are not started at all while a search holds the worker (see `busy`).

Cancellation sets the job's CancelToken, which the engine polls at every decoded token; the
waiting handler answers at once and never applies the result. `Job.stop_ms` records how long
the worker took to actually stop after the cancel.

Every method except the worker callbacks is called on the event loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from o1coder.engine.types import Cancelled, CancelToken

log = logging.getLogger(__name__)

POLICY = "cancel-previous"
WORK = "work"
COMPLETION = "completion"

_ids = itertools.count(1)


@dataclass(eq=False)
class Job:
    uri: str
    lane: str
    title: str
    token: CancelToken = field(default_factory=CancelToken)
    id: int = field(default_factory=lambda: next(_ids))
    request_id: Any = None  # the JSON-RPC id of the request that started it
    progress_token: Any = None
    cancel_reason: str = ""
    status: str = ""  # the latest progress line (hover shows it)
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    cancelled_at: float | None = None
    future: Future | None = None
    _cancelled: asyncio.Future | None = None

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    @property
    def was_running(self) -> bool:
        """Whether the worker had started it when it was cancelled."""
        return self.started_at is not None and (self.cancelled_at is None or self.started_at < self.cancelled_at)

    @property
    def stop_ms(self) -> float | None:
        """Milliseconds from the cancel to the worker returning (None while it still runs)."""
        if self.cancelled_at is None or self.finished_at is None:
            return None
        if self.started_at is None or self.started_at >= self.cancelled_at:
            return 0.0  # cancelled while queued: it never ran
        return max(0.0, (self.finished_at - self.cancelled_at) * 1000.0)

    def cancel(self, reason: str) -> bool:
        """Ask the job to stop; True if this call cancelled it."""
        if self.token.cancelled:
            return False
        self.cancelled_at = time.monotonic()
        self.cancel_reason = reason
        self.token.cancel()
        if self._cancelled is not None and not self._cancelled.done():
            self._cancelled.set_result(None)
        log.info("%s: cancel requested (%s)", self.describe(), reason)
        return True

    def describe(self) -> str:
        return f"job {self.id} {self.title} on {self.uri.rsplit('/', 1)[-1]}"

    async def result(self) -> Any:
        """The job's result; raises Cancelled as soon as it is cancelled (without waiting for the worker)."""
        assert self.future is not None
        loop = asyncio.get_running_loop()
        if self._cancelled is None:
            self._cancelled = loop.create_future()
            if self.token.cancelled:
                self._cancelled.set_result(None)
        work = asyncio.wrap_future(self.future, loop=loop)
        try:
            await asyncio.wait({work, self._cancelled}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self.cancel("the request was cancelled")
            raise
        if self.token.cancelled:
            work.add_done_callback(_consume)
            raise Cancelled(self.cancel_reason)
        return work.result()


WORKER_NICE = 5


def _lower_priority() -> None:
    """Run model work a little below the event loop, so answers to the editor come first.

    Linux niceness is per thread and inherited by the threads it creates (llama.cpp's
    decode threads are created from the worker); elsewhere this does nothing.
    """
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)


def _consume(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


class Jobs:
    """The per-document job registry over one model worker thread."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="o1coder-model", initializer=_lower_priority
        )
        self._lock = threading.Lock()
        self._active: dict[tuple[str, str], Job] = {}
        self._jobs: list[Job] = []  # unfinished, in submission order
        self._cancelled_requests: collections.deque[Any] = collections.deque(maxlen=256)

    def submit(
        self,
        uri: str,
        title: str,
        fn: Callable[[CancelToken], Any],
        *,
        lane: str = WORK,
        request_id: Any = None,
    ) -> Job:
        """Run `fn(token)` on the worker, cancelling the job already on (`uri`, `lane`)."""
        job = Job(uri=uri, lane=lane, title=title, request_id=request_id)
        with self._lock:
            previous = self._active.get((uri, lane))
            self._active[(uri, lane)] = job
            self._jobs.append(job)
        if previous is not None and not previous.done:
            previous.cancel(f"superseded by a newer {title} request on this document")

        def run() -> Any:
            job.started_at = time.monotonic()
            try:
                job.token.raise_if_cancelled()
                return fn(job.token)
            finally:
                job.finished_at = time.monotonic()
                if job.cancelled_at is not None and job.started_at < job.cancelled_at:
                    log.info("%s: stopped %.0f ms after the cancel", job.describe(), job.stop_ms or 0.0)

        job.future = self.executor.submit(run)
        job.future.add_done_callback(lambda _f: self._forget(job))
        return job

    def run_on_worker(self, fn: Callable[[], Any]) -> Future:
        """Run `fn` on the model worker, after the jobs already queued (settings changes)."""
        return self.executor.submit(fn)

    def _forget(self, job: Job) -> None:
        with self._lock:
            if self._active.get((job.uri, job.lane)) is job:
                del self._active[(job.uri, job.lane)]
            if job in self._jobs:
                self._jobs.remove(job)

    def unfinished(self, lane: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if lane is None or j.lane == lane]

    def busy(self) -> bool:
        """Whether work (not a completion) is running or queued."""
        return any(not j.cancelled for j in self.unfinished(WORK))

    def active(self, uri: str, lane: str = WORK) -> Job | None:
        with self._lock:
            return self._active.get((uri, lane))

    def cancel(self, uri: str | None = None, reason: str = "cancelled", lane: str | None = None) -> list[Job]:
        """Cancel the unfinished jobs on `uri` (every document when None)."""
        cancelled = []
        for job in self.unfinished(lane):
            if (uri is None or job.uri == uri) and job.cancel(reason):
                cancelled.append(job)
        return cancelled

    def cancel_request(self, request_id: Any) -> list[Job]:
        """The client's $/cancelRequest for `request_id`: stop its job, if one is still running.

        Every cancel is logged, also one that finds nothing to stop: the answer may already be on
        its way, a newer request on the document may have superseded the job, or the job may not
        exist yet (`request_cancelled` then stops it before it starts)."""
        self._cancelled_requests.append(request_id)
        stopped = [
            j for j in self.unfinished() if j.request_id == request_id and j.cancel("the client cancelled the request")
        ]
        if stopped:
            log.info("$/cancelRequest %s: stopped %s", request_id, ", ".join(j.describe() for j in stopped))
        else:
            log.info("$/cancelRequest %s: no work of it still running (answered, superseded or not started)", request_id)
        return stopped

    def request_cancelled(self, request_id: Any) -> bool:
        """Whether the client cancelled request `request_id` (maybe before its job existed)."""
        return request_id is not None and request_id in self._cancelled_requests

    def cancel_progress(self, token: Any) -> list[Job]:
        return [
            j for j in self.unfinished() if j.progress_token == token and j.cancel("cancelled from the progress bar")
        ]

    async def wait_stopped(self, jobs: list[Job], timeout: float = 5.0) -> None:
        """Wait until the worker has really returned from each of `jobs` (or `timeout`)."""
        pending = [asyncio.wrap_future(j.future) for j in jobs if j.future is not None and not j.future.done()]
        if pending:
            done, _ = await asyncio.wait(pending, timeout=timeout)
            for future in done:
                _consume(future)

    def shutdown(self) -> None:
        self.cancel(reason="the server is shutting down")
        self.executor.shutdown(wait=False, cancel_futures=True)
