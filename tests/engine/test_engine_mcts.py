"""ReST-MCTS* with execution at the leaves, driven by the ScriptedBackend FAKE."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from fakes import A1, A2, A3, FakeVerifier, ScriptedBackend, is_self_critic, judged_step

from o1coder.config import SearchSettings
from o1coder.engine import prompts
from o1coder.engine.budget import Meter
from o1coder.engine.mcts import MCTS, child_actions, rollout_action
from o1coder.engine.problem import Problem
from o1coder.engine.steps import Candidate, StepRunner, best_candidate
from o1coder.engine.tree import Node
from o1coder.engine.types import (
    CODE,
    REFINE,
    REPAIR,
    STRUCTURE,
    Budget,
    Cancelled,
    CancelToken,
    ProgressEvent,
)
from o1coder.sandbox import types as sandbox

PROBLEM = Problem.from_source('def add(a, b):\n    """Add a and b."""\n')
TESTS = [
    sandbox.TestCase("test_1", "assert add(1, 2) == 3"),
    sandbox.TestCase("test_2", "assert add(0, 0) == 0"),
]
SETTINGS = SearchSettings(
    branching=3,
    rollout_steps=2,
    rollout_branch=1,  # ReST-MCTS*'s single rollout proposal; the batched one has its own test
    parallel_leaves=1,  # one leaf per iteration, as in ReST-MCTS*; the parallel round has its own tests
    rollout_alpha=0.5,
    value_threshold=0.9,
    compile_weight=0.1,
    max_refine_steps=2,
    seed=0,
)
# Verified outcomes by marker in the program: (compiled, fraction of tests passed).
OUTCOMES = {"RIGHT": (True, 1.0), "HALF": (True, 0.5), "WRONG": (True, 0.0), "BROKEN": (False, 0.0)}
# PRM values by marker in the judged step.
PRM = {"alpha": 0.7, "beta": 0.4, "gamma": 0.2, "refined": 0.9, "RIGHT": 0.3, "HALF": 0.6, "WRONG": 0.5}


def prm_values(self_critic: float = 0.0):
    def value(text: str) -> float:
        if is_self_critic(text):
            return self_critic
        step = judged_step(text)
        return next((v for marker, v in PRM.items() if marker in step), 0.5)

    return value


def code(marker: str) -> str:
    return f"def add(a, b):\n    return a + b  # {marker}\n```\nsome trailing talk"


def make(
    replies: dict,
    *,
    settings: SearchSettings = SETTINGS,
    budget: Budget | None = None,
    self_critic: float = 0.0,
    cancel: CancelToken | None = None,
    progress=None,
    clock: Callable[[], float] = time.monotonic,
):
    backend = ScriptedBackend(replies, prm_values(self_critic))
    verifier = FakeVerifier(OUTCOMES)
    meter = Meter([backend], budget or Budget(tokens=100_000, nodes=100, seconds=60), cancel, clock)
    runner = StepRunner(
        PROBLEM, TESTS, policy=backend, prm=backend, verifier=verifier, settings=settings, meter=meter
    )
    return MCTS(runner, settings, progress), backend, verifier


DEFAULT_REPLIES = {
    A1: [" plan alpha\n### Step 2", " plan beta", " plan gamma\n```python\nx"],
    A2: [" refined plan\n\n### Step 3: Generate"],
    A3: [code("HALF")],
}


# ------------------------------------------------------------ the action schedule


def test_action_schedule():
    root = Node.root([])
    a1 = Node(id=1, parent=root, action=STRUCTURE, depth=1)
    a2 = Node(id=2, parent=a1, action=REFINE, depth=2)
    a3 = Node(id=3, parent=a2, action=REFINE, depth=3)
    assert child_actions(root, SETTINGS) == [STRUCTURE] * 3
    assert child_actions(a1, SETTINGS) == [REFINE] * 3
    assert child_actions(a2, SETTINGS) == [REFINE, CODE, CODE]  # one refine while depth < 1 + 2
    assert child_actions(a3, SETTINGS) == [CODE] * 3  # refine depth used up
    a2.end_of_inference = True
    assert child_actions(a2, SETTINGS) == [CODE] * 3  # the self-critic said the plan is complete
    no_refine = replace(SETTINGS, max_refine_steps=0)
    assert child_actions(a1, no_refine) == [CODE] * 3
    assert [rollout_action(n, SETTINGS) for n in (root, a1, a2)] == [STRUCTURE, REFINE, CODE]
    assert rollout_action(a1, no_refine) == CODE
    one_direct = replace(SETTINGS, direct_code_children=1)
    assert child_actions(root, one_direct) == [STRUCTURE, STRUCTURE, CODE]  # a no-plan arm at the root
    assert child_actions(a1, one_direct) == [REFINE] * 3  # only the root gets it


def test_a_direct_code_child_at_the_root_can_win_the_search():
    replies = {A1: [" plan alpha", " plan beta"], A2: [" refined"], A3: [code("RIGHT")]}
    settings = replace(SETTINGS, direct_code_children=1)
    mcts, _, _ = make(replies, settings=settings)
    outcome = mcts.run()
    assert outcome.stopped_by == "threshold" and outcome.iterations == 1
    assert [c.action for c in mcts.root.children] == [STRUCTURE, STRUCTURE, CODE]
    assert outcome.best is not None and outcome.best.node.parent is mcts.root


# ------------------------------------------------------------ one iteration


def test_first_iteration_expands_values_rolls_out_and_backs_up():
    mcts, backend, verifier = make(DEFAULT_REPLIES)
    leaf = mcts.select()
    assert leaf is mcts.root
    children = mcts.iterate(leaf)

    assert [c.action for c in children] == [STRUCTURE] * 3
    assert [c.content for c in children] == [
        "1. plan alpha",
        "1. plan beta",
        "1. plan gamma",
    ]  # stops applied
    alpha, beta, gamma = children
    # one batched generate for the expansion, seeds seed + node id * b + i
    first = backend.generate_calls[0]
    assert len(first.prefixes) == 3 and [p.seed for p in first.params] == [0, 1, 2]
    assert all(p.stop == prompts.STEP_STOPS and p.temperature == SETTINGS.temperature for p in first.params)
    # one batched judge for the children, then the rollout: a refine step, then a code step
    assert [len(call) for call in backend.judge_calls] == [3, 1, 1]
    assert [len(call.prefixes) for call in backend.generate_calls] == [1 + 2, 1, 1]
    assert backend.generate_calls[1].prefixes[0].endswith("### Step 2: Refine the pseudocode\n1.")
    assert backend.generate_calls[2].prefixes[0].endswith("### Step 3: Generate the Python code\n```python\n")

    # rollout: values 0.9 (refined) then 0.1 + 0.9 * 0.5 = 0.55 (HALF code); v_max = 0.9
    assert alpha.prm_value == pytest.approx(0.7)
    assert alpha.value == pytest.approx(0.5 * 0.7 + 0.5 * 0.9)
    assert (beta.value, gamma.value) == (pytest.approx(0.4), pytest.approx(0.2))
    # the rollout's steps stay out of the tree, its code is a verified candidate
    assert alpha.children == [] and not alpha.expanded
    [candidate] = mcts.runner.candidates
    assert candidate.reward == pytest.approx(0.55) and candidate.prm_value == pytest.approx(0.6)
    assert candidate.node is not None and candidate.node.parent.parent is alpha
    assert [s.action for s in candidate.steps] == [STRUCTURE, REFINE, CODE]
    assert verifier.programs == ["def add(a, b):\n    return a + b  # HALF\n"]
    # backprop from the expanded root: visits and the mean of its unvisited children
    assert mcts.root.visits == 1
    assert mcts.root.value == pytest.approx((0.8 + 0.4 + 0.2) / 3)
    assert mcts.meter.nodes == 3
    # each node's sequence extends the prefix its step was sampled from, and spells its text
    fresh = ScriptedBackend(name="other-fake")
    for node in (alpha, beta, gamma, candidate.node):
        assert backend.detokenize(node.tokens_for(backend)) == fresh.detokenize(node.tokens_for(fresh))
    assert backend.detokenize(candidate.node.tokens_for(backend)).startswith(
        backend.generate_calls[2].prefixes[0]
    )


def test_rollout_branch_samples_each_step_in_one_batch_and_keeps_the_best_by_value():
    replies = {
        A1: [" plan alpha", " plan beta", " plan gamma"],
        A2: [" refined plan", " plan in other words"],
        A3: [code("WRONG"), code("HALF")],
    }
    mcts, backend, verifier = make(replies, settings=replace(SETTINGS, rollout_branch=2))
    alpha, _, _ = mcts.iterate(mcts.select())
    # the expansion, then two rollout steps of two proposals each, seeds continuing the first
    assert [len(call.prefixes) for call in backend.generate_calls] == [3, 2, 2]
    base = SETTINGS.seed + 1_000_003
    assert [p.seed for p in backend.generate_calls[1].params] == [base, base + 1]
    assert [p.seed for p in backend.generate_calls[2].params] == [base + 2, base + 3]
    # the best refine (0.9, "refined") is rolled on; both code proposals are verified candidates
    assert backend.generate_calls[2].prefixes[0].count("refined plan") == 1
    assert sorted(c.reward for c in mcts.runner.candidates) == [pytest.approx(0.1), pytest.approx(0.55)]
    assert len(verifier.programs) == 2
    # v_max is the refine's 0.9 (HALF's verified 0.55 and WRONG's 0.1 are lower)
    assert alpha.value == pytest.approx(0.5 * 0.7 + 0.5 * 0.9)


def test_selection_follows_ucb_with_the_unvisited_bonus():
    mcts, backend, _ = make(DEFAULT_REPLIES)
    mcts.iterate(mcts.select())
    alpha, beta, gamma = mcts.root.children
    assert mcts.select() is alpha  # all unvisited: the highest V + bonus
    alpha.visits, alpha.expanded = 1, True
    alpha.children = [Node(id=9, parent=alpha, action=REFINE, depth=2, is_terminal=True)]  # closed subtree
    assert mcts.select() is beta
    beta.visits, beta.value = 5, 0.9
    mcts.root.visits = 6
    # beta: 0.9 + 0.5 * sqrt(2 ln 6 / 5) = 1.3233 beats gamma: 0.2 + 0.9 (unvisited bonus) = 1.1
    assert mcts.select() is beta
    gamma.value = 0.5  # 0.5 + 0.9 = 1.4 > 1.3233
    assert mcts.select() is gamma


def test_parallel_selection_takes_distinct_leaves_steered_by_virtual_visits():
    mcts, _, _ = make(DEFAULT_REPLIES)
    assert mcts.select_leaves(3) == [mcts.root]  # one open leaf: a round of one
    mcts.iterate(mcts.root)
    alpha, beta, gamma = mcts.root.children
    # all unvisited: the highest V + bonus first, then the next, never the same leaf twice
    assert mcts.select_leaves(2) == [alpha, beta]
    assert mcts.select_leaves(5) == [alpha, beta, gamma]  # fewer leaves than asked
    # alpha's subtree: one visited child with a high value, one unvisited child with a low one
    alpha.expanded, alpha.visits = True, 1
    a1 = Node(id=4, parent=alpha, action=REFINE, depth=2, visits=1, value=0.9)
    a2 = Node(id=5, parent=alpha, action=REFINE, depth=2, value=0.0)
    alpha.children = [a1, a2]
    alpha.value, beta.value, gamma.value = 0.9, 0.2, 0.1
    mcts.root.visits = 2
    # first pick, through alpha (0.9 + 0.5*sqrt(2 ln 2 / 1) = 1.4887 > beta's 0.2 + 0.9):
    # a1 (0.9 + 0.5*sqrt(2 ln 1 / 1) = 0.9 = a2's 0.0 + 0.9; the first of equals) ...
    first, second = mcts.select_leaves(2)
    assert first is a1
    # ... then with one virtual visit on alpha (0.9 + 0.5*sqrt(2 ln 3 / 2) = 1.4241 > 1.1) and
    # the root, alpha's other child a2, the only one left open there
    assert second is a2
    # a virtual visit alone can move the second pick to another branch: alpha's value drops
    alpha.value = 0.55  # 1st: 0.55 + 0.5*sqrt(2 ln 2) = 1.1387 > 1.1; 2nd: 0.55 + 0.5*sqrt(ln 3) = 1.0741 < 1.1
    assert mcts.select_leaves(2) == [a1, beta]


def test_a_parallel_round_batches_every_model_call_of_its_leaves():
    replies = {
        A1: [" plan alpha", " plan beta", " plan gamma"],
        A2: [lambda _prefix, params: f" refinement seeded {params.seed}"],
        A3: [code("HALF")],
    }
    settings = replace(SETTINGS, parallel_leaves=2, max_repairs=0)  # rollouts end at their code
    mcts, backend, verifier = make(replies, settings=settings)
    mcts.iterate(mcts.root)
    alpha, beta, _ = mcts.root.children
    backend.generate_calls.clear()
    backend.judge_calls.clear()
    verifier.programs.clear()
    visits_before = mcts.root.visits
    candidates_before = len(mcts.runner.candidates)

    leaves = mcts.select_leaves(2)
    assert leaves == [alpha, beta]
    families = mcts.iterate_leaves(leaves)
    # one expansion call: b = 3 refine steps under each leaf, seeds from each leaf's id
    expansion = backend.generate_calls[0]
    assert len(expansion.prefixes) == 6
    assert [p.seed for p in expansion.params] == [3, 4, 5, 6, 7, 8]
    assert sum("plan alpha" in p for p in expansion.prefixes) == 3
    assert [len(f) for f in families] == [3, 3]
    assert all(child.parent is leaf for leaf, f in zip(leaves, families, strict=True) for child in f)
    # one judge of all six children, then each rollout step of both rollouts in one call
    # (no self-critic: structure nodes are never asked)
    assert [len(call) for call in backend.judge_calls] == [6, 2]
    assert [len(call.prefixes) for call in backend.generate_calls] == [6, 2]
    # rollout seeds number the two rollouts as consecutive iterations (1 and 2)
    base = SETTINGS.seed + 1_000_003
    step_seeds = [p.seed for p in backend.generate_calls[1].params]
    assert step_seeds == [base + 1 * SETTINGS.rollout_steps, base + 2 * SETTINGS.rollout_steps]
    assert len(mcts.runner.candidates) == candidates_before + 2  # both rollouts reached verified code
    assert verifier.programs == []  # the same program as before: its report is reused, not rerun
    # both leaves backed up: two more visits at the root, one at each leaf
    assert mcts.root.visits == visits_before + 2
    assert (alpha.visits, beta.visits) == (1, 1)
    assert mcts.iterations == 3
    assert mcts.meter.nodes == 3 + 6


def test_parallel_leaves_run_the_whole_search_within_budget():
    settings = replace(SETTINGS, parallel_leaves=3)
    mcts, backend, _ = make(DEFAULT_REPLIES, settings=settings, budget=Budget(tokens=600, nodes=100, seconds=60))
    outcome = mcts.run()
    assert outcome.stopped_by in ("tokens", "exhausted")
    assert mcts.meter.tokens_generated <= 600
    assert max(len(call.prefixes) for call in backend.generate_calls) > 3  # rounds of several leaves
    assert outcome.best is not None


def test_duplicates_and_junk_steps_are_dropped():
    replies = {
        A1: [" same plan", "  same   plan\n", "#\n", " other plan"],
        A2: [" refined"],
        A3: [code("WRONG")],
    }
    mcts, _, _ = make(replies, settings=replace(SETTINGS, branching=4))
    children = mcts.iterate(mcts.root)
    assert [c.content for c in children] == ["1. same plan", "1. other plan"]
    assert mcts.meter.nodes == 2 and [c.id for c in children] == [1, 2]


def test_code_children_are_executed_and_their_reward_is_their_value():
    mcts, backend, verifier = make({A3: [code("RIGHT"), code("BROKEN"), code("WRONG")], A2: [" refined"]})
    root = mcts.root
    a1 = Node(id=1, parent=root, action=STRUCTURE, content="1. plan", depth=1, expanded=True)
    a2 = Node(id=2, parent=a1, action=REFINE, content="1. refined", depth=2, expanded=True)
    a3 = Node(id=3, parent=a2, action=REFINE, content="1. more", depth=3)
    root.children, a1.children, a2.children, root.expanded = [a1], [a2], [a3], True
    mcts.runner._next_id = 4
    children = mcts.iterate(a3)
    assert [c.action for c in children] == [CODE] * 3
    assert [c.reward for c in children] == [pytest.approx(1.0), pytest.approx(0.0), pytest.approx(0.1)]
    assert [c.value for c in children] == [c.reward for c in children]
    assert [c.prm_value for c in children] == [0.3, 0.5, 0.5]
    assert len(verifier.programs) == 3
    # the passing code is a leaf for good; failing code stays open for a repair step
    assert [c.is_terminal for c in children] == [True, False, False]
    assert [p.stop for p in backend.generate_calls[0].params] == [prompts.CODE_STOPS] * 3
    assert len(backend.generate_calls) == 1  # the best child is code: no rollout
    assert a3.value == pytest.approx((1.0 + 0.0 + 0.1) / 3)


@pytest.mark.parametrize(("p_yes", "actions"), [(0.8, [CODE] * 3), (0.3, [REFINE, CODE, CODE])])
def test_self_critic_switches_a_refined_plan_to_code(p_yes, actions):
    replies = {A2: [" refined more"], A3: [code("WRONG"), code("HALF"), code("BROKEN")]}
    mcts, backend, _ = make(replies, self_critic=p_yes)
    root = mcts.root
    a1 = Node(id=1, parent=root, action=STRUCTURE, content="1. plan", depth=1, expanded=True)
    a2 = Node(id=2, parent=a1, action=REFINE, content="1. refined", depth=2)
    root.children, a1.children, root.expanded = [a1], [a2], True
    mcts.runner._next_id = 3
    children = mcts.iterate(a2)
    assert [c.action for c in children] == actions
    assert a2.end_of_inference is (p_yes >= 0.5)
    assert sum(is_self_critic(t) for call in backend.judge_calls for t in call) == 1


def test_no_self_critic_at_step_one():
    mcts, backend, _ = make(DEFAULT_REPLIES, self_critic=0.9)
    mcts.iterate(mcts.root)
    mcts.iterate(mcts.select())  # expands the structure node alpha
    assert not any(is_self_critic(t) for call in backend.judge_calls for t in call)
    assert [c.action for c in mcts.root.children[0].children] == [REFINE]  # three equal replies merged


# ------------------------------------------------------------ stopping and the answer


def test_search_stops_when_a_candidate_reaches_the_threshold():
    replies = {**DEFAULT_REPLIES, A3: [code("RIGHT")]}
    events: list[ProgressEvent] = []
    mcts, _, _ = make(replies, progress=events.append)
    outcome = mcts.run()
    assert outcome.stopped_by == "threshold" and outcome.iterations == 1
    assert outcome.best is not None and "RIGHT" in outcome.best.code and outcome.best.reward == 1.0
    assert [e.phase for e in events] == ["search", "search"]  # the start, then the iteration
    assert events[0].nodes == 0 and events[0].tokens_generated == 0
    assert events[1].best_value == 1.0 and events[1].tests_passing == 2 and events[1].tests_total == 2
    assert events[1].nodes == 3 and events[1].tokens_generated == mcts.meter.tokens_generated > 0


def test_search_runs_until_the_node_budget_and_answers_the_best_candidate():
    replies = {
        A1: [" plan alpha", " plan beta", " plan gamma"],
        A2: [" refined", " refined twice", " refined thrice", " refined again"],
        A3: [code("WRONG"), code("HALF"), code("WRONG")],
    }
    events: list[ProgressEvent] = []
    mcts, _, _ = make(replies, budget=Budget(tokens=100_000, nodes=6, seconds=60), progress=events.append)
    outcome = mcts.run()
    assert outcome.stopped_by == "nodes" and outcome.iterations == 2
    assert mcts.meter.nodes == 6
    assert outcome.best is not None and "HALF" in outcome.best.code
    assert len(events) == 3 and events[2].nodes == 6  # the start and two iterations


def test_token_budget_stops_and_code_is_still_written():
    replies = {
        A1: [" plan alpha " + "x" * 200, " plan beta " + "y" * 40, " plan gamma " + "z" * 40],
        A3: [code("HALF")],
    }
    mcts, backend, _ = make(replies, budget=Budget(tokens=99, nodes=100, seconds=60))
    outcome = mcts.run()
    assert outcome.stopped_by == "tokens" and outcome.iterations == 1
    # the three first steps share the 99 tokens: each is cut at 33
    first = backend.generate_calls[0]
    assert [p.max_tokens for p in first.params] == [33, 33, 33]
    # no rollout once the tokens are spent; then one greedy code step from the best plan
    last = backend.generate_calls[-1]
    assert len(backend.generate_calls) == 2 and last.params[0].temperature == 0.0
    assert outcome.best is not None and "HALF" in outcome.best.code
    assert outcome.best.node.parent is mcts.root.children[0]  # alpha, the best pseudocode node
    assert outcome.best.node in mcts.root.children[0].children


def test_search_spends_no_more_than_its_token_budget():
    replies = {
        A1: [" plan alpha " + "x" * 80, " plan beta " + "y" * 80, " plan gamma " + "z" * 80],
        A2: [" refined " + "r" * 120],
        A3: [code("WRONG " + "w" * 150)],
    }
    for budget in (900, 901, 902, 1500, 3000):  # remainders below one token per stream too
        mcts, _, _ = make(replies, budget=Budget(tokens=budget, nodes=1000, seconds=60))
        outcome = mcts.run()
        assert outcome.stopped_by == "tokens"
        assert outcome.candidates, "code was written"
        assert mcts.meter.tokens_generated <= budget
    # too small a budget to reach code: the answer's code step is written in full after it
    for budget in (150, 400):
        mcts, backend, _ = make(replies, budget=Budget(tokens=budget, nodes=1000, seconds=60))
        outcome = mcts.run()
        answer = backend.generate_calls[-1]
        assert outcome.candidates and answer.params[0].max_tokens == mcts.settings.max_code_tokens
        assert mcts.meter.tokens_generated - len(code("WRONG " + "w" * 150)) <= budget


def test_no_proposal_without_one_token_per_stream_left():
    mcts, backend, _ = make(DEFAULT_REPLIES, budget=Budget(tokens=2, nodes=100, seconds=60))
    assert mcts.runner.propose(mcts.root, [STRUCTURE] * 3, temperature=0.8, seeds=[0, 1, 2], attach=True) == []
    assert backend.generate_calls == [] and not mcts.root.expanded
    assert mcts.stop_reason() == "tokens"


def test_exhausted_tree_stops_and_falls_back_to_code_from_the_root():
    replies = {A1: ["```python\nprint(1)"], A3: [code("WRONG")]}  # the model writes no plan at all
    mcts, _, _ = make(replies)
    outcome = mcts.run()
    assert outcome.stopped_by == "exhausted" and mcts.root.children[0].action == CODE
    assert outcome.best is not None and outcome.best.node.depth == 1


def test_best_candidate_is_by_reward_then_prm_value():
    report = sandbox.VerificationReport(compiled=True)

    def cand(reward, prm):
        return Candidate(f"{reward}/{prm}", [], report, reward, prm)

    pool = [cand(0.5, 0.9), cand(1.0, 0.1), cand(1.0, 0.6), cand(1.0, 0.6), cand(0.9, None)]
    assert best_candidate(pool) is pool[2]
    assert best_candidate([]) is None
    assert best_candidate([cand(0.2, None), cand(0.2, 0.1)]).code == "0.2/0.1"


def test_cancel_stops_between_model_calls():
    token = CancelToken()

    def cancel_then_reply(prefix, params):
        token.cancel()
        return " refined"

    replies = {**DEFAULT_REPLIES, A2: [cancel_then_reply]}
    mcts, backend, verifier = make(replies, cancel=token)
    with pytest.raises(Cancelled):
        mcts.run()
    assert len(backend.generate_calls) == 2 and verifier.programs == []


def test_a_round_takes_fewer_leaves_when_the_tokens_left_cannot_feed_them_all():
    # Regression: 4 tokens left and two leaves of three children each gave every stream a cap of 0,
    # so nothing was proposed and the same round repeated until the seconds budget ran out.
    # The meter's clock ticks one "second" per reading: a search that kept repeating rounds runs
    # out of its seconds after as many budget checks, whatever the machine's speed.
    settings = replace(SETTINGS, parallel_leaves=2)
    ticks = itertools.count()
    seconds = 1000
    mcts, _, _ = make(
        DEFAULT_REPLIES,
        settings=settings,
        budget=Budget(tokens=100_000, nodes=100, seconds=seconds),
        clock=lambda: float(next(ticks)),
    )
    mcts.meter.budget = Budget(tokens=mcts.meter.tokens_generated + 4, nodes=100, seconds=seconds)
    assert mcts.round_size() == 1
    mcts.meter.budget = Budget(tokens=mcts.meter.tokens_generated + 6, nodes=100, seconds=seconds)
    assert mcts.round_size() == 2
    mcts.iterate(mcts.root)
    mcts.meter.budget = Budget(tokens=mcts.meter.tokens_generated + 4, nodes=100, seconds=seconds)
    outcome = mcts.run()
    assert outcome.stopped_by == "tokens"  # spent, not timed out: every round proposed something


def test_failing_code_gets_repair_children_that_see_the_failing_checks():
    replies = {A3: [code("WRONG")], "Fix the code": [code("RIGHT")]}
    mcts, backend, verifier = make(replies, settings=replace(SETTINGS, branching=3))
    root = mcts.root
    a1 = Node(id=1, parent=root, action=STRUCTURE, content="1. plan", depth=1, expanded=True)
    a2 = Node(id=2, parent=a1, action=REFINE, content="1. refined", depth=2, expanded=True)
    a3 = Node(id=3, parent=a2, action=REFINE, content="1. more", depth=3)
    root.children, a1.children, a2.children, root.expanded = [a1], [a2], [a3], True
    mcts.runner._next_id = 4
    [wrong] = mcts.iterate(a3)  # three code children, all WRONG: one program, siblings merged
    assert wrong.is_code and wrong.reward == pytest.approx(0.1) and not wrong.is_terminal
    backend.generate_calls.clear()
    repairs = mcts.iterate(wrong)
    assert len(backend.generate_calls[0].prefixes) == 2  # b - 1 repair streams...
    assert [c.action for c in repairs] == [REPAIR]  # ...both wrote the same fix: one child
    prompt = backend.generate_calls[0].prefixes[0]
    assert "### Step 5: Fix the code\nThe code above fails these checks:\n- failed" in prompt
    assert prompt.endswith("Write the corrected function.\n```python\n")
    assert repairs[0].reward == pytest.approx(1.0) and repairs[0].is_terminal
    assert "Fix the code" in repairs[0].header and repairs[0].repairs == 1
    assert mcts.solved()
