"""`o1coder-train data build`: the training problems of a run, built offline when need be.

Three kinds of source are merged:

- loaded (`[data].sources`: hub datasets or local copies, local JSONL): statements that are
  too long, near-duplicates and anything resembling an evaluation problem are dropped, then
  every reference runs on its tests in the sandbox (tests it fails are dropped, problems left
  without tests too) and its AST mutants on the kept tests (their kill rate is recorded);
- mined (`[data].doctest_modules`): documented functions of installed modules, with their
  doctests and derived tests (`corpus`, `derive`);
- self-generated (`[data].self_generated`, OSS-Instruct style): the model (`[data].generator`,
  `generator`) writes a problem, a reference and tests seeded by a real function, kept when
  its reference passes enough of its tests in the sandbox and they kill a mutant (`selfgen`).

Near-copies across sources are dropped, and the rest split deterministically into
data/train.jsonl and data/heldout.jsonl. data/build.json reports per source what was offered,
kept and why the rest was not, tests per problem and mutant-kill rates (`report`), and, with
`[data].difficulty_sample`, the model's greedy pass rate on a sample of each source's kept
problems with a histogram of the fraction of tests passed (`difficulty`). Only these two parts
load a model; the rest of the build needs none.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.engine.problem import ProblemError, assemble_program
from o1coder_train.config import DataConfig, SourceConfig, TrainConfig
from o1coder_train.data.cache import CheckCache
from o1coder_train.data.corpus import CorpusSettings, mined_problems
from o1coder_train.data.dedup import Deduper, EvalIndex, Leak
from o1coder_train.data.derive import DeriveSettings
from o1coder_train.data.difficulty import DifficultySettings, measure
from o1coder_train.data.generator import Generator, open_generator
from o1coder_train.data.loaders import LoadStats, load_humaneval, load_source
from o1coder_train.data.modules import module_files
from o1coder_train.data.records import ProblemRecord, read_records, stable_hash, write_records
from o1coder_train.data.report import SourceReport
from o1coder_train.data.selfgen import SOURCE as SELFGEN_SOURCE
from o1coder_train.data.selfgen import SelfGenerated, SelfGenSettings, seeds, self_generated_problems
from o1coder_train.run import RunDir

CACHE_FILE = "mined-cache.jsonl"
SELFGEN_CACHE_FILE = "selfgen-cache.jsonl"
DIFFICULTY_CACHE_FILE = "difficulty-cache.jsonl"


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


def validate_record(
    record: ProblemRecord, sandbox: SandboxSettings, max_mutants: int = 0
) -> tuple[ProblemRecord | None, str]:
    """(the record with the reference solutions that pass all kept tests and the tests the first
    one passes, its mutant-kill rate in `meta`; "") or (None, why it was dropped)."""
    from o1coder.sandbox import run_tests
    from o1coder_train.tcg import mutant_programs

    try:
        problem = record.problem()
    except ProblemError:
        return None, "statement does not parse"
    if not record.solutions or not record.tests:
        return None, "no reference solution or no tests"
    cases = record.test_cases()
    report = run_tests(assemble_program(problem, record.solutions[0]), cases, sandbox)
    if not report.compiled:
        return None, "reference does not run"
    passing = [i for i, o in enumerate(report.outcomes) if o.passed]
    if not passing:
        return None, "reference fails every test"
    checked = record.keep_tests(passing)
    kept_cases = checked.test_cases()
    kept = [record.solutions[0]]
    for other in record.solutions[1:]:
        again = run_tests(assemble_program(problem, other), kept_cases, sandbox)
        if again.compiled and again.total and again.passed == again.total:
            kept.append(other)
    checked.solutions = kept
    wrong = mutant_programs(checked, problem, max_mutants) if max_mutants else []
    killed = 0
    for program in wrong:
        result = run_tests(program, kept_cases, sandbox)
        killed += not result.compiled or result.passed < result.total
    checked.meta = {
        **record.meta,
        "mutants": len(wrong),
        "mutants_killed": killed,
        "mutant_kill_rate": round(killed / len(wrong), 4) if wrong else 0.0,
    }
    return checked, ""


def split(records: list[ProblemRecord], fraction: float, minimum: int, seed: int) -> tuple[list, list]:
    ordered = sorted(records, key=lambda r: stable_hash(f"{seed}:{r.id}"))
    n_held = min(len(ordered) - 1, max(minimum, round(fraction * len(ordered)))) if len(ordered) > 1 else 0
    return ordered[n_held:], ordered[:n_held]


def loaded_problems(
    src: SourceConfig, data: DataConfig, evals: EvalIndex, seen: Deduper, run: RunDir
) -> tuple[SourceReport, list[Leak]]:
    """One configured source: loaded, filtered, and (with `[data].validate`) run in the sandbox."""
    stats = LoadStats()
    got = load_source(src, data.max_tests_per_problem, stats)
    report = SourceReport(mined=len(got) + sum(stats.skipped.values()))  # problems, and rows that gave none
    report.failed.update(stats.skipped)
    leaks: list[Leak] = []
    candidates: list[ProblemRecord] = []
    for r in got:
        if len(r.text) > data.max_text_chars:
            report.fail("statement longer than [data].max_text_chars")
        elif (leak := evals.leak(r)) is not None:
            leaks.append(leak)
            report.fail("resembles an evaluation problem")
        elif seen.repeats(r):
            report.fail("a near-copy of an earlier problem")
        else:
            candidates.append(r)
    if not data.validate:
        report.kept = candidates
        return report, leaks
    sandbox = SandboxSettings()
    for r in run.progress(candidates, f"validate {src.kind} references"):
        checked, why = validate_record(r, sandbox, data.max_mutants)
        if checked is None:
            report.fail(why)
        else:
            report.kept.append(checked)
    return report, leaks


def build(cfg: TrainConfig, run: RunDir) -> dict[str, Any]:
    started = time.monotonic()
    data = cfg.data
    evals, eval_notes = eval_records(data)
    index = EvalIndex(evals, data.dedup_threshold)
    seen = Deduper()
    reports: dict[str, SourceReport] = {}
    leaks: list[Leak] = []
    for src in data.sources:
        report, found = loaded_problems(src, data, index, seen, run)
        reports[f"{src.kind}:{src.path}"] = report
        leaks += found
    mining: dict[str, Any] = {}
    if data.doctest_modules:
        settings = CorpusSettings(
            modules=data.doctest_modules,
            exclude=data.exclude_modules,
            max_problems=data.max_doctest_problems,
            max_text_chars=data.max_text_chars,
            workers=data.workers,
            derive=DeriveSettings(
                min_tests=data.min_tests_per_problem,
                max_tests=data.max_tests_per_problem,
                max_mutants=data.max_mutants,
                min_kill_rate=data.min_mutant_kill_rate,
                seed=cfg.seed,
            ),
        )
        corpus = mined_problems(settings, index, CheckCache(run.data_dir / CACHE_FILE), run.progress)
        leaks += corpus.leaks
        for name, report in corpus.reports.items():
            report.kept = [r for r in report.kept if not _copy_of_loaded(r, seen, report)]
            if report.mined:
                reports[name] = report
        mining = {
            "modules": data.doctest_modules,
            "files": corpus.files,
            "checked": corpus.checked,
            "seconds": round(corpus.seconds, 1),
            "cache_hits": corpus.cache_hits,
        }
    generator: Generator | None = None
    extra: dict[str, Any] = {}
    try:
        if data.self_generated:
            generator = open_generator(cfg, run)
            for report in reports.values():  # self-generated problems must not repeat kept ones
                for r in report.kept:
                    seen.index.add(r)
            made = _self_generated(cfg, run, generator, index, seen)
            leaks += made.leaks
            reports[SELFGEN_SOURCE] = made.report
            extra["self_generation"] = made.stats
        if data.difficulty_sample:
            generator = generator or open_generator(cfg, run)
            cache = CheckCache(run.data_dir / DIFFICULTY_CACHE_FILE)
            settings = DifficultySettings(data.difficulty_sample, data.difficulty_max_tokens, cfg.seed)
            for name, report in reports.items():
                if report.kept:
                    report.difficulty = measure(
                        report.kept, generator.backend, generator.name, settings, cache, run.progress, name
                    )
    finally:
        if generator is not None:
            generator.close()
    records = [r for report in reports.values() for r in report.kept]
    if len(records) < 2:
        _write_report(run, reports, eval_notes, leaks, mining | extra, started, [], [])
        raise RuntimeError(
            f"data build kept {len(records)} problem(s): add [data].sources or [data].doctest_modules "
            "(see training/configs/tiny-cpu.toml); data/build.json says why the others were dropped"
        )
    train, heldout = split(records, data.heldout_fraction, data.min_heldout, cfg.seed)
    write_records(run.data_dir / "train.jsonl", train)
    write_records(run.data_dir / "heldout.jsonl", heldout)
    stats = _write_report(run, reports, eval_notes, leaks, mining | extra, started, train, heldout)
    return {k: v for k, v in stats.items() if k != "eval_leaks_removed"} | {"eval_leaks": len(leaks)}


def _self_generated(cfg: TrainConfig, run: RunDir, generator: Generator, index: EvalIndex, seen: Deduper) -> SelfGenerated:
    data = cfg.data
    files = module_files(data.seed_modules or data.doctest_modules, data.exclude_modules)
    found = seeds(files, data.self_generated, cfg.seed)
    if not found:
        raise ValueError(
            f"[data].seed_modules: no documented function to seed self-generated problems in "
            f"{data.seed_modules or data.doctest_modules}"
        )
    settings = SelfGenSettings(
        count=data.self_generated,
        temperature=data.generator_temperature,
        max_tokens=data.generator_max_tokens,
        min_tests=data.min_tests_per_problem,
        max_tests=data.max_tests_per_problem,
        max_mutants=data.max_mutants,
        min_kill_rate=data.min_mutant_kill_rate,
        max_text_chars=data.max_text_chars,
        seed=cfg.seed,
        batch=generator.batch,
    )
    cache = CheckCache(run.data_dir / SELFGEN_CACHE_FILE)
    made = self_generated_problems(found, generator.backend, generator.name, settings, index, seen, cache, run.progress)
    made.stats["seeds"] = {"modules": data.seed_modules or data.doctest_modules, "found": len(found)}
    return made


def _copy_of_loaded(record: ProblemRecord, seen: Deduper, report: SourceReport) -> bool:
    """Whether a mined problem repeats a loaded one (then it counts as failed in its report)."""
    if seen.index.leak(record) is not None:
        report.fail("a near-copy of an earlier problem")
        return True
    return False


def _write_report(
    run: RunDir,
    reports: dict[str, SourceReport],
    eval_notes: dict[str, Any],
    leaks: list[Leak],
    mining: dict[str, Any],
    started: float,
    train: list[ProblemRecord],
    heldout: list[ProblemRecord],
) -> dict[str, Any]:
    records = train + heldout
    tests = [len(r.tests) for r in records]
    stats: dict[str, Any] = {
        "problems": len(records),
        "train": len(train),
        "heldout": len(heldout),
        "tests_per_problem": {
            "mean": round(sum(tests) / len(tests), 2) if tests else 0.0,
            "min": min(tests) if tests else 0,
        },
        "sources": {name: report.to_dict() for name, report in reports.items()},
        "eval_sets": eval_notes,
        "seconds": round(time.monotonic() - started, 1),
    }
    made = mining.pop("self_generation", None)
    if mining:
        stats["mining"] = mining
    if made:
        stats["self_generation"] = made
    stats["eval_leaks_removed"] = [leak.__dict__ for leak in leaks]
    run.data_dir.mkdir(parents=True, exist_ok=True)
    (run.data_dir / "build.json").write_text(json.dumps(stats, indent=2, default=str) + "\n")
    return stats


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
