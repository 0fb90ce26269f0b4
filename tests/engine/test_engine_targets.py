"""ReST-MCTS* value targets, ASPR and the tree record, on hand-built trees."""

from __future__ import annotations

import json

import pytest

from o1coder.engine.targets import aspr, is_correct_leaf, tree_to_dict, value_targets
from o1coder.engine.tree import Node
from o1coder.engine.types import CODE, REFINE, STRUCTURE
from o1coder.sandbox import types as sandbox

PASS, FAIL = sandbox.TestStatus.PASSED, sandbox.TestStatus.FAILED


def report(*statuses: sandbox.TestStatus, compiled: bool = True) -> sandbox.VerificationReport:
    return sandbox.VerificationReport(
        compiled, [sandbox.TestOutcome(f"t{i}", s) for i, s in enumerate(statuses)]
    )


def add(parent: Node, node_id: int, action: str, prm: float | None = None, rep=None) -> Node:
    node = Node(id=node_id, parent=parent, action=action, content=f"step {node_id}", depth=parent.depth + 1)
    node.prm_value, node.report, node.is_terminal = prm, rep, action == CODE
    parent.children.append(node)
    return node


def hand_tree():
    """root -> A(1) -> B(2) -> C(3, passes) ; B -> D(4, fails) ; A -> E(5) -> F(6, fails)."""
    root = Node.root([{"role": "user", "content": "task"}])
    a = add(root, 1, STRUCTURE, prm=0.8)
    b = add(a, 2, REFINE, prm=0.7)
    add(b, 3, CODE, prm=0.6, rep=report(PASS, PASS))
    add(b, 4, CODE, prm=0.4, rep=report(PASS, FAIL))
    e = add(a, 5, REFINE, prm=0.25)
    add(e, 6, CODE, prm=0.5, rep=report(FAIL))
    return root


def by_id(targets):
    return {t.node_id: t for t in targets}


def test_value_targets_match_hand_computed_numbers():
    t = by_id(value_targets(hand_tree()))
    # the correct path A -> B -> C (K = 3): m = 2, 1, 0 and v = 1/3, 2/3, 1
    assert [t[i].m for i in (1, 2, 3)] == [2, 1, 0]
    assert [t[i].s for i in (1, 2, 3)] == [1.0, 1.0, 1.0]
    assert [t[i].v for i in (1, 2, 3)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [t[i].w for i in (1, 2, 3)] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    # D, off the path below B (m_B = 1): w = (1 - 2/3) / 2 * -1 = -1/6, v = 2/3 - 1/6 = 1/2
    assert (t[4].m, t[4].s) == (1, -1.0)
    assert (t[4].w, t[4].v) == (pytest.approx(-1 / 6), pytest.approx(0.5))
    # E, off the path below A (m_A = 2): w = (1 - 1/3) / 3 * -1 = -2/9, v = 1/3 - 2/9 = 1/9
    assert (t[5].m, t[5].w, t[5].v) == (2, pytest.approx(-2 / 9), pytest.approx(1 / 9))
    # F below E: nearest correct ancestor is A (m = 2): w = (1 - 1/9) / 3 * -1 = -8/27, v = max(1/9 - 8/27, 0) = 0
    assert (t[6].m, t[6].w, t[6].v) == (2, pytest.approx(-8 / 27), 0.0)
    assert [t[i].depth for i in range(1, 7)] == [1, 2, 3, 3, 2, 3]
    assert t[3].action == CODE


def test_soft_targets_use_the_prm_probability():
    t = by_id(value_targets(hand_tree(), soft=True))
    # s_A = 2 * 0.8 - 1 = 0.6: w = (1 - 0) / 3 * 0.6 = 0.2, v = 0.2
    assert (t[1].s, t[1].w, t[1].v) == (pytest.approx(0.6), pytest.approx(0.2), pytest.approx(0.2))
    # s_B = 0.4: w = (1 - 0.2) / 2 * 0.4 = 0.16, v = 0.36
    assert (t[2].w, t[2].v) == (pytest.approx(0.16), pytest.approx(0.36))
    # s_E = -0.5: w = (1 - 0.2) / 3 * -0.5 = -0.1333, v = 0.0667
    assert t[5].v == pytest.approx(0.2 - 0.8 / 6)


@pytest.mark.parametrize("k_steps", [1, 2, 4, 5])
def test_targets_along_a_correct_path_are_k_over_k(k_steps):
    root = Node.root([])
    node = root
    for i in range(1, k_steps):
        node = add(node, i, STRUCTURE if i == 1 else REFINE)
    add(node, k_steps, CODE, rep=report(PASS))
    targets = value_targets(root)
    assert [t.v for t in targets] == pytest.approx([k / k_steps for k in range(1, k_steps + 1)])


def test_no_correct_leaf_means_no_samples():
    root = hand_tree()
    c = root.children[0].children[0].children[0]
    c.report = report(PASS, FAIL)  # no leaf passes all its tests now
    assert value_targets(root) == [] and aspr(root) is None
    c.report = report(compiled=True)  # passing zero of zero tests is not correct
    assert not is_correct_leaf(c) and value_targets(root) == []
    c.report = report(PASS, compiled=False)
    assert not is_correct_leaf(c)


def test_aspr_counts_code_children_of_nodes_on_correct_paths():
    root = hand_tree()
    assert aspr(root) == pytest.approx(1 / 2)  # B: C passes, D fails; E is off every correct path
    b = root.children[0].children[0]
    add(b, 7, CODE, rep=report(PASS))
    assert aspr(root) == pytest.approx(2 / 3)
    a = root.children[0]
    add(a, 8, CODE, rep=report(FAIL))  # A is on a correct path and now has a code child
    assert aspr(root) == pytest.approx(2 / 4)


def test_tree_to_dict_is_json_ready_and_carries_targets():
    root = hand_tree()
    record = tree_to_dict(root)
    json.dumps(record)
    nodes = {n["id"]: n for n in record["nodes"]}
    assert set(nodes) == {0, 1, 2, 3, 4, 5, 6}
    assert nodes[0]["parent"] is None and nodes[0]["targets"] is None
    assert nodes[3]["parent"] == 2 and nodes[3]["compiled"] is True and nodes[3]["pass_rate"] == 1.0
    assert nodes[4]["pass_rate"] == 0.5 and nodes[1]["pass_rate"] is None
    assert nodes[3]["targets"]["v"] == pytest.approx(1.0) and nodes[4]["targets"]["m"] == 1
    assert nodes[3]["segment"].startswith("### Step 3: Generate the Python code\n```python\nstep 3")
    assert record["aspr"] == pytest.approx(0.5) and record["prompt_version"].startswith("o1c-prompts-")
