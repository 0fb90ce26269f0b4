"""Candidate code and TestCases turned into code objects for the sandbox child (nothing runs here).

A test is one `assert ...` statement or a `def test_*(): ...` (called after its source runs),
optionally after imports. Bare asserts are rewritten so a failure says what it checked and,
for `assert X == Y`, what X was: `assert add(2, 2) == 5 (got 4)`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import CodeType

from o1coder.sandbox.types import TestCase

MARK = "\x00o1"  # first item of the message tuple of a rewritten assert (the harness knows it)
GOT = "__o1_got"
MAX_ASSERT_TEXT = 300


@dataclass(frozen=True)
class PreparedTest:
    index: int
    code: CodeType
    calls: tuple[str, ...]  # names of the test functions the source defines, called in order

    def payload(self) -> tuple[int, CodeType, tuple[str, ...]]:
        return (self.index, self.code, self.calls)


def compile_candidate(code: str) -> tuple[CodeType | None, str]:
    """(code object, "") or (None, why it does not compile)."""
    try:
        return compile(code, "<candidate>", "exec", dont_inherit=True), ""
    except SyntaxError as exc:
        return None, f"{type(exc).__name__}: {exc.msg} (candidate line {exc.lineno})"
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def prepare_test(index: int, test: TestCase) -> PreparedTest | str:
    """The compiled test, or a message saying why it cannot run."""
    try:
        tree = ast.parse(test.source, filename=f"<test {test.name}>")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return f"the test does not parse: {detail}"
    if not [s for s in tree.body if not isinstance(s, ast.Import | ast.ImportFrom | ast.Pass)]:
        return "the test is empty: write an assert statement or a def test_*() function"
    calls = tuple(s.name for s in tree.body if isinstance(s, ast.FunctionDef) and s.name.startswith("test"))
    rewritten = _AssertMessages(test.source).visit(ast.parse(test.source))
    ast.fix_missing_locations(rewritten)
    for candidate_tree in (rewritten, tree):  # the plain tree if the rewrite trips some corner
        try:
            code = compile(candidate_tree, f"<test {test.name}>", "exec", dont_inherit=True)
            return PreparedTest(index, code, calls)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            error = exc
    detail = error.msg if isinstance(error, SyntaxError) else str(error)
    return f"the test does not compile: {detail}"


class _AssertMessages(ast.NodeTransformer):
    """`assert X == Y` -> `assert (__o1_got := X) == Y, (MARK, "assert X == Y", __o1_got)`."""

    def __init__(self, source: str):
        self.source = source

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        if node.msg is not None:
            return node
        text = " ".join((ast.get_source_segment(self.source, node) or ast.unparse(node)).split())
        if len(text) > MAX_ASSERT_TEXT:
            text = text[:MAX_ASSERT_TEXT] + "..."
        items: list[ast.expr] = [ast.Constant(MARK), ast.Constant(text)]
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            target = ast.Name(GOT, ast.Store())
            test = ast.Compare(ast.NamedExpr(target, test.left), test.ops, test.comparators)
            items.append(ast.Name(GOT, ast.Load()))
        return ast.copy_location(ast.Assert(test=test, msg=ast.Tuple(items, ast.Load())), node)
