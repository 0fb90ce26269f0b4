"""Candidate code and TestCases turned into what the sandbox processes run (nothing runs here).

Each test takes one of two routes:

- **fast** (`FastTest`): imports, then one `assert` that checks a direct call of one of the
  candidate's functions against a literal: `assert f(...) == 5` (any comparison operator,
  either side), `assert f(...)`, `assert not f(...)`, `assert f(...) is None`, and the
  float forms `assert abs(f(...) - 1.5) < 1e-6` and `assert math.isclose(f(...), 1.5)`.
  The candidate's process evaluates the call only (it never sees the literal); the parent
  decides (`verdict`). This is what the test generator writes, and it gives each test's
  output for comparing candidates' behaviour.
- **judge** (`JudgeTest`): anything else (`def test_*` functions, computed expected values, a
  dataset's `check(candidate)`), run in the judge process, which reaches the candidate only
  through plain-data calls. Bare asserts are rewritten so a failure says what it checked
  and, for `assert X == Y`, what X was: `assert add(2, 2) == 5 (got 4)`.
"""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType

from o1coder.sandbox.limits import MAX_CODE_BYTES, MAX_TEST_BYTES, SourceRejected, parse
from o1coder.sandbox.types import TestCase

MARK = "\x00o1"  # first item of the message tuple of a rewritten assert (the judge knows it)
GOT = "__o1_got"
MAX_ASSERT_TEXT = 300
OPERATORS: dict[type, tuple[str, Callable[[object, object], object]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
}
SINGLETONS = (None, True, False)


@dataclass(frozen=True)
class Check:
    """What the parent does with the call's value: `kind` is compare | truthy | falsy | close."""

    kind: str
    op: str = ""  # compare: the operator's text
    expected: object = None  # the literal (compare, close)
    call_on_left: bool = True  # compare: `call op literal` (else `literal op call`)
    tolerance: float = 0.0  # close: abs(value - expected) < tolerance (or <= when inclusive)
    inclusive: bool = False
    rel_tol: float = 1e-9  # close via math.isclose
    isclose: bool = False


@dataclass(frozen=True)
class FastTest:
    index: int
    preamble: CodeType | None  # the test's imports
    call: CodeType  # eval mode: the call of the candidate's function
    check: Check
    text: str  # the assert as written (whitespace normalised, capped), for messages

    def payload(self) -> tuple[int, CodeType | None, CodeType]:
        return (self.index, self.preamble, self.call)


@dataclass(frozen=True)
class JudgeTest:
    index: int
    code: CodeType
    calls: tuple[str, ...]  # names of the test functions the source defines, called in order

    def payload(self) -> tuple[int, CodeType, tuple[str, ...]]:
        return (self.index, self.code, self.calls)


PreparedTest = FastTest | JudgeTest


def compile_candidate(code: str) -> tuple[CodeType | None, str]:
    """(code object, "") or (None, why it does not compile)."""
    try:
        tree = parse(code, "the candidate code", MAX_CODE_BYTES, "<candidate>")
        return compile(tree, "<candidate>", "exec", dont_inherit=True), ""
    except SourceRejected as exc:
        return None, str(exc)
    except SyntaxError as exc:
        return None, f"{type(exc).__name__}: {exc.msg} (candidate line {exc.lineno})"
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def prepare_test(index: int, test: TestCase) -> PreparedTest | str:
    """The compiled test, or a message saying why it cannot run."""
    try:
        tree = parse(test.source, "the test", MAX_TEST_BYTES, f"<test {test.name}>")
    except SourceRejected as exc:
        return str(exc)
    except SyntaxError as exc:
        return f"the test does not parse: {exc.msg} (line {exc.lineno})"
    if not [s for s in tree.body if not isinstance(s, ast.Import | ast.ImportFrom | ast.Pass)]:
        return "the test is empty: write an assert statement or a def test_*() function"
    try:
        fast = _fast(index, test, tree)
        if fast is not None:
            return fast
        return _judge(index, test, tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError, TypeError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return f"the test does not compile: {detail}"


def _judge(index: int, test: TestCase, tree: ast.Module) -> JudgeTest:
    calls = tuple(s.name for s in tree.body if isinstance(s, ast.FunctionDef) and s.name.startswith("test"))
    rewritten = _AssertMessages(test.source).visit(ast.parse(test.source))
    ast.fix_missing_locations(rewritten)
    try:
        code = compile(rewritten, f"<test {test.name}>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # the plain tree if the rewrite trips
        code = compile(tree, f"<test {test.name}>", "exec", dont_inherit=True)
    return JudgeTest(index, code, calls)


def _fast(index: int, test: TestCase, tree: ast.Module) -> FastTest | None:
    *head, last = tree.body
    if not isinstance(last, ast.Assert) or last.msg is not None:
        return None
    if not all(isinstance(s, ast.Import | ast.ImportFrom) for s in head):
        return None
    imported = {(a.asname or a.name).split(".")[0] for s in head for a in s.names}
    found = _split(last.test, imported)
    if found is None:
        return None
    call, check = found
    preamble = None
    if head:
        module = ast.Module(body=head, type_ignores=[])
        preamble = compile(module, f"<test {test.name}>", "exec", dont_inherit=True)
    expression = ast.Expression(body=call)
    ast.fix_missing_locations(expression)
    code = compile(expression, f"<test {test.name}>", "eval", dont_inherit=True)
    return FastTest(index, preamble, code, check, _assert_text(test.source, last))


def _split(test: ast.expr, imported: set[str]) -> tuple[ast.expr, Check] | None:
    """(the candidate call, what to check of its value), or None when the judge must run it."""
    if _candidate_call(test, imported):
        return test, Check("truthy")
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _candidate_call(test.operand, imported):
        return test.operand, Check("falsy")
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right, op = test.left, test.comparators[0], type(test.ops[0])
        if op not in OPERATORS:
            return None
        close = _abs_difference(left, imported)
        if close is not None and op in (ast.Lt, ast.LtE):
            call, expected = close
            tolerance = _literal(right)
            if _number(tolerance) and _number(expected):
                return call, Check("close", expected=expected, tolerance=float(tolerance), inclusive=op is ast.LtE)
            return None
        for call, other, on_left in ((left, right, True), (right, left, False)):
            if _candidate_call(call, imported):
                expected = _literal(other)
                if expected is _NOT_LITERAL:
                    return None
                if op in (ast.Is, ast.IsNot) and not any(expected is s for s in SINGLETONS):
                    return None
                return call, Check("compare", op=OPERATORS[op][0], expected=expected, call_on_left=on_left)
        return None
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and isinstance(test.func.value, ast.Name)
        and test.func.value.id == "math"
        and "math" in imported
        and test.func.attr == "isclose"
        and len(test.args) == 2
        and _candidate_call(test.args[0], imported)
    ):
        expected = _literal(test.args[1])
        keywords = {k.arg: _literal(k.value) for k in test.keywords}
        if not _number(expected) or set(keywords) - {"rel_tol", "abs_tol"}:
            return None
        if not all(_number(v) for v in keywords.values()):
            return None
        return test.args[0], Check(
            "close",
            expected=expected,
            tolerance=float(keywords.get("abs_tol", 0.0)),
            rel_tol=float(keywords.get("rel_tol", 1e-9)),
            isclose=True,
        )
    return None


def _candidate_call(node: ast.expr, imported: set[str]) -> bool:
    """A call of a plain name that is neither a builtin nor imported by the test."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id not in imported
        and not hasattr(builtins, node.func.id)
    )


def _abs_difference(node: ast.expr, imported: set[str]) -> tuple[ast.expr, object] | None:
    """`abs(CALL - LITERAL)` -> (CALL, literal)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "abs"
        and "abs" not in imported
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.BinOp)
        and isinstance(node.args[0].op, ast.Sub)
        and _candidate_call(node.args[0].left, imported)
    ):
        expected = _literal(node.args[0].right)
        return (node.args[0].left, expected) if expected is not _NOT_LITERAL else None
    return None


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _number(value: object) -> bool:
    return type(value) in (int, float)


def _assert_text(source: str, node: ast.Assert) -> str:
    text = " ".join((ast.get_source_segment(source, node) or ast.unparse(node)).split())
    return text[:MAX_ASSERT_TEXT] + "..." if len(text) > MAX_ASSERT_TEXT else text


class _AssertMessages(ast.NodeTransformer):
    """`assert X == Y` -> `assert (__o1_got := X) == Y, (MARK, "assert X == Y", __o1_got)`."""

    def __init__(self, source: str):
        self.source = source

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        if node.msg is not None:
            return node
        items: list[ast.expr] = [ast.Constant(MARK), ast.Constant(_assert_text(self.source, node))]
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            target = ast.Name(GOT, ast.Store())
            test = ast.Compare(ast.NamedExpr(target, test.left), test.ops, test.comparators)
            items.append(ast.Name(GOT, ast.Load()))
        return ast.copy_location(ast.Assert(test=test, msg=ast.Tuple(items, ast.Load())), node)
