"""The engine benchmark: one command, one model, one run, JSON out.

Measures, on the same loaded model:
- raw single-stream generation tokens/s, and b siblings decoded in one batch;
- pass@1 on HumanEval of greedy, best-of-N, the pseudocode chain and MCTS at one token budget,
  against HumanEval's own tests;
- search tokens/s and (prompt evaluated + generated) / unique tree tokens during the search.

    python benchmarks/run.py --problems 40 --budget-tokens 1500
    nohup python benchmarks/run.py --problems all --strategies greedy,mcts --interleave 5 &   # hours

Per-problem records go to benchmarks/results/humaneval-<strategy>-<tag>.jsonl (resumable:
rerunning skips problems already done with the same settings, so an interrupted run is
continued by running the same command again); the summary goes to
benchmarks/results/summary-<tag>.json and covers the problems selected by --problems and
--offset that have records.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

from o1coder.config import Settings
from o1coder.engine.engine import Engine
from o1coder.engine.prompts import PROMPT_VERSION
from o1coder.evaluation import datasets
from o1coder.evaluation.runner import against_baseline, evaluate, format_table, load_records, summarize
from o1coder.models.backend import SampleParams

HERE = Path(__file__).resolve().parent
STRATEGIES = ("greedy", "best-of-n", "pseudocode", "mcts")


def raw_speed(engine: Engine, tokens: int = 192) -> dict:
    """Single-stream and batched generation tokens/s from one prompt (sampling, no stop)."""
    backend = engine.pool.get("policy")
    prompt = backend.tokenize(
        backend.render_chat([{"role": "user", "content": "Write a Python module that implements a priority queue."}])
    )
    backend.generate([prompt], [SampleParams(max_tokens=8, temperature=0)])  # warm the prefix
    out = {}
    for b in (1, 2, 3, 4, 8):
        params = [SampleParams(max_tokens=tokens, temperature=0.8, seed=100 + i) for i in range(b)]
        started = time.perf_counter()
        conts = backend.generate([prompt] * b, params)
        seconds = time.perf_counter() - started
        out[f"b{b}_tokens_per_second"] = round(sum(len(c.tokens) for c in conts) / seconds, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default="40", help="how many HumanEval problems, or 'all' (164)")
    ap.add_argument("--offset", type=int, default=0, help="skip the first N problems")
    ap.add_argument("--ids", default="", help="only these problems, by number (HumanEval/N), e.g. 0,3,4; overrides --problems")
    ap.add_argument("--skip-raw", action="store_true", help="do not measure raw generation speed first")
    ap.add_argument("--budget-tokens", type=int, default=1500)
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--interleave",
        type=int,
        default=0,
        metavar="N",
        help="run every strategy on N problems before the next N (0: each strategy on all problems in turn)",
    )
    ap.add_argument(
        "--search",
        default="{}",
        metavar="JSON",
        help='other search settings, camelCase as editors send them, e.g. \'{"maxRefineSteps": 1}\'',
    )
    args = ap.parse_args(argv)

    search = {**json.loads(args.search), "budgetTokens": args.budget_tokens}
    settings = Settings.from_dict({"search": search})
    if args.model:
        settings = Settings.from_dict({"models": {"policy": args.model, "prm": args.model, "tcg": args.model}}, base=settings)
    engine = Engine(settings)
    every = datasets.load("humaneval")
    count = len(every) if args.problems == "all" else int(args.problems)
    problems = every[args.offset : args.offset + count]
    if args.ids:
        wanted = {f"HumanEval/{n.strip()}" for n in args.ids.split(",")}
        problems = [p for p in every if p.task_id in wanted]
    tag = f"b{args.budget_tokens}-{PROMPT_VERSION}"
    extra = {k: v for k, v in search.items() if k != "budgetTokens"}
    if extra:  # a variant: its own result files, never mixed with the defaults' in a resumed run
        tag += "-" + "-".join(f"{k}{v}" for k, v in sorted(extra.items()))
    summary: dict = {
        "model": settings.models.policy,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "budget_tokens": args.budget_tokens,
        "search": search,
        "problems": len(problems),
        "offset": args.offset,
        "ids": args.ids,
        "interleave": args.interleave,
        "prompt_version": PROMPT_VERSION,
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if not args.skip_raw:
        print("measuring raw generation speed...", file=sys.stderr)
        summary["raw"] = raw_speed(engine)
        print(json.dumps(summary["raw"]), file=sys.stderr)
    strategies = args.strategies.split(",")
    out_of = {strategy: args.out / f"humaneval-{strategy}-{tag}.jsonl" for strategy in strategies}
    spent = dict.fromkeys(strategies, 0.0)

    def show(rec) -> None:
        print(f"[{rec.strategy}] {'PASS' if rec.passed else 'fail'} {rec.task_id} "
              f"{rec.tokens_generated} tok {rec.seconds:.1f}s", file=sys.stderr)

    # --interleave N: every strategy on N problems before the next N, so the records of one
    # problem are minutes apart (a shared machine's speed drifts over an hour; seconds are compared)
    step = args.interleave if args.interleave > 0 else max(1, len(problems))
    for at in range(0, len(problems), step):
        for strategy in strategies:
            started = time.monotonic()
            evaluate(engine, problems[at : at + step], strategy=strategy, out_path=out_of[strategy], on_record=show)
            spent[strategy] += time.monotonic() - started

    wanted = {p.task_id for p in problems}
    summaries = []
    ran: dict[str, list] = {}
    span = "" if (args.offset, len(problems)) == (0, 40) else f"-n{len(problems)}" + (f"-at{args.offset}" if args.offset else "")
    if args.ids:
        span = f"-ids{len(problems)}-" + hashlib.sha1(args.ids.encode()).hexdigest()[:8]
    for strategy in strategies:
        records = [r for r in load_records(out_of[strategy], strategy) if r.task_id in wanted]
        ran[strategy] = records
        s = summarize(records)
        seconds = sum(r.seconds for r in records)
        s["search_tokens_per_second"] = round(sum(r.tokens_generated for r in records) / seconds, 1) if seconds else 0
        s["run_seconds"] = round(spent[strategy], 1)
        summaries.append(s)
        summary[strategy] = s
        if strategy != "greedy" and "greedy" in ran:  # the targets are judged against greedy
            summary[f"{strategy}_vs_greedy"] = against_baseline(ran["greedy"], records)
    (args.out / f"summary-{tag}{span}.json").write_text(json.dumps(summary, indent=2))
    print(format_table(summaries))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
