"""`o1coder eval --dataset humaneval`: pass@1 against the dataset's own tests, resumable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from o1coder.commands.common import StatusLine, add_search_flags, fail, settings_from_args
from o1coder.config import SettingsError
from o1coder.engine.engine import Engine
from o1coder.evaluation import datasets
from o1coder.evaluation.runner import evaluate, format_table, summarize
from o1coder.models.pool import RoleError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="pass@1 of a strategy on a benchmark dataset (resumable)")
    p.add_argument("--dataset", required=True, choices=datasets.DATASETS)
    p.add_argument("--data-file", type=Path, default=None, help="local copy of the dataset (jsonl/parquet)")
    p.add_argument("--limit", type=int, default=None, help="first N problems")
    p.add_argument("--out", type=Path, default=None, help="per-problem JSONL (default: eval-DATASET.jsonl)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_search_flags(p, default_strategy="mcts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        problems = datasets.load(args.dataset, data_file=args.data_file, limit=args.limit)
    except (SettingsError, datasets.DatasetError) as exc:
        return fail(str(exc))
    if args.limit is not None and args.limit < 1:
        return fail("--limit must be at least 1")
    out = args.out or Path(f"eval-{args.dataset}.jsonl")
    engine = Engine(settings)
    status = StatusLine()
    total = len(problems)

    def show(rec) -> None:
        status.done()
        mark = "PASS" if rec.passed else "fail"
        print(f"{mark} {rec.task_id}  {rec.tokens_generated} tok  {rec.seconds:.1f}s", file=sys.stderr)

    try:
        records = evaluate(engine, problems, strategy=args.strategy, out_path=out, progress=status, on_record=show)
    except RoleError as exc:
        return fail(str(exc))
    status.done()
    wanted = {p.task_id for p in problems}
    records = [r for r in records if r.task_id in wanted]
    summary = summarize(records)
    summary.update(dataset=args.dataset, out=str(out), of=total)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_table([summary]))
        print(f"per-problem records: {out}")
    return 0
