"""How hard each source's problems are for the model: its greedy pass rate on a sample.

Per source, `[data].difficulty_sample` kept problems (a seeded sample) are solved with the
engine's own greedy strategy (`o1coder.engine.strategies.solve`, strategy "greedy": the direct
answer, as `o1coder solve` writes it; the model serves the policy, PRM and TCG roles, and the
problem's own tests are given, so the TCG writes none) within `[data].difficulty_max_tokens`.
The answer runs on the problem's tests in the sandbox, as the loop's held-out pass@1 checks it;
the fraction of tests passed is binned: 0, (0, 0.5), [0.5, 1), 1. `pass_rate` is the fraction of
sampled problems with every test passed. Results are cached per problem (its statement, tests,
the model, the token cap and the engine's prompt version) in the run's
data/difficulty-cache.jsonl.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from o1coder_train.data.cache import CheckCache
from o1coder_train.data.records import ProblemRecord, stable_hash

VERSION = 1  # part of every cached result's key: bump when what is measured changes
BINS = ("0", "(0, 0.5)", "[0.5, 1)", "1")


@dataclass(frozen=True)
class DifficultySettings:
    sample: int  # problems per source
    max_tokens: int = 512
    seed: int = 0


def sample(records: Sequence[ProblemRecord], n: int, seed: int = 0) -> list[ProblemRecord]:
    """`n` of `records`, the same ones whatever their order (a seeded hash of each id)."""
    return sorted(records, key=lambda r: stable_hash(f"{seed}:difficulty:{r.id}"))[:n]


def bin_of(fraction: float) -> str:
    if fraction <= 0:
        return BINS[0]
    if fraction >= 1:
        return BINS[3]
    return BINS[1] if fraction < 0.5 else BINS[2]


def solve_fraction(record: ProblemRecord, backend: Any, settings: DifficultySettings) -> dict[str, Any]:
    """The greedy answer of `backend` to `record`, checked on its tests: fraction passed, tokens, seconds."""
    from o1coder.config import SandboxSettings, SearchSettings
    from o1coder.engine.problem import ProblemError, assemble_program
    from o1coder.engine.strategies import solve
    from o1coder.engine.types import Budget
    from o1coder.sandbox import run_tests

    sandbox = SandboxSettings()
    started = time.monotonic()
    try:
        problem = record.problem()
    except ProblemError:
        return {"fraction": 0.0, "tokens": 0, "seconds": 0.0, "error": "statement does not parse"}
    tests = record.test_cases()
    search = SearchSettings(strategy="greedy", seed=settings.seed, budget_tokens=settings.max_tokens)
    result = solve(
        problem,
        policy=backend,
        prm=backend,
        tcg=backend,
        verifier=lambda program, cases: run_tests(program, cases, sandbox),
        settings=search,
        budget=Budget(tokens=settings.max_tokens, nodes=search.budget_nodes, seconds=600.0),
        tests=tests,
    )
    passed = 0
    if result.code:
        report = run_tests(assemble_program(problem, result.code), tests, sandbox)
        passed = report.passed if report.compiled else 0
    return {
        "fraction": round(passed / len(tests), 4) if tests else 0.0,
        "tokens": result.stats.tokens_generated,
        "seconds": round(time.monotonic() - started, 2),
    }


def measure(
    records: Sequence[ProblemRecord],
    backend: Any,
    model_name: str,
    settings: DifficultySettings,
    cache: CheckCache,
    progress: Callable[[Iterable[Any], str], Iterable[Any]] = lambda items, desc: items,
    label: str = "",
) -> dict[str, Any]:
    """The sample's greedy pass rate, histogram of fractions of tests passed, and cost."""
    from o1coder.engine.prompts import PROMPT_VERSION

    chosen = sample(records, settings.sample, settings.seed)
    results = []
    hits = 0
    for record in progress(chosen, f"difficulty {label}".strip()):
        key = CheckCache.key(
            "difficulty", VERSION, PROMPT_VERSION, model_name, settings.max_tokens, settings.seed,
            record.text, record.tests,
        )  # fmt: skip
        found = cache.get(key)
        hits += found is not None
        if found is None:
            found = solve_fraction(record, backend, settings)
            cache.put(key, found)
        results.append(found)
    histogram = dict.fromkeys(BINS, 0)
    for r in results:
        histogram[bin_of(r["fraction"])] += 1
    n = len(results)
    return {
        "model": model_name,
        "strategy": "greedy",
        "sampled": n,
        "pass_rate": round(histogram["1"] / n, 4) if n else None,
        "mean_fraction_passed": round(sum(r["fraction"] for r in results) / n, 4) if n else None,
        "histogram": histogram,
        "seconds_per_problem": round(sum(r["seconds"] for r in results) / n, 2) if n else None,
        "cache_hits": hits,
    }
