"""Metered model calls: what a solve spends, when its Budget is used up, and cancellation.

Every model call of a solve goes through one `Meter`: it checks the CancelToken before and
after each call (and hands it to the backend, which polls it per decode step), and measures
spending as deltas of the backends' counters since the solve started, over every role
(policy, PRM, TCG).

With a progress callback, the Meter is also the solve's pulse: its events go out through
`notify`, and while one model call runs (a batch of tests and the direct answer can take a
minute on a CPU) the backend's polls of the token (a `Heartbeat`) repeat the latest event with
the tokens generated and nodes so far (or, while a prompt is being read, the prompt tokens
read): at the first poll once `pulse_seconds` have passed since the last event. The llama.cpp
backend polls every decoded token and every prefill slice (about 0.1 s of work).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

from o1coder.cancel import Heartbeat
from o1coder.engine.types import Budget, CancelToken, ProgressCallback, ProgressEvent
from o1coder.models.backend import Backend, Continuation, Counters, SampleParams
from o1coder.sandbox.types import TestCase, VerificationReport

Verifier = Callable[[str, list[TestCase]], VerificationReport]

UNLIMITED = Budget(tokens=10**12, nodes=10**12, seconds=float("inf"))
PULSE_SECONDS = 1.0  # at most this long between two progress events while a model call runs
READING = "reading the prompt"


class Meter:
    def __init__(
        self,
        backends: Sequence[Backend],
        budget: Budget = UNLIMITED,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
        progress: ProgressCallback | None = None,
        pulse_seconds: float | None = None,  # None: PULSE_SECONDS
    ):
        self.backends = unique_backends(backends)
        self.budget = budget
        self.cancel = cancel
        self.nodes = 0  # tree nodes created; the search counts them
        self.progress = progress
        self.last_event: ProgressEvent | None = None  # what the pulse repeats
        self._clock = clock
        self._started_at = clock()
        self._start = [b.counters.snapshot() for b in self.backends]
        self._pulse_seconds = PULSE_SECONDS if pulse_seconds is None else pulse_seconds
        self._last_sent = self._started_at
        self._polled = Counters()  # spending at the previous poll (to tell reading from writing)
        # what the backends poll: with a progress callback, a Heartbeat that pulses
        self._token: CancelToken | None = Heartbeat(cancel, self._pulse) if progress is not None else cancel

    # ------------------------------------------------------------ progress
    def notify(self, event: ProgressEvent) -> None:
        """Report `event` (if there is a progress callback); the pulse repeats it until the next."""
        self.last_event = event
        if self.progress is not None:
            self._last_sent = self._clock()
            self.progress(event)

    def _pulse(self) -> None:
        """On each poll of the token: the latest event with the spending so far, when it is due."""
        spent = self.spent()
        reading = (
            spent.prompt_tokens_evaluated > self._polled.prompt_tokens_evaluated
            and spent.tokens_generated == self._polled.tokens_generated
        )
        self._polled = spent
        now = self._clock()
        if self.progress is None or now - self._last_sent < self._pulse_seconds:
            return
        self._last_sent = now
        last = self.last_event or ProgressEvent(phase="search")
        self.progress(
            dataclasses.replace(
                last,
                nodes=max(last.nodes, self.nodes),
                tokens_generated=spent.tokens_generated,
                prompt_tokens=spent.prompt_tokens_evaluated if reading else 0,
                message=READING if reading else last.message,
                pulse=True,
            )
        )

    # ------------------------------------------------------------ spending
    def spent(self) -> Counters:
        total = Counters()
        for backend, start in zip(self.backends, self._start, strict=True):
            delta = backend.counters.since(start)
            for key, value in delta.__dict__.items():
                setattr(total, key, getattr(total, key) + value)
        return total

    @property
    def tokens_generated(self) -> int:
        return self.spent().tokens_generated

    @property
    def tokens_left(self) -> int:
        return max(0, self.budget.tokens - self.tokens_generated)

    @property
    def seconds(self) -> float:
        return self._clock() - self._started_at

    def unique_tree_tokens(self) -> int:
        return sum(b.tree.size for b in self.backends)

    def exhausted(self) -> str | None:
        """Which budget is used up ("tokens", "nodes", "seconds"), or None."""
        if self.tokens_generated >= self.budget.tokens:
            return "tokens"
        if self.nodes >= self.budget.nodes:
            return "nodes"
        if self.seconds >= self.budget.seconds:
            return "seconds"
        return None

    # ------------------------------------------------------------ calls
    def check_cancel(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()

    def generate(
        self, backend: Backend, prefixes: Sequence[Sequence[int]], params: Sequence[SampleParams]
    ) -> list[Continuation]:
        self.check_cancel()
        out = backend.generate(prefixes, params, cancel=self._token)
        self.check_cancel()
        return out

    def judge(
        self, backend: Backend, prefixes: Sequence[Sequence[int]], yes: Sequence[str], no: Sequence[str]
    ) -> list[float]:
        self.check_cancel()
        out = backend.judge(prefixes, yes, no, cancel=self._token)
        self.check_cancel()
        return out

    def verify(self, verifier: Verifier, program: str, tests: list[TestCase]) -> VerificationReport:
        self.check_cancel()
        report = verifier(program, tests)
        self.check_cancel()
        return report


def unique_backends(backends: Sequence[Backend]) -> list[Backend]:
    """Each backend object once (roles sharing one loaded model count once)."""
    out: list[Backend] = []
    for backend in backends:
        if all(backend is not seen for seen in out):
            out.append(backend)
    return out

