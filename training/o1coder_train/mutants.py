"""Wrong solutions for judging tests: AST mutants of a reference solution.

Each mutant changes one site of the reference: a comparison operator flipped (`<` -> `>=`) or
moved across its boundary (`<` -> `<=`),
an integer constant off by one, `+` and `-` swapped (also `*`/`//`), `and`/`or` swapped,
`True`/`False` swapped, an `if` condition negated, or an early `return None` at the top of a
function. A test set that no mutant survives is a good one; a set every mutant passes tells
nothing. Mutants that unparse to the original are dropped; some mutants may still be
equivalent to the reference (no test can reject those), which is why sets are compared by
the fraction of mutants they reject.

>>> src = "def f(x):\\n    return x + 1 if x > 0 else 0\\n"
>>> len(mutants(src)) > 3
True
>>> all(m != src for m in mutants(src))
True
"""

from __future__ import annotations

import ast
import copy
import random

_COMPARE_FLIP: dict[type, type] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_COMPARE_BOUNDARY: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_BINOP_SWAP: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
}
_BOOL_SWAP: dict[type, type] = {ast.And: ast.Or, ast.Or: ast.And}


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, int]]:
    """Every (node, kind, index) one mutation can apply to, in a fixed (walk) order."""
    sites: list[tuple[ast.AST, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sites += [(node, "compare", i) for i, op in enumerate(node.ops) if type(op) in _COMPARE_FLIP]
            sites += [(node, "boundary", i) for i, op in enumerate(node.ops) if type(op) in _COMPARE_BOUNDARY]
        elif isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINOP_SWAP:
            sites.append((node, "binop", 0))
        elif isinstance(node, ast.BoolOp):
            sites.append((node, "boolop", 0))
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            sites.append((node, "bool", 0))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int):
            sites += [(node, "int", 1), (node, "int", -1)]
        elif isinstance(node, ast.If | ast.While):
            sites.append((node, "negate", 0))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            sites.append((node, "return", 0))
    return sites


def _apply(node: ast.AST, kind: str, index: int) -> None:
    if kind == "compare":
        node.ops[index] = _COMPARE_FLIP[type(node.ops[index])]()  # type: ignore[attr-defined]
    elif kind == "boundary":
        node.ops[index] = _COMPARE_BOUNDARY[type(node.ops[index])]()  # type: ignore[attr-defined]
    elif kind == "binop":
        node.op = _BINOP_SWAP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind == "boolop":
        node.op = _BOOL_SWAP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind == "bool":
        node.value = not node.value  # type: ignore[attr-defined]
    elif kind == "int":
        node.value = node.value + index  # type: ignore[attr-defined]
    elif kind == "negate":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)  # type: ignore[attr-defined]
    elif kind == "return":
        body = node.body  # type: ignore[attr-defined]
        at = (
            1
            if body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
            else 0
        )
        body.insert(at, ast.Return(value=ast.Constant(value=None)))


def mutants(source: str, limit: int = 0, seed: int = 0) -> list[str]:
    """Distinct one-site mutants of `source` (all of them, or `limit` drawn with `seed`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    original = ast.unparse(tree)
    count = len(_sites(tree))
    order = list(range(count))
    if limit:
        random.Random(seed).shuffle(order)
    out: list[str] = []
    seen = {original}
    for k in order:
        copy_tree = copy.deepcopy(tree)
        node, kind, index = _sites(copy_tree)[k]
        _apply(node, kind, index)
        ast.fix_missing_locations(copy_tree)
        try:
            text = ast.unparse(copy_tree)
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError):
            continue
        if text not in seen:
            seen.add(text)
            out.append(text + "\n")
        if limit and len(out) >= limit:
            break
    return out
