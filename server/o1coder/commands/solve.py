"""`o1coder solve [FILE|-]`: pseudocode-first search on one problem."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from o1coder import tree_html
from o1coder.commands.common import StatusLine, add_search_flags, fail, settings_from_args
from o1coder.commands.printable import printable
from o1coder.commands.verify import BadInput, read_tests
from o1coder.config import SettingsError
from o1coder.engine.engine import Engine
from o1coder.engine.problem import Problem, ProblemError, assemble_program
from o1coder.engine.types import SolveResult
from o1coder.models.pool import RoleError
from o1coder.sandbox import TestCase, Workspace, isolation_summary

MAX_INPUT_BYTES = 20_000
MAX_MODULE_BYTES = 1 << 20  # with --function: a whole module


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "solve",
        help="solve one problem: a Python signature + docstring, or a task description",
        description="Reads a function signature with its docstring (or a plain task description), "
        "plans it in pseudocode, searches, and verifies candidates against generated tests.",
    )
    p.add_argument("file", nargs="?", default="-", help="problem file, or - for standard input")
    add_search_flags(p)
    p.add_argument(
        "--function",
        metavar="NAME",
        default=None,
        help="FILE is a whole module: fill in its function NAME, with the module around it in the prompt "
        "and in the sandbox (--json's code is then the whole module)",
    )
    p.add_argument(
        "--tests",
        type=Path,
        default=None,
        metavar="FILE",
        help="your own tests (assert lines or def test_* functions), used beside the generated ones; "
        "one that contradicts what several independent candidates agree on is reported suspect",
    )
    p.add_argument(
        "--tree",
        type=Path,
        default=None,
        metavar="FILE.html",
        help="write the finished search tree as an HTML page: every node's step, visits, values and tests, "
        "the chosen answer's path highlighted",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run)


def read_problem_text(source: str, limit: int = MAX_INPUT_BYTES) -> str:
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = "standard input"
    else:
        path = Path(source)
        if not path.is_file():
            raise ProblemError(f"{source}: no such file")
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        name = source
    if len(data) > limit:
        hint = "give one function or task, or a module with --function NAME" if limit == MAX_INPUT_BYTES else ""
        raise ProblemError(f"{name} is larger than {limit} bytes" + (f"; {hint}" if hint else ""))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(f"{name} is not UTF-8 text") from exc


def run(args: argparse.Namespace) -> int:
    try:
        if args.function:
            problem = Problem.from_module(read_problem_text(args.file, MAX_MODULE_BYTES), args.function)
        else:
            problem = Problem.from_source(read_problem_text(args.file))
        settings = settings_from_args(args)
        user_tests = (
            [TestCase(f"user_{t.name}", t.source) for t in read_tests(args.tests)] if args.tests is not None else None
        )
    except (ProblemError, SettingsError, BadInput) as exc:
        return fail(str(exc))
    if args.tree is not None and not args.tree.parent.is_dir():
        return fail(f"--tree {args.tree}: no folder {args.tree.parent}; give a path in an existing folder")
    status = StatusLine(enabled=not args.quiet)
    engine = Engine(settings)
    try:
        workspace = Workspace.for_module(Path(args.file)) if args.function and args.file != "-" else None
        progress = status if status.enabled else None  # --quiet: no pulses either
        result = engine.solve(problem, progress=progress, user_tests=user_tests, workspace=workspace)
    except RoleError as exc:
        status.done()
        return fail(str(exc))
    status.done()
    if args.tree is not None:
        try:
            args.tree.write_text(tree_html.render(result, title=f"o1coder solve: {problem.qualname}"), encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write the tree to {args.tree}: {exc.strerror}; give a writable path")
    if args.json:
        out = result.to_json()
        if problem.module is not None and result.code.strip():
            out["function_code"] = result.code
            out["code"] = assemble_program(problem, result.code)
        out["isolation"] = isolation_summary()
        print(json.dumps(out, indent=2))
    else:
        print(render(result))
    return 0


def render(result: SolveResult) -> str:
    s = result.stats
    pseudocode = printable(result.pseudocode.strip(), one_line=False)
    lines = ["# Pseudocode", pseudocode or "(none)", "", "# Code", printable(result.code.rstrip(), one_line=False), ""]
    lines.append(f"# Tests ({len(result.tests)})")
    report = result.test_results
    outcomes = {o.name: o for o in report.outcomes} if report else {}
    for test in result.tests:
        o = outcomes.get(test.name)
        mark = o.status.value if o else "not run"
        lines_of = [line for line in test.source.strip().splitlines() if not line.startswith(("import ", "from "))]
        first = lines_of[0] if lines_of else ""
        failure = f"  -- {printable(o.message)}" if o and o.message and not o.passed else ""
        lines.append(f"  [{mark:>7}] {printable(first)}" + failure)
    if report:
        suspect = f", {report.suspect} suspect" if report.suspect else ""
        lines.append(
            f"  {report.passed}/{report.judged} passed{suspect}; compiled: {report.compiled}; isolation: {report.isolation}"
        )
        lines += [f"  note: {printable(note)}" for note in report.notes]
    lines += [
        "",
        "# Search",
        f"  strategy {s.strategy}, prompts {s.prompt_version}, ended by {s.ended_by or '-'} "
        f"({s.stopped_by or '-'}); {s.candidates} candidates in {s.clusters} clusters of behaviour, "
        f"{s.suspect_tests} suspect tests",
        f"  nodes {s.nodes}, tokens generated {s.tokens_generated}, prompt tokens evaluated "
        f"{s.prompt_tokens_evaluated}, unique tree tokens {s.unique_tree_tokens} "
        f"(re-evaluation {s.reevaluation_ratio:.2f}x)",
        f"  {s.wall_seconds:.1f} s wall, {s.tokens_per_second:.1f} tokens/s, value {result.value:.2f}",
    ]
    return "\n".join(lines)
