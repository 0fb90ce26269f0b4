"""Several searches over one model: their model calls merged into one batch.

On a GPU a search is generation-bound and its own calls are small (a few siblings at a time),
so one search leaves the GPU mostly idle. `Batcher` lets N searches run in N threads over
one loaded model: each search gets a `Lane` (the engine's `Backend` protocol, with its own
counters, so each search's token budget counts only its own tokens), and the `generate` /
`judge` calls the lanes make while others are waiting are merged into one call of the shared
backend. A batch goes as soon as every running search is waiting on the model, or when the
oldest waiting call has waited `wait_seconds` (a search busy in the sandbox does not hold the
others up for longer than that).

Each row keeps its own SampleParams (seed included), so merging changes which rows share a
forward pass, not how any row is sampled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from o1coder.cancel import CancelToken
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie


@dataclass
class _Call:
    """One lane's waiting call: what it asks, and (once the batch ran) what it got."""

    kind: str  # "generate" | "judge"
    prefixes: list[list[int]]
    params: list[SampleParams] | None = None  # generate
    spellings: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # judge: (yes, no)
    since: float = field(default_factory=time.monotonic)
    result: list[Any] | None = None
    error: BaseException | None = None
    seconds: float = 0.0  # wall time of the merged call it rode in

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def group(self) -> tuple[Any, ...]:
        return (self.kind, self.spellings)


@dataclass
class BatchStats:
    calls: int = 0  # merged calls of the shared backend
    merged: int = 0  # lane calls they carried
    rows: int = 0  # prefixes they carried

    @property
    def mean_rows(self) -> float:
        return self.rows / self.calls if self.calls else 0.0


class Batcher:
    """Merges concurrent lanes' calls into calls of one shared backend (see the module doc)."""

    def __init__(self, backend: Any, wait_seconds: float = 0.02):
        self.backend = backend
        self.wait_seconds = wait_seconds
        self.stats = BatchStats()
        self._cond = threading.Condition()
        self._pending: list[_Call] = []
        self._lanes = 0  # lanes open now (searches running)
        self._busy = False  # a merged call is running

    @contextmanager
    def lane(self) -> Iterator[Lane]:
        """A lane for one search; the batcher stops waiting for it once the block ends."""
        with self._cond:
            self._lanes += 1
        try:
            yield Lane(self)
        finally:
            with self._cond:
                self._lanes -= 1
                self._cond.notify_all()

    # ---------------------------------------------------------------- the one entry point
    def call(self, call: _Call) -> _Call:
        """Wait until `call` has ridden in a merged call; the caller that finds a batch ready runs it."""
        with self._cond:
            self._pending.append(call)
            self._cond.notify_all()
        while True:
            with self._cond:
                while True:
                    if call.done:
                        return call
                    batch = self._take_if_ready()
                    if batch:
                        self._busy = True
                        break
                    self._cond.wait(timeout=self._wait_left())
            try:
                self._run(batch)  # maybe another kind than `call`: then it waits for its own turn
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    # ---------------------------------------------------------------- under the lock
    def _take_if_ready(self) -> list[_Call]:
        if self._busy or not self._pending:
            return []
        everyone_waits = len(self._pending) >= self._lanes
        waited = time.monotonic() - self._pending[0].since >= self.wait_seconds
        if not (everyone_waits or waited):
            return []
        group = self._pending[0].group()
        batch = [c for c in self._pending if c.group() == group]
        self._pending = [c for c in self._pending if c.group() != group]
        return batch

    def _wait_left(self) -> float | None:
        if self._busy or not self._pending:
            return None  # woken by notify: a batch ended, a call arrived or a lane closed
        return max(0.0, self.wait_seconds - (time.monotonic() - self._pending[0].since))

    # ---------------------------------------------------------------- outside the lock
    def _run(self, batch: list[_Call]) -> None:
        prefixes = [p for c in batch for p in c.prefixes]
        started = time.monotonic()
        try:
            if batch[0].kind == "generate":
                params = [p for c in batch for p in c.params or ()]
                out: list[Any] = self.backend.generate(prefixes, params)
            else:
                yes, no = batch[0].spellings or ((), ())
                out = self.backend.judge(prefixes, yes, no)
        except BaseException as exc:  # every caller in the batch gets the error
            for c in batch:
                c.error = exc
            return
        seconds = time.monotonic() - started
        self.stats.calls += 1
        self.stats.merged += len(batch)
        self.stats.rows += len(prefixes)
        at = 0
        for c in batch:
            c.result, c.seconds = out[at : at + len(c.prefixes)], seconds
            at += len(c.prefixes)


class Lane:
    """One search's view of a shared backend (the engine's `Backend` protocol)."""

    def __init__(self, batcher: Batcher):
        self._batcher = batcher
        self._backend = batcher.backend
        self.name = self._backend.name
        self.counters = Counters()
        self.tree = TokenTrie()

    def tokenize(self, text: str) -> list[int]:
        return self._backend.tokenize(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self._backend.detokenize(tokens)

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self._backend.render_chat(messages, add_generation_prompt)

    def n_ctx(self) -> int:
        return self._backend.n_ctx()

    def forget(self) -> None:
        """Nothing cached per lane; the shared backend keeps no prefix cache across calls."""

    def _ride(self, call: _Call, cancel: CancelToken | None) -> list[Any]:
        if cancel is not None:
            cancel.raise_if_cancelled()
        done = self._batcher.call(call)
        if done.error is not None:
            raise done.error
        if cancel is not None:
            cancel.raise_if_cancelled()
        self.counters.calls += 1
        self.counters.prompt_tokens_evaluated += sum(len(p) for p in call.prefixes)
        self.counters.decode_seconds += done.seconds
        return done.result or []

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        if len(params) != len(prefixes):
            raise ValueError("one SampleParams per prefix")
        if not prefixes:
            return []
        call = _Call("generate", [list(p) for p in prefixes], params=list(params))
        out: list[Continuation] = self._ride(call, cancel)
        for prefix, c in zip(prefixes, out, strict=True):
            self.counters.tokens_generated += len(c.tokens)
            self.tree.add(list(prefix) + c.tokens)
        return out

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        if not prefixes:
            return []
        call = _Call("judge", [list(p) for p in prefixes], spellings=(tuple(yes), tuple(no)))
        out: list[float] = self._ride(call, cancel)
        self.counters.judgements += len(prefixes)
        for p in prefixes:
            self.tree.add(p)
        return out
