"""`workspace/executeCommand`: the work commands and o1coder.cancel / showModels / retry.

A work command runs in four steps: snapshot the document (text + version) and find the
target on the event loop; compute the result *and its edit* on the model worker; check
the document is still at the snapshot's version; send one versioned `workspace/applyEdit`.
It answers `{"applied": bool, "reason": str, ...}`.

A document that changed meanwhile gets nothing: the user is told, with a Retry action
(`o1coder.retry` re-runs the refused job on the current text).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from o1coder.engine.types import Cancelled, CancelToken, ProgressEvent
from o1coder.lsp import edits, tests_file
from o1coder.lsp.jobs import Job
from o1coder.lsp.progress import WorkProgress
from o1coder.lsp.work_args import WorkArgs
from o1coder.lsp.work_commands import IMPLEMENT, PLAN, REFINE, RETRY, TESTS, Kind, WorkCommand
from o1coder.sandbox.types import TestCase
from o1coder.sandbox.workspace import Workspace

if TYPE_CHECKING:
    from o1coder.engine.engine import Engine
    from o1coder.lsp.server import O1CoderServer

log = logging.getLogger(__name__)

RETRY_TITLE = "Retry"


# ------------------------------------------------------------------ results


def result(applied: bool, reason: str, **extra: Any) -> dict[str, Any]:
    return {"applied": applied, "reason": reason, **extra}


@dataclass
class Outcome:
    """What a worker computed: the edit and what to tell the user."""

    changes: list[types.TextDocumentEdit | types.CreateFile]
    summary: str
    extra: dict[str, Any] = field(default_factory=dict)
    guards: list[tuple[str, int | None]] = field(default_factory=list)  # (uri, version) that must still hold
    diagnostics: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    write_file: tuple[Path, str] | None = None  # for clients that cannot create files


@dataclass
class Snapshot:
    """The request's view of the world, taken on the event loop."""

    command: WorkCommand
    args: WorkArgs
    uri: str
    version: int | None
    text: str
    target: edits.Target
    keep_pseudocode: bool
    path: Path | None
    root: Path | None
    tests_doc: tuple[str, int | None, str] | None = None  # open tests file: (uri, version, text)
    can_create_files: bool = True


@dataclass
class Refused:
    """A job whose edit was refused as stale, kept for o1coder.retry."""

    command: WorkCommand
    args: WorkArgs
    qualname: str | None


class WorkError(Exception):
    """A work request cannot go on; the message is for the user."""


# ------------------------------------------------------------------ the worker side


def problem_for(snapshot: Snapshot) -> Any:
    """The engine's Problem: a top-level function or a method of a top-level class, with its module
    around it (engine.context), else (a nested function, a module that does not parse, a task)
    `problem_source`'s text."""
    from o1coder.engine.problem import Problem, ProblemError

    target = snapshot.target
    if isinstance(target, edits.FunctionTarget) and target.qualname.count(".") <= 1:
        try:
            return Problem.from_module(snapshot.text, target.qualname)
        except ProblemError as exc:
            log.info("using the function alone for %s: %s", target.qualname, exc)
    return Problem.from_source(problem_source(snapshot))


def problem_source(snapshot: Snapshot) -> str:
    """The text the engine's Problem is built from: module imports + the function, or the task."""
    target = snapshot.target
    if isinstance(target, edits.TaskTarget):
        return target.text
    imports = [
        line
        for line in edits.split_lines(snapshot.text)
        if re.match(r"^(import|from)\s+\w", line) and "__future__" not in line
    ]
    return ("\n".join(imports) + "\n\n" if imports else "") + target.source


def compute(snapshot: Snapshot, engine: Engine, token: CancelToken, progress: Callable[[ProgressEvent], None]) -> Outcome:
    """Run the engine for `snapshot` and build the edit. On the worker thread."""

    problem = problem_for(snapshot)
    target = snapshot.target
    text = snapshot.text
    kind = snapshot.command.kind
    if kind is Kind.PLAN:
        plan = engine.plan(problem, progress=progress, cancel=token)
        edit = edits.plan_edit(text, target, _nonempty(plan, "plan"))
        return _source_outcome(snapshot, [edit], f"planned {_what(target)}", {"pseudocode": plan})
    if kind is Kind.REFINE:
        assert isinstance(target, edits.FunctionTarget)
        current = target.plan_text(edits.split_lines(text))
        plan = engine.refine(problem, current, progress=progress, cancel=token)
        edit = edits.refine_edit(text, target, _nonempty(plan, "refined plan"))
        return _source_outcome(snapshot, [edit], f"refined the plan of {_what(target)}", {"pseudocode": plan})
    if kind is Kind.IMPLEMENT:
        yours = _existing_tests(snapshot)
        solved = engine.solve(
            problem, progress=progress, cancel=token, user_tests=yours or None, workspace=_workspace(snapshot, problem)
        )
        if not solved.code.strip():
            raise WorkError(f"the search found no code for {_what(target)}: raise o1coder.search.budgetTokens and retry")
        try:
            edit = edits.implement_edit(text, target, solved.code, solved.pseudocode, snapshot.keep_pseudocode)
        except edits.CodeShapeError as exc:
            raise WorkError(f"cannot use the generated code: {exc}") from exc
        report = solved.test_results
        passing = f"{report.passed}/{report.judged} tests passing" if report is not None and report.total else "no tests"
        suspect = [o.name for o in report.outcomes if o.status.value == "suspect"] if report is not None else []
        if suspect:
            passing += f", {len(suspect)} suspect ({', '.join(suspect[:3])}{', ...' if len(suspect) > 3 else ''})"
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
        }
        return _source_outcome(
            snapshot, [edit], f"implemented {_what(target)}: {passing}, value {solved.value:.2f}", extra
        )
    return _tests_outcome(snapshot, engine, problem, token, progress)


def _workspace(snapshot: Snapshot, problem: Any) -> Workspace | None:
    """The user's project around a stub in a file on disk (the module's own imports resolve in it)."""
    if snapshot.path is None or getattr(problem, "module", None) is None:
        return None
    return Workspace.for_module(snapshot.path, snapshot.root)


def _existing_tests(snapshot: Snapshot) -> list[TestCase]:
    """The user's tests of the target in its tests file (open in the editor, or on disk)."""
    target = snapshot.target
    if not isinstance(target, edits.FunctionTarget) or snapshot.path is None:
        return []
    if snapshot.tests_doc is not None:
        text = snapshot.tests_doc[2]
    else:
        path = edits.tests_file_for(snapshot.path, snapshot.root)
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except (OSError, UnicodeDecodeError):
            text = ""
    module = edits.import_line(snapshot.path, snapshot.root, ["x"], False).split()[1]
    names = {module, snapshot.path.stem}
    return tests_file.user_tests(text, target.name.split(".")[-1], names)


def _nonempty(text: str, what: str) -> str:
    if not text.strip():
        raise WorkError(f"the model wrote an empty {what}: try again, or raise o1coder.search.maxStepTokens")
    return text


def _what(target: edits.Target) -> str:
    return f"{target.qualname}()" if isinstance(target, edits.FunctionTarget) else "the task"


def _source_outcome(
    snapshot: Snapshot, text_edits: list[types.TextEdit], summary: str, extra: dict[str, Any]
) -> Outcome:
    """An edit of the request's own document, checked to leave valid Python behind."""
    new_text = edits.apply_text_edits(snapshot.text, text_edits)
    if edits.is_valid_python(snapshot.text) and not edits.is_valid_python(new_text):
        raise WorkError("the result would leave the file with a syntax error, so nothing was applied; retry")
    return Outcome(
        changes=[edits.document_edit(snapshot.uri, snapshot.version, text_edits)],
        summary=summary,
        extra=extra,
        guards=[(snapshot.uri, snapshot.version)],
    )


def _tests_outcome(snapshot: Snapshot, engine: Engine, problem: Any, token: CancelToken, progress: Any) -> Outcome:
    target = snapshot.target
    if not isinstance(target, edits.FunctionTarget):
        raise WorkError("Generate tests works on a function: put the cursor inside one")
    if snapshot.path is None:
        raise WorkError("Generate tests needs a file on disk: save the document first")
    tests = engine.generate_tests(problem, progress=progress, cancel=token)
    if not tests:
        raise WorkError(f"the test generator wrote no usable tests for {_what(target)}: try again")
    token.raise_if_cancelled()
    progress(ProgressEvent(phase="verify", tests_total=len(tests), message="running against the current code"))
    report = engine.verifier(engine.program_for(problem, target.source), tests, _workspace(snapshot, problem))
    token.raise_if_cancelled()

    test_path = edits.tests_file_for(snapshot.path, snapshot.root)
    beside = test_path.parent == snapshot.path.parent
    import_line = edits.import_line(snapshot.path, snapshot.root, [target.name.split(".")[-1]], beside)
    test_uri = from_fs_path(str(test_path)) or test_path.as_uri()
    outcome = Outcome(changes=[], summary="", guards=[])
    if snapshot.tests_doc is not None:
        test_uri, test_version, existing = snapshot.tests_doc
        outcome.guards.append((test_uri, test_version))
        new_file = False
    elif test_path.exists():
        existing, test_version, new_file = test_path.read_text(encoding="utf-8"), None, False
    else:
        existing, test_version, new_file = "", None, True
    addition = tests_file.build_addition(tests, report, target.name, import_line, existing)
    edit, _first = edits.append_edit(existing, addition.text)
    final_text = edits.apply_text_edits(existing, [edit])
    if new_file and not snapshot.can_create_files:
        outcome.write_file = (test_path, final_text)
    else:
        if new_file:
            outcome.changes.append(
                types.CreateFile(uri=test_uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True))
            )
        outcome.changes.append(edits.document_edit(test_uri, test_version, [edit]))
    lines = tests_file.def_lines(final_text, addition.names)
    outcome.diagnostics[test_uri] = [
        types.Diagnostic(
            range=types.Range(
                start=types.Position(line=lines[name], character=0),
                end=types.Position(line=lines[name], character=edits.utf16_len(final_text.split("\n")[lines[name]])),
            ),
            message=f"fails against the current implementation of {target.name}: {why}",
            severity=types.DiagnosticSeverity.Warning,
            source="o1coder",
        )
        for name, why in addition.failing.items()
        if name in lines
    ]
    rel = test_path.name if snapshot.root is None else _relative(test_path, snapshot.root)
    failing = len(addition.failing)
    outcome.summary = (
        f"wrote {len(addition.names)} tests for {target.name} to {rel}"
        + (f"; {failing} fail against the current implementation (marked xfail)" if failing else "; all pass")
    )
    outcome.extra = {
        "testsFile": test_uri,
        "tests": addition.names,
        "failing": sorted(addition.failing),
        "testsTotal": len(addition.names),
        "testsPassing": len(addition.names) - failing,
    }
    return outcome


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------ the event-loop side


def take_snapshot(ls: O1CoderServer, command: WorkCommand, args: WorkArgs) -> Snapshot | dict[str, Any]:
    """The snapshot for a request, or the refusal to answer with."""
    uri = args.uri
    opened = uri in ls.workspace.text_documents
    doc = ls.workspace.get_text_document(uri)
    path = Path(p) if (p := to_fs_path(uri)) else None
    if not opened and (path is None or not path.is_file()):
        return result(False, f"{uri} is neither open in the editor nor a file on disk: open it first")
    try:
        text = doc.source
    except OSError as exc:
        return result(False, f"cannot read {uri}: {exc}")
    version = doc.version if opened else None
    if args.version is not None and version is not None and args.version != version:
        return stale(ls, command, args, args.version, version, None)
    lines = edits.split_lines(text)
    if args.position.line >= len(lines):
        return result(False, f"line {args.position.line} is past the end of the document ({len(lines)} lines)")
    target = edits.find_target(text, args.position.line, args.position.character, args.range)
    if target is None or not command.runs(target):
        return result(False, _no_target_reason(command, target, args))
    root = _root_for(ls, path)
    tests_doc = None
    if command in (TESTS, IMPLEMENT) and path is not None:
        test_uri = from_fs_path(str(edits.tests_file_for(path, root)))
        if test_uri and test_uri in ls.workspace.text_documents:
            test_doc = ls.workspace.get_text_document(test_uri)
            tests_doc = (test_uri, test_doc.version, test_doc.source)
    return Snapshot(
        command=command,
        args=args,
        uri=uri,
        version=version,
        text=text,
        target=target,
        keep_pseudocode=ls.settings.editor.keep_pseudocode_comments,
        path=path,
        root=root,
        tests_doc=tests_doc,
        can_create_files=ls.can_create_files(),
    )


def _no_target_reason(command: WorkCommand, target: edits.Target | None, args: WorkArgs) -> str:
    where = f"line {args.position.line + 1}"
    if target is None:
        return (
            f"{command.title}: nothing to work on at {where}; put the cursor in a function whose body is "
            "empty, pass, ... or a TODO, on a comment describing a task, or select the code"
        )
    if command is REFINE:
        return f"{command.title}: {_what(target)} has no plan comments yet; run {PLAN.title} first"
    if command in (PLAN, IMPLEMENT):
        return f"{command.title}: {_what(target)} already has a body; empty it (or leave a TODO) to regenerate it"
    return f"{command.title} does not apply to {_what(target)}"


def _root_for(ls: O1CoderServer, path: Path | None) -> Path | None:
    if path is None:
        return None
    roots = [Path(p) for f in ls.workspace.folders.values() if (p := to_fs_path(f.uri))]
    if ls.workspace.root_path:
        roots.append(Path(ls.workspace.root_path))
    containing = [r for r in roots if path.is_relative_to(r)]
    if containing:
        return max(containing, key=lambda r: len(r.parts))
    return path.parent


def stale(
    ls: O1CoderServer, command: WorkCommand, args: WorkArgs, seen: int | None, now: int | None, qualname: str | None
) -> dict[str, Any]:
    """Refuse a stale edit: remember the job for o1coder.retry and tell the user."""
    ls.last_refused = Refused(command=command, args=args, qualname=qualname)
    name = args.uri.rsplit("/", 1)[-1]
    message = (
        f"o1coder: {name} changed (version {seen} → {now}) before {command.title} could apply its result, "
        "so nothing was applied. "
        "Retry to run it on the current text."
    )
    ls.offer_retry(message)
    return result(
        False,
        f"stale: the document changed (version {seen} → {now}); nothing was applied",
        stale=True,
        retry={"command": RETRY, "arguments": [{"uri": args.uri}]},
    )


async def run_work(ls: O1CoderServer, command: WorkCommand, args: WorkArgs, request_id: Any = None) -> dict[str, Any]:
    """Run one work command end to end; never raises for a user-level failure."""
    snapshot = take_snapshot(ls, command, args)
    if isinstance(snapshot, dict):
        if not snapshot.get("stale"):
            ls.show(snapshot["reason"], types.MessageType.Warning)
        return snapshot
    title = command.title
    budget = ls.settings_budget() if command is IMPLEMENT else None
    progress = WorkProgress(ls, f"o1coder: {title}", budget)

    def work(token: CancelToken) -> Outcome:
        return compute(snapshot, ls.get_engine(), token, progress.report)

    progress_token = await progress.begin(f"{_what(snapshot.target)}")
    if ls.jobs.request_cancelled(request_id):
        progress.end("cancelled: nothing was applied")
        return result(False, "cancelled: the client cancelled the request; nothing was applied", cancelled=True)
    job = ls.jobs.submit(snapshot.uri, title, work, request_id=request_id)
    job.progress_token = progress_token

    def set_status(message: str) -> None:
        job.status = message

    progress.on_status = set_status
    log.info("%s: started (%s, version %s)", job.describe(), _what(snapshot.target), snapshot.version)
    try:
        outcome: Outcome = await job.result()
    except Cancelled:
        progress.end("cancelled: nothing was applied")
        return result(False, f"cancelled: {job.cancel_reason}; nothing was applied", cancelled=True)
    except asyncio.CancelledError:
        progress.end("cancelled: nothing was applied")
        raise
    except Exception as exc:
        message = ls.describe_failure(exc)
        progress.end(f"failed: {message}")
        ls.show(f"o1coder: {title} failed: {message}", types.MessageType.Error)
        return result(False, message)
    if job.cancelled:  # cancelled after the result arrived: still apply nothing
        progress.end("cancelled: nothing was applied")
        return result(False, f"cancelled: {job.cancel_reason}; nothing was applied", cancelled=True)
    return await apply_outcome(ls, snapshot, outcome, progress, job)


async def apply_outcome(
    ls: O1CoderServer, snapshot: Snapshot, outcome: Outcome, progress: WorkProgress, job: Job
) -> dict[str, Any]:
    """Apply `outcome` if every document is still at the version the request saw."""
    for uri, version in outcome.guards:
        if uri in ls.workspace.text_documents:
            current = ls.workspace.get_text_document(uri).version
            if version is not None and current != version:
                progress.end("the document changed: nothing was applied")
                return stale(ls, snapshot.command, snapshot.args, version, current, _qualname(snapshot.target))
        elif version is not None:
            progress.end("the document was closed: nothing was applied")
            return result(False, f"{uri} was closed while the work ran; nothing was applied")
    base = {"kind": snapshot.command.kind.value, "uri": snapshot.uri, "version": snapshot.version, **outcome.extra}
    if outcome.write_file is not None:
        path, content = outcome.write_file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(content)
        except OSError as exc:
            progress.end("failed")
            return result(False, f"cannot write {path}: {exc}", **base)
    if outcome.changes:
        edit = edits.workspace_edit(outcome.changes, document_changes=ls.supports_document_changes())
        try:
            response = await ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=f"o1coder: {snapshot.command.title}")
            )
        except Exception as exc:
            progress.end("the editor did not apply the edit")
            reason = f"the editor did not apply the edit: {exc}"
            ls.show(f"o1coder: {reason}", types.MessageType.Error)
            return result(False, reason, **base)
        if not response.applied:
            current = ls.workspace.get_text_document(snapshot.uri).version if snapshot.uri in ls.workspace.text_documents else None
            if current != snapshot.version:
                progress.end("the document changed: nothing was applied")
                return stale(
                    ls, snapshot.command, snapshot.args, snapshot.version, current, _qualname(snapshot.target)
                )
            reason = f"the editor refused the edit: {response.failure_reason or 'no reason given'}"
            progress.end(reason)
            ls.show(f"o1coder: {reason}", types.MessageType.Warning)
            return result(False, reason, **base)
    for uri, diagnostics in outcome.diagnostics.items():
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
    progress.end(outcome.summary)
    log.info("%s: applied: %s", job.describe(), outcome.summary)
    return result(True, outcome.summary, **base)


# ------------------------------------------------------------------ cancel / showModels / retry


async def cancel(ls: O1CoderServer, uri: str | None) -> dict[str, Any]:
    """o1coder.cancel [uri]: stop the work on a document (every document without one).

    Answers once the worker has really stopped (or after 5 s), with how long each took.
    """
    jobs = ls.jobs.cancel(uri, reason="cancelled by o1coder.cancel")
    await ls.jobs.wait_stopped(jobs)
    return {
        "cancelled": [
            {"uri": j.uri, "title": j.title, "job": j.id, "stopMs": j.stop_ms, "wasRunning": j.was_running}
            for j in jobs
        ]
    }


def show_models(ls: O1CoderServer) -> dict[str, Any]:
    """Each role's model name, path, whether it is loaded, and why it cannot be used."""
    from o1coder.models.pool import ModelPool

    pool = ls.engine.pool if ls.engine is not None else ModelPool(ls.settings.models)
    roles = [
        {"role": s.role, "model": s.model, "path": s.path, "loaded": s.loaded, "error": s.error} for s in pool.status()
    ]
    return {"roles": roles, "busy": ls.jobs.busy()}


async def retry(ls: O1CoderServer, uri: str | None = None) -> dict[str, Any]:
    """Re-run the last refused job (on document `uri`, when given) on the document's current text."""
    if ls.last_refused is None:
        return result(False, "nothing to retry: no edit was refused")
    refused = ls.last_refused
    if uri not in (None, refused.args.uri):
        return result(False, f"nothing to retry on {uri}: the last refused job was on {refused.args.uri}")
    args = refused.args
    position, selection = args.position, args.range
    if refused.qualname is not None:
        try:
            text = ls.workspace.get_text_document(args.uri).source
        except OSError as exc:
            return result(False, f"cannot read {args.uri}: {exc}")
        moved = edits.find_function_by_name(text, refused.qualname)
        if moved is None:
            return result(False, f"cannot retry: {refused.qualname}() is no longer in {args.uri.rsplit('/', 1)[-1]}")
        position = types.Position(line=moved.def_line, character=len(moved.indent))
        selection = None
    ls.last_refused = None
    fresh = WorkArgs(uri=args.uri, position=position, version=None, range=selection)
    return await run_work(ls, refused.command, fresh)


def _qualname(target: edits.Target) -> str | None:
    return target.qualname if isinstance(target, edits.FunctionTarget) else None
