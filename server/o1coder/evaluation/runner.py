"""pass@1 of a strategy on a dataset, against the dataset's own tests; resumable JSONL."""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from o1coder.config import SandboxSettings
from o1coder.engine.engine import Engine
from o1coder.engine.problem import Problem, ProblemError, assemble_program
from o1coder.engine.types import ProgressCallback, SolveResult
from o1coder.evaluation.datasets import EvalProblem
from o1coder.sandbox import run_tests

# Dataset checks run more asserts than one generated test: give them more room.
CHECK_LIMITS = SandboxSettings(timeout_seconds=15.0, cpu_seconds=15, memory_mb=1024)


@dataclass
class EvalRecord:
    task_id: str
    strategy: str
    passed: bool
    code: str
    tokens_generated: int
    prompt_tokens_evaluated: int
    unique_tree_tokens: int
    nodes: int
    seconds: float
    generated_tests_passed: int
    generated_tests_total: int
    aspr: float | None
    stopped_by: str
    prompt_version: str
    error: str = ""
    ended_by: str = ""
    candidates: int = 0
    clusters: int = 0
    suspect_tests: int = 0


def check_solution(problem: EvalProblem, program: str) -> tuple[bool, str]:
    report = run_tests(program, [problem.test_case()], CHECK_LIMITS)
    outcome = report.outcomes[0] if report.outcomes else None
    passed = bool(outcome and outcome.passed)
    return passed, "" if passed else (report.error or (outcome.message if outcome else "no result"))


def _aspr(result: SolveResult) -> float | None:
    if result.tree is None:
        return None
    from o1coder.engine.targets import aspr

    return aspr(result.tree)


def record_for(problem: EvalProblem, result: SolveResult, strategy: str, seconds: float) -> EvalRecord:
    parsed = Problem.from_source(problem.prompt)
    passed, error = check_solution(problem, assemble_program(parsed, result.code))
    s, report = result.stats, result.test_results
    return EvalRecord(
        task_id=problem.task_id,
        strategy=strategy,
        passed=passed,
        code=result.code,
        tokens_generated=s.tokens_generated,
        prompt_tokens_evaluated=s.prompt_tokens_evaluated,
        unique_tree_tokens=s.unique_tree_tokens,
        nodes=s.nodes,
        seconds=round(seconds, 2),
        generated_tests_passed=report.passed if report else 0,
        generated_tests_total=report.total if report else 0,
        aspr=_aspr(result),
        stopped_by=s.stopped_by,
        prompt_version=s.prompt_version,
        error=error[:300],
        ended_by=s.ended_by,
        candidates=s.candidates,
        clusters=s.clusters,
        suspect_tests=s.suspect_tests,
    )


def done_ids(out_path: Path, strategy: str) -> set[str]:
    """Task ids already in the JSONL for this strategy (a resumed run skips them)."""
    if not out_path.exists():
        return set()
    ids = set()
    for line in out_path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by an interruption
        if rec.get("strategy") == strategy:
            ids.add(rec["task_id"])
    return ids


def evaluate(
    engine: Engine,
    problems: Iterable[EvalProblem],
    *,
    strategy: str,
    out_path: Path,
    progress: ProgressCallback | None = None,
    on_record: Callable[[EvalRecord], None] | None = None,
) -> list[EvalRecord]:
    """Solve each problem not yet in `out_path`, append its record, return all records of the strategy."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    skip = done_ids(out_path, strategy)
    for problem in problems:
        if problem.task_id in skip:
            continue
        started = time.monotonic()
        try:
            result = engine.solve(Problem.from_source(problem.prompt), strategy=strategy, progress=progress)
            rec = record_for(problem, result, strategy, time.monotonic() - started)
        except ProblemError as exc:
            rec = EvalRecord(problem.task_id, strategy, False, "", 0, 0, 0, 0, 0.0, 0, 0, None, "", "", str(exc))
        with out_path.open("a") as fh:
            fh.write(json.dumps(asdict(rec)) + "\n")
        if on_record:
            on_record(rec)
    return load_records(out_path, strategy)


def load_records(out_path: Path, strategy: str | None = None) -> list[EvalRecord]:
    fields = {f.name for f in dataclasses.fields(EvalRecord)}
    records = []
    if out_path.exists():
        for line in out_path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if strategy is None or rec.get("strategy") == strategy:
                records.append(EvalRecord(**{k: v for k, v in rec.items() if k in fields}))
    return records


def _ended(record: EvalRecord) -> str:
    """How a solve ended: its `ended_by`, else (records before it) its `stopped_by`."""
    return record.ended_by or record.stopped_by or "-"


def summarize(records: list[EvalRecord]) -> dict:
    n = len(records)
    if not n:
        return {"problems": 0}
    asprs = [r.aspr for r in records if r.aspr is not None]
    ended: dict[str, int] = {}
    for r in records:
        ended[_ended(r)] = ended.get(_ended(r), 0) + 1
    return {
        "strategy": records[0].strategy,
        "problems": n,
        "pass@1": sum(r.passed for r in records) / n,
        "passed": sum(r.passed for r in records),
        "aspr": sum(asprs) / len(asprs) if asprs else None,
        "tokens_per_problem": sum(r.tokens_generated for r in records) / n,
        "median_tokens": statistics.median(r.tokens_generated for r in records),
        "seconds_per_problem": sum(r.seconds for r in records) / n,
        "median_seconds": statistics.median(r.seconds for r in records),
        "ended_by": dict(sorted(ended.items())),
        "suspect_tests_per_problem": sum(r.suspect_tests for r in records) / n,
        "prompt_evaluated_per_problem": sum(r.prompt_tokens_evaluated for r in records) / n,
        "reevaluation_ratio": (
            sum(r.prompt_tokens_evaluated + r.tokens_generated for r in records)
            / max(1, sum(r.unique_tree_tokens for r in records))
        ),
    }


def format_table(summaries: list[dict]) -> str:
    head = (
        f"{'strategy':<12} {'n':>4} {'pass@1':>7} {'ASPR':>6} {'tok/prob':>9} {'med tok':>8} {'s/prob':>7} "
        f"{'med s':>6} {'re-eval':>8}  ended by"
    )
    rows = [head, "-" * len(head)]
    for s in summaries:
        if not s.get("problems"):
            continue
        aspr = f"{s['aspr']:.2f}" if s.get("aspr") is not None else "-"
        ended = ", ".join(f"{k} {v}" for k, v in s.get("ended_by", {}).items())
        rows.append(
            f"{s['strategy']:<12} {s['problems']:>4} {s['pass@1']:>7.1%} {aspr:>6} "
            f"{s['tokens_per_problem']:>9.0f} {s.get('median_tokens', 0):>8.0f} {s['seconds_per_problem']:>7.1f} "
            f"{s.get('median_seconds', 0):>6.1f} {s['reevaluation_ratio']:>7.2f}x  {ended}"
        )
    return "\n".join(rows)


def _ordered(task_ids: Iterable[str]) -> list[str]:
    """Task ids in dataset order: HumanEval/9 before HumanEval/10."""

    def key(task_id: str) -> tuple[str, int, str]:
        head, _, tail = task_id.rpartition("/")
        return (head, int(tail), "") if tail.isdigit() else (head, -1, tail)

    return sorted(task_ids, key=key)


def against_baseline(baseline: list[EvalRecord], records: list[EvalRecord]) -> dict:
    """A strategy's records beside a baseline's (greedy), on the problems both ran.

    What the engine's targets are judged by: the pass@1 difference in points, the share of the
    baseline's solved problems the strategy keeps (and which it lost or gained), the ratio of
    median seconds, and, per way a solve ended, how many, how many correct and their median
    seconds.
    """
    base = {r.task_id: r for r in baseline}
    mine = {r.task_id: r for r in records if r.task_id in base}
    if not mine:
        return {"problems": 0}
    n = len(mine)
    base_solved = [t for t in mine if base[t].passed]
    kept = [t for t in base_solved if mine[t].passed]
    median = statistics.median(r.seconds for r in mine.values())
    base_median = statistics.median(base[t].seconds for t in mine)
    ended: dict[str, list[EvalRecord]] = {}
    for r in mine.values():
        ended.setdefault(_ended(r), []).append(r)
    return {
        "baseline": baseline[0].strategy if baseline else "",
        "strategy": next(iter(mine.values())).strategy,
        "problems": n,
        "points": round(100 * (sum(r.passed for r in mine.values()) - len(base_solved)) / n, 1),
        "keeps": len(kept),
        "of_baseline_solved": len(base_solved),
        "keeps_share": round(len(kept) / len(base_solved), 3) if base_solved else None,
        "lost": _ordered(t for t in base_solved if not mine[t].passed),
        "gained": _ordered(t for t, r in mine.items() if r.passed and not base[t].passed),
        "median_seconds": median,
        "baseline_median_seconds": base_median,
        "median_seconds_ratio": round(median / base_median, 2) if base_median else None,
        "ended_by": {
            key: {
                "count": len(rs),
                "passed": sum(r.passed for r in rs),
                "median_seconds": statistics.median(r.seconds for r in rs),
            }
            for key, rs in sorted(ended.items())
        },
    }
