"""The work side of a work command: a snapshot in, an outcome (the edit, what to say) out.

`compute` runs on the model worker thread and never touches the server: it builds the engine's
Problem, runs one function per kind (plan, refine, implement; generateTests in work_tests.py)
and returns the edit of the snapshot's documents, which the work runner applies on the event
loop if the documents are still at the snapshot's versions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from o1coder.engine.types import CancelToken, ProgressCallback
from o1coder.lsp import edits, tree_pages, work_tests
from o1coder.lsp.targets import FunctionTarget, TaskTarget
from o1coder.lsp.text import is_valid_python, split_lines
from o1coder.lsp.work_commands import Kind
from o1coder.lsp.work_types import Outcome, Snapshot, WorkError, qualname, what

if TYPE_CHECKING:
    from o1coder.engine.problem import Problem
    from o1coder.lsp.engine_factory import WorkEngine

log = logging.getLogger(__name__)

Compute = Callable[[Snapshot, "WorkEngine", "Problem", CancelToken, ProgressCallback], Outcome]


def compute(
    kind: Kind, snapshot: Snapshot, engine: WorkEngine, token: CancelToken, progress: ProgressCallback
) -> Outcome:
    """Run the engine for `snapshot` and build the edit. On the worker thread."""
    return COMPUTE[kind](snapshot, engine, problem_for(snapshot), token, progress)


def problem_for(snapshot: Snapshot) -> Problem:
    """The engine's Problem: a top-level function or a method of a top-level class, with its module
    around it (engine.context), else (a nested function, a module that does not parse, a task)
    `problem_source`'s text."""
    from o1coder.engine.problem import Problem, ProblemError

    target = snapshot.target
    if isinstance(target, FunctionTarget) and target.qualname.count(".") <= 1:
        try:
            return Problem.from_module(snapshot.text, target.qualname)
        except ProblemError as exc:
            log.info("using the function alone for %s: %s", target.qualname, exc)
    return Problem.from_source(problem_source(snapshot))


def problem_source(snapshot: Snapshot) -> str:
    """The text the engine's Problem is built from: module imports + the function, or the task."""
    target = snapshot.target
    if isinstance(target, TaskTarget):
        return target.text
    imports = [
        line
        for line in split_lines(snapshot.text)
        if re.match(r"^(import|from)\s+\w", line) and "__future__" not in line
    ]
    return ("\n".join(imports) + "\n\n" if imports else "") + target.source


def plan(
    snapshot: Snapshot, engine: WorkEngine, problem: Problem, token: CancelToken, progress: ProgressCallback
) -> Outcome:
    target = snapshot.target
    pseudocode = engine.plan(problem, progress=progress, cancel=token)
    edit = edits.plan_edit(snapshot.text, target, _nonempty(pseudocode, "plan"))
    return _source_outcome(snapshot, [edit], f"planned {what(target)}", {"pseudocode": pseudocode})


def refine(
    snapshot: Snapshot, engine: WorkEngine, problem: Problem, token: CancelToken, progress: ProgressCallback
) -> Outcome:
    target = snapshot.target
    assert isinstance(target, FunctionTarget)  # REFINE runs on planned stubs only
    current = target.plan_text(split_lines(snapshot.text))
    pseudocode = engine.refine(problem, current, progress=progress, cancel=token)
    edit = edits.refine_edit(snapshot.text, target, _nonempty(pseudocode, "refined plan"))
    return _source_outcome(snapshot, [edit], f"refined the plan of {what(target)}", {"pseudocode": pseudocode})


def implement(
    snapshot: Snapshot, engine: WorkEngine, problem: Problem, token: CancelToken, progress: ProgressCallback
) -> Outcome:
    target = snapshot.target
    yours = work_tests.user_tests_of(snapshot)
    solved = engine.solve(
        problem, progress=progress, cancel=token, user_tests=yours or None, workspace=snapshot.workspace(problem)
    )
    if not solved.code.strip():
        raise WorkError(f"the search found no code for {what(target)}: raise o1coder.search.budgetTokens and retry")
    try:
        edit = edits.implement_edit(snapshot.text, target, solved.code, solved.pseudocode, snapshot.keep_pseudocode)
    except edits.CodeShapeError as exc:
        raise WorkError(f"cannot use the generated code: {exc}") from exc
    report = solved.test_results
    passing = f"{report.passed}/{report.judged} tests passing" if report is not None and report.total else "no tests"
    suspect = [o.name for o in report.outcomes if o.status.value == "suspect"] if report is not None else []
    if suspect:
        passing += f", {len(suspect)} suspect ({', '.join(suspect[:3])}{', ...' if len(suspect) > 3 else ''})"
    page = tree_pages.write(snapshot.uri, qualname(target) or "task", solved)
    extra = {
        "code": solved.code,
        "pseudocode": solved.pseudocode,
        "value": solved.value,
        "testsPassing": report.passed if report else 0,
        "testsTotal": report.total if report else 0,
        "nodes": solved.stats.nodes,
        "tokens": solved.stats.tokens_generated,
        "strategy": solved.stats.strategy,
        "stoppedBy": solved.stats.stopped_by,
        "endedBy": solved.stats.ended_by,
        "suspectTests": suspect,
        "yourTests": len(yours),
        "treePage": str(page) if page is not None else None,
    }
    return _source_outcome(snapshot, [edit], f"implemented {what(target)}: {passing}, value {solved.value:.2f}", extra)


COMPUTE: dict[Kind, Compute] = {
    Kind.PLAN: plan,
    Kind.REFINE: refine,
    Kind.IMPLEMENT: implement,
    Kind.TESTS: work_tests.generate_tests,
}


def _nonempty(text: str, name: str) -> str:
    if not text.strip():
        raise WorkError(f"the model wrote an empty {name}: try again, or raise o1coder.search.maxStepTokens")
    return text


def _source_outcome(
    snapshot: Snapshot, text_edits: list[types.TextEdit], summary: str, extra: dict[str, Any]
) -> Outcome:
    """An edit of the request's own document, checked to leave valid Python behind."""
    new_text = edits.apply_text_edits(snapshot.text, text_edits)
    if is_valid_python(snapshot.text) and not is_valid_python(new_text):
        raise WorkError("the result would leave the file with a syntax error, so nothing was applied; retry")
    return Outcome(
        changes=[edits.document_edit(snapshot.uri, snapshot.version, text_edits)],
        summary=summary,
        extra=extra,
        guards=[(snapshot.uri, snapshot.version)],
    )
