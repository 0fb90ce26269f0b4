"""Loaders on small local files in each hub dataset's own schema, read through `datasets`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o1coder.config import SandboxSettings
from o1coder_train.config import SourceConfig
from o1coder_train.data.build import validate_record
from o1coder_train.data.loaders import LoadStats, load_humaneval, load_jsonl, load_source

SUM_PROGRAM = "a, b = map(int, input().split())\nprint(a + b)\n"


def _parquet(path: Path, rows: list[dict]) -> Path:
    from datasets import Dataset

    Dataset.from_list(rows).to_parquet(str(path))
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _all_validate(records) -> None:
    for record in records:
        checked, why = validate_record(record, SandboxSettings())
        assert checked is not None, f"{record.id}: its reference fails its own tests ({why})"
        assert checked.tests == record.tests, f"{record.id}: some tests fail on the reference"


TACO_ROWS = [
    {
        "question": "Read two integers from one line and print their sum.",
        "solutions": json.dumps([SUM_PROGRAM]),
        "starter_code": "",
        "input_output": json.dumps({"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]}),
        "difficulty": "EASY",
        "name": "sum-two",
        "tags": "[]",
    },
    {
        "question": "Return twice the number n.",
        "solutions": json.dumps(["def double(n):\n    return 2 * n\n"]),
        "starter_code": "def double(n):\n\t",
        "input_output": json.dumps({"fn_name": "double", "inputs": [[1], [4]], "outputs": [[2], [8]]}),
        "difficulty": "EASY",
        "name": "double",
        "tags": "[]",
    },
    {
        "question": "LeetCode style.",
        "solutions": json.dumps(["class Solution:\n    def f(self):\n        return 1\n"]),
        "starter_code": "class Solution:\n    def f(self):\n",
        "input_output": json.dumps({"fn_name": "f", "inputs": [[]], "outputs": [1]}),
        "difficulty": "EASY",
        "name": "class-based",
        "tags": "[]",
    },
]


def test_taco_parquet_stdio_and_call_based(tmp_path: Path) -> None:
    stats = LoadStats()
    records = load_source(
        SourceConfig(kind="taco", path=str(_parquet(tmp_path / "taco.parquet", TACO_ROWS))), 8, stats
    )
    assert [r.id for r in records] == ["taco/sum-two", "taco/double"]
    assert stats.rows == 3 and sum(stats.skipped.values()) == 1  # the class-based row
    stdio, call = records
    assert stdio.problem().function_name == "solution" and stdio.entry_point is None
    assert stdio.tests[0] == "assert solution('1 2\\n').split() == '3\\n'.split()"
    assert stdio.meta["stdio_programs"] == [SUM_PROGRAM]
    assert call.problem().entry_point == "double"
    assert call.tests == ["assert double(1) == 2", "assert double(4) == 8"]
    _all_validate(records)


def test_apps_jsonl(tmp_path: Path) -> None:
    rows = [
        {
            "problem_id": 7,
            "question": "Print the sum of two integers given on one line.",
            "solutions": json.dumps([SUM_PROGRAM, "print(sum(map(int, input().split())))\n"]),
            "input_output": json.dumps({"inputs": ["2 2\n"], "outputs": ["4\n"]}),
            "difficulty": "introductory",
            "url": "u",
            "starter_code": "",
        }
    ]
    records = load_source(SourceConfig(kind="apps", path=str(_jsonl(tmp_path / "apps.jsonl", rows))))
    assert [r.id for r in records] == ["apps/7"] and len(records[0].solutions) == 2
    _all_validate(records)


def test_mbpp_full_and_sanitized(tmp_path: Path) -> None:
    full = [
        {
            "task_id": 11,
            "text": "Write a python function to remove first and last occurrence of a given character from the string.",
            "code": "def remove_Occ(s,ch):\r\n    s = s.replace(ch, '', 1)\r\n    return s[::-1].replace(ch, '', 1)[::-1]",
            "test_list": [
                'assert remove_Occ("hello","l") == "heo"',
                'assert remove_Occ("abcda","a") == "bcd"',
            ],
            "test_setup_code": "",
            "challenge_test_list": [],
        }
    ]
    sanitized = [
        {
            "source_file": "x",
            "task_id": 12,
            "prompt": "Write a function to sort a matrix by row sums.",
            "code": "import math\ndef sort_matrix(M):\n    return sorted(M, key=sum)",
            "test_imports": ["import math"],
            "test_list": ["assert sort_matrix([[3], [1]]) == [[1], [3]]"],
        }
    ]
    a = load_source(SourceConfig(kind="mbpp", path=str(_parquet(tmp_path / "full.parquet", full))))
    b = load_source(SourceConfig(kind="mbpp", path=str(_jsonl(tmp_path / "san.jsonl", sanitized))))
    assert a[0].problem().entry_point == "remove_Occ" and a[0].problem().signature == "def remove_Occ(s, ch):"
    assert b[0].tests[0].startswith("import math\n")
    _all_validate(a + b)


def test_codecontests_parquet_keeps_python3_only(tmp_path: Path) -> None:
    rows = [
        {
            "name": "1_A. Sum",
            "description": "Given two integers, print their sum.",
            "public_tests": {"input": ["1 1\n"], "output": ["2\n"]},
            "private_tests": {"input": ["3 4\n"], "output": ["7\n"]},
            "generated_tests": {"input": [], "output": []},
            "source": 2,
            "difficulty": 7,
            "solutions": {"language": [2, 3], "solution": ["int main(){}", SUM_PROGRAM]},
        }
    ]
    [record] = load_source(
        SourceConfig(kind="codecontests", path=str(_parquet(tmp_path / "cc.parquet", rows)))
    )
    assert len(record.tests) == 2 and len(record.solutions) == 1 and "int main" not in record.solutions[0]
    _all_validate([record])


def test_hub_directory_layout(tmp_path: Path) -> None:
    """A directory laid out like a hub dataset (data/train-*.parquet) loads with datasets' own resolver."""
    (tmp_path / "taco" / "data").mkdir(parents=True)
    _parquet(tmp_path / "taco" / "data" / "train-00000-of-00001.parquet", TACO_ROWS[:1])
    [record] = load_source(SourceConfig(kind="taco", path=str(tmp_path / "taco")))
    assert record.id == "taco/sum-two"


def test_local_jsonl_record_and_humaneval_shapes(tmp_path: Path) -> None:
    rows = [
        {
            "id": "mine/1",
            "text": 'def inc(x):\n    """x + 1"""\n',
            "solutions": ["def inc(x):\n    return x + 1\n"],
            "tests": ["assert inc(1) == 2"],
        },
        {
            "task_id": "H/1",
            "prompt": 'def dec(x):\n    """x - 1"""\n',
            "canonical_solution": "    return x - 1\n",
            "test": "def check(candidate):\n    assert candidate(2) == 1\n",
            "entry_point": "dec",
        },
    ]
    records = load_jsonl(_jsonl(tmp_path / "local.jsonl", rows))
    assert [r.id for r in records] == ["mine/1", "jsonl/H/1"]
    _all_validate(records)
    with pytest.raises(ValueError, match="expected fields"):
        load_jsonl(_jsonl(tmp_path / "bad.jsonl", [{"question": "?"}]))


def test_humaneval_from_the_wheel_runs_its_canonical_solutions() -> None:
    records = load_humaneval()
    assert len(records) == 164 and all(r.source == "humaneval" for r in records)
    _all_validate(records[:3])
