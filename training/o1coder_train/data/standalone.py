"""A function taken out of its module, made to stand alone: the imports and definitions it needs.

A mined problem is a HumanEval-style prompt, so its reference must run with nothing around it
but its own preamble. The function's free names are resolved against its module's top level:

- a name the module imports becomes that import (relative imports made absolute); an import
  of anything outside the standard library makes the function not standalone, since the
  sandbox every training stage runs tests in sees the standard library only;
- a name the module defines by a plain statement (`def`, `class`, `X = ...`) brings that
  statement along, source as written, and in turn the names it needs (up to a size limit);
- when something cannot be copied (a name bound inside `try` / `if` or by `import *`, a
  value the module changes after defining it, more than the size limit), a function of the
  standard library imports every name of its module it reads from the module itself (so
  classes and helpers stay the objects the module's other code uses); any other function is
  rejected.

The preamble lists imports first, then the module's statements in their original order.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from o1coder_train.data.modules import is_stdlib

MAX_CONTEXT_CHARS = 3000  # the module statements one function may bring along
MAX_CONTEXT_STATEMENTS = 12


class NotStandalone(ValueError):
    """The function cannot run without more of its module (the message says why, briefly)."""


class _NeedsModule(NotStandalone):
    """Copying what the function needs out of its module does not work; importing it might."""


@dataclass(frozen=True)
class Standalone:
    preamble: str  # import lines, then the module statements the function needs ("" when none)
    function: str  # the function's own source, with its decorators

    def program(self) -> str:
        return (self.preamble + "\n\n\n" if self.preamble else "") + self.function


@dataclass
class _Binding:
    statements: list[ast.stmt] = field(default_factory=list)  # plain top-level statements binding it
    compound: bool = False  # also bound inside try / if / with / for, or changed after it is bound


class ModuleScope:
    """One module's top level, indexed by the names it binds."""

    def __init__(self, source: str, name: str, is_package: bool = False, stdlib: bool = False):
        self.lines = source.splitlines()
        self.name = name
        self.is_package = is_package
        self.tree = ast.parse(source)
        self.stdlib = stdlib  # a standard-library module: the sandbox can import its names
        self.future_annotations = any(
            isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations" for a in s.names)
            for s in self.tree.body
        )
        self.bindings: dict[str, _Binding] = {}
        for stmt in self.tree.body:
            self._index(stmt, compound=False)
        for stmt in self.tree.body:  # a value changed after its definition cannot be copied alone
            for name in touched_names(stmt):
                binding = self.bindings.get(name)
                if binding is None or any(isinstance(b, ast.Import | ast.ImportFrom) for b in binding.statements):
                    continue
                for definition in binding.statements:  # `a = b = {}`: changing a changes b
                    for alias in bound_names(definition):
                        self.bindings[alias].compound = True
                binding.compound = True

    def _index(self, stmt: ast.stmt, compound: bool) -> None:
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            return  # what it binds is unknown here: such names are looked up in the module itself
        plain = isinstance(
            stmt, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign
        )
        if plain:
            for name in bound_names(stmt):
                binding = self.bindings.setdefault(name, _Binding())
                if compound:
                    binding.compound = True
                else:
                    binding.statements.append(stmt)
            return
        if isinstance(stmt, ast.AugAssign):
            for name in bound_names(stmt):
                self.bindings.setdefault(name, _Binding()).compound = True
            return
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                self._index(child, compound=True)
            elif isinstance(child, ast.ExceptHandler):
                for inner in child.body:
                    self._index(inner, compound=True)

    def function(self, name: str) -> ast.FunctionDef | None:
        found = [s for s in self.tree.body if isinstance(s, ast.FunctionDef) and s.name == name]
        return found[-1] if found else None

    def standalone(self, fn: ast.FunctionDef) -> Standalone:
        """`fn` with the preamble it needs; NotStandalone when that cannot be had."""
        self._inner_imports(fn)
        try:
            imports, statements = self._inlined(fn)
        except _NeedsModule as exc:
            if not self.stdlib:
                raise NotStandalone(str(exc)) from None
            imports, statements = self._imported(fn), []
        head = ["from __future__ import annotations"] if self.future_annotations else []
        head += sorted(set(imports), key=lambda line: (not line.startswith("import "), line))
        preamble = "\n".join(head)
        if statements:
            body = "\n\n\n".join(self.segment(s) for s in sorted(statements, key=lambda s: s.lineno))
            preamble = (preamble + "\n\n\n" if preamble else "") + body
        return Standalone(preamble, self.segment(fn))

    def _inlined(self, fn: ast.FunctionDef) -> tuple[list[str], list[ast.stmt]]:
        """Imports, and the module's own statements `fn` needs, copied (_NeedsModule if one cannot be)."""
        imports: list[str] = []
        statements: dict[int, ast.stmt] = {}
        pending = sorted(self.free_names(fn) - {fn.name})
        done: set[str] = {fn.name}
        chars = 0
        while pending:
            name = pending.pop(0)
            if name in done:
                continue
            done.add(name)
            binding = self.bindings.get(name)
            if binding is None and (hasattr(builtins, name) or (name.startswith("__") and name.endswith("__"))):
                continue
            if binding is None:
                raise _NeedsModule("uses a name bound outside its module's plain statements")
            if binding.compound:
                raise _NeedsModule("uses a name its module binds conditionally or changes later")
            stmt = binding.statements[-1]  # redefined: the last definition is the one in force
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                imports.append(self._import_line(stmt, name))
            elif stmt.lineno not in statements:
                self._inner_imports(stmt)
                chars += len(self.segment(stmt))
                if chars > MAX_CONTEXT_CHARS or len(statements) >= MAX_CONTEXT_STATEMENTS:
                    raise _NeedsModule("needs too much of its module")
                statements[stmt.lineno] = stmt
                pending += sorted(self.free_names(stmt) - done)
        return imports, list(statements.values())

    def _imported(self, fn: ast.FunctionDef) -> list[str]:
        """Imports of everything `fn` reads: its module's own names from the module itself (so
        classes and helpers stay the module's own objects, which its other code also uses)."""
        imports = []
        for name in sorted(self.free_names(fn) - {fn.name}):
            binding = self.bindings.get(name)
            if binding is None and (hasattr(builtins, name) or (name.startswith("__") and name.endswith("__"))):
                continue
            stmt = binding.statements[-1] if binding is not None and binding.statements else None
            if isinstance(stmt, ast.Import | ast.ImportFrom) and not binding.compound:  # type: ignore[union-attr]
                imports.append(self._import_line(stmt, name))
            else:
                imports.append(f"from {self.name} import {name}")
        return imports

    def import_of(self, name: str) -> str | None:
        """An import line giving a test `name` as the module has it (doctest runs examples in
        the module's namespace): its own import of a standard-library module, or for a
        standard-library module the name from the module itself; None when neither works."""
        binding = self.bindings.get(name)
        stmt = binding.statements[-1] if binding is not None and binding.statements else None
        if isinstance(stmt, ast.Import | ast.ImportFrom) and not binding.compound:  # type: ignore[union-attr]
            try:
                return self._import_line(stmt, name)
            except NotStandalone:
                return None
        return f"from {self.name} import {name}" if self.stdlib and binding is not None else None

    def segment(self, stmt: ast.stmt) -> str:
        first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
        return "\n".join(self.lines[first - 1 : stmt.end_lineno]).rstrip() + "\n"

    def free_names(self, node: ast.AST) -> set[str]:
        """Names `node` reads that it does not bind itself (scopes flattened: an approximation)."""
        loaded: set[str] = set()
        bound: set[str] = set()
        skip: set[int] = set()
        if self.future_annotations:
            for n in ast.walk(node):
                for ann in _annotations(n):
                    skip |= {id(x) for x in ast.walk(ann)}
        for n in ast.walk(node):
            if id(n) in skip:
                continue
            if isinstance(n, ast.Name):
                (loaded if isinstance(n.ctx, ast.Load) else bound).add(n.id)
            elif isinstance(n, ast.arg):
                bound.add(n.arg)
            elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n is not node:
                bound.add(n.name)
            elif isinstance(n, ast.alias):
                bound.add((n.asname or n.name).split(".")[0])
            elif isinstance(n, ast.ExceptHandler) and n.name:
                bound.add(n.name)
            elif isinstance(n, ast.Global | ast.Nonlocal):
                loaded |= set(n.names)
        return loaded - bound

    def _import_line(self, stmt: ast.Import | ast.ImportFrom, name: str) -> str:
        if isinstance(stmt, ast.Import):
            alias = next(a for a in stmt.names if (a.asname or a.name).split(".")[0] == name)
            self._require_stdlib(alias.name)
            return f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        module = self._absolute(stmt)
        self._require_stdlib(module)
        alias = next(a for a in stmt.names if (a.asname or a.name) == name)
        return f"from {module} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")

    def _inner_imports(self, node: ast.stmt) -> None:
        """NotStandalone when code inside `node` imports something outside the standard library."""
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                for alias in inner.names:
                    self._require_stdlib(alias.name)
            elif isinstance(inner, ast.ImportFrom) and inner.module != "__future__":
                self._require_stdlib(self._absolute(inner))

    def _absolute(self, stmt: ast.ImportFrom) -> str:
        if not stmt.level:
            return stmt.module or ""
        parts = self.name.split(".")
        base = parts if self.is_package else parts[:-1]
        if stmt.level - 1 > len(base) - 1:
            raise NotStandalone("has a relative import above its package")
        base = base[: len(base) - (stmt.level - 1)]
        return ".".join([*base, stmt.module] if stmt.module else base)

    @staticmethod
    def _require_stdlib(module: str) -> None:
        if not is_stdlib(module):
            raise NotStandalone(f"imports {module.partition('.')[0]} (the sandbox sees the standard library only)")


def bound_names(stmt: ast.stmt) -> set[str]:
    """The names a top-level statement binds (`X = ...`, `a, b = ...`; not `X.y = ...`)."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AugAssign) or (isinstance(stmt, ast.AnnAssign) and stmt.value is not None):
        targets = [stmt.target]
    return {name for t in targets for name in _target_names(t)}


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return {name for t in target.elts for name in _target_names(t)}
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()


def touched_names(stmt: ast.stmt) -> set[str]:
    """Names whose values a top-level statement may change without binding them: `X[k] = v`,
    `X.a = v`, `X += v`, `del X[k]`, calls (`X.update(...)`), anything in `if` / `for` / `try`."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
        return set()
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {
            n.id for t in targets if not _target_names(t) for n in ast.walk(t) if isinstance(n, ast.Name)
        }
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}


def _annotations(node: ast.AST) -> list[ast.expr]:
    out: list[ast.expr] = []
    if isinstance(node, ast.arg) and node.annotation is not None:
        out.append(node.annotation)
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
        out.append(node.returns)
    elif isinstance(node, ast.AnnAssign):
        out.append(node.annotation)
    return out
