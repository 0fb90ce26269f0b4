"""Mined problems end to end: mine, filter, run in the sandbox (cached, in parallel), report.

Candidates come out of `mine` file by file. The cheap filters run first, in order: statement
length, evaluation leaks (HumanEval, MBPP when given), copies of an earlier candidate (by the
function's own statement and code: vendored copies of a library are found this way). What
is left runs in the sandbox (`derive.check`), a few at a time on threads (the work is in the
sandbox's processes); results are taken in mining order, so a build is deterministic, and
cached (`cache`), so an interrupted build resumes. Mining stops once `max_problems` are kept.

The third source, problems the model writes itself (OSS-Instruct style), is `selfgen`: it is
seeded by documented functions of the same modules (`selfgen.seeds`), and its problems go
through the same leak checks and deduplication, with the model's own asserts as tests (checked
in the sandbox by the build's `validate_record` and the reference's mutants, not by
`derive.check`, which derives tests from a reference's values). `data build` runs it after
this one, when `[data].self_generated` is set; it needs the model, which this module does not.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from o1coder_train.data.cache import CheckCache
from o1coder_train.data.dedup import Deduper, EvalIndex, Leak
from o1coder_train.data.derive import CHECK_VERSION, Checked, DeriveSettings, check
from o1coder_train.data.mine import DOCSTRING, DOCTEST, Candidate, Rejected, mine
from o1coder_train.data.modules import module_files
from o1coder_train.data.records import ProblemRecord
from o1coder_train.data.report import SourceReport

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class CorpusSettings:
    modules: list[str]
    exclude: list[str] = field(default_factory=list)
    max_problems: int = 0  # 0 = every problem that passes
    max_text_chars: int = 4000
    workers: int = 2
    derive: DeriveSettings = field(default_factory=DeriveSettings)


@dataclass
class Corpus:
    records: list[ProblemRecord]
    reports: dict[str, SourceReport]
    leaks: list[Leak]
    seconds: float
    files: int
    checked: int  # candidates run in the sandbox (or found in the cache)
    cache_hits: int


def mined_problems(
    settings: CorpusSettings,
    evals: EvalIndex,
    cache: CheckCache,
    progress: Callable[[Iterable[Any], str], Iterable[Any]] = lambda items, desc: items,
) -> Corpus:
    started = time.monotonic()
    files = module_files(settings.modules, settings.exclude)
    if not files:
        raise ValueError(
            f"[data].doctest_modules = {settings.modules}: no Python file found; name installed modules "
            "or packages, 'stdlib', 'site-packages', or paths to .py files / folders"
        )
    reports = {DOCTEST: SourceReport(), DOCSTRING: SourceReport()}
    leaks: list[Leak] = []
    seen = Deduper()

    def ready() -> Iterator[Candidate]:
        for item in mine(files, settings.derive.seed):
            report = reports[item.source]
            report.mined += 1
            if isinstance(item, Rejected):
                report.fail(item.reason)
            elif len(item.text) > settings.max_text_chars:
                report.fail("statement longer than [data].max_text_chars")
            elif (leak := evals.leak(item.draft())) is not None:
                leaks.append(leak)
                report.fail("resembles an evaluation problem")
            elif seen.repeats(item.own()):
                report.fail("a copy of another mined function")
            else:
                yield item

    def run(cand: Candidate) -> Checked:
        key = CheckCache.key(CHECK_VERSION, cand.to_dict(), asdict(settings.derive))
        found = cache.get(key)
        if found is not None:
            return Checked.from_dict(found)
        checked = check(cand, settings.derive)
        cache.put(key, checked.to_dict())
        return checked

    records: list[ProblemRecord] = []
    n_checked = 0
    with ThreadPoolExecutor(max(1, settings.workers)) as pool:
        results = Ordered(pool, run, ready(), window=4 * max(1, settings.workers))
        for cand, checked in progress(results, "mined problems"):
            n_checked += 1
            report = reports[cand.source]
            report.inputs.update(checked.inputs)
            if checked.record is None:
                report.fail(checked.reason)
                continue
            report.kept.append(checked.record)
            records.append(checked.record)
            if settings.max_problems and len(records) >= settings.max_problems:
                for left in results.close_and_count():
                    reports[left.source].unchecked += 1
                break
    return Corpus(records, reports, leaks, time.monotonic() - started, len(files), n_checked, cache.hits)


class Ordered:
    """`(item, fn(item))` for each item, in the items' order, at most `window` running at once."""

    def __init__(self, pool: ThreadPoolExecutor, fn: Callable[[T], R], items: Iterable[T], window: int):
        self.pool, self.fn, self.items, self.window = pool, fn, iter(items), window
        self.pending: deque[tuple[T, Future]] = deque()

    def __iter__(self) -> Ordered:
        return self

    def __next__(self) -> tuple[Any, Any]:
        while len(self.pending) < self.window:
            item = next(self.items, None)
            if item is None:
                break
            self.pending.append((item, self.pool.submit(self.fn, item)))
        if not self.pending:
            raise StopIteration
        item, future = self.pending.popleft()
        return item, future.result()

    def close_and_count(self) -> list[Any]:
        """Cancel what has not started; the items given up on (results of finished ones are cached)."""
        left = [item for item, future in self.pending]
        for _, future in self.pending:
            future.cancel()
        self.pending.clear()
        return left
