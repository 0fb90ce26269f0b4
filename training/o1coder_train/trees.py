"""Reading stored search trees (the engine's `tree_to_dict` rows) into training examples.

A node's token sequence is rebuilt exactly as the engine builds it (`engine.tree.Node.tokens_for`):
the tokens of the rendered chat prompt, then for each step on the path the tokens of its
header and, separately, of its body (`prompts.step_header` / `prompts.step_body`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from o1coder.engine import prompts
from o1coder.engine.problem import Problem, assemble_program
from o1coder.engine.tree import Node
from o1coder.engine.types import CODE, REFINE, STRUCTURE
from o1coder.sandbox.types import TestCase, VerificationReport


@dataclass
class TreeView:
    row: dict[str, Any]

    def __post_init__(self) -> None:
        tree = self.row.get("tree", self.row)
        self.messages: list[dict[str, str]] = tree["messages"]
        self.nodes: dict[int, dict[str, Any]] = {n["id"]: n for n in tree["nodes"]}
        self.children: dict[int, list[int]] = defaultdict(list)
        for n in tree["nodes"]:
            if n["parent"] is not None:
                self.children[n["parent"]].append(n["id"])

    @property
    def problem_id(self) -> str:
        return str(self.row.get("problem_id", ""))

    def path(self, node_id: int) -> list[dict[str, Any]]:
        """The steps from the first one down to `node_id` (the root excluded)."""
        out = []
        node = self.nodes[node_id]
        while node["parent"] is not None:
            out.append(node)
            node = self.nodes[node["parent"]]
        return out[::-1]

    def prompt_tokens(self, backend: Any) -> list[int]:
        return backend.tokenize(backend.render_chat(self.messages, add_generation_prompt=True))

    def step_tokens(self, backend: Any, node: dict[str, Any]) -> list[int]:
        header = prompts.step_header(node["action"], node["depth"])
        body = prompts.step_body(node["action"], node["content"])
        return backend.tokenize(header) + backend.tokenize(body)

    def tokens(self, backend: Any, node_id: int) -> list[int]:
        """The engine's token sequence of the node (prompt + every step through it)."""
        out = self.prompt_tokens(backend)
        for node in self.path(node_id):
            out += self.step_tokens(backend, node)
        return out

    def targeted(self) -> Iterator[dict[str, Any]]:
        """Nodes carrying ReST-MCTS* targets (trees without a correct leaf have none)."""
        return (n for n in self.nodes.values() if n.get("targets"))

    def verified_leaves(self, min_pass_rate: float) -> list[dict[str, Any]]:
        return [
            n
            for n in self.nodes.values()
            if n["action"] == CODE and n.get("compiled") and (n.get("pass_rate") or 0.0) >= min_pass_rate
        ]

    def sibling_pairs(self, margin: float) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(better, worse) siblings whose target values differ by more than `margin`."""
        pairs = []
        for kids in self.children.values():
            valued = [self.nodes[k] for k in kids if self.nodes[k].get("targets")]
            valued.sort(key=lambda n: n["targets"]["v"], reverse=True)
            for i, a in enumerate(valued):
                for b in valued[i + 1 :]:
                    if a["targets"]["v"] - b["targets"]["v"] > margin:
                        pairs.append((a, b))
        return pairs


def rationalize(
    root: Node,
    problem: Problem,
    reference: str,
    tests: list[TestCase],
    verifier: Callable[[str, list[TestCase]], VerificationReport],
    compile_weight: float,
) -> Node | None:
    """Give a tree without a verified-correct leaf one: the reference code as a code step.

    STaR-style rationalization: the reference solution is attached as a code child of the best
    pseudocode node the search reached (refine steps preferred, then structure steps), and
    verified like any code step. The engine's targets then value the model's own pseudocode on
    that path. Returns the new node, or None when the tree already has a correct leaf, has no
    pseudocode node, or the reference does not pass.
    """
    nodes = list(root.iter_tree())
    if any(
        n.is_code and n.report is not None and n.report.total and n.report.pass_rate == 1.0 for n in nodes
    ):
        return None
    for action in (REFINE, STRUCTURE):
        candidates = [n for n in nodes if n.action == action]
        if candidates:
            parent = max(candidates, key=lambda n: (n.value, -n.id))
            break
    else:
        return None
    report = verifier(assemble_program(problem, reference), tests)
    if not (report.compiled and report.total and report.pass_rate == 1.0):
        return None
    node = Node(
        id=max(n.id for n in nodes) + 1,
        parent=parent,
        action=CODE,
        content=prompts.clean_step_text(reference),
        depth=parent.depth + 1,
        is_terminal=True,
    )
    node.report = report
    node.reward = node.value = report.reward(compile_weight)
    node.visits = 1
    parent.children.append(node)
    parent.expanded = True
    return node
