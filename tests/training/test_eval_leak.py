"""Evaluation problems never reach training data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from o1coder_train.config import from_dict
from o1coder_train.data.build import build
from o1coder_train.data.dedup import Deduper, EvalIndex
from o1coder_train.data.loaders import load_humaneval
from o1coder_train.data.records import ProblemRecord, read_records
from o1coder_train.run import RunDir


@pytest.fixture(scope="module")
def humaneval() -> list[ProblemRecord]:
    return load_humaneval()


def _disguised(record: ProblemRecord) -> ProblemRecord:
    """A HumanEval problem with its function renamed to camelCase and its whitespace changed."""
    name = record.entry_point or ""
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    text = re.sub(r"[ \t]+", "  ", record.text.replace(name, camel))
    return ProblemRecord(id="web/copy", source="jsonl", text=text, solutions=[], tests=[], entry_point=camel)


def test_renamed_reformatted_copy_is_a_leak(humaneval: list[ProblemRecord]) -> None:
    index = EvalIndex(humaneval, threshold=0.6)
    leak = index.leak(_disguised(humaneval[0]))
    assert leak is not None and leak.eval_id == humaneval[0].id


def test_same_solution_under_another_statement_is_a_leak(humaneval: list[ProblemRecord]) -> None:
    index = EvalIndex(humaneval)
    other = ProblemRecord(
        id="x/1",
        source="jsonl",
        text='def f():\n    """Something else entirely."""\n',
        solutions=[humaneval[2].solutions[0]],
    )
    leak = index.leak(other)
    assert leak is not None and leak.reason == "same reference solution"


def test_unrelated_problem_is_kept(humaneval: list[ProblemRecord]) -> None:
    mine = ProblemRecord(
        id="x/2",
        source="jsonl",
        text='def rot13(s):\n    """Apply rot13 to s."""\n',
        solutions=["def rot13(s):\n    import codecs\n    return codecs.encode(s, 'rot13')\n"],
    )
    assert EvalIndex(humaneval).leak(mine) is None


def test_dedupe_keeps_the_first_of_near_copies() -> None:
    a = ProblemRecord(
        id="a", source="jsonl", text='def f(x):\n    """Return the square of x, for any integer x."""\n'
    )
    b = ProblemRecord(
        id="b", source="jsonl", text='def f(x):\n    """Return the square of x, for any integer x."""\n\n'
    )
    seen = Deduper()
    assert [r.id for r in (a, b) if not seen.repeats(r)] == ["a"]


def test_data_build_drops_evaluation_problems(tmp_path: Path, humaneval: list[ProblemRecord]) -> None:
    """`data build` with a HumanEval copy among its sources keeps it out of train and held-out data."""
    leak = _disguised(humaneval[0])
    canonical = humaneval[0].solutions[0].replace(humaneval[0].entry_point or "", leak.entry_point or "")
    local = tmp_path / "mixed.jsonl"
    rows = [
        {
            "id": "leak",
            "text": leak.text,
            "solutions": [canonical],
            "tests": [f"assert {leak.entry_point}([1.0, 2.0], 0.5) is False"],
        },
        {
            "id": "ok1",
            "text": 'def inc(x):\n    """Add one to x."""\n',
            "solutions": ["def inc(x):\n    return x + 1\n"],
            "tests": ["assert inc(1) == 2", "assert inc(-1) == 0"],
        },
        {
            "id": "ok2",
            "text": 'def neg(x):\n    """Negate the boolean x."""\n',
            "solutions": ["def neg(x):\n    return not x\n"],
            "tests": ["assert neg(True) is False"],
        },
    ]
    local.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = from_dict(
        {
            "run_dir": str(tmp_path / "run"),
            "model": {"base": "unused"},
            "data": {
                "sources": [{"kind": "jsonl", "path": str(local)}],
                "doctest_modules": ["statistics", "heapq"],
                "max_doctest_problems": 6,
                "eval_sets": ["humaneval"],
                "min_heldout": 1,
            },
            "logging": {"progress": False},
        }
    )
    rd = RunDir(cfg)
    summary = build(cfg, rd)
    built = read_records(rd.data_dir / "train.jsonl") + read_records(rd.data_dir / "heldout.jsonl")
    ids = {r.id for r in built}
    assert "leak" not in ids and {"ok1", "ok2"} <= ids
    assert summary["eval_leaks"] == 1
    report = json.loads((rd.data_dir / "build.json").read_text())
    assert report["eval_leaks_removed"][0]["eval_id"] == humaneval[0].id
    index = EvalIndex(humaneval)
    assert [r.id for r in built if index.leak(r) is not None] == []
    assert any(r.source == "doctest" for r in built)
