"""Training problems mined offline from documented functions of installed packages.

A top-level function whose docstring carries `>>>` examples becomes a problem: its signature
with its docstring is the statement (HumanEval style), its source is the reference solution,
and each example that calls it with an expected literal value becomes an `assert` test.
Functions that need module globals other than imported modules and literal constants are
skipped (their source would not run alone). `data build` then keeps only problems whose
reference passes its tests in the sandbox.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import importlib
import inspect
import pkgutil
import textwrap
import types
import warnings
from collections.abc import Iterator

from o1coder.engine.problem import calls_function
from o1coder_train.data.loaders import docstring_function, signature_of
from o1coder_train.data.records import ProblemRecord

MAX_SOURCE_CHARS = 4000
MAX_SUBMODULES = 200
# Never import these while mining: side effects (GUIs, browsers, this/antigravity) or slow imports.
SKIP_MODULES = (
    "antigravity",
    "this",
    "tkinter",
    "idlelib",
    "turtle",
    "turtledemo",
    "test",
    "lib2to3",
    "pydoc",
)


def iter_modules(names: list[str]) -> Iterator[types.ModuleType]:
    """The named modules and, for packages, their submodules (import errors skipped)."""
    seen: set[str] = set()
    for name in names:
        for modname in _with_submodules(name):
            parts = modname.split(".")
            if modname in seen or parts[0] in SKIP_MODULES or "tests" in parts or "testing" in parts:
                continue
            if parts[-1] in ("__main__", "setup", "conftest") or parts[-1].startswith("test_"):
                continue
            seen.add(modname)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    module = importlib.import_module(modname)
            except KeyboardInterrupt:
                raise
            except BaseException:  # any import failure (even SystemExit) means the module is skipped
                continue
            yield module


def _with_submodules(name: str) -> list[str]:
    out = [name]
    try:
        module = importlib.import_module(name)
    except Exception:
        return out
    path = getattr(module, "__path__", None)
    if path:
        for count, info in enumerate(pkgutil.walk_packages(path, prefix=name + ".", onerror=lambda _n: None)):
            if count >= MAX_SUBMODULES:
                break
            out.append(info.name)
    return out


def _free_names(fn: ast.FunctionDef) -> set[str]:
    loaded, bound = set(), set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not fn:
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return {n for n in loaded - bound if not hasattr(builtins, n) and n != fn.name}


def _preamble(names: set[str], module: types.ModuleType) -> list[str] | None:
    """Lines that define `names` as the module does (imports, literal constants), or None."""
    lines = []
    for name in sorted(names):
        if not hasattr(module, name):
            return None
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            real = value.__name__
            lines.append(f"import {real}" if real == name else f"import {real} as {name}")
        elif isinstance(value, int | float | str | bytes | bool | tuple | frozenset) and value is not None:
            text = repr(value)
            try:
                if ast.literal_eval(text) != value or len(text) > 200:
                    return None
            except (ValueError, SyntaxError):
                return None
            lines.append(f"{name} = {text}")
        elif (source := _importable(value)) is not None:
            module_name, qualname = source
            lines.append(
                f"from {module_name} import {qualname}" + (f" as {name}" if qualname != name else "")
            )
        else:
            return None
    return lines


def _importable(value: object) -> tuple[str, str] | None:
    """(module, name) such that `from module import name` gives `value` back, or None."""
    module_name = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or not qualname.isidentifier():
        return None
    try:
        found = getattr(importlib.import_module(module_name), qualname, None)
    except Exception:
        return None
    return (module_name, qualname) if found is value else None


def example_tests(docstring: str, entry_point: str, limit: int) -> list[str]:
    """`assert` lines from the docstring's doctest examples that call `entry_point`."""
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        return []
    tests: list[str] = []
    for ex in examples:
        want = ex.want.strip()
        source = ex.source.strip()
        if not want or "\n" in source or ex.options:
            continue
        try:
            expr = ast.parse(source, mode="eval").body
            expected = ast.literal_eval(want)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            continue
        if not calls_function(expr, entry_point):
            continue
        if isinstance(expected, float):
            test = f"assert abs({source} - ({want})) < 1e-6"
        else:
            test = f"assert {source} == {want}"
        try:
            ast.parse(test)
        except SyntaxError:
            continue
        if test not in tests:
            tests.append(test)
        if len(tests) >= limit:
            break
    return tests


def function_problem(
    fn: types.FunctionType, module: types.ModuleType, max_tests: int
) -> ProblemRecord | None:
    """The problem for one documented function, or None when it cannot stand alone."""
    doc = inspect.getdoc(fn) or ""
    if ">>>" not in doc:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    if len(source) > MAX_SOURCE_CHARS:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or node.name != fn.__name__ or node.decorator_list:
        return None
    preamble = _preamble(_free_names(node), module)
    if preamble is None:
        return None
    tests = example_tests(doc, fn.__name__, max_tests)
    if not tests:
        return None
    signature = signature_of(source, fn.__name__)
    if signature is None:
        return None
    head = "\n".join(preamble)
    prompt = docstring_function(signature, doc)
    return ProblemRecord(
        id=f"doctest/{module.__name__}.{fn.__name__}",
        source="doctest",
        text=(head + "\n\n\n" if head else "") + prompt,
        solutions=[(head + "\n\n\n" if head else "") + source],
        tests=tests,
        entry_point=fn.__name__,
        meta={"module": module.__name__},
    )


def mine_doctests(module_names: list[str], max_problems: int, max_tests: int = 8) -> list[ProblemRecord]:
    records: list[ProblemRecord] = []
    seen: set[str] = set()
    for module in iter_modules(module_names):
        for name, obj in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            record = function_problem(obj, module, max_tests)
            if record is None or record.id in seen:
                continue
            seen.add(record.id)
            records.append(record)
            if max_problems and len(records) >= max_problems:
                return records
    return records
