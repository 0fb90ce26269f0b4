"""GRPO rewards, PRM examples and tree plumbing, checked against the engine's own builders."""

from __future__ import annotations

import doctest

import pytest
import torch

import o1coder_train.mutants
import o1coder_train.rewards
import o1coder_train.stages.prm
from o1coder.config import SandboxSettings
from o1coder.engine import prompts
from o1coder.engine.problem import Problem
from o1coder.engine.targets import tree_to_dict, value_targets
from o1coder.engine.tree import Node
from o1coder.engine.types import CODE, REFINE, STRUCTURE
from o1coder.sandbox.types import TestOutcome, TestStatus, VerificationReport
from o1coder_train.rewards import OutcomeReward, ProcessReward, split_steps
from o1coder_train.stages.prm import PrmCollator, pairwise_examples, pointwise_examples, suffix_tokens
from o1coder_train.trees import TreeView

PROBLEM = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = [["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]]


def _answer(code: str) -> str:
    return f"1. return the sum\n\n### Step 2: {prompts.STEP_TITLES[CODE]}\n```python\n{code}\n```"


@pytest.mark.parametrize("module", [o1coder_train.rewards, o1coder_train.mutants, o1coder_train.stages.prm])
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_outcome_reward_runs_the_code_in_the_sandbox() -> None:
    reward = OutcomeReward(compile_weight=0.1, sandbox=SandboxSettings())
    completions = [
        _answer("def add(a, b):\n    return a + b"),
        _answer("def add(a, b):\n    return a + b if a > 0 else 1"),
        _answer("def add(a, b) return"),
        "I do not know.",
    ]
    got = reward(["p"] * 4, completions, problem=[PROBLEM] * 4, tests=TESTS * 4)
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(0.1 + 0.9 * 0.5)  # compiles, passes add(1, 2) == 3 only
    assert got[2] == pytest.approx(0.0)
    assert got[3] == 0.0


class RecordingPrm:
    """A fake PRM judge (fixed scores) over the real tokenizer, recording what it is asked."""

    def __init__(self, text, scores):
        self.text, self.scores, self.asked = text, scores, []
        self.name = text.name

    def tokenize(self, s):
        return self.text.tokenize(s)

    def render_chat(self, messages, add_generation_prompt=True):
        return self.text.render_chat(messages, add_generation_prompt)

    def judge(self, prefixes, yes, no):
        assert tuple(yes) == prompts.YES and tuple(no) == prompts.NO
        self.asked.extend(prefixes)
        return self.scores[: len(prefixes)]


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_process_reward_judges_steps_as_the_engine_does(text_backend) -> None:
    code = "def add(a, b):\n    return a + b"
    prm = RecordingPrm(text_backend, [0.8, 0.6])
    [value] = ProcessReward(prm, gamma=0.9)(["p"], [_answer(code)], problem=[PROBLEM])
    assert value == pytest.approx((0.8 + 0.9 * 0.6) / 2)
    root = Node.root(prompts.method_messages(Problem.from_source(PROBLEM)))
    s1 = Node(id=1, parent=root, action=STRUCTURE, content="1. return the sum", depth=1)
    c2 = Node(id=2, parent=s1, action=CODE, content=code, depth=2)
    suffix = text_backend.tokenize(prompts.judge_suffix(text_backend, prompts.PRM_QUESTION))
    assert prm.asked == [s1.tokens_for(text_backend) + suffix, c2.tokens_for(text_backend) + suffix]
    assert split_steps(_answer(code)) == [(STRUCTURE, "1. return the sum"), (CODE, code)]


def _report(passed: int, total: int) -> VerificationReport:
    outcomes = [
        TestOutcome(f"t{i}", TestStatus.PASSED if i < passed else TestStatus.FAILED) for i in range(total)
    ]
    return VerificationReport(compiled=True, outcomes=outcomes)


def _tree() -> Node:
    root = Node.root(prompts.method_messages(Problem.from_source(PROBLEM)))
    s1 = Node(id=1, parent=root, action=STRUCTURE, content="1. add them", depth=1)
    s2 = Node(id=2, parent=root, action=STRUCTURE, content="1. something else", depth=1)
    r3 = Node(id=3, parent=s1, action=REFINE, content="1. return a + b", depth=2)
    c4 = Node(
        id=4, parent=r3, action=CODE, content="def add(a, b):\n    return a + b", depth=3, is_terminal=True
    )
    c5 = Node(id=5, parent=r3, action=CODE, content="def add(a, b):\n    return a", depth=3, is_terminal=True)
    c4.report, c5.report = _report(2, 2), _report(0, 2)
    root.children, s1.children, r3.children = [s1, s2], [r3], [c4, c5]
    return root


@pytest.mark.model  # the tokenizer comes from the default GGUF
def test_prm_examples_carry_the_engine_targets_and_tokens(text_backend) -> None:
    root = _tree()
    row = {"problem_id": "p", "tree": tree_to_dict(root)}
    examples = pointwise_examples([row], text_backend, max_length=10_000)
    expected = {t.node_id: t.v for t in value_targets(root)}
    assert len(examples) == len(expected) == 5
    nodes = {n.id: n for n in root.iter_tree()}
    suffix = suffix_tokens(text_backend)
    by_tokens = {tuple(e["input_ids"]): e for e in examples}
    for node_id, v in expected.items():
        example = by_tokens[tuple(nodes[node_id].tokens_for(text_backend) + suffix)]
        assert example["target"] == pytest.approx(v)
    assert sorted(round(e["target"], 4) for e in examples) == sorted(round(v, 4) for v in expected.values())
    view = TreeView(row)
    assert [(a["id"], b["id"]) for a, b in view.sibling_pairs(0.1)] == [(1, 2), (4, 5)]
    assert [n["id"] for n in view.verified_leaves(1.0)] == [4]
    pairs = pairwise_examples([row], text_backend, margin=0.1, max_length=10_000)
    assert pairs[1]["win_ids"] == nodes[4].tokens_for(text_backend) + suffix


def test_prm_collator_left_pads() -> None:
    batch = PrmCollator(pad_id=0, pairwise=False)(
        [{"input_ids": [5, 6, 7], "target": 1.0}, {"input_ids": [8], "target": 0.0}]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert torch.equal(batch["target"], torch.tensor([1.0, 0.0]))
    pair = PrmCollator(pad_id=0, pairwise=True)([{"win_ids": [1, 2], "lose_ids": [3]}])
    assert pair["input_ids"].tolist() == [[1, 2], [0, 3]]


# Answers a policy could learn to write to fool its own reward: each must earn no pass.
FORGING_ANSWERS = {
    "exit 0 before the tests": "import os\nos._exit(0)\ndef add(a, b):\n    return -99",
    "SystemExit inside the function": "def add(a, b):\n    raise SystemExit(0)",
    "assertions switched off": (
        "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})\n"
        "def add(a, b):\n    return -99"
    ),
    "a value equal to everything": (
        "class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Anything()"
    ),
    "printed verdicts": (
        "import sys, json\n"
        "for i in range(4):\n"
        "    print(json.dumps(['end', i, 'passed', '', []]))\n"
        "    sys.stderr.write(json.dumps(['ok', i, True, []]) + '\\n')\n"
        "def add(a, b):\n    return -99"
    ),
    "the test's frame rewritten": (
        "import sys\n"
        "def add(a, b):\n"
        "    frame = sys._getframe(1)\n"
        "    frame.f_globals['__builtins__'] = {}\n"
        "    return -99"
    ),
}


@pytest.mark.parametrize("name", FORGING_ANSWERS)
def test_outcome_reward_cannot_be_forged_by_the_answer(name: str) -> None:
    """The GRPO outcome reward reads the sandbox's verdicts, which the candidate's process does not decide."""
    reward = OutcomeReward(compile_weight=0.1, sandbox=SandboxSettings())
    (got,) = reward(["p"], [_answer(FORGING_ANSWERS[name])], problem=[PROBLEM], tests=TESTS)
    assert got is not None and got <= 0.1 + 1e-9, f"{name}: reward {got}"
