"""Trace MCTS solves at every stop check, and replay the traces under the engine's current rules.

`record` solves HumanEval problems with the MCTS strategy and writes, per problem, every
candidate the search verified (its code, its raw sandbox report, its verdict on HumanEval's
own hidden tests) and every stop check the search made (`MCTS.stop_reason`: seconds and
tokens so far, how many candidates existed, the suspect tests then, what the check decided).

`replay` runs execution agreement as the engine's code now defines it (`steps.reconcile`,
`steps.consensus_answer`) over the candidates each recorded check saw, and says where the
search would have stopped and with which answer. That answers "what would this rule have
changed" in seconds, without the model, before a new 164-problem run is spent on it.

What a replay can claim: the recorded search is the search the new rule would have made up to
the first check where the rule's suspect tests differ from the recorded ones (rewards, and so
the tree's choices, follow the suspects). A stop found at or before that check is exact
("exact": true); a later one is only indicative, and a replay cannot see past the recorded
end (a rule that stops later, or never, shows no stop).

    python benchmarks/search_trace.py record --ids 5,6,10 --out /tmp/trace-demo
    python benchmarks/search_trace.py replay /tmp/trace-demo

Records go to <out>/trace-<tag>.jsonl, one line per problem, resumable like run.py's.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from o1coder.config import Settings
from o1coder.engine.engine import Engine
from o1coder.engine.mcts import MCTS
from o1coder.engine.problem import Problem, assemble_program, target_code
from o1coder.engine.prompts import PROMPT_VERSION
from o1coder.engine.steps import Candidate, consensus_answer, reconcile, stated_tests
from o1coder.evaluation import datasets
from o1coder.evaluation.runner import check_solution
from o1coder.sandbox.types import VerificationReport

HERE = Path(__file__).resolve().parent


@dataclass
class Check:
    """One stop check of the search, as recorded."""

    seconds: float  # since the solve started (test writing included)
    tokens: int  # generated so far, every role
    candidates: int  # how many candidates existed (a prefix of the trace's candidates)
    suspect: list[str]  # the tests execution agreement held suspect then
    stopped_by: str  # what the check decided ("" : search on)


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[MCTS, Check]]]:
    """Every `MCTS.stop_reason` call made inside, with the search it belongs to.

    Instrumentation for this benchmark only: the method is wrapped while the block runs and
    restored after; the search itself is unchanged."""
    checks: list[tuple[MCTS, Check]] = []
    original = MCTS.stop_reason

    def stop_reason(self: MCTS) -> str | None:
        decided = original(self)
        runner = self.runner
        checks.append(
            (
                self,
                Check(
                    seconds=round(self.meter.seconds, 2),
                    tokens=self.meter.tokens_generated,
                    candidates=len(runner.candidates),
                    suspect=sorted(runner.agreement.suspect),
                    stopped_by=decided or "",
                ),
            )
        )
        return decided

    MCTS.stop_reason = stop_reason  # type: ignore[method-assign]
    try:
        yield checks
    finally:
        MCTS.stop_reason = original  # type: ignore[method-assign]


def trace_problem(engine: Engine, problem: datasets.EvalProblem) -> dict:
    """Solve `problem` with MCTS and return its trace (see the module docstring)."""
    parsed = Problem.from_source(problem.prompt)
    started = time.monotonic()
    with recording() as checks:
        result = engine.solve(parsed, strategy="mcts")
    seconds = time.monotonic() - started
    if not checks:
        raise RuntimeError(f"{problem.task_id}: the search made no stop check (not MCTS?)")
    search = checks[-1][0]
    runner = search.runner
    verdicts: dict[str, bool] = {}
    candidates = []
    for i, c in enumerate(runner.candidates):
        code = target_code(parsed, c.code)
        if code not in verdicts:
            verdicts[code] = check_solution(problem, assemble_program(parsed, code))[0]
        assert c.raw_report is not None
        candidates.append(
            {
                "code": c.code,
                "direct": c.node is not None and c.node.parent is runner.root,
                "greedy": i == 0 and c.node is not None and c.node.parent is runner.root,
                "prm_value": c.prm_value,
                "report": c.raw_report.to_dict(),
                "hidden_passed": verdicts[code],
            }
        )
    answer_passed = check_solution(problem, assemble_program(parsed, result.code))[0]
    return {
        "task_id": problem.task_id,
        "prompt_version": PROMPT_VERSION,
        "value_threshold": engine.settings.search.value_threshold,
        "compile_weight": engine.settings.search.compile_weight,
        "tests": [{"name": t.name, "source": t.source} for t in runner.tests],
        "stated": sorted(stated_tests(parsed, runner.tests)),
        "candidates": candidates,
        "checks": [asdict(check) for s, check in checks if s is search],
        "result": {
            "passed": answer_passed,
            "ended_by": result.stats.ended_by,
            "seconds": round(seconds, 2),
            "tokens": result.stats.tokens_generated,
        },
    }


def load_candidates(trace: dict) -> list[Candidate]:
    """The trace's candidates as the engine holds them before agreement judges them."""
    weight = trace["compile_weight"]
    out = []
    for c in trace["candidates"]:
        report = VerificationReport.from_dict(c["report"])
        out.append(Candidate(c["code"], [], report, report.reward(weight), c["prm_value"]))
    return out


def replay(trace: dict, patience: int = 0) -> dict:
    """Where the engine's current agreement rules stop the recorded search, and with what answer.

    `patience` > 0 simulates a stop rule the engine does not have: the search ends ("stalled")
    once `patience` more candidates were verified after the answer's reward last rose. A stop by
    it changes nothing before it, so it is exact wherever the agreement rules are."""
    candidates = load_candidates(trace)
    weight, threshold = trace["compile_weight"], trace["value_threshold"]
    stated = frozenset(trace["stated"])
    recorded = trace["result"]
    diverged = False
    final: dict = {}
    best_reward, rose_at = -1.0, 0
    for at, check in enumerate(trace["checks"]):
        seen = candidates[: check["candidates"]]
        agreement = reconcile(seen, weight, stated)  # judges every candidate afresh, as the engine does
        answer = consensus_answer(seen, agreement)
        index = candidates.index(answer) if answer is not None else None
        final = {
            "at_check": at,
            "seconds": check["seconds"],
            "tokens": check["tokens"],
            "answer": index,
            "passed": trace["candidates"][index]["hidden_passed"] if index is not None else False,
            "consensus": agreement.consensus,
            "exact": not diverged,
        }
        if answer is not None and answer.reward >= threshold:
            return {**final, "stopped_by": "consensus" if agreement.consensus else "threshold"}
        reward = answer.reward if answer is not None else 0.0
        if reward > best_reward:
            best_reward, rose_at = reward, check["candidates"]
        elif patience and check["candidates"] - rose_at >= patience:
            return {**final, "stopped_by": "stalled"}
        if sorted(agreement.suspect) != check["suspect"]:
            diverged = True  # from here the recorded tree is not the one this rule would grow
    return {**final, "stopped_by": "", "recorded_ended_by": recorded["ended_by"]}


def replay_dir(folder: Path, patience: int = 0) -> dict:
    rows = []
    for path in sorted(folder.glob("trace-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                trace = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by an interruption
            now = replay(trace, patience)
            rows.append({"task_id": trace["task_id"], "recorded": trace["result"], "replayed": now})
    earlier = [r for r in rows if r["replayed"]["stopped_by"] and r["replayed"]["seconds"] < r["recorded"]["seconds"] - 1]
    changed = [r for r in rows if r["replayed"]["stopped_by"] and r["replayed"]["passed"] != r["recorded"]["passed"]]
    return {
        "traces": len(rows),
        "recorded_passed": sum(r["recorded"]["passed"] for r in rows),
        "stops_earlier": len(earlier),
        "stops_earlier_exact": sum(r["replayed"]["exact"] for r in earlier),
        "verdict_changed": [r["task_id"] for r in changed],
        "replayed_stopped_by": dict(collections.Counter(r["replayed"]["stopped_by"] or "recorded end" for r in rows)),
        "median_seconds_recorded": statistics.median(r["recorded"]["seconds"] for r in rows) if rows else 0,
        "median_seconds_replayed": statistics.median(
            r["replayed"]["seconds"] if r["replayed"]["stopped_by"] else r["recorded"]["seconds"] for r in rows
        )
        if rows
        else 0,
        "rows": rows,
    }


def record(args: argparse.Namespace) -> int:
    settings = Settings.from_dict({"search": {"budgetTokens": args.budget_tokens}})
    engine = Engine(settings)
    every = datasets.load("humaneval")
    wanted = {f"HumanEval/{n.strip()}" for n in args.ids.split(",") if n.strip()}
    problems = [p for p in every if p.task_id in wanted] if wanted else every
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"trace-b{args.budget_tokens}-{PROMPT_VERSION}.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                done.add(json.loads(line)["task_id"])
    for problem in problems:
        if problem.task_id in done:
            continue
        trace = trace_problem(engine, problem)
        with path.open("a") as fh:
            fh.write(json.dumps(trace) + "\n")
        r = trace["result"]
        print(
            f"{problem.task_id}: {'PASS' if r['passed'] else 'fail'} {r['ended_by']} {r['seconds']:.1f}s "
            f"{len(trace['candidates'])} candidates, {len(trace['checks'])} checks",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="solve with MCTS and write traces")
    rec.add_argument("--ids", required=True, help="HumanEval problems by number, e.g. 5,6,10")
    rec.add_argument("--budget-tokens", type=int, default=1500)
    rec.add_argument("--out", type=Path, default=HERE / "results" / "trace")
    rep = sub.add_parser("replay", help="replay the traces in a folder under the current rules")
    rep.add_argument("folder", type=Path)
    rep.add_argument("--rows", action="store_true", help="print every problem's row too")
    rep.add_argument(
        "--patience",
        type=int,
        default=0,
        metavar="N",
        help="simulate a stop once N candidates were verified after the answer's reward last rose (not an engine rule)",
    )
    args = ap.parse_args(argv)
    if args.command == "record":
        return record(args)
    summary = replay_dir(args.folder, args.patience)
    if not args.rows:
        summary.pop("rows")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
