"""Metered model calls: what a solve spends, when its Budget is used up, and cancellation.

Every model call of a solve goes through one `Meter`: it checks the CancelToken before and
after each call (and hands it to the backend, which polls it per decode step), and measures
spending as deltas of the backends' counters since the solve started, over every role
(policy, PRM, TCG).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from o1coder.engine.types import Budget, CancelToken
from o1coder.models.backend import Backend, Continuation, Counters, SampleParams
from o1coder.sandbox.types import TestCase, VerificationReport

Verifier = Callable[[str, list[TestCase]], VerificationReport]

UNLIMITED = Budget(tokens=10**12, nodes=10**12, seconds=float("inf"))


class Meter:
    def __init__(
        self,
        backends: Sequence[Backend],
        budget: Budget = UNLIMITED,
        cancel: CancelToken | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.backends = unique_backends(backends)
        self.budget = budget
        self.cancel = cancel
        self.nodes = 0  # tree nodes created; the search counts them
        self._clock = clock
        self._started_at = clock()
        self._start = [b.counters.snapshot() for b in self.backends]

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
        out = backend.generate(prefixes, params, cancel=self.cancel)
        self.check_cancel()
        return out

    def judge(
        self, backend: Backend, prefixes: Sequence[Sequence[int]], yes: Sequence[str], no: Sequence[str]
    ) -> list[float]:
        self.check_cancel()
        out = backend.judge(prefixes, yes, no, cancel=self.cancel)
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

