"""Nodes: UCB, backpropagation, incremental token sequences."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from fakes import ScriptedBackend

from o1coder.engine import prompts
from o1coder.engine.steps import normalize_step, reuse_tokens
from o1coder.engine.tree import Node, backpropagate, ucb
from o1coder.engine.types import CODE, REFINE, STRUCTURE


def chain(*specs: tuple[str, str]) -> list[Node]:
    root = Node.root([{"role": "user", "content": "task"}])
    nodes = [root]
    for i, (action, content) in enumerate(specs, start=1):
        node = Node(id=i, parent=nodes[-1], action=action, content=content, depth=i)
        nodes[-1].children.append(node)
        nodes.append(node)
    return nodes


def test_ucb_of_a_visited_child():
    child = Node(id=1, value=0.5, visits=2)
    expected = 0.5 + 0.5 * math.sqrt(2 * math.log(4) / 2)
    assert ucb(child, parent_visits=4, exploration=0.5, unvisited_bonus=0.9) == pytest.approx(expected)
    assert expected == pytest.approx(1.0887, abs=1e-4)


def test_unvisited_child_scores_value_plus_bonus():
    child = Node(id=1, value=0.3, visits=0)
    assert ucb(child, parent_visits=10, exploration=0.5, unvisited_bonus=0.9) == pytest.approx(1.2)


def test_backprop_takes_visit_weighted_means_up_to_the_root():
    root = Node.root([])
    a = Node(id=1, parent=root, depth=1, value=0.0, visits=1)
    b = Node(id=2, parent=root, depth=1, value=0.3, visits=0)
    root.children = [a, b]
    a1 = Node(id=3, parent=a, depth=2, value=0.9, visits=3)
    a2 = Node(id=4, parent=a, depth=2, value=0.3, visits=0)
    a.children = [a1, a2]
    backpropagate(a)
    assert a.visits == 2 and root.visits == 1
    assert a.value == pytest.approx((3 * 0.9 + 1 * 0.3) / 4)  # 0.75
    assert root.value == pytest.approx((2 * 0.75 + 1 * 0.3) / 3)  # 0.6
    assert a1.visits == 3 and b.visits == 0  # only the path is visited


def test_tokens_extend_the_parent_and_are_cached_per_backend():
    root, s1, s2, c3 = chain((STRUCTURE, "1. plan"), (REFINE, "1. detail"), (CODE, "def f():\n    return 1"))
    backend = ScriptedBackend(name="a")
    tokens = c3.tokens_for(backend)
    text = backend.detokenize(tokens)
    chat = backend.render_chat(root.messages, add_generation_prompt=True)
    assert text == chat + s1.segment_text + s2.segment_text + c3.segment_text
    assert (
        c3.segment_text == "### Step 3: Generate the Python code\n```python\ndef f():\n    return 1\n```\n\n"
    )
    for node in (s1, s2, c3):
        parent_tokens = node.parent.tokens_for(backend)
        assert node.tokens_for(backend)[: len(parent_tokens)] == parent_tokens
    calls = backend.tokenize_calls
    c3.tokens_for(backend)
    assert backend.tokenize_calls == calls  # cached
    other = ScriptedBackend(name="b")
    assert other.detokenize(c3.tokens_for(other)) == text and other.tokenize_calls > 0


def test_path_steps_and_openness():
    root, s1, s2, c3 = chain((STRUCTURE, "1. plan"), (REFINE, "1. detail"), (CODE, "x = 1"))
    assert [s.action for s in c3.steps()] == [STRUCTURE, REFINE, CODE]
    assert c3.steps()[1].text == "1. detail"
    c3.is_terminal = True
    for node in (root, s1, s2):
        node.expanded = True
    assert not root.is_open()  # the only leaf is code
    s2.children.append(Node(id=9, parent=s2, action=REFINE, depth=3))
    assert root.is_open()
    assert [n.id for n in root.iter_tree()] == [0, 1, 2, 3, 9]


class WordBackend(ScriptedBackend):
    """FAKE with multi-character tokens: words and single spacing characters."""

    def __init__(self) -> None:
        super().__init__()
        self.vocab: list[str] = []

    def _id(self, piece: str) -> int:
        if piece not in self.vocab:
            self.vocab.append(piece)
        return self.vocab.index(piece)

    def tokenize(self, text: str) -> list[int]:
        import re

        return [self._id(p) for p in re.findall(r"\w+|\s|[^\w\s]+", text)]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(self.vocab[t] for t in tokens if t >= 0)


def test_reuse_tokens_keeps_the_sampled_tokens_that_spell_the_text():
    backend = WordBackend()
    sampled = backend.tokenize("1. sum the list\n\n###") + [-1]
    tokens = reuse_tokens(backend, sampled, "1. sum the list\n\n")
    assert tokens[:7] == sampled[:7] and backend.detokenize(tokens) == "1. sum the list\n\n"
    # the text diverges from what was sampled: the rest is tokenized
    tokens = reuse_tokens(backend, sampled, "1. sum all\n\n")
    assert tokens[:4] == sampled[:4] and backend.detokenize(tokens) == "1. sum all\n\n"


def test_normalize_step_ignores_spacing_only():
    assert normalize_step("1.  read  x\n\n2. add\n") == normalize_step("1. read x\n2. add")
    assert normalize_step("1. read x") != normalize_step("1. read y")
    assert prompts.clean_step_text("\n\n1. a  \n") == "1. a"
