"""Asking the sandbox what a call gives, and reading the answer as a test's expected value.

A probe is a test `assert <call> is None` run by the sandbox's fast route: the call is
evaluated in the candidate's process and its value comes back as plain data in the
outcome's `output`, whether the assert holds or not. Three modes, one per kind of function:

- `VALUE`: what the call returns;
- `LISTED`: a function that returns iterators is probed through a helper that lists them
  (`assert _as_list_for_o1coder(f(x)) is None`), as its tests will say `list(f(x))`;
- `ARGS`: a function that returns None and changes its arguments in place (`insort(a, x)`)
  is probed through a helper that calls it and returns its arguments afterwards; its tests
  then check the arguments (`a = [1, 3]; insort(a, 2); assert a == [1, 2, 3]`).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from o1coder.sandbox import TestCase, TestOutcome
from o1coder.sandbox.child import plain
from o1coder_train.data.inputs import Call, same

VALUE, LISTED, ARGS = "value", "listed", "args"
MAX_EXPECTED_CHARS = 400
LIST_FUNCTION = "_as_list_for_o1coder"
ARGS_FUNCTION = "_args_after_for_o1coder"
HELPERS = {
    VALUE: "",
    LISTED: f"\n\ndef {LIST_FUNCTION}(value):\n    return list(value)\n",
    ARGS: f"\n\ndef {ARGS_FUNCTION}(function, *args, **kwargs):\n    function(*args, **kwargs)\n    return list(args)\n",
}
USABLE = "usable"
MUTABLE = (list, dict, set)


def probe(name: str, call: Call, mode: str, expr: str | None = None) -> TestCase:
    """The probe of `call` (or of `expr`, the call renamed) named `name`."""
    expr = expr or call.expr
    if mode == LISTED:
        expr = f"{LIST_FUNCTION}({expr})"
    elif mode == ARGS:
        node = ast.parse(expr, mode="eval").body
        assert isinstance(node, ast.Call)
        expr = ast.unparse(ast.Call(ast.Name(ARGS_FUNCTION, ast.Load()), [node.func, *node.args], node.keywords))
    return TestCase(name, "\n".join([*call.imports, f"assert {expr} is None"]))


def mode_of(calls: Sequence[Call], outcomes: Sequence[TestOutcome]) -> str:
    """How to probe a function, from what its calls returned as plain values: `LISTED` when
    most gave iterators, `ARGS` when most gave None and their calls pass containers to change."""
    trees = [tree for o in outcomes if (tree := _tree(o.output)) is not _MISSING and not _failed(tree)]
    if not trees:
        return VALUE
    if 2 * sum(_iterator(t) for t in trees) > len(trees):
        return LISTED
    if 2 * sum(t is None for t in trees) > len(trees) and any(mutable_args(c) for c in calls):
        return ARGS
    return VALUE


def mutable_args(call: Call) -> list[int]:
    """Positions of the call's positional arguments that are literal lists, dicts or sets."""
    node = ast.parse(call.expr, mode="eval").body
    if not isinstance(node, ast.Call):
        return []
    out = []
    for i, arg in enumerate(node.args):
        try:
            value = ast.literal_eval(arg)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if type(value) in MUTABLE:
            out.append(i)
    return out


def verdict(output: str, again: str | None = None, call: Call | None = None, mode: str = VALUE) -> tuple[str, object]:
    """(what the call gave, its value when `USABLE`) from a probe's output, and from the
    second run's when there was one (a value must be the same both times). In `ARGS` mode
    the value is the list of arguments after the call, and some container must have changed."""
    tree = _tree(output)
    if tree is _MISSING:
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
    if mode == ARGS and call is not None and not _changed(call, value):
        return "leave their arguments unchanged", None
    return USABLE, value


def _changed(call: Call, after: object) -> bool:
    node = ast.parse(call.expr, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(after, list)
    return any(not same(ast.literal_eval(node.args[i]), after[i]) for i in mutable_args(call) if i < len(after))


_MISSING = object()


def _tree(output: str) -> object:
    if not output:
        return _MISSING
    try:
        return plain.loads(output)
    except plain.PlainError:
        return _MISSING


def _failed(tree: object) -> bool:
    return isinstance(tree, list) and bool(tree) and tree[0] in ("raised", "timeout")


def _plain(value: object) -> bool:
    if isinstance(value, plain.Opaque) or type(value).__module__ in ("fractions", "decimal"):
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return True


def _iterator(tree: object) -> bool:
    if not (isinstance(tree, list) and len(tree) == 3 and tree[0] == plain.OPAQUE):
        return False
    name = str(tree[1])
    return (
        name in ("generator", "map", "filter", "zip", "enumerate", "reversed", "range")
        or name.startswith("itertools.")
        or name.endswith(("iterator", "_keys", "_values", "_items"))
    )
