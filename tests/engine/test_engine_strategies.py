"""Baselines and `solve`, with the ScriptedBackend and FakeVerifier FAKES."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import A1, A2, A3, DIRECT, TCG, FakeVerifier, ScriptedBackend, function_reply

from o1coder.config import SearchSettings
from o1coder.engine import budget, prompts
from o1coder.engine.baselines import best_of_n, best_of_n_size, greedy, pseudocode_chain
from o1coder.engine.budget import Meter
from o1coder.engine.problem import Problem
from o1coder.engine.steps import StepRunner
from o1coder.engine.strategies import solve
from o1coder.engine.types import CODE, REFINE, STRUCTURE, Budget, ProgressEvent
from o1coder.sandbox import types as sandbox

PROBLEM = Problem.from_source(
    'from math import fsum\n\n\ndef add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n'
)
TESTS = [sandbox.TestCase("t1", "assert add(1, 2) == 3"), sandbox.TestCase("t2", "assert add(2, 2) == 4")]
OUTCOMES = {"RIGHT": (True, 1.0), "HALF": (True, 0.5), "WRONG": (True, 0.0)}
SETTINGS = SearchSettings(seed=7, temperature=0.8)
SEARCH_ONLY = replace(SETTINGS, direct_answer_first=False)  # the tree search without the direct answer


def reply(marker: str) -> str:
    return f"Here it is:\n```python\ndef add(a, b):\n    return a + b  # {marker}\n```\nIt adds.<|im_end|>"


def test_best_of_n_size_fits_the_budget():
    assert [best_of_n_size(t) for t in (0, 299, 600, 1000, 10**6)] == [1, 1, 2, 3, 8]


def test_greedy_is_one_temperature_zero_sample_of_the_direct_prompt():
    backend = ScriptedBackend({DIRECT: [reply("RIGHT")]})
    verifier = FakeVerifier(OUTCOMES)
    meter = Meter([backend], Budget())
    answer = greedy(PROBLEM, TESTS, policy=backend, verifier=verifier, settings=SETTINGS, meter=meter)
    assert answer.code == "def add(a, b):\n    return a + b  # RIGHT"  # the first code block
    assert answer.reward == 1.0 and answer.report.passed == 2
    [call] = backend.generate_calls
    assert len(call.prefixes) == 1 and call.params[0].temperature == 0.0
    assert call.params[0].max_tokens == prompts.DIRECT_MAX_TOKENS
    assert "Reply with the whole function in one python code block" in call.prefixes[0]
    assert verifier.programs == ["from math import fsum\n\ndef add(a, b):\n    return a + b  # RIGHT\n"]
    assert [s.action for s in answer.steps] == [CODE]


def test_best_of_n_samples_once_in_a_batch_and_keeps_the_first_best():
    backend = ScriptedBackend({DIRECT: [reply("WRONG"), reply("HALF one"), reply("HALF two")]})
    verifier = FakeVerifier(OUTCOMES)
    meter = Meter([backend], Budget(tokens=1000))
    answer = best_of_n(PROBLEM, TESTS, policy=backend, verifier=verifier, settings=SETTINGS, meter=meter)
    [call] = backend.generate_calls
    assert len(call.prefixes) == 3  # 1000 tokens left // 300
    assert [p.seed for p in call.params] == [7, 8, 9] and all(p.temperature == 0.8 for p in call.params)
    assert "HALF one" in answer.code and answer.reward == pytest.approx(0.1 + 0.9 * 0.5)
    assert len(verifier.programs) == 3 and meter.nodes == 3


def test_pseudocode_chain_is_one_greedy_structure_refine_code_chain():
    backend = ScriptedBackend({A1: [" plan\n### Step 2"], A2: [" plan in detail"], A3: [reply("HALF")[22:]]})
    verifier = FakeVerifier(OUTCOMES)
    runner = StepRunner(
        PROBLEM,
        TESTS,
        policy=backend,
        prm=backend,
        verifier=verifier,
        settings=SETTINGS,
        meter=Meter([backend]),
    )
    answer = pseudocode_chain(runner)
    assert [s.action for s in answer.steps] == [STRUCTURE, REFINE, CODE]
    assert [s.text for s in answer.steps[:2]] == ["1. plan", "1. plan in detail"]
    assert answer.code == "def add(a, b):\n    return a + b  # HALF"
    assert all(c.params[0].temperature == 0.0 for c in backend.generate_calls)
    assert len(backend.generate_calls) == 3 and runner.meter.nodes == 3


def solve_on_one_model(
    backend: ScriptedBackend,
    settings: SearchSettings,
    budget: Budget,
    *,
    prm: ScriptedBackend | None = None,
    tcg: ScriptedBackend | None = None,
    **kw,
):
    """`solve` with `backend` in every role not given and the FakeVerifier."""
    return solve(
        PROBLEM,
        policy=backend,
        prm=prm or backend,
        tcg=tcg or backend,
        verifier=FakeVerifier(OUTCOMES),
        settings=settings,
        budget=budget,
        **kw,
    )


def mcts_backend() -> ScriptedBackend:
    return ScriptedBackend(
        {
            TCG: ["2, 2) == 4\n```", "0, 0) == 0\n```"],
            A1: [" plan alpha", " plan beta", " plan gamma"],
            A2: [" refined"],
            A3: ["def add(a, b):\n    return a + b  # RIGHT\n"],
        }
    )


def test_solve_mcts_writes_tests_searches_and_reports_costs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(budget, "PULSE_SECONDS", float("inf"))  # the events alone, no pulse between them
    backend = mcts_backend()
    backend.tree.add([-5, -6, -7])  # left over from an earlier solve
    events: list[ProgressEvent] = []
    result = solve_on_one_model(
        backend, SEARCH_ONLY, Budget(tokens=5000, nodes=40, seconds=60), progress=events.append
    )
    assert [t.source for t in result.tests] == [
        "assert add(1, 2) == 3",
        "assert add(2, 2) == 4",
        "assert add(0, 0) == 0",
    ]
    assert result.code == "def add(a, b):\n    return a + b  # RIGHT"
    assert result.value == 1.0 and result.test_results.passed == 3
    assert result.pseudocode == "1. plan alpha\n\n1. refined"
    assert [s.action for s in result.steps] == [STRUCTURE, REFINE, CODE]
    stats = result.stats
    assert stats.strategy == "mcts" and stats.prompt_version == prompts.PROMPT_VERSION
    assert stats.stopped_by == "threshold" and stats.nodes == 3
    assert stats.tokens_generated == backend.counters.tokens_generated
    assert stats.prompt_tokens_evaluated == backend.counters.prompt_tokens_evaluated
    assert stats.judgements == backend.counters.judgements == 3 + 1 + 1
    assert stats.unique_tree_tokens == backend.tree.size and -5 not in backend.tree._root
    assert backend.forget_calls == 1  # the cache of earlier solves is dropped first
    assert result.tree is not None and len(result.tree.children) == 3
    assert [e.phase for e in events] == ["tests", "tests", "search", "search", "done"]  # start, iteration
    assert events[1].tests_total == 3 and events[-1].best_value == 1.0
    assert result.to_json()["stats"]["strategy"] == "mcts"


def test_solve_with_given_tests_and_separate_backends_counts_every_role():
    policy, prm = mcts_backend(), ScriptedBackend(values=lambda _t: 0.5, name="prm-fake")
    result = solve_on_one_model(policy, SEARCH_ONLY, Budget(), prm=prm, tests=TESTS)
    assert not any(TCG in p for call in policy.generate_calls for p in call.prefixes)
    assert result.tests == TESTS
    assert prm.counters.judgements == 5 and policy.counters.judgements == 0
    assert result.stats.judgements == 5
    assert result.stats.prompt_tokens_evaluated == (
        policy.counters.prompt_tokens_evaluated + prm.counters.prompt_tokens_evaluated
    )


def direct_first_backend(direct_marker: str) -> ScriptedBackend:
    backend = mcts_backend()
    backend.replies[DIRECT] = [
        function_reply(f"def add(a, b):\n    return a + b  # {direct_marker}", "Here it is:\n", "\nIt adds.<|im_end|>")
    ]
    return backend


def test_solve_mcts_ends_at_a_direct_answer_written_with_the_tests_that_passes_them():
    backend = direct_first_backend("RIGHT")
    result = solve_on_one_model(backend, SETTINGS, Budget(tokens=1500, nodes=40, seconds=60))
    [opening] = backend.generate_calls  # the TCG's two samples and the direct answer: one batch
    assert [TCG in p for p in opening.prefixes] == [True, True, False]
    assert "Reply with the whole function" in opening.prefixes[2] and opening.params[2].temperature == 0.0
    caps = [p.max_tokens for p in opening.params]
    assert sum(caps[:2]) <= 1500 // 2 and sum(caps) <= 1500  # the tests' half at most, the answer the rest
    assert result.code == "def add(a, b):\n    return a + b  # RIGHT" and result.value == 1.0
    assert result.pseudocode == "" and [s.action for s in result.steps] == [CODE]
    # it passes every test alone: no sampled answers, no tree search
    assert result.stats.stopped_by == "threshold" and result.stats.ended_by == "threshold"
    assert result.stats.nodes == 1 and result.stats.candidates == 1 and result.stats.clusters == 1
    assert result.stats.judgements == 1  # the PRM value of the direct answer
    [child] = result.tree.children
    assert child.is_code and child.reward == 1.0 and result.tree.visits == 1


def test_solve_mcts_searches_past_a_direct_answer_that_fails_tests_and_keeps_it_as_a_candidate():
    backend = direct_first_backend("WRONG")
    result = solve_on_one_model(backend, SETTINGS, Budget(tokens=5000, nodes=40, seconds=60))
    assert result.code == "def add(a, b):\n    return a + b  # RIGHT"  # found by the search
    assert result.pseudocode == "1. plan alpha\n\n1. refined"
    *direct, p1, p2, p3 = result.tree.children
    assert len(direct) == 3  # the greedy and two sampled answers (the fake writes WRONG for each)
    assert all(d.is_code and d.reward == pytest.approx(0.1) and "WRONG" in d.content for d in direct)
    assert [c.action for c in (p1, p2, p3)] == [STRUCTURE] * 3


def test_direct_answer_and_tcg_on_separate_models_are_written_one_after_the_other():
    policy, tcg = direct_first_backend("RIGHT"), mcts_backend()
    result = solve_on_one_model(policy, replace(SETTINGS, strategy="greedy"), Budget(tokens=1500), tcg=tcg)
    [tcg_call], [direct_call] = tcg.generate_calls, policy.generate_calls
    assert len(tcg_call.prefixes) == 2 and len(direct_call.prefixes) == 1
    assert result.value == 1.0 and result.stats.tokens_generated == (
        policy.counters.tokens_generated + tcg.counters.tokens_generated
    )


@pytest.mark.parametrize("strategy", ["greedy", "best-of-n", "pseudocode"])
def test_solve_baselines_report_the_same_way(strategy):
    backend = ScriptedBackend(
        {
            DIRECT: [reply("HALF")],
            A1: [" plan"],
            A2: [" more"],
            A3: [reply("HALF")[22:]],
            TCG: ["2, 2) == 4\n```"],
        }
    )
    result = solve_on_one_model(backend, replace(SETTINGS, strategy=strategy), Budget(tokens=700))
    assert result.stats.strategy == strategy and result.stats.stopped_by == "done"
    assert "HALF" in result.code and result.test_results is not None and result.test_results.total == 2
    assert result.stats.tokens_generated == backend.counters.tokens_generated
    assert (result.tree is not None) == (strategy == "pseudocode")


def test_unknown_strategy_fails_before_any_work():
    backend = mcts_backend()
    with pytest.raises(ValueError, match="unknown strategy"):
        solve(
            PROBLEM,
            policy=backend,
            prm=backend,
            tcg=backend,
            verifier=FakeVerifier(),
            settings=replace(SETTINGS, strategy="beam"),
            budget=Budget(),
        )
    assert backend.counters.calls == 0
