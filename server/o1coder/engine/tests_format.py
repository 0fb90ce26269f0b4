"""Generated tests as text: a strict parser (model output -> TestCases) and a tests-file writer.

The parser never executes half-understood output: the code block must parse with `ast` as a
whole and hold only imports (a preamble prepended to every test), `assert` statements and
`def test_*` functions, or the whole output is rejected.
"""

from __future__ import annotations

import ast

from o1coder.engine.problem import calls_function, calls_method
from o1coder.engine.prompts import first_code_block
from o1coder.sandbox.types import TestCase


class MalformedTests(ValueError):
    """Model output that is not a clean set of tests; the message says why."""


def parse_tests(text: str, entry_point: str | None = None, method: bool = False) -> list[TestCase]:
    """TestCases from `text`: its first ```python block, or the whole text if it has no fence.

    With `entry_point`, every test must call it (as `obj.entry_point(...)` for a `method`).
    """
    block = first_code_block(text)
    source = (block if block is not None else text).strip("\n")
    if not source.strip():
        raise MalformedTests("no test code")
    try:
        module = ast.parse(source)
    except SyntaxError as err:
        raise MalformedTests(f"line {err.lineno}: {err.msg}") from None

    preamble: list[str] = []
    items: list[tuple[ast.stmt, str]] = []
    for stmt in module.body:
        segment = ast.get_source_segment(source, stmt) or ast.unparse(stmt)
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            preamble.append(segment)
        elif isinstance(stmt, ast.Assert) or (
            isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("test_") and not stmt.decorator_list
        ):
            calls = calls_method if method else calls_function
            if entry_point is not None and not calls(stmt, entry_point):
                raise MalformedTests(f"line {stmt.lineno}: the test does not call {entry_point}")
            items.append((stmt, segment))
        else:
            what = f"def {stmt.name}" if isinstance(stmt, ast.FunctionDef) else type(stmt).__name__.lower()
            raise MalformedTests(
                f"line {stmt.lineno}: only import, assert and def test_* statements are allowed, got {what}"
            )
    if not items:
        raise MalformedTests("no assert or def test_* found")

    head = "\n".join(preamble)
    taken = {stmt.name for stmt, _ in items if isinstance(stmt, ast.FunctionDef)}
    tests: list[TestCase] = []
    seen: set[str] = set()
    counter = 0
    for stmt, segment in items:
        key = _normalized(stmt)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(stmt, ast.FunctionDef):
            name = stmt.name
        else:
            counter += 1
            while f"test_{counter}" in taken:
                counter += 1
            name = f"test_{counter}"
        tests.append(TestCase(name=name, source=f"{head}\n{segment}" if head else segment))
    return tests


def _normalized(stmt: ast.stmt) -> str:
    """Identity of a test: its AST without positions (and without a def's name)."""
    if isinstance(stmt, ast.FunctionDef):
        return "def:" + ast.dump(ast.Module(body=stmt.body, type_ignores=[]))
    return ast.dump(stmt)


def dedupe_key(test: TestCase) -> str:
    """Identity of a TestCase's source, for deduplicating tests of different origins."""
    try:
        module = ast.parse(test.source)
    except SyntaxError:
        return test.source.strip()
    return "\n".join(_normalized(s) for s in module.body)


def format_tests(tests: list[TestCase]) -> str:
    """A pytest-style tests file: shared imports first, one `def test_*` per test.

    `parse_tests(format_tests(tests))` gives the same tests back (as functions).
    """
    imports: list[str] = []
    bodies: list[str] = []
    for test in tests:
        module = ast.parse(test.source)
        rest: list[ast.stmt] = []
        for stmt in module.body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                line = ast.get_source_segment(test.source, stmt) or ast.unparse(stmt)
                if line not in imports:
                    imports.append(line)
            else:
                rest.append(stmt)
        if len(rest) == 1 and isinstance(rest[0], ast.FunctionDef):
            bodies.append(ast.get_source_segment(test.source, rest[0]) or ast.unparse(rest[0]))
        else:
            inner = "\n".join(ast.get_source_segment(test.source, s) or ast.unparse(s) for s in rest)
            name = test.name if test.name.startswith("test_") else f"test_{test.name}"
            bodies.append(f"def {name}():\n" + "\n".join("    " + line for line in inner.splitlines()))
    head = "\n".join(imports)
    return (head + "\n\n\n" if head else "") + "\n\n\n".join(bodies) + "\n"
