"""`o1coder-train data build`: the training problems of a run, built offline when need be.

Sources (hub loaders, local JSONL) and problems mined from doctests of installed packages are
merged, near-duplicates dropped, anything resembling an evaluation problem (HumanEval, MBPP
when a copy is available) removed, every reference solution run on its tests in the sandbox
(tests it fails are dropped; problems left without tests are dropped), then split
deterministically into data/train.jsonl and data/heldout.jsonl. data/build.json says what
was kept and why the rest was not.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.engine.problem import ProblemError, assemble_program
from o1coder_train.config import DataConfig, SourceConfig, TrainConfig
from o1coder_train.data.dedup import EvalIndex, dedupe, remove_leaks
from o1coder_train.data.doctests import mine_doctests
from o1coder_train.data.loaders import LoadStats, load_humaneval, load_source
from o1coder_train.data.records import ProblemRecord, read_records, stable_hash, write_records
from o1coder_train.run import RunDir


def eval_records(cfg: DataConfig) -> tuple[list[ProblemRecord], dict[str, Any]]:
    """The evaluation problems training must not contain, and a note per evaluation set."""
    records: list[ProblemRecord] = []
    notes: dict[str, Any] = {}
    if "humaneval" in cfg.eval_sets:
        he = load_humaneval()
        records += he
        notes["humaneval"] = len(he)
    if "mbpp" in cfg.eval_sets:
        if cfg.mbpp_path:
            mbpp = load_source(SourceConfig(kind="mbpp", path=cfg.mbpp_path, split="test"))
            records += mbpp
            notes["mbpp"] = len(mbpp)
        else:
            notes["mbpp"] = (
                "not checked: set [data].mbpp_path to a local MBPP copy (parquet/jsonl, hub schema)"
            )
            print(f"o1coder-train: {notes['mbpp']}", file=sys.stderr)
    return records, notes


def validate_record(record: ProblemRecord, sandbox: SandboxSettings) -> ProblemRecord | None:
    """Keep the reference solutions that pass all kept tests and the tests the first one passes."""
    from o1coder.sandbox import run_tests

    try:
        problem = record.problem()
    except ProblemError:
        return None
    if not record.solutions or not record.tests:
        return None
    cases = record.test_cases()
    report = run_tests(assemble_program(problem, record.solutions[0]), cases, sandbox)
    if not report.compiled:
        return None
    passing = {o.name for o in report.outcomes if o.passed}
    tests = [c.source for c in cases if c.name in passing]
    if not tests:
        return None
    kept = [record.solutions[0]]
    for other in record.solutions[1:]:
        again = run_tests(assemble_program(problem, other), [c for c in cases if c.name in passing], sandbox)
        if again.compiled and again.total and again.passed == again.total:
            kept.append(other)
    return ProblemRecord(record.id, record.source, record.text, kept, tests, record.entry_point, record.meta)


def split(records: list[ProblemRecord], fraction: float, minimum: int, seed: int) -> tuple[list, list]:
    ordered = sorted(records, key=lambda r: stable_hash(f"{seed}:{r.id}"))
    n_held = min(len(ordered) - 1, max(minimum, round(fraction * len(ordered)))) if len(ordered) > 1 else 0
    return ordered[n_held:], ordered[:n_held]


def build(cfg: TrainConfig, run: RunDir) -> dict[str, Any]:
    data = cfg.data
    stats: dict[str, Any] = {"sources": {}}
    records: list[ProblemRecord] = []
    for src in data.sources:
        load_stats = LoadStats()
        got = load_source(src, data.max_tests_per_problem, load_stats)
        records += got
        stats["sources"][f"{src.kind}:{src.path}"] = {
            "rows": load_stats.rows,
            "kept": len(got),
            "skipped": dict(load_stats.skipped),
        }
    if data.doctest_modules:
        mined = mine_doctests(data.doctest_modules, data.max_doctest_problems, data.max_tests_per_problem)
        records += mined
        stats["sources"]["doctest"] = {"kept": len(mined), "modules": data.doctest_modules}
    stats["loaded"] = len(records)
    records = [r for r in records if len(r.text) <= data.max_text_chars]
    stats["after_length_filter"] = len(records)
    records = dedupe(records)
    stats["after_dedup"] = len(records)

    evals, stats["eval_sets"] = eval_records(data)
    records, leaks = remove_leaks(records, EvalIndex(evals, data.dedup_threshold))
    stats["eval_leaks_removed"] = [leak.__dict__ for leak in leaks]

    if data.validate:
        sandbox = SandboxSettings()
        valid = []
        for r in run.progress(records, "validate references"):
            checked = validate_record(r, sandbox)
            if checked is not None:
                valid.append(checked)
        stats["failed_validation"] = len(records) - len(valid)
        records = valid
    if len(records) < 2:
        raise RuntimeError(
            f"data build kept {len(records)} problem(s): add [data].sources or [data].doctest_modules "
            "(see training/configs/tiny-cpu.toml)"
        )
    train, heldout = split(records, data.heldout_fraction, data.min_heldout, cfg.seed)
    write_records(run.data_dir / "train.jsonl", train)
    write_records(run.data_dir / "heldout.jsonl", heldout)
    stats.update(
        train=len(train),
        heldout=len(heldout),
        by_source=dict(Counter(r.source for r in records)),
        tests_per_problem=sum(len(r.tests) for r in records) / len(records),
    )
    (run.data_dir / "build.json").write_text(json.dumps(stats, indent=2, default=str) + "\n")
    return {k: v for k, v in stats.items() if k != "eval_leaks_removed"} | {"eval_leaks": len(leaks)}


def train_records(run: RunDir, limit: int = 0, seed: int = 0) -> list[ProblemRecord]:
    records = read_records(run.data_dir / "train.jsonl")
    if limit and len(records) > limit:
        records = random.Random(seed).sample(records, limit)
    return records


def heldout_records(run: RunDir, limit: int = 0) -> list[ProblemRecord]:
    records = read_records(run.data_dir / "heldout.jsonl")
    return records[:limit] if limit else records


def data_path(run: RunDir, name: str) -> Path:
    return run.data_dir / f"{name}.jsonl"
