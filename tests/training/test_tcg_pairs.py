"""Mutants, TCG targets and DPO preference pairs, all judged by execution in the sandbox."""

from __future__ import annotations

import ast

from o1coder.config import SandboxSettings
from o1coder.engine import prompts
from o1coder.engine.problem import Problem
from o1coder.engine.tcg import sample_text
from o1coder.engine.tests_format import parse_tests
from o1coder.models.backend import Continuation
from o1coder_train.data.loaders import stdio_solution
from o1coder_train.data.records import ProblemRecord
from o1coder_train.mutants import mutants
from o1coder_train.tcg import (
    judge_completion,
    mutant_programs,
    preference_pairs,
    reference_program,
    tcg_target,
)

CLAMP = '''def clamp(x, lo, hi):
    """Clamp x into [lo, hi].

    >>> clamp(5, 0, 3)
    3
    """
'''
CLAMP_CODE = "def clamp(x, lo, hi):\n    if x < lo:\n        return lo\n    if x > hi:\n        return hi\n    return x\n"
RECORD = ProblemRecord(
    id="t/clamp",
    source="jsonl",
    text=CLAMP,
    solutions=[CLAMP_CODE],
    tests=[
        "assert clamp(5, 0, 3) == 3",
        "assert clamp(-1, 0, 3) == 0",
        "assert clamp(2, 0, 3) == 2",
        "def test_many():\n    assert clamp(9, 1, 2) == 2",
    ],
)
SANDBOX = SandboxSettings()


def test_mutants_are_distinct_single_site_changes_that_compile() -> None:
    found = mutants(CLAMP_CODE)
    assert len(found) >= 7 and len(set(found)) == len(found)
    original = ast.dump(ast.parse(CLAMP_CODE))
    for m in found:
        compile(m, "<m>", "exec")
        assert ast.dump(ast.parse(m)) != original
    kinds = "\n".join(found)
    assert "x >= lo" in kinds and "x <= lo" in kinds and "return None" in kinds and "if not x > hi" in kinds
    assert mutants(CLAMP_CODE, limit=3, seed=1) == mutants(CLAMP_CODE, limit=3, seed=1)
    assert len(mutants(CLAMP_CODE, limit=3, seed=1)) == 3
    assert mutants("def broken(:") == []


def test_stdio_mutants_change_the_program_not_the_wrapper() -> None:
    program = "a, b = map(int, input().split())\nprint(a + b)\n"
    record = ProblemRecord(
        id="s",
        source="taco",
        text="Print a + b.\n",
        solutions=[stdio_solution(program)],
        tests=["assert solution('1 2\\n').split() == '3'.split()"],
        meta={"stdio_programs": [program]},
    )
    wrong = mutant_programs(record, record.problem(), limit=4)
    assert wrong and all("def solution(stdin: str) -> str:" in w for w in wrong)
    for w in wrong:
        [inner] = [
            n.value.value
            for n in ast.walk(ast.parse(w))
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "source"
        ]
        assert ast.dump(ast.parse(inner)) != ast.dump(ast.parse(program))


def test_tcg_target_continues_the_engine_answer_start() -> None:
    problem = Problem.from_source(CLAMP)
    target = tcg_target(problem, RECORD.tests, n=6)
    assert target is not None and target.endswith("\n```")
    # What the engine parses when the model writes exactly this (generation stops at the fence).
    out = Continuation(tokens=[1], text=target[: -len("```")], finish_reason="stop", stop_string="```")
    parsed = parse_tests(sample_text(prompts.tcg_answer_start(problem), out), "clamp")
    assert [t.source for t in parsed] == RECORD.tests[:3]  # the multi-line test is not a TCG line
    assert tcg_target(problem, ["def test_x():\n    assert clamp(1, 0, 2) == 1"]) is None


def test_pairs_are_built_by_execution() -> None:
    problem = RECORD.problem()
    reference = reference_program(RECORD, problem)
    wrong = mutant_programs(RECORD, problem, limit=8)
    cases = {
        "good": "5, 0, 3) == 3\nassert clamp(-1, 0, 3) == 0\n```",
        "wrong_expectation": "5, 0, 3) == 5\n```",
        "unparseable": "5, 0, 3 == \n```",
        "accepts_all": "2, 0, 3) == clamp(2, 0, 3)\n```",
    }
    judged = {k: judge_completion(problem, v, reference, wrong, SANDBOX) for k, v in cases.items()}
    assert judged["good"].chosen and judged["good"].kill_rate > 0.3
    assert (
        not judged["wrong_expectation"].passes_reference
        and "fails on the reference" in judged["wrong_expectation"].reason
    )
    assert not judged["unparseable"].parsed and "does not parse" in judged["unparseable"].reason
    assert judged["accepts_all"].passes_reference and judged["accepts_all"].kill_rate == 0.0
    assert not judged["accepts_all"].chosen and judged["accepts_all"].reason == "accepts every mutant"

    pairs = preference_pairs("PROMPT", list(judged.values()), max_pairs=10)
    assert len(pairs) == 3
    assert all(p["prompt"] == "PROMPT" and p["chosen"] == cases["good"] for p in pairs)
    assert {p["rejected"] for p in pairs} == {
        cases["wrong_expectation"],
        cases["unparseable"],
        cases["accepts_all"],
    }
    assert preference_pairs("P", [judged["good"]], 5) == []  # nothing to reject: no pair
