"""Asking the sandbox what a call returns, and reading the answer as a test's expected value.

A probe is a test `assert <call> is None` run by the sandbox's fast route: the call is
evaluated in the candidate's process and its value comes back as plain data in the
outcome's `output`, whether the assert holds or not. A function that returns iterators is
probed through a helper that lists them (`assert _as_list_for_o1coder(<call>) is None`),
as its tests will say `list(f(...))`.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from o1coder.sandbox import TestCase, TestOutcome
from o1coder.sandbox.child import plain
from o1coder_train.data.inputs import Call, same

MAX_EXPECTED_CHARS = 400
LIST_FUNCTION = "_as_list_for_o1coder"
LIST_HELPER = f"\n\ndef {LIST_FUNCTION}(value):\n    return list(value)\n"
USABLE = "usable"


def probe(name: str, call: Call, listed: bool, expr: str | None = None) -> TestCase:
    """The probe of `call` (or of `expr`, the call renamed) named `name`."""
    expr = expr or call.expr
    check = f"assert {LIST_FUNCTION}({expr}) is None" if listed else f"assert {expr} is None"
    return TestCase(name, "\n".join([*call.imports, check]))


def returns_iterators(outcomes: Sequence[TestOutcome]) -> bool:
    """Whether most probes that returned gave an iterator (a generator, `map`, an itertools object)."""
    kinds = []
    for outcome in outcomes:
        tree = _tree(outcome.output)
        if tree is None or _raised_or_timed_out(tree):
            continue
        opaque = isinstance(tree, list) and len(tree) == 3 and tree[0] == plain.OPAQUE
        kinds.append(opaque and _iterator_type(str(tree[1])))
    return bool(kinds) and sum(kinds) * 2 > len(kinds)


def verdict(output: str, again: str | None = None) -> tuple[str, object]:
    """(what the call gave, its value when `USABLE`) from a probe's output, and from the
    second run's when there was one (a value must be the same both times)."""
    tree = _tree(output)
    if tree is None:
        return "were not run", None
    if isinstance(tree, list) and tree and tree[0] == "raised":
        return "raise", None
    if isinstance(tree, list) and tree and tree[0] == "timeout":
        return "time out", None
    if again is not None and output != again:
        return "give different values on two runs", None
    try:
        value = plain.decode(tree)
    except plain.PlainError:
        return "return objects (not plain data)", None
    if value is None:
        return "return None", None
    if not _plain(value):
        return "return objects (not plain data)", None
    text = repr(value)
    if len(text) > MAX_EXPECTED_CHARS:
        return "return values too long for a test", None
    try:
        back = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return "return values with no literal form", None
    if not same(back, value):
        return "return values with no literal form", None
    return USABLE, value


def _tree(output: str) -> object | None:
    if not output:
        return None
    try:
        return plain.loads(output)
    except plain.PlainError:
        return None


def _raised_or_timed_out(tree: object) -> bool:
    return isinstance(tree, list) and bool(tree) and tree[0] in ("raised", "timeout")


def _plain(value: object) -> bool:
    if isinstance(value, plain.Opaque) or type(value).__module__ in ("fractions", "decimal"):
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return True


def _iterator_type(name: str) -> bool:
    return (
        name in ("generator", "map", "filter", "zip", "enumerate", "reversed", "range")
        or name.startswith("itertools.")
        or name.endswith(("iterator", "_keys", "_values", "_items"))
    )
