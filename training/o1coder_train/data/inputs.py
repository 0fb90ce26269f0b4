"""Inputs to run a reference on: variations of known arguments, or probes chosen by parameter.

Derived tests need inputs; their expected values come from running the reference (see
`derive`), never from here. Two ways to get inputs, both deterministic:

- `variations_of(calls)`: from the calls in a function's doctest examples, each varied in
  one literal of its arguments at a time (`f([1, 2])`, and `f(io.BytesIO(b"x"))` too), by
  the literal's type (nearby ints, halved and doubled numbers, shorter / longer / reversed /
  sorted lists, substrings and case changes of strings, empty containers, ...);
- `probes(fn)`: for a documented function without usable examples, values for each required
  parameter from the pool of its kind (`kinds`: annotation, default, use in the body, name),
  or all from the mixed pool (tried when the first probes all raise).

Most probes of a strict function raise; only inputs the reference accepts survive.
"""

from __future__ import annotations

import ast
import copy
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from o1coder_train.data.kinds import POOLS, parameter_kind

MAX_VALUE_CHARS = 300  # the source of one call, at most
MAX_INT = 10**6  # variations stay small enough to compute quickly

@dataclass(frozen=True)
class Call:
    """One call of the function, as source: `f(1, [2, 3])`, or `f(io.BytesIO(b"x"))` with the
    imports it needs (standard library). Its literals are what variations change."""

    expr: str
    imports: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return "\n".join([*self.imports, self.expr])

    def renamed(self, old: str, new: str) -> str:
        """The expression with calls of `old` made calls of `new`."""
        tree = ast.parse(self.expr, mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == old:
                node.id = new
        return ast.unparse(tree)


def make_call(function: str, args: Sequence[object] = (), kwargs: Sequence[tuple[str, object]] = ()) -> Call | None:
    """`function(<args as literals>)`, or None when a value has no faithful literal (or is too long)."""
    if not all(_reproducible(v) for v in [*args, *(v for _, v in kwargs)]):
        return None
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs]
    expr = f"{function}({', '.join(parts)})"
    return Call(expr) if len(expr) <= MAX_VALUE_CHARS else None


def seed_call(expr: ast.expr, function: str, imports: Sequence[str] = ()) -> Call | None:
    """The call of `function` that `expr` is, or wraps (`list(f(...))`, `sorted(f(...))`)."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id in WRAPPERS
        and len(expr.args) == 1
        and not expr.keywords
    ):
        expr = expr.args[0]
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == function):
        return None
    text = ast.unparse(expr)
    if len(text) > MAX_VALUE_CHARS or sum(_calls(expr, function)) != 1:
        return None
    used = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    needed = tuple(line for line in imports if _binds(line) & used)
    return Call(text, needed)


WRAPPERS = ("list", "tuple", "sorted", "set", "frozenset", "dict")


def _calls(expr: ast.expr, function: str) -> Iterable[bool]:
    return (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == function for n in ast.walk(expr))


def _binds(import_line: str) -> set[str]:
    stmt = ast.parse(import_line).body[0]
    return {(a.asname or a.name).split(".")[0] for a in stmt.names}  # type: ignore[attr-defined]


def _reproducible(value: object) -> bool:
    """Whether `repr(value)` reads back as exactly this value."""
    try:
        return same(ast.literal_eval(repr(value)), value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _literal(node: ast.AST) -> tuple[bool, object]:
    if not isinstance(node, ast.expr) or isinstance(node, ast.Name):
        return False, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


class _Sites(ast.NodeTransformer):
    """Finds the literals in a call's arguments (outermost ones), and replaces the k-th."""

    def __init__(self, replace_at: int = -1, value: object = None):
        self.found: list[object] = []
        self.replace_at, self.value = replace_at, value

    def visit(self, node: ast.AST) -> ast.AST:
        ok, value = _literal(node)
        if ok:
            self.found.append(value)
            if len(self.found) - 1 == self.replace_at:
                return ast.parse(repr(self.value), mode="eval").body
            return node
        return self.generic_visit(node)


def _literal_sites(call: ast.Call) -> _Sites:
    sites = _Sites()
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        sites.visit(arg)
    return sites


def same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True are not the same input)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, float) and a != a:
        return False
    return a == b


def variations(value: object, depth: int = 0) -> list[object]:
    """Values like `value`, type by type; `value` itself excluded."""
    out: list[object] = []
    if isinstance(value, bool):
        out = [not value]
    elif isinstance(value, int):
        out = [value + 1, value - 1, 0, 1, 2 * value, -value, value // 2, value + 7]
        out = [v for v in out if abs(v) <= max(MAX_INT, abs(value))]
    elif isinstance(value, float):
        out = [value + 1.0, value / 2, -value, 0.0, round(value * 1.5, 3), value + 0.25]
    elif isinstance(value, str):
        half = len(value) // 2
        out = ["", value[:half], value[1:], value[:-1], value[::-1], value + value, value.upper(), value.lower()]
        out += [value.swapcase(), value.replace(value[:1], "z", 1) if value else "z", value + " x", " " + value]
    elif isinstance(value, bytes):
        out = [b"", value[: len(value) // 2], value[::-1], value + value, value.upper(), value[1:]]
    elif isinstance(value, list | tuple):
        out = _sequence_variations(list(value), depth)
        if isinstance(value, tuple):
            out = [tuple(v) for v in out]  # type: ignore[arg-type]
    elif isinstance(value, dict):
        keys = list(value)
        out = [{}]
        if keys:
            out += [{k: value[k] for k in keys[1:]}, {k: value[k] for k in keys[:-1]}]
            if depth < 2:
                first = keys[0]
                out += [{**value, first: v} for v in variations(value[first], depth + 1)[:3]]
    elif isinstance(value, set | frozenset):
        items = sorted(value, key=repr)
        out = [type(value)(), type(value)(items[1:]), type(value)(items[:-1])]
        if items and depth < 2:
            out += [type(value)(items) | {v} for v in variations(items[0], depth + 1)[:2] if _hashable(v)]
    return _distinct([v for v in out if not same(v, value)])


def _sequence_variations(items: list, depth: int) -> list:
    out: list = [[], items[:1], items[:-1], items[1:], items[::-1], items + items[:1], items + items]
    try:
        out.append(sorted(items))
        out.append(sorted(items, reverse=True))
    except TypeError:
        pass
    if items and depth < 2:
        for at in (0, len(items) - 1):
            for v in variations(items[at], depth + 1)[:3]:
                changed = list(items)
                changed[at] = v
                out.append(changed)
    return out


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _distinct(values: Iterable[object]) -> list[object]:
    seen: set[str] = set()
    out = []
    for v in values:
        key = f"{type(v).__name__}:{v!r}"
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def variations_of(calls: Sequence[Call], limit: int, seed: int = 0) -> list[Call]:
    """Up to `limit` new calls, each a known call with one literal in its arguments varied."""
    known = {c.key for c in calls}
    per_call: list[list[Call]] = []
    for call in calls:
        tree = ast.parse(call.expr, mode="eval").body
        if not isinstance(tree, ast.Call):
            continue
        found: list[Call] = []
        for at, value in enumerate(_literal_sites(tree).found):
            for v in variations(value):
                if not _reproducible(v):
                    continue
                changed = copy.deepcopy(tree)
                replacer = _Sites(at, v)
                changed.args = [replacer.visit(a) for a in changed.args]
                for k in changed.keywords:
                    k.value = replacer.visit(k.value)
                expr = ast.unparse(changed)
                if len(expr) <= MAX_VALUE_CHARS:
                    found.append(Call(expr, call.imports))
        random.Random(f"{seed}:{call.key}").shuffle(found)
        per_call.append(found)
    return _take(per_call, known, limit)


def _take(groups: list[list[Call]], known: set[str], limit: int) -> list[Call]:
    """Round-robin over the groups, skipping repeats."""
    out: list[Call] = []
    for call in itertools.chain.from_iterable(itertools.zip_longest(*groups)):
        if call is None or call.key in known:
            continue
        known.add(call.key)
        out.append(call)
        if len(out) >= limit:
            break
    return out


def probes(fn: ast.FunctionDef, limit: int, seed: int = 0, mixed: bool = False) -> list[Call]:
    """Up to `limit` calls of `fn` with pool values for its required positional parameters
    (`kinds.parameter_kind` picks each one's pool; with `mixed`, all come from the mixed pool).

    No calls for a method, a required keyword-only parameter, or more than four required parameters.
    """
    params = fn.args.posonlyargs + fn.args.args
    if params and params[0].arg in ("self", "cls"):
        return []
    n_defaults = len(fn.args.defaults)
    required = params[: len(params) - n_defaults]
    if any(d is None for d in fn.args.kw_defaults):
        return []  # a required keyword-only parameter: no pool fits it
    if len(required) > 4:
        return []
    if not required:
        return [Call(f"{fn.name}()")]
    pools = [POOLS["mixed" if mixed else parameter_kind(fn, a)] for a in required]
    combos = list(itertools.product(*[range(len(p)) for p in pools]))
    if len(combos) > limit:
        random.Random(f"{seed}:{fn.name}").shuffle(combos)
    calls = [make_call(fn.name, [pool[i] for pool, i in zip(pools, combo, strict=True)]) for combo in combos]
    return _take([[c for c in calls if c is not None]], set(), limit)


def defaults_call(fn: ast.FunctionDef) -> Call | None:
    """A call passing every parameter its literal default (by keyword), when all have one."""
    params = fn.args.posonlyargs + fn.args.args
    if not params or len(fn.args.defaults) != len(params) or fn.args.posonlyargs:
        return None
    try:
        kwargs = [(a.arg, ast.literal_eval(d)) for a, d in zip(params, fn.args.defaults, strict=True)]
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return make_call(fn.name, (), kwargs)
