"""Size and nesting limits on code and tests, checked before Python's parser and compiler see them.

Python's parser and compiler recurse: 100,000 unary minuses end in MemoryError, a 3,000-term
sum in RecursionError, and an 11 MB source takes tens of seconds and gigabytes. Inputs from
a model or a user go through `parse`, which refuses them with one line saying what to do.
"""

from __future__ import annotations

import ast

MAX_CODE_BYTES = 1 << 20  # a candidate program (a whole module: about 25,000 lines)
MAX_TEST_BYTES = 256 << 10  # one test (a dataset's check function included)
MAX_NESTING = 200  # levels of syntax nesting (a 200-term `a + b + ...` is 200 levels)


class SourceRejected(ValueError):
    """Source that is too large, too deep or not Python; the message is one line."""


def check_size(text: str, what: str, max_bytes: int) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise SourceRejected(f"{what} is too large ({size:,} bytes; the limit is {max_bytes:,})")


def parse(text: str, what: str, max_bytes: int, filename: str = "<unknown>") -> ast.Module:
    """The module's syntax tree; SourceRejected if it is too large or too deep, SyntaxError as usual."""
    check_size(text, what, max_bytes)
    try:
        tree = ast.parse(text, filename=filename)
    except (RecursionError, MemoryError):
        raise SourceRejected(
            f"{what} is nested too deeply for Python's parser (the limit is {MAX_NESTING} levels)"
        ) from None
    except ValueError as exc:  # null bytes (SyntaxError, a ValueError too, goes to the caller)
        if isinstance(exc, SyntaxError):
            raise
        raise SourceRejected(f"{what} does not parse: {exc}") from None
    depth = nesting(tree)
    if depth > MAX_NESTING:
        raise SourceRejected(f"{what} is nested {depth} levels deep (the limit is {MAX_NESTING})")
    return tree


def nesting(tree: ast.AST) -> int:
    """The deepest level of the tree, counted without recursion."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest
