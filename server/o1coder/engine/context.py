"""The module around a stub, for the prompt: what the target needs first, the rest as room allows.

Users leave stubs inside real modules. The prompt gets the module's imports, then the
top-level definitions the target uses (the names its body, signature and docstring mention,
and what those use in turn: helpers, constants, classes), then the module's other
definitions in file order while the character budget lasts, and the target last. A
definition that does not fit whole is shown by its signature and docstring. Everything comes
in file order and the target comes last, so the prompt is one stable prefix (the KV cache
reuse of the search holds) and reads like the file.

The program the sandbox runs is not this text: it is the real module with only the target
replaced (see `problem.assemble_program`).
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass

DEFAULT_MAX_CHARS = 6000  # about 1,500 tokens of context besides the target
MAX_DEPTH = 3  # how far "what the target uses" is followed through helpers


class ContextError(ValueError):
    """The module or the target cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Context:
    text: str  # the prompt's problem text: context, then the target stub
    included: tuple[str, ...]  # definitions shown whole, in file order
    summarized: tuple[str, ...]  # definitions shown by signature and docstring
    left_out: tuple[str, ...]  # definitions the budget left out


def top_level_names(stmt: ast.stmt) -> set[str]:
    """The names a top-level statement binds."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def used_names(node: ast.AST) -> set[str]:
    """Names a definition mentions: in its code, and as words of its docstrings."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    names |= {n.value.id for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            doc = ast.get_docstring(sub) or ""
            names |= set(re.findall(r"[A-Za-z_]\w*", doc))
    return names


def find_function(module: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    found = [s for s in module.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name]
    if not found:
        defined = sorted(s.name for s in module.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef))
        hint = f"; its functions: {', '.join(defined[:12])}" if defined else ""
        raise ContextError(f"the module has no top-level function {name!r}{hint}")
    return found[-1]


def find_method(module: ast.Module, qualname: str) -> tuple[ast.ClassDef, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The class and the method named `Class.method` (a top-level class's own method)."""
    class_name, _, method = qualname.partition(".")
    classes = [s for s in module.body if isinstance(s, ast.ClassDef) and s.name == class_name]
    if not classes or "." in method:
        known = sorted(s.name for s in module.body if isinstance(s, ast.ClassDef))
        hint = f"; its classes: {', '.join(known[:12])}" if known else ""
        raise ContextError(f"the module has no top-level class {class_name!r} with a method {method!r}{hint}")
    cls = classes[-1]
    methods = [s for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == method]
    if not methods:
        known = sorted(s.name for s in cls.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef))
        raise ContextError(f"class {class_name} has no method {method!r}; its methods: {', '.join(known[:12]) or 'none'}")
    return cls, methods[-1]


def build(source: str, function: str, max_chars: int = DEFAULT_MAX_CHARS) -> Context:
    """The prompt text for `function` (or `Class.method`) in the module `source`, within about
    `max_chars` of context. A method comes inside its class (its other methods as room allows,
    `__init__` and the methods it calls first), the class last."""
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise ContextError(f"the module does not parse (line {exc.lineno}: {exc.msg}): fix it first") from None
    if "." in function:
        cls, method = find_method(module, function)
        target: ast.stmt = cls
        uses = used_names(method) | {n.id for base in cls.bases for n in ast.walk(base) if isinstance(n, ast.Name)}
    else:
        target = find_function(module, function)
        uses = used_names(target)
        method = None
    statements = [s for s in module.body if s is not target and not _is_docstring(s)]
    imports = [s for s in statements if isinstance(s, ast.Import | ast.ImportFrom)]
    definitions = [s for s in statements if top_level_names(s) and s not in imports]
    binders: dict[str, list[ast.stmt]] = {}
    for stmt in definitions:
        for name in top_level_names(stmt):
            binders.setdefault(name, []).append(stmt)

    # what the target needs, nearest first (breadth first through the helpers)
    needed: list[ast.stmt] = []
    frontier = uses
    for _ in range(MAX_DEPTH):
        found = [s for name in sorted(frontier) for s in binders.get(name, []) if s not in needed]
        if not found:
            break
        needed += list(dict.fromkeys(found))
        frontier = set().union(*(used_names(s) for s in found))

    text_of = {id(s): _segment(source, s) for s in statements}
    room = max_chars - sum(len(text_of[id(s)]) + 1 for s in imports)
    if method is not None:
        target_text, room = _class_view(source, target, method, room)
    else:
        target_text = _target_segment(source, target)
    whole: set[int] = set()
    short: dict[int, str] = {}
    # 1. everything the target uses, at least by signature and docstring (constants whole)
    for stmt in needed:
        shown = _summary(stmt) or text_of[id(stmt)]
        if len(shown) + 2 <= room:
            room -= len(shown) + 2
            if shown == text_of[id(stmt)]:
                whole.add(id(stmt))
            else:
                short[id(stmt)] = shown
    # 2. what fits of it whole, nearest first
    for stmt in needed:
        if id(stmt) in short:
            extra = len(text_of[id(stmt)]) - len(short[id(stmt)])
            if extra <= room:
                room -= extra
                whole.add(id(stmt))
                del short[id(stmt)]
    # 3. the rest of the module, in file order, while it fits
    for stmt in definitions:
        if stmt not in needed and len(text_of[id(stmt)]) + 2 <= room:
            room -= len(text_of[id(stmt)]) + 2
            whole.add(id(stmt))
    parts: list[str] = []
    if imports:
        parts.append("\n".join(text_of[id(s)] for s in imports))
    for stmt in definitions:
        if id(stmt) in whole:
            parts.append(text_of[id(stmt)])
        elif id(stmt) in short:
            parts.append(short[id(stmt)])
    parts.append(target_text)
    name_of = {id(s): ", ".join(sorted(top_level_names(s))) for s in definitions}
    return Context(
        text="\n\n\n".join(p.strip("\n") for p in parts) + "\n",
        included=tuple(name_of[id(s)] for s in definitions if id(s) in whole),
        summarized=tuple(name_of[id(s)] for s in definitions if id(s) in short),
        left_out=tuple(name_of[id(s)] for s in definitions if id(s) not in whole and id(s) not in short),
    )


def _class_view(source: str, cls: ast.ClassDef, method: ast.stmt, room: int) -> tuple[str, int]:
    """The class with the target method last: its header, docstring and class attributes, then
    `__init__` and the methods the target calls, then the others, whole or by signature as
    `room` allows. Returns the text and the room left."""
    lines = source.splitlines()
    first_body = cls.body[0]
    header_end = first_body.end_lineno if _is_docstring(first_body) else first_body.lineno - 1
    header = "\n".join(lines[_first_line(cls) - 1 : header_end])
    members = [s for s in cls.body if s is not method and not (s is first_body and _is_docstring(s))]
    called = {n.attr for n in ast.walk(method) if isinstance(n, ast.Attribute)}

    def priority(stmt: ast.stmt) -> int:
        name = getattr(stmt, "name", "")
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            return 0  # class attributes
        return 1 if name == "__init__" else 2 if name in called else 3

    shown: dict[int, str] = {}
    for stmt in sorted(members, key=priority):
        full = _segment(source, stmt)
        if len(full) + 2 <= room:
            shown[id(stmt)] = full
            room -= len(full) + 2
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            indent = " " * stmt.col_offset
            summary = "\n".join(indent + line for line in ast.unparse(_stub(stmt)).splitlines())
            if len(summary) + 2 <= room:
                shown[id(stmt)] = summary
                room -= len(summary) + 2
    body = [shown[id(s)] for s in members if id(s) in shown] + [_target_segment(source, method)]
    return header + "\n\n" + "\n\n".join(body), room


def _first_line(stmt: ast.stmt) -> int:
    return min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])


def _segment(source: str, stmt: ast.stmt) -> str:
    """The statement's source, decorators included."""
    lines = source.splitlines()
    first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
    end = stmt.end_lineno or stmt.lineno
    return "\n".join(lines[first - 1 : end])


def is_stub_statement(node: ast.stmt) -> bool:
    """`pass`, `...` or `raise NotImplementedError`: a body's placeholder, not its code."""
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
        return True
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _target_segment(source: str, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The target as the prompt shows it: a documented stub without its placeholder lines (its
    comments, a plan for instance, kept), so it ends like HumanEval's prompts; shown `pass`, a
    small model answers `pass`."""
    text = _segment(source, fn)
    body = fn.body[1:] if _is_docstring(fn.body[0]) else []
    if not body or not all(is_stub_statement(s) for s in body) or body[0].lineno == fn.body[0].end_lineno:
        return text
    first = _first_line(fn)
    drop = {n for s in body for n in range(s.lineno, (s.end_lineno or s.lineno) + 1)}
    lines = text.splitlines()
    return "\n".join(line for n, line in enumerate(lines, start=first) if n not in drop).rstrip()


def _summary(stmt: ast.stmt) -> str:
    """A definition by its signature and docstring (a class: its methods' too); "" for others."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return ast.unparse(_stub(stmt))
    if isinstance(stmt, ast.ClassDef):
        bare = copy.copy(stmt)
        bare.body = [_doc_node(stmt)] if ast.get_docstring(stmt) else []
        bare.body += [_stub(s) for s in stmt.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
        bare.body = bare.body or [ast.Expr(ast.Constant(...))]
        return ast.unparse(bare)
    return ""


def _stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.FunctionDef | ast.AsyncFunctionDef:
    bare = copy.copy(fn)
    bare.body = ([_doc_node(fn)] if ast.get_docstring(fn) else []) + [ast.Expr(ast.Constant(...))]
    return bare


def _doc_node(node: ast.AST) -> ast.Expr:
    return ast.Expr(ast.Constant(ast.get_docstring(node, clean=False)))


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
