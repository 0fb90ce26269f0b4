"""A docstring's doctest examples as tests, run the way doctest runs them.

Doctest runs a docstring's examples as one session, in order, and compares what each prints
with the text written under it. Here each example with expected output becomes one test:

- earlier examples are its context: their imports (standard library only) head the test, and
  when the names it reads were only assigned (`data = [1, 2]`, `buf = io.BytesIO(b"x")`),
  their values are written into the example in place (`f(io.BytesIO(b"x"))`), so the test is
  one `assert` evaluated where the function lives (objects a test builds cannot cross the
  sandbox, values in the call can). When they were also used otherwise (`f(h)` changing `h`),
  the test replays those statements: a `def test_example():` with them first;
- expected text that is a Python literal is compared as a value (`assert f(x) == [1, 2]`,
  floats within 1e-6); `print(x)` examples compare `str(x)` with the printed text; any other
  output compares `repr(...)` with it, as doctest does; an expected exception checks the
  exception's type name;
- `module.f(...)` calls are written `f(...)` (the problem's function is a plain name), and
  imports of the function itself are dropped (the test must call the candidate's function,
  not the library's).

Examples under `+SKIP` or `+ELLIPSIS`, and multi-statement examples with output, are left
out. The examples' calls of the function (`f(...)`, `list(f(...))`) seed derived tests
(`inputs`).
"""

from __future__ import annotations

import ast
import copy
import doctest
import textwrap
from dataclasses import dataclass, field
from typing import Any

from o1coder.engine.problem import FLOAT_TOLERANCE, calls_function
from o1coder_train.data.inputs import Call, seed_call
from o1coder_train.data.modules import is_stdlib

MAX_TESTS = 12
MAX_WANT_CHARS = 600
MAX_INLINED_CHARS = 600  # an example with its session names written in, at most


@dataclass
class DoctestTests:
    tests: list[str] = field(default_factory=list)
    seeds: list[Call] = field(default_factory=list)  # the examples' calls of the function, to vary
    skipped: int = 0  # examples with output that could not become tests


@dataclass
class _Session:
    """What the examples before the current one did."""

    imports: list[str] = field(default_factory=list)
    statements: list[ast.stmt] = field(default_factory=list)  # everything but the imports, in order

    def add(self, source: str, function: str) -> None:
        for stmt in ast.parse(source).body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                kept = _import(stmt, function)
                if kept is not None:
                    self.imports.append(kept)
            else:
                self.statements.append(stmt)

    def bound(self) -> set[str]:
        return {n.id for s in self.statements for n in ast.walk(s) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}

    def context(self, node: ast.AST) -> list[ast.stmt]:
        """The statements `node` depends on: those binding or touching (maybe changing) the
        session names it reads, and in turn what those read, in session order. An expression
        that calls nothing (`>>> data` to show it) changes nothing and is left out."""
        bound = self.bound()
        needed = _loaded(node) & bound
        chosen: list[ast.stmt] = []
        for stmt in reversed(self.statements):
            if isinstance(stmt, ast.Expr) and not any(isinstance(n, ast.Call) for n in ast.walk(stmt)):
                continue
            names = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
            if names & needed:
                chosen.insert(0, stmt)
                needed |= _loaded(stmt) & bound
        return chosen

    def test(self, node: ast.AST) -> tuple[ast.AST, list[ast.stmt]]:
        """(`node` with its context's names written in, []) when its context only assigns names,
        else (`node`, the statements to replay before it)."""
        context = self.context(node)
        simple = all(
            isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name) for s in context
        )
        if not simple:
            return node, context
        bindings: dict[str, ast.expr] = {}
        for stmt in context:
            bindings[stmt.targets[0].id] = _substitute(stmt.value, bindings)  # type: ignore[attr-defined]
        return _substitute(node, bindings), []

    def render(self, check: str, replay: list[ast.stmt]) -> str:
        if not replay:
            return "\n".join([*self.imports, check]) + "\n"
        body = "\n".join([*self.imports, *(ast.unparse(s) for s in replay), check])
        return "def test_example():\n" + textwrap.indent(body, "    ") + "\n"


def _loaded(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _substitute(node: ast.AST, bindings: dict[str, ast.expr]) -> Any:
    class Substitute(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.expr:
            if isinstance(name.ctx, ast.Load) and name.id in bindings:
                return copy.deepcopy(bindings[name.id])
            return name

    return Substitute().visit(copy.deepcopy(node))


def doctest_tests(docstring: str, function: str) -> DoctestTests:
    out = DoctestTests()
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        return out
    session = _Session()
    for example in examples:
        if example.options.get(doctest.SKIP):
            continue
        source = _plain_calls(example.source.strip(), function, session)
        has_output = bool(example.want.strip()) or example.exc_msg is not None
        if source is None:
            out.skipped += has_output
            continue
        if not has_output:
            session.add(source, function)
            continue
        test, seed = _test(example, source, function, session)
        session.statements += ast.parse(source).body  # it ran in doctest's session too
        if test is None:
            out.skipped += 1
            continue
        if test not in out.tests and len(out.tests) < MAX_TESTS:
            out.tests.append(test)
        if seed is not None and seed.key not in {s.key for s in out.seeds}:
            out.seeds.append(seed)
    return out


def _plain_calls(source: str, function: str, session: _Session) -> str | None:
    """`source` with `module.function(...)` calls written `function(...)`; None if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    changed = False
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == function
            and _module_path(node.func.value, session)
        ):
            node.func = ast.Name(function, ast.Load())
            changed = True
    return ast.unparse(tree) if changed else source


def _module_path(node: ast.expr, session: _Session) -> bool:
    """`nx` or `more_itertools.recipes`: a dotted name that the session did not bind."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id not in session.bound()


def _import(stmt: ast.Import | ast.ImportFrom, function: str) -> str | None:
    """The import as a test may make it: standard library only, the function itself left out."""
    modules = [stmt.module or ""] if isinstance(stmt, ast.ImportFrom) else [a.name for a in stmt.names]
    if getattr(stmt, "level", 0) or not all(is_stdlib(m) for m in modules):
        return None  # the sandbox sees the standard library only
    stmt.names = [a for a in stmt.names if (a.asname or a.name) != function]
    return ast.unparse(stmt) if stmt.names else None


def _test(example: doctest.Example, source: str, function: str, session: _Session) -> tuple[str | None, Call | None]:
    if example.options.get(doctest.ELLIPSIS):
        return None, None
    if example.exc_msg is not None:
        return _raises(source, example.exc_msg, function, session), None
    try:
        expr = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None, None
    expr, replay = session.test(expr)
    if len(ast.unparse(expr)) > MAX_INLINED_CHARS:
        return None, None
    if not (calls_function(expr, function) or any(calls_function(s, function) for s in replay)):
        return None, None
    want = example.want.rstrip("\n")
    if len(want) > MAX_WANT_CHARS:
        return None, None
    check = _value_check(expr, want) or _print_check(expr, want) or _repr_check(expr, want, example)
    if check is None:
        return None, None
    seed = seed_call(expr, function, session.imports) if not replay else None
    return session.render(check, replay), seed


def _value_check(expr: ast.expr, want: str) -> str | None:
    try:
        expected = ast.parse(want.strip(), mode="eval").body
        value = ast.literal_eval(expected)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "print":
        return None
    if value is True and isinstance(expr, ast.Compare | ast.BoolOp):
        test: ast.expr = expr
    elif value is False and isinstance(expr, ast.Compare | ast.BoolOp):
        test = ast.UnaryOp(ast.Not(), expr)
    elif type(value) is float:
        difference = ast.Call(ast.Name("abs", ast.Load()), [ast.BinOp(expr, ast.Sub(), expected)], [])
        test = ast.Compare(difference, [ast.Lt()], [ast.Constant(float(FLOAT_TOLERANCE))])
    else:
        test = ast.Compare(expr, [ast.Eq()], [expected])
    return ast.unparse(ast.Assert(test))


def _print_check(expr: ast.expr, want: str) -> str | None:
    if not (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Name)
        and expr.func.id == "print"
        and len(expr.args) == 1
        and not expr.keywords
        and not isinstance(expr.args[0], ast.Starred)
    ):
        return None
    text = "\n".join("" if line.strip() == doctest.BLANKLINE_MARKER else line for line in want.split("\n"))
    shown = ast.Call(ast.Name("str", ast.Load()), [expr.args[0]], [])
    return ast.unparse(ast.Assert(ast.Compare(shown, [ast.Eq()], [ast.Constant(text)])))


def _repr_check(expr: ast.expr, want: str, example: doctest.Example) -> str | None:
    if example.options.get(doctest.NORMALIZE_WHITESPACE) or "\n" in want.strip():
        return None
    shown = ast.Call(ast.Name("repr", ast.Load()), [expr], [])
    return ast.unparse(ast.Assert(ast.Compare(shown, [ast.Eq()], [ast.Constant(want.strip())])))


def _raises(source: str, exc_msg: str, function: str, session: _Session) -> str | None:
    """A test that `source` raises the exception doctest shows (by type name)."""
    name = exc_msg.split(":", 1)[0].strip().rsplit(".", 1)[-1]
    if not name.isidentifier():
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    tree, replay = session.test(tree)
    if not (calls_function(tree, function) or any(calls_function(s, function) for s in replay)):
        return None
    body = [
        *session.imports,
        *(ast.unparse(s) for s in replay),
        "try:",
        textwrap.indent(ast.unparse(tree), "    "),
        "except Exception as exc:",
        f"    assert type(exc).__name__ == {name!r}, f'raised {{type(exc).__name__}}, not {name}'",
        "else:",
        f"    raise AssertionError('expected {name}')",
    ]
    return "def test_raises():\n" + textwrap.indent("\n".join(body), "    ") + "\n"
