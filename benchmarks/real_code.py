"""Real code in real files: stubs blanked inside installed pure-Python modules, filled by the engine.

Not a test: it asserts nothing, the README quotes its numbers. No network.

    python benchmarks/real_code.py --list                       # the tasks, and which use module helpers
    nohup python benchmarks/real_code.py --strategies greedy,mcts --budget-tokens 1500 &

Tasks: every top-level function and every method of a top-level class in the modules below
whose docstring carries `>>>` examples that become asserts, and whose own code passes them in
the sandbox with its module around it. Each is blanked in a copy of its module (the body after
the docstring becomes `pass`), and the engine fills it in through the path the editor uses
(`Problem.from_module`: the module around it in the prompt, the module with the target replaced
in the sandbox). The module's examples decide. The same tasks also run through the path used
before modules were read (the function alone with the module's imports; methods unsupported),
to count how many candidates then failed for want of context (NameError / ImportError).

Per-task records go to benchmarks/results/real-code/<strategy>-<context>.jsonl (resumable), the
summary to benchmarks/results/real-code/summary.json.
"""

from __future__ import annotations

import argparse
import ast
import doctest
import functools
import importlib.util
import json
import re
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from o1coder.config import Settings
from o1coder.engine.context import find_function, used_names
from o1coder.engine.engine import Engine
from o1coder.engine.problem import Problem, ProblemError, assemble_program, docstring_examples
from o1coder.sandbox import TestCase, Workspace, run_tests

HERE = Path(__file__).resolve().parent
SKIPPED = (
    "antigravity", "this", "tkinter", "idlelib", "turtle", "turtledemo", "test", "lib2to3", "pydoc",
    "pydoc_data", "ensurepip", "venv", "distutils", "msilib", "webbrowser", "_pydecimal", "_pyio",
)  # fmt: skip


PACKAGES = ("networkx", "dateutil", "pyparsing", "packaging", "mpmath", "more_itertools", "markdown_it")
MAX_PER_MODULE = 10  # tasks kept from one module, for variety


def site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


def package_modules(package: str) -> tuple[str, ...]:
    """An installed package's modules written in Python, tests left out."""
    root = site_packages() / package
    if not root.is_dir():
        return ()
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(site_packages()).with_suffix("").parts
        if any(p in ("tests", "test", "testing") or p.startswith("test_") for p in parts):
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return tuple(names)


def stdlib_modules() -> tuple[str, ...]:
    """The standard library's modules written in Python (and their submodules one level down)."""
    names = []
    for name in sorted(getattr(sys, "stdlib_module_names", ())):
        if name.startswith("_") or name in SKIPPED:
            continue
        names.append(name)
        spec = importlib.util.find_spec(name) if importlib.util.find_spec(name.partition(".")[0]) else None
        for sub in sorted(spec.submodule_search_locations or []) if spec else []:
            names += [f"{name}.{p.stem}" for p in sorted(Path(sub).glob("*.py")) if not p.stem.startswith("_")]
    return tuple(names)


MAX_EXAMPLES = 8


@dataclass(frozen=True)
class Task:
    task_id: str  # module:qualname
    module: str  # dotted module name
    qualname: str  # function or Class.method
    source: str  # the module with the target blanked
    reference: str  # the module as installed
    tests: tuple[tuple[str, str], ...]  # (name, test source): examples as asserts, the session as a def
    uses_module_names: bool  # the target's code uses top-level names of its module
    installed: bool = False  # from site-packages: run with site-packages as the workspace

    @property
    def is_method(self) -> bool:
        return "." in self.qualname


def module_source(name: str) -> str | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin).read_text(encoding="utf-8")


def blanked(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """`source` with `node`'s body after its docstring replaced by `pass`."""
    lines = source.splitlines()
    first = node.body[0]
    keep_until = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else node.lineno
    indent = " " * node.body[0].col_offset
    return "\n".join([*lines[:keep_until], indent + "pass", *lines[node.end_lineno :]]) + "\n"


def mine(names: tuple[str, ...] | None = None) -> list[Task]:
    if names is None:
        names = stdlib_modules() + tuple(m for p in PACKAGES for m in package_modules(p))
    tasks: list[Task] = []
    for name in names:
        found_here = 0
        try:
            source = module_source(name)
        except (ImportError, ValueError, OSError, UnicodeDecodeError):
            continue
        if source is None:
            continue
        try:
            module = ast.parse(source)
        except SyntaxError:
            continue
        defined = {n for stmt in module.body for n in _binds(stmt)}
        targets: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]] = []
        for stmt in module.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and not stmt.name.startswith("_"):
                targets.append((stmt.name, stmt, False))
            elif isinstance(stmt, ast.ClassDef) and not stmt.name.startswith("_"):
                for inner in stmt.body:
                    if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef) and not inner.name.startswith("__"):
                        targets.append((f"{stmt.name}.{inner.name}", inner, True))
        for qualname, node, is_method in targets:
            doc = ast.get_docstring(node) or ""
            if ">>>" not in doc:
                continue
            examples = docstring_examples(doc, node.name, defined, method=is_method)[:MAX_EXAMPLES]
            session = doctest_session(doc, node.name, is_method)
            if session is not None:
                examples.append(TestCase("doctest_session", session))
            if not examples:
                continue
            uses = bool((used_names(node) - {node.name}) & (defined - _imported(module)))
            if found_here >= MAX_PER_MODULE:
                break
            found_here += 1
            tasks.append(
                Task(
                    task_id=f"{name}:{qualname}",
                    module=name,
                    qualname=qualname,
                    source=blanked(source, node),
                    reference=source,
                    tests=tuple((t.name, t.source) for t in examples),
                    uses_module_names=uses,
                    installed=name.partition(".")[0] in PACKAGES,
                )
            )
    return tasks


def doctest_session(doc: str, name: str, method: bool) -> str | None:
    """A docstring's examples as one test function: statements run in order, each example with an
    expected value an assert. None unless some assert calls the target."""
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        return None
    body, checks = [], 0
    for example in examples:
        source, want = example.source.strip(), example.want.strip()
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None
        if not want:
            body.append(source)
            continue
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            return None
        try:
            ast.parse(want, mode="eval")
        except SyntaxError:
            continue  # printed output, an object repr: not checkable as a value
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        if any((isinstance(c.func, ast.Attribute) and c.func.attr == name) if method else
               (isinstance(c.func, ast.Name) and c.func.id == name) for c in calls):
            checks += 1
        body.append(f"assert ({source}) == ({want})")
    if not checks:
        return None
    return "def test_doctest_session():\n" + textwrap.indent("\n".join(body), "    ") + "\n"


def _binds(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.Assign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _imported(module: ast.Module) -> set[str]:
    return {n for s in module.body if isinstance(s, ast.Import | ast.ImportFrom) for n in _binds(s)}


def workspace_of(task: Task) -> Workspace | None:
    """Site-packages, read-only, for a task from an installed package (its imports resolve there)."""
    if not task.installed:
        return None
    root = site_packages()
    is_package = (root / Path(*task.module.split(".")) / "__init__.py").exists()
    return Workspace(root=root, import_paths=(root,), hidden=(), module_name=task.module, is_package=is_package)


def judge(program: str, task: Task) -> tuple[bool, str]:
    tests = [TestCase(n, s) for n, s in task.tests]
    report = run_tests(program, tests, workspace=workspace_of(task))
    if report.passed == report.total:
        return True, ""
    why = report.error or next((o.message for o in report.outcomes if not o.passed), "")
    return False, why[:300]


def valid(task: Task) -> bool:
    """The module's own code passes the examples (with the module around it)."""
    return judge(task.reference, task)[0]


def old_problem(task: Task) -> Problem | None:
    """The path used before modules were read: the module's imports and the function alone."""
    if task.is_method:
        return None
    module = ast.parse(task.source)
    imports = [ast.get_source_segment(task.source, s) for s in module.body if isinstance(s, ast.Import | ast.ImportFrom)]
    node = find_function(module, task.qualname)
    function = "\n".join(task.source.splitlines()[node.lineno - 1 : node.end_lineno])
    text = "\n".join(i for i in imports if i and "__future__" not in i) + "\n\n" + function
    return Problem.from_source(text)


def run(args: argparse.Namespace) -> int:
    tasks = [t for t in mine() if valid(t)]
    methods = sum(t.is_method for t in tasks)
    helpers = sum(t.uses_module_names for t in tasks)
    if args.list:
        for t in tasks:
            print(f"{t.task_id:<48} {'method' if t.is_method else 'function':<8} "
                  f"{'uses module names' if t.uses_module_names else ''}")
        print(f"{len(tasks)} tasks, {methods} methods, {helpers} use module-level names")
        return 0
    tasks = tasks[: args.limit] if args.limit else tasks
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_dict({"search": {"budgetTokens": args.budget_tokens}})
    engine = Engine(settings)
    summary: dict = {"tasks": len(tasks), "methods": methods, "use_module_names": helpers,
                     "budget_tokens": args.budget_tokens, "command": "python benchmarks/real_code.py " + " ".join(sys.argv[1:])}
    for strategy in args.strategies.split(","):
        for context in args.contexts.split(","):
            path = out_dir / f"{strategy}-{context}.jsonl"
            done = {json.loads(line)["task_id"] for line in path.read_text().splitlines()} if path.exists() else set()
            for task in tasks:
                if task.task_id in done:
                    continue
                record = solve_one(engine, task, strategy, context)
                with path.open("a") as fh:
                    fh.write(json.dumps(record) + "\n")
                print(f"[{strategy}/{context}] {'PASS' if record['passed'] else 'fail'} {task.task_id} "
                      f"{record['tokens']} tok {record['seconds']:.1f}s {record['why'][:80]}", file=sys.stderr)
            records = [json.loads(line) for line in path.read_text().splitlines()]
            records = [r for r in records if r["task_id"] in {t.task_id for t in tasks}]
            summary[f"{strategy}-{context}"] = summarize(records)
            (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


def solve_one(engine: Engine, task: Task, strategy: str, context: str) -> dict:
    started = time.monotonic()
    record = {"task_id": task.task_id, "method": task.is_method, "uses_module_names": task.uses_module_names,
              "strategy": strategy, "context": context, "passed": False, "why": "", "tokens": 0, "seconds": 0.0}
    # stdlib modules: their own imports resolve in the sandbox without a workspace
    try:
        problem = Problem.from_module(task.source, task.qualname) if context == "module" else old_problem(task)
    except ProblemError as exc:
        problem, record["why"] = None, str(exc)
    if problem is None:
        record["why"] = record["why"] or "not supported"
        return record
    result = engine.solve(problem, strategy=strategy, workspace=workspace_of(task) if context == "module" else None)
    program = assemble_program(problem, result.code) if context == "module" else _into_module(task, result.code)
    passed, why = judge(program, task)
    record.update(
        passed=passed,
        why=why,
        tokens=result.stats.tokens_generated,
        seconds=round(time.monotonic() - started, 2),
        ended_by=result.stats.ended_by,
        missing_context_in_search=_missing_context(result, task),
        final_missing_context=bool(_missing_names(why, task)),
    )
    return record


def _into_module(task: Task, code: str) -> str:
    """The old path's answer put back into the real module (so the module's examples can judge it)."""
    module_problem = Problem.from_module(task.source, task.qualname)
    return assemble_program(module_problem, code)


def _missing_context(result, task: Task) -> bool:
    """The search's own verification of its answer failed for want of a name its module defines or
    imports, or of a module (a NameError on a name the module lacks is the model's own mistake)."""
    report = result.test_results
    if report is None:
        return False
    texts = [report.error, *(o.message for o in report.outcomes)]
    return any(_missing_names(t or "", task) for t in texts)


@functools.lru_cache(maxsize=16)
def _top_level_names(source: str) -> frozenset[str]:
    """The names a module binds at its top level (parsed once per module, not per error)."""
    return frozenset(n for stmt in ast.parse(source).body for n in _binds(stmt))


def _missing_names(text: str, task: Task) -> set[str]:
    """The module-level names of the real module (or modules) that `text`'s error says are missing."""
    names = set(re.findall(r"NameError: name '(\w+)' is not defined", text))
    missing = names & _top_level_names(task.reference) if names else set()
    missing |= set(re.findall(r"(?:ImportError|ModuleNotFoundError): .*?'([\w.]+)'", text))
    return missing


def summarize(records: list[dict]) -> dict:
    n = len(records)
    if not n:
        return {"tasks": 0}
    return {
        "tasks": n,
        "pass@1": sum(r["passed"] for r in records) / n,
        "passed": sum(r["passed"] for r in records),
        "methods_passed": sum(r["passed"] for r in records if r["method"]),
        "methods": sum(r["method"] for r in records),
        # the search's verification failed for want of a name the module defines, or of a module
        "missing_context": sum(r.get("missing_context_in_search", False) for r in records),
        "final_missing_context": sum(r.get("final_missing_context", False) for r in records),
        "name_errors": sum("NameError" in r["why"] for r in records),
        "unsupported": sum(r["why"] == "not supported" for r in records),
        "median_tokens": statistics.median(r["tokens"] for r in records),
        "median_seconds": statistics.median(r["seconds"] for r in records),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true", help="print the tasks and stop")
    ap.add_argument("--strategies", default="greedy,mcts")
    ap.add_argument("--contexts", default="module,function", help="module (the module around it) and/or function (before)")
    ap.add_argument("--budget-tokens", type=int, default=1500)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "real-code")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
