"""The problem a solve works on: a Python function to complete, or a task in plain words.

A Python problem is usually a HumanEval-style prompt: imports, maybe helper functions, and the
target function (the last top-level def) whose body is only a docstring, `pass` or `...`.
Examples written in its docstring (`>>> f(x)` followed by the expected value, or
`f(x) == y` lines) are part of the user's statement and become tests.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
import textwrap
from collections.abc import Set
from dataclasses import dataclass, field

from o1coder.sandbox.types import TestCase

MAX_PROBLEM_CHARS = 20_000
# The function name asked for when the problem is prose (no signature to complete).
DEFAULT_FUNCTION_NAME = "solution"

# Separators of inline docstring examples: `f(x) == y`, `f(x) ==> y`, `f(x) -> y`, ...
_INLINE_SEPARATORS = ("==>", "=>", "➞", "→", "->", "==", " should return ", " returns ")
# Lines that only Python starts with: text that fails to parse but has one is broken code.
_CODE_LINE = re.compile(r"^\s*(def\s+\w+\s*\(|class\s+\w+|import\s+\w|from\s+[\w.]+\s+import\b|@\w)", re.M)
FLOAT_TOLERANCE = "1e-6"  # float examples compare within this


class ProblemError(ValueError):
    """The input cannot be solved as given; the message says what to change (one line)."""


@dataclass
class Problem:
    text: str
    entry_point: str | None = None
    signature: str | None = None
    docstring_examples: list[TestCase] = field(default_factory=list)
    # the whole module the target lives in (a stub in a real file): `text` is then the prompt's
    # view of it (see engine.context) and programs are this module with the target replaced
    module: str | None = None
    # a method's problem: the class it belongs to (entry_point is then the method's name)
    class_name: str | None = None
    # a stub in a module (function or method): its `def` line(s) and docstring as written,
    # dedented; answers start with them (see prompts.direct_answer_start)
    head: str | None = None

    @property
    def stated_head(self) -> str | None:
        """The target's `def` line(s) and docstring as the user wrote them (dedented): `head` for a
        stub in a module, read from `text` for a bare function; None for a task in words."""
        if self.head is not None or self.entry_point is None:
            return self.head
        target = _target_function(ast.parse(self.text))
        return _head(self.text, target) if target is not None else None

    @property
    def qualname(self) -> str:
        """`Class.method` for a method, else the function's name."""
        return f"{self.class_name}.{self.function_name}" if self.class_name else self.function_name

    @property
    def is_function(self) -> bool:
        return self.entry_point is not None

    @property
    def function_name(self) -> str:
        """The function the code and the tests must define and call."""
        return self.entry_point or DEFAULT_FUNCTION_NAME

    @classmethod
    def from_source(cls, text: str) -> Problem:
        """Parse user input: Python with a function def, or a plain task description."""
        if not text or not text.strip():
            raise ProblemError(
                "the problem is empty: give a function signature with a docstring, or describe the task"
            )
        if len(text) > MAX_PROBLEM_CHARS:
            raise ProblemError(
                f"the problem is {len(text):,} characters, over the {MAX_PROBLEM_CHARS:,} limit: "
                "keep only the function to complete and what it needs"
            )
        try:
            module = ast.parse(text)
        except SyntaxError as err:
            if "```" not in text and _CODE_LINE.search(text):
                raise ProblemError(
                    f"the Python does not parse (line {err.lineno}: {err.msg}): fix it, or describe the task in words"
                ) from None
            return cls(text=text.strip() + "\n")
        target = _target_function(module)
        if target is None:
            if all(_is_wordlike(stmt) for stmt in module.body):
                return cls(text=text.strip() + "\n")
            raise ProblemError(
                "the Python defines no top-level function: add `def name(...):` with a docstring, "
                "or describe the task in words"
            )
        return cls(
            text=text.strip("\n").rstrip() + "\n",
            entry_point=target.name,
            signature=_signature(target),
            docstring_examples=docstring_examples(
                ast.get_docstring(target) or "", target.name, _defined_names(module)
            ),
        )

    @classmethod
    def from_module(cls, source: str, function: str, max_chars: int | None = None) -> Problem:
        """The stub `function` of the module `source`: prompt with its context, run in the module."""
        from o1coder.engine import context

        try:
            built = context.build(source, function, max_chars or context.DEFAULT_MAX_CHARS)
        except context.ContextError as exc:
            raise ProblemError(str(exc)) from None
        if "." in function:
            owner, method = context.find_method(ast.parse(source), function)
            return cls(
                text=built.text,
                entry_point=method.name,
                signature=_signature(method),
                docstring_examples=docstring_examples(
                    ast.get_docstring(method) or "", method.name, _defined_names(ast.parse(source)), method=True
                ),
                module=source,
                class_name=owner.name,
                head=_head(source, method),
            )
        problem = cls.from_source(built.text)
        if problem.entry_point != function:
            raise ProblemError(f"the context of {function} did not end with its definition; report this")
        problem.module = source
        problem.head = _head(source, context.find_function(ast.parse(source), function))
        return problem

    def accepts_call(self, call: ast.Call) -> bool:
        """Whether `call` binds to the target function's parameters (count and keyword names).

        Calls with `*args` / `**kwargs` unpacking, and every call of a prose problem, are accepted.
        """
        if self.entry_point is None or self.class_name or any(isinstance(a, ast.Starred) for a in call.args):
            return True
        if any(k.arg is None for k in call.keywords):
            return True
        target = _target_function(ast.parse(self.text))
        if target is None:
            return True
        args = target.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        required = positional[: len(positional) - len(args.defaults)]
        if len(call.args) > len(positional) and args.vararg is None:
            return False
        named = {k.arg for k in call.keywords}
        keyword_ok = {a.arg for a in args.args + args.kwonlyargs}
        if args.kwarg is None and not named <= keyword_ok:
            return False
        if any(name in named for name in positional[: len(call.args)]):
            return False  # given twice
        bound = set(positional[: len(call.args)]) | named
        required_kwonly = [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
        return all(name in bound for name in required + required_kwonly)


def _target_function(module: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    defs = [s for s in module.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    return defs[-1] if defs else None


def _is_wordlike(stmt: ast.stmt) -> bool:
    """A statement that is really prose which happens to parse (`fizzbuzz`, a bare string)."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Name | ast.Constant)


def _head(source: str, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """`fn`'s def line(s) and docstring as written in `source`, dedented (decorators left out)."""
    first = fn.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    last = first.end_lineno if has_doc else first.lineno - 1
    if not has_doc and first.lineno == fn.lineno:  # `def f(): pass` on one line
        return _signature(fn)
    lines = source.splitlines()[fn.lineno - 1 : last]
    return textwrap.dedent("\n".join(lines))


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    bare = copy.copy(fn)
    bare.body = [ast.Pass()]
    bare.decorator_list = []
    return ast.unparse(bare).split("\n", 1)[0]


# ---------------------------------------------------------------- docstring examples


def docstring_examples(
    docstring: str, entry_point: str, known: Set[str] = frozenset(), method: bool = False
) -> list[TestCase]:
    """`assert` tests from the docstring's doctests and `f(x) == y` lines.

    Examples that do not parse, or use a name that is neither a builtin, the entry point nor
    in `known` (`is_happy(abc)`, `== true`), are skipped. For a `method`, an example calls it
    on an object (`Box(3).area()`).
    """
    pairs = _doctest_pairs(docstring) + ([] if method else _inline_pairs(docstring, entry_point))
    names = set(known) | set(dir(builtins)) | {entry_point}
    tests: list[TestCase] = []
    seen: set[str] = set()
    for call, expected in pairs:
        source = _example_assert(call, expected, entry_point, names, method)
        if source is None:
            continue
        key = ast.dump(ast.parse(source))
        if key not in seen:
            seen.add(key)
            tests.append(TestCase(name=f"example_{len(tests) + 1}", source=source))
    return tests


def _doctest_pairs(docstring: str) -> list[tuple[str, str]]:
    lines = docstring.splitlines()
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line.startswith(">>>"):
            i += 1
            continue
        source = [line[3:].strip()]
        i += 1
        while i < len(lines) and lines[i].strip().startswith("..."):
            source.append(lines[i].strip()[3:].strip())
            i += 1
        expected: list[str] = []
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
            expected.append(lines[i].strip())
            i += 1
        if expected:
            pairs.append(("\n".join(source), "\n".join(expected)))
    return pairs


def _inline_pairs(docstring: str, entry_point: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for raw in docstring.splitlines():
        line = raw.strip()
        if not line.startswith(entry_point + "("):
            continue
        for sep in _INLINE_SEPARATORS:
            pair = _split_parseable(line, sep)
            if pair is not None:
                pairs.append(pair)
                break
    return pairs


def _split_parseable(line: str, sep: str) -> tuple[str, str] | None:
    start = 0
    while (at := line.find(sep, start)) >= 0:
        left, right = line[:at].strip(), line[at + len(sep) :].strip()
        if _parses_as_expression(left) and _parses_as_expression(right):
            return left, right
        start = at + 1
    return None


def _parses_as_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return bool(text)


def _example_assert(call: str, expected: str, entry_point: str, names: Set[str], method: bool = False) -> str | None:
    try:
        call_expr = ast.parse(call, mode="eval").body
        expected_expr = ast.parse(expected, mode="eval").body
    except SyntaxError:
        return None
    calls = calls_method if method else calls_function
    if (
        not calls(call_expr, entry_point)
        or not _uses_only(call_expr, names)
        or not _uses_only(expected_expr, names)
    ):
        return None
    if (
        isinstance(call_expr, ast.Call)
        and isinstance(call_expr.func, ast.Name)
        and call_expr.func.id == "print"
    ):
        return None
    call_src, expected_src = ast.unparse(call_expr), ast.unparse(expected_expr)
    if is_float_literal(expected_expr):
        return f"assert abs({call_src} - ({expected_src})) < {FLOAT_TOLERANCE}"
    return f"assert {call_src} == {expected_src}"


def _uses_only(expr: ast.expr, names: Set[str]) -> bool:
    bound = {n.arg for n in ast.walk(expr) if isinstance(n, ast.arg)}  # lambda parameters
    bound |= {n.id for n in ast.walk(expr) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return all(n.id in names or n.id in bound for n in ast.walk(expr) if isinstance(n, ast.Name))


def _defined_names(module: ast.Module) -> set[str]:
    """Names the problem's top level binds: imports, functions, classes, assignments."""
    names: set[str] = set()
    for stmt in module.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in stmt.names}
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def is_float_literal(expr: ast.expr) -> bool:
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
        expr = expr.operand
    return isinstance(expr, ast.Constant) and isinstance(expr.value, float)


def calls_method(node: ast.AST, name: str) -> bool:
    """Whether `node` contains a call of a method `name` on some object (`obj.name(...)`)."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name for n in ast.walk(node)
    )


def calls_function(node: ast.AST, name: str) -> bool:
    """Whether `node` contains a call of the plain name `name`."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in ast.walk(node)
    )


# ---------------------------------------------------------------- the program to execute


def assemble_program(problem: Problem, code: str) -> str:
    """The program the verifier runs for `code` written for `problem`.

    Code that defines the entry point runs after the problem's other top-level statements
    (imports, helper functions and constants it does not itself redefine). Code that does not
    is taken as the function's body and appended to the problem text.
    """
    code = code.strip("\n")
    if problem.entry_point is None:
        return code.rstrip() + "\n"
    if problem.module is not None and problem.class_name is not None:
        return _method_in_module(problem, problem.module, code)
    if problem.module is not None:
        return _in_module(problem, problem.module, code)
    try:
        module: ast.Module | None = ast.parse(code)
    except SyntaxError:
        module = None
    if module is not None:
        defined = {
            s.name
            for s in module.body
            if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        if problem.entry_point in defined:
            return _join(_problem_context(problem, defined) + [code])
    elif re.search(rf"^\s*(async\s+)?def\s+{re.escape(problem.entry_point)}\s*\(", code, re.M):
        # A broken full definition: run it as written so the verifier reports why it fails.
        return _join(_problem_context(problem, {problem.entry_point}) + [code])
    return problem.text.rstrip("\n") + "\n" + _as_body(problem, code) + "\n"


def _in_module(problem: Problem, source: str, code: str) -> str:
    """The module with the target's definition replaced by the code's (its decorators kept).

    What else the code defines or imports (a helper it wrote, an import it needs) goes just
    before the target, where the names it may shadow are already bound. Code that does not
    define the target is the target's new body.
    """
    from o1coder.engine.context import find_function

    module = ast.parse(source)
    target = find_function(module, problem.function_name)
    lines = source.splitlines()
    start = target.lineno  # the `def` line: decorators above it stay
    end = target.end_lineno or target.lineno
    indent = " " * target.col_offset
    try:
        written: ast.Module | None = ast.parse(code)
    except SyntaxError:
        written = None
    defs = [
        s for s in (written.body if written else []) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        and s.name == problem.function_name
    ]
    if written is not None and defs:
        new_def = defs[-1]
        code_lines = code.splitlines()
        extras = [
            ast.get_source_segment(code, s) or ast.unparse(s)
            for s in written.body
            if s is not new_def and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        ]
        definition = "\n".join(code_lines[new_def.lineno - 1 : new_def.end_lineno])
        replacement = "\n\n".join([*extras, definition]) if extras else definition
        replacement = textwrap.indent(textwrap.dedent(replacement), indent)
    else:
        header = "\n".join(lines[start - 1 : target.body[0].lineno - 1]) if target.body else lines[start - 1]
        body_start = target.body[0]
        if _is_docstring_stmt(body_start):  # keep the docstring, replace what follows it
            header = "\n".join(lines[start - 1 : body_start.end_lineno])
        column = body_start.col_offset if target.body else target.col_offset + 4
        replacement = header + "\n" + textwrap.indent(textwrap.dedent(code).rstrip(), " " * column)
    return "\n".join([*lines[: start - 1], replacement, *lines[end:]]) + "\n"


def target_code(problem: Problem, code: str) -> str:
    """For a method's problem, the method's definition (dedented) out of whatever `code` holds
    (the method alone, or the class around it); else `code` unchanged."""
    if problem.class_name is None:
        return code
    found = _method_def(problem, code)
    return found[1] if found is not None else code


def _method_def(problem: Problem, code: str) -> tuple[list[str], str] | None:
    """(other statements the code needs, the method's def source dedented) from `code`."""
    try:
        written = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    code = textwrap.dedent(code)
    lines = code.splitlines()
    name = problem.function_name

    def source_of(node: ast.stmt) -> str:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) if hasattr(node, "decorator_list") else node.lineno
        return textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno]))

    for stmt in written.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == problem.class_name:
            for inner in stmt.body:
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and inner.name == name:
                    extras = [source_of(s) for s in written.body if isinstance(s, ast.Import | ast.ImportFrom)]
                    return extras, source_of(inner)
    defs = [s for s in written.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name]
    if defs:
        extras = [source_of(s) for s in written.body if isinstance(s, ast.Import | ast.ImportFrom)]
        return extras, source_of(defs[-1])
    return None


def _method_in_module(problem: Problem, source: str, code: str) -> str:
    """The module with the method replaced inside its class (its decorators kept); imports the
    code added go just before the class."""
    from o1coder.engine.context import find_method

    owner, method = find_method(ast.parse(source), problem.qualname)
    lines = source.splitlines()
    start, end = method.lineno, method.end_lineno or method.lineno
    indent = " " * method.col_offset
    found = _method_def(problem, code)
    if found is not None:
        extras, definition = found
        replacement = textwrap.indent(definition, indent)
    else:
        extras = []
        body = method.body[0]
        header_end = body.end_lineno if _is_docstring_stmt(body) else body.lineno - 1
        column = body.col_offset
        replacement = "\n".join(lines[start - 1 : header_end]) + "\n" + textwrap.indent(
            textwrap.dedent(code).rstrip(), " " * column
        )
    class_start = min([owner.lineno, *(d.lineno for d in owner.decorator_list)])
    before, inside = lines[: class_start - 1], lines[class_start - 1 : start - 1]
    return "\n".join([*before, *extras, *inside, replacement, *lines[end:]]) + "\n"


def _is_docstring_stmt(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _problem_context(problem: Problem, defined: set[str]) -> list[str]:
    """The problem's top-level statements besides the target: imports, helpers, constants."""
    module = ast.parse(problem.text)
    target = _target_function(module)
    kept = []
    for stmt in module.body:
        if stmt is target:
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and stmt.name in defined:
            continue
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            continue  # a module docstring
        kept.append(ast.get_source_segment(problem.text, stmt, padded=True) or ast.unparse(stmt))
    return kept


def _as_body(problem: Problem, code: str) -> str:
    if code[:1] in (" ", "\t"):
        return code.rstrip()
    target = _target_function(ast.parse(problem.text))
    column = target.body[0].col_offset if target is not None and target.body else 4
    return textwrap.indent(code.rstrip(), " " * column)


def _join(parts: list[str]) -> str:
    """The parts as one program, their `from __future__` imports once and first (Python accepts
    them nowhere else: a problem and the code written for it may both have one)."""
    futures: list[str] = []
    kept: list[str] = []
    for part in parts:
        lines = []
        for line in part.strip("\n").splitlines():
            if _FUTURE_IMPORT.match(line):
                futures += [line.strip()] if line.strip() not in futures else []
            else:
                lines.append(line)
        text = "\n".join(lines).strip("\n")
        if text.strip():
            kept.append(text)
    return "\n\n".join(["\n".join(futures)] * bool(futures) + kept) + "\n"


_FUTURE_IMPORT = re.compile(r"^from\s+__future__\s+import\s+[\w\s,]+$")
