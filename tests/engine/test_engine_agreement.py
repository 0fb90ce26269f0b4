"""Execution agreement: clustering, CodeT scores and suspect tests, against hand-computed cases.

Reports come from the BehaviourVerifier FAKE (scripted outputs per test); solves use the
ScriptedBackend FAKE.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import DIRECT, TCG, BehaviourVerifier, Reply, ScriptedBackend, function_reply

from o1coder.config import SearchSettings
from o1coder.engine.agreement import agree, code_identity
from o1coder.engine.problem import Problem
from o1coder.engine.steps import Candidate, consensus_answer, reconcile
from o1coder.engine.strategies import solve
from o1coder.engine.types import CODE, Budget, Step
from o1coder.sandbox.types import TestCase, TestStatus

TESTS = [TestCase(f"t{i}", f"assert f({i}) == {i}") for i in range(1, 5)]
# the last test's expected value is wrong: the right function returns 4 there
EXPECTED = {"t1": 1, "t2": 2, "t3": 3, "t4": 5}
RIGHT = {"t1": 1, "t2": 2, "t3": 3, "t4": 4}
OFF_BY_ONE = {"t1": 2, "t2": 3, "t3": 4, "t4": 5}  # passes only the wrong test
PLEASER = {"t1": 1, "t2": 2, "t3": 3, "t4": 5}  # agrees with every test


def candidates(*programs: tuple[str, dict]) -> list[Candidate]:
    """Candidates from (code, behaviour) pairs, verified by the fake."""
    verifier = BehaviourVerifier({code: behaviour for code, behaviour in programs}, EXPECTED)
    out = []
    for code, _ in programs:
        report = verifier(code, TESTS)
        out.append(Candidate(code, [Step(CODE, code)], report, report.reward(0.1)))
    return out


def test_code_identity_ignores_comments_and_layout():
    assert code_identity("def f(x):\n    return x  # mine\n") == code_identity("def f(x): return x")
    assert code_identity("def f(x):\n    return x\n") != code_identity("def f(x):\n    return x + 0\n")


def test_two_independent_programs_agreeing_make_the_contradicted_test_suspect():
    pool = candidates(
        ("def f(x):\n    return x  # RIGHT-a", RIGHT),
        ("def f(x):\n    return int(x)  # RIGHT-b", RIGHT),
        ("def f(x):\n    return x + 1  # OFF", OFF_BY_ONE),
    )
    agreement = agree(pool)
    # clusters: {RIGHT-a, RIGHT-b} 2 members x 3 tests = 6; {OFF} 1 x 1 = 1
    assert [c.members for c in agreement.clusters] == [(0, 1), (2,)]
    assert [c.score for c in agreement.clusters] == [6, 1]
    assert agreement.consensus and agreement.winner.independent == 2
    assert agreement.suspect == {"t4": "4"}
    reconcile(pool, 0.1)
    answer = consensus_answer(pool, agreement)
    assert answer is pool[0]
    statuses = [o.status for o in answer.report.outcomes]
    assert statuses == [TestStatus.PASSED] * 3 + [TestStatus.SUSPECT]
    assert "2 different candidates agree on 4" in answer.report.outcomes[3].message
    assert answer.report.pass_rate == 1.0 and answer.reward == pytest.approx(1.0)
    assert pool[0].raw_report.outcomes[3].status is TestStatus.FAILED  # the sandbox's own report kept
    # the off-by-one program passed only the suspect test: it counts for no one
    assert pool[2].report.passed == 0 and pool[2].reward == pytest.approx(0.1)


def test_one_program_sampled_twice_is_not_a_consensus():
    same = "def f(x):\n    return x  # RIGHT"
    pool = candidates((same, RIGHT), (same + "\n", RIGHT), ("def f(x):\n    return x  # PLEASE", PLEASER))
    agreement = agree(pool)
    # {RIGHT, RIGHT} 2 members x 3 tests = 6, {PLEASE} 1 x 4 = 4: the duplicates win the vote...
    assert agreement.clusters[0].members == (0, 1) and agreement.clusters[0].independent == 1
    # ...but one program twice overrules no test
    assert not agreement.consensus and agreement.suspect == {}


def test_the_problem_s_own_examples_come_before_the_vote():
    """t1 is the docstring's example. Two different programs agree on a misreading that fails it;
    one program passes it: the example decides (AlphaCode's filter on example tests), the
    misreading is no consensus over it, and only the generated tests can be suspect."""
    MISREAD = {"t1": 7, "t2": 2, "t3": 3, "t4": 4}
    pool = candidates(
        ("def f(x):\n    return x if x > 1 else 7  # MISREAD-a", MISREAD),
        ("def f(x):\n    return 7 if x == 1 else x  # MISREAD-b", MISREAD),
        ("def f(x):\n    return max(x, 7 * (x == 1))  # MISREAD-c", MISREAD),
        ("def f(x):\n    return x + (x > 3)  # ALONE", PLEASER),
    )
    # the vote alone: {MISREAD-a, -b, -c} 3 x 2 = 6 beats {ALONE} 1 x 4 = 4
    assert agree(pool).winner.members == (0, 1, 2) and agree(pool).suspect == {"t1": "7", "t4": "4"}
    agreement = agree(pool, stated=frozenset({"t1"}))
    assert agreement.winner.members == (3,) and not agreement.consensus and agreement.suspect == {}
    assert consensus_answer(pool, reconcile(pool, 0.1, frozenset({"t1"}))) is pool[3]
    # an example no candidate passes can still be suspect, like any test
    pool = candidates(
        ("def f(x):\n    return x  # RIGHT-a", RIGHT),
        ("def f(x):\n    return int(x)  # RIGHT-b", RIGHT),
    )
    assert agree(pool, stated=frozenset({"t4"})).suspect == {"t4": "4"}


def test_with_no_test_passed_the_larger_cluster_wins():
    pool = candidates(
        ("def f(x):\n    return x + 1  # OFF-a", OFF_BY_ONE | {"t4": 6}),
        ("def f(x):\n    return 1 + x  # OFF-b", OFF_BY_ONE | {"t4": 6}),
        ("def f(x):\n    return 0  # ZERO", {"t1": 0, "t2": 0, "t3": 0, "t4": 0}),
    )
    agreement = agree(pool)
    assert [c.score for c in agreement.clusters] == [0, 0]
    assert agreement.winner.members == (0, 1)
    assert agreement.suspect == {"t1": "2", "t2": "3", "t3": "4", "t4": "6"}


def test_programs_that_did_not_load_have_no_say():
    pool = candidates(("def f(x):\n    return x  # RIGHT", RIGHT))
    broken = Candidate("def f(", [Step(CODE, "def f(")], replace(pool[0].report, compiled=False), 0.0)
    agreement = agree([*pool, broken])
    assert [c.members for c in agreement.clusters] == [(0,)]


def test_a_test_every_program_raises_on_is_suspect_when_no_program_passes_it():
    """A malformed test (`f(1)` for a function of a string): the consensus raises on its call."""
    malformed = RIGHT | {"t4": TypeError("object of type 'int' has no len()")}
    pool = candidates(
        ("def f(x):\n    return x  # RIGHT-a", malformed),
        ("def f(x):\n    return int(x)  # RIGHT-b", malformed),
        ("def f(x):\n    return x + 1  # OFF", OFF_BY_ONE | {"t4": TypeError("no")}),
    )
    agreement = agree(pool)
    assert agreement.winner.members == (0, 1) and agreement.suspect == {"t4": "raising TypeError"}
    reconcile(pool, 0.1)
    answer = consensus_answer(pool, agreement)
    assert answer.report.outcomes[3].status is TestStatus.SUSPECT
    assert "2 different candidates agree on raising TypeError" in answer.report.outcomes[3].message
    assert answer.reward == pytest.approx(1.0)
    assert pool[0].raw_report.outcomes[3].status is TestStatus.ERROR  # the sandbox's own report kept


def test_a_test_some_program_passes_stays_judged_though_the_consensus_raises_on_it():
    """A bug the consensus shares (it raises where the test expects a value) is still searched for
    once one program shows the exception can be avoided."""
    shared_bug = RIGHT | {"t4": IndexError("list index out of range")}
    pool = candidates(
        ("def f(x):\n    return x  # BUG-a", shared_bug),
        ("def f(x):\n    return int(x)  # BUG-b", shared_bug),
        ("def f(x):\n    return x + 1  # PLEASE", PLEASER),
    )
    agreement = agree(pool)
    # {BUG-a, BUG-b} 2 x 3 = 6 beats {PLEASE} 1 x 4 = 4, but PLEASE passes t4: not suspect
    assert agreement.winner.members == (0, 1) and agreement.suspect == {}
    reconcile(pool, 0.1)
    assert pool[0].report.outcomes[3].status is TestStatus.ERROR
    assert pool[0].reward == pytest.approx(0.1 + 0.9 * 3 / 4)


def test_one_program_raising_twice_overrules_no_test():
    same = "def f(x):\n    return x  # RIGHT"
    malformed = RIGHT | {"t4": TypeError("no")}
    pool = candidates((same, malformed), (same + "\n", malformed))
    assert not agree(pool).consensus and agree(pool).suspect == {}


# -- a solve: System 1 ends at a consensus and reports the suspect test ----------------------------

PROBLEM = Problem.from_source('def f(x):\n    """Return x."""\n')


def reply(body: str) -> Reply:
    return function_reply(f"def f(x):\n    {body}")


def test_agreeing_direct_answers_end_the_solve_by_consensus_with_the_wrong_test_suspect():
    backend = ScriptedBackend(
        {
            DIRECT: [reply("return x  # A"), reply("return int(x)  # B"), reply("return x + 1  # C")],
            TCG: ["1) == 1\n```"],
        },
        name="fake",
    )
    verifier = BehaviourVerifier({"# A": RIGHT, "# B": RIGHT, "# C": OFF_BY_ONE}, EXPECTED)
    result = solve(
        PROBLEM,
        policy=backend,
        prm=backend,
        tcg=backend,
        verifier=verifier,
        settings=SearchSettings(seed=1),
        budget=Budget(tokens=3000, nodes=40, seconds=60),
        tests=TESTS,
    )
    assert "# A" in result.code
    assert result.stats.ended_by == "consensus" and result.stats.stopped_by == "consensus"
    assert (result.stats.candidates, result.stats.clusters, result.stats.suspect_tests) == (3, 2, 1)
    assert [o.status.value for o in result.test_results.outcomes] == ["passed"] * 3 + ["suspect"]
    # System 1 only: the greedy answer with the tests, then two sampled answers; no tree search
    assert [len(call.prefixes) for call in backend.generate_calls] == [1, 2]
    assert [p.temperature for p in backend.generate_calls[1].params] == [0.8, 0.8]
    # the samples start after the function's head (a reply restating the docstring costs 3x the tokens)
    head = '<|im_start|>assistant\n```python\ndef f(x):\n    """Return x."""\n'
    assert all(prefix.endswith(head) for prefix in backend.generate_calls[1].prefixes)
    assert not backend.generate_calls[0].prefixes[0].endswith(head)  # the greedy answer is the baseline's
    data = result.to_json()
    assert data["test_results"]["outcomes"][3]["status"] == "suspect"
    assert data["stats"]["ended_by"] == "consensus"


def test_user_tests_join_the_generated_ones_and_can_be_suspect():
    backend = ScriptedBackend(
        {
            DIRECT: [reply("return x  # A"), reply("return int(x)  # B"), reply("return x  # A")],
            TCG: ["1) == 1\nassert f(2) == 2\n```"],
        },
        name="fake",
    )
    user = [TestCase("mine", "assert f(4) == 5")]
    expected = {"mine": 5, "test_1": 1, "test_2": 2}
    behaviour = {"mine": 4, "test_1": 1, "test_2": 2}
    verifier = BehaviourVerifier({"# A": behaviour, "# B": behaviour}, expected)
    result = solve(
        PROBLEM,
        policy=backend,
        prm=backend,
        tcg=backend,
        verifier=verifier,
        settings=SearchSettings(seed=1),
        budget=Budget(tokens=3000, nodes=40, seconds=60),
        user_tests=user,
    )
    assert [t.name for t in result.tests] == ["mine", "test_1", "test_2"]
    statuses = {o.name: o.status.value for o in result.test_results.outcomes}
    assert statuses == {"mine": "suspect", "test_1": "passed", "test_2": "passed"}
    assert result.stats.ended_by == "consensus"


def test_the_stated_tests_are_the_docstring_s_examples_whatever_their_names():
    from o1coder.engine.steps import stated_tests

    problem = Problem.from_source('def f(x):\n    """Return x.\n\n    >>> f(7)\n    7\n    """\n')
    [example] = problem.docstring_examples
    tests = [TestCase("mine", "assert f(4) == 4"), TestCase("renamed", example.source), *TESTS]
    assert stated_tests(problem, tests) == frozenset({"renamed"})
