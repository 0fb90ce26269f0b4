"""Training targets read off a finished search tree: ReST-MCTS* values, ASPR, serialization.

Value targets (ReST-MCTS*, Zhang et al. 2024, as its reference implementation computes them):
    w_k = (1 - v_{k-1}) / (m_k + 1) * s_k,   v_k = max(v_{k-1} + w_k, 0),   v_0 = 0 at the root
m_k is the number of steps still needed to reach a verified-correct leaf (a code step that
compiled and passed all of at least one test): 0 at such leaves, min(children) + 1 above them;
a node off every correct path takes the m of its nearest ancestor on one. s_k = +1 on a
correct path, -1 off it (soft: 2 * prm_value - 1). Along a correct K-step path v_k = k/K.
A tree without a correct leaf gives no targets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from o1coder.engine.prompts import PROMPT_VERSION
from o1coder.engine.tree import Node


@dataclass(frozen=True)
class ValueTarget:
    node_id: int
    depth: int
    action: str
    v: float
    w: float
    m: int
    s: float


def is_correct_leaf(node: Node) -> bool:
    """A code step that compiled and passed every one of (at least one) tests."""
    report = node.report
    return (
        node.is_code
        and report is not None
        and report.compiled
        and report.total >= 1
        and report.pass_rate == 1.0
    )


def steps_to_correct(root: Node) -> dict[int, int]:
    """m for every node on a correct path (node id -> m); empty if there is no correct leaf."""
    m: dict[int, int] = {}

    def visit(node: Node) -> int | None:
        below = [v for v in (visit(child) for child in node.children) if v is not None]
        if is_correct_leaf(node):
            m[node.id] = 0
        elif below:
            m[node.id] = min(below) + 1
        return m.get(node.id)

    visit(root)
    return m


def value_targets(root: Node, soft: bool = False) -> list[ValueTarget]:
    """v, w, m, s for every step (non-root node), depth first; [] without a correct leaf."""
    on_path = steps_to_correct(root)
    if root.id not in on_path:
        return []
    targets: list[ValueTarget] = []

    def visit(node: Node, v_parent: float, m_inherited: int) -> None:
        for child in node.children:
            correct = child.id in on_path
            m = on_path[child.id] if correct else m_inherited
            if soft and child.prm_value is not None:
                s = 2.0 * child.prm_value - 1.0
            else:
                s = 1.0 if correct else -1.0
            w = (1.0 - v_parent) / (m + 1) * s
            v = max(v_parent + w, 0.0)
            targets.append(ValueTarget(child.id, child.depth, child.action or "", v, w, m, s))
            visit(child, v, m)  # off the path m is the inherited one already

    visit(root, 0.0, on_path[root.id])
    return targets


def aspr(root: Node) -> float | None:
    """Among nodes just before a code step on paths containing a passing solution, the fraction
    of their sampled code children that pass. None when the tree has no passing solution."""
    on_path = steps_to_correct(root)
    tried = passed = 0
    for node in root.iter_tree():
        code_children = [c for c in node.children if c.is_code]
        if node.id in on_path and code_children:
            tried += len(code_children)
            passed += sum(is_correct_leaf(c) for c in code_children)
    return passed / tried if tried else None


def tree_to_dict(root: Node, soft: bool = False) -> dict[str, Any]:
    """A JSON-ready record of the tree for training: every node with its statistics and targets."""
    targets = {t.node_id: t for t in value_targets(root, soft=soft)}
    nodes = []
    for node in root.iter_tree():
        target = targets.get(node.id)
        nodes.append(
            {
                "id": node.id,
                "parent": node.parent.id if node.parent is not None else None,
                "action": node.action,
                "depth": node.depth,
                "segment": node.segment_text,
                "content": node.content,
                "value": node.value,
                "visits": node.visits,
                "prm_value": node.prm_value,
                "reward": node.reward,
                "compiled": node.report.compiled if node.report is not None else None,
                "pass_rate": node.report.pass_rate if node.report is not None else None,
                "end_of_inference": node.end_of_inference,
                "targets": {k: v for k, v in asdict(target).items() if k in ("v", "w", "m", "s")}
                if target
                else None,
            }
        )
    return {"prompt_version": PROMPT_VERSION, "messages": root.messages, "nodes": nodes, "aspr": aspr(root)}
