"""Search tree nodes: one pseudocode-first step each, with the statistics MCTS keeps.

A node's token sequence (per backend) is its parent's plus its own header and body, built
incrementally and cached, so every child extends its parent's tokens exactly and a backend's
KV prefix cache is reused down the tree.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterator
from dataclasses import dataclass, field

from o1coder.engine.prompts import step_body, step_header
from o1coder.engine.types import CODE_ACTIONS, REPAIR, Step
from o1coder.models.backend import Backend
from o1coder.sandbox.types import VerificationReport


@dataclass(eq=False)
class Node:
    id: int
    parent: Node | None = None
    action: str | None = None  # None at the root
    content: str = ""  # the model's step text (code for a code step), cleaned
    feedback: str = ""  # a repair step: the failing checks of the code it fixes (in its header)
    depth: int = 0  # the root is 0, step k is at depth k
    children: list[Node] = field(default_factory=list)
    visits: int = 0
    value: float = 0.0  # V: PRM value, verified reward at code leaves, then backed-up means
    prm_value: float | None = None
    reward: float | None = None  # verified reward (code nodes only)
    report: VerificationReport | None = None
    is_terminal: bool = False
    end_of_inference: bool = False  # the self-critic said the reasoning is complete
    expanded: bool = False
    messages: list[dict[str, str]] | None = None  # the chat prompt (root only)
    _tokens: dict[str, list[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def root(cls, messages: list[dict[str, str]]) -> Node:
        return cls(id=0, messages=messages)

    # ------------------------------------------------------------ text and tokens
    @property
    def header(self) -> str:
        return step_header(self.action, self.depth, self.feedback) if self.action else ""

    @property
    def body(self) -> str:
        return step_body(self.action, self.content) if self.action else ""

    @property
    def segment_text(self) -> str:
        return self.header + self.body

    def tokens_for(self, backend: Backend) -> list[int]:
        """This node's whole token sequence for `backend`: parent's + header + body."""
        cached = self._tokens.get(backend.name)
        if cached is None:
            if self.parent is None:
                if self.messages is None:
                    raise ValueError("a root node needs the chat messages")
                cached = backend.tokenize(backend.render_chat(self.messages, add_generation_prompt=True))
            else:
                cached = (
                    self.parent.tokens_for(backend)
                    + backend.tokenize(self.header)
                    + backend.tokenize(self.body)
                )
            self._tokens[backend.name] = cached
        return cached

    def set_tokens(self, backend: Backend, tokens: list[int]) -> None:
        """Record the sequence the backend already holds for this node (its sampled tokens)."""
        self._tokens[backend.name] = tokens

    # ------------------------------------------------------------ structure
    @property
    def is_code(self) -> bool:
        return self.action in CODE_ACTIONS

    @property
    def repairs(self) -> int:
        """Repair steps on the path to this node (itself included)."""
        return sum(node.action == REPAIR for node in self.path())

    def path(self) -> list[Node]:
        """From the first step down to this node (the root excluded)."""
        nodes: list[Node] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            nodes.append(node)
            node = node.parent
        return nodes[::-1]

    def steps(self) -> list[Step]:
        return [Step(action=n.action or "", text=n.content) for n in self.path()]

    def iter_tree(self) -> Iterator[Node]:
        """This node and its descendants, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def is_open(self, taken: Container[Node] = ()) -> bool:
        """Whether selection can still find something to expand below (or at) this node.

        Leaves in `taken` (already chosen this round) count as closed.
        """
        if self.is_terminal or self in taken:
            return False
        if not self.expanded:
            return True
        return any(child.is_open(taken) for child in self.children)


def ucb(
    child: Node, parent_visits: int, exploration: float, unvisited_bonus: float, virtual_visits: int = 0
) -> float:
    """V + c·sqrt(2 ln N_parent / n_child); an unvisited child scores V + a finite bonus.

    `virtual_visits` are added to the child's visits (selections pending in this round).
    """
    visits = child.visits + virtual_visits
    if visits == 0:
        return child.value + unvisited_bonus
    return child.value + exploration * math.sqrt(2.0 * math.log(max(parent_visits, 1)) / visits)


def backpropagate(node: Node | None) -> None:
    """From `node` to the root: visits += 1, V of expanded nodes = visit-weighted mean of children."""
    while node is not None:
        node.visits += 1
        if node.children:
            weights = [max(child.visits, 1) for child in node.children]
            node.value = sum(w * c.value for w, c in zip(weights, node.children, strict=True)) / sum(weights)
        node = node.parent


def refresh_values(root: Node) -> None:
    """Recompute the backed-up values of every expanded node from its children (visits unchanged),
    after values below changed (a code node's reward, when agreement found other tests suspect)."""
    order = [node for node in root.iter_tree() if node.children]
    for node in reversed(order):  # children before parents
        weights = [max(child.visits, 1) for child in node.children]
        node.value = sum(w * c.value for w, c in zip(weights, node.children, strict=True)) / sum(weights)
