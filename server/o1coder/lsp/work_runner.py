"""The event-loop side of a work command, and o1coder.retry.

A work command runs in four steps: snapshot the document (text + version) and find the
target on the event loop; compute the result *and its edit* on the model worker (work.py);
check the document is still at the snapshot's version; send one versioned
`workspace/applyEdit`. It answers `{"applied": bool, "reason": str, ...}`.

A document that changed meanwhile gets nothing: the user is told, with a Retry action
(`o1coder.retry` re-runs the refused job on the current text).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from o1coder.engine.types import Cancelled, CancelToken
from o1coder.lsp import edits, work
from o1coder.lsp.jobs import Job
from o1coder.lsp.progress import WorkProgress
from o1coder.lsp.targets import Target, find_function_by_name, find_target
from o1coder.lsp.text import split_lines
from o1coder.lsp.work_args import WorkArgs
from o1coder.lsp.work_commands import IMPLEMENT, PLAN, REFINE, RETRY, TESTS, WorkCommand
from o1coder.lsp.work_types import Outcome, Snapshot, qualname, what

if TYPE_CHECKING:
    from o1coder.lsp.server import O1CoderServer

log = logging.getLogger(__name__)

RETRY_TITLE = "Retry"


@dataclass
class Refused:
    """A job whose edit was refused as stale, kept for o1coder.retry."""

    command: WorkCommand
    args: WorkArgs
    qualname: str | None


def result(applied: bool, reason: str, **extra: Any) -> dict[str, Any]:
    return {"applied": applied, "reason": reason, **extra}


# ------------------------------------------------------------------ snapshot


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
    lines = split_lines(text)
    if args.position.line >= len(lines):
        return result(False, f"line {args.position.line} is past the end of the document ({len(lines)} lines)")
    target = find_target(text, args.position.line, args.position.character, args.range)
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


def progress_title(command: WorkCommand, target: Target) -> str:
    """The progress title: the command and what it works on, "o1coder: Implement with search: running_max()"."""
    return f"o1coder: {command.title}: {what(target)}"


def _no_target_reason(command: WorkCommand, target: Target | None, args: WorkArgs) -> str:
    where = f"line {args.position.line + 1}"
    if target is None:
        return (
            f"{command.title}: nothing to work on at {where}; put the cursor in a function whose body is "
            "empty, pass, ... or a TODO, on a comment describing a task, or select the code"
        )
    if command is REFINE:
        return f"{command.title}: {what(target)} has no plan comments yet; run {PLAN.title} first"
    if command in (PLAN, IMPLEMENT):
        return f"{command.title}: {what(target)} already has a body; empty it (or leave a TODO) to regenerate it"
    return f"{command.title} does not apply to {what(target)}"


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
    ls: O1CoderServer, command: WorkCommand, args: WorkArgs, seen: int | None, now: int | None, name: str | None
) -> dict[str, Any]:
    """Refuse a stale edit: remember the job for o1coder.retry and tell the user."""
    ls.last_refused = Refused(command=command, args=args, qualname=name)
    document = args.uri.rsplit("/", 1)[-1]
    message = (
        f"o1coder: {document} changed (version {seen} → {now}) before {command.title} could apply its result, "
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


# ------------------------------------------------------------------ run and apply


async def run(ls: O1CoderServer, command: WorkCommand, args: WorkArgs, request_id: Any = None) -> dict[str, Any]:
    """Run one work command end to end; never raises for a user-level failure."""
    snapshot = take_snapshot(ls, command, args)
    if isinstance(snapshot, dict):
        if not snapshot.get("stale"):
            ls.show(snapshot["reason"], types.MessageType.Warning)
        return snapshot
    title = command.title
    budget = ls.settings_budget() if command is IMPLEMENT else None
    # the title names what the work is on: editors show it beside every report
    progress = WorkProgress(ls, progress_title(command, snapshot.target), budget)

    def compute(token: CancelToken) -> Outcome:
        return work.compute(command.kind, snapshot, ls.get_engine(), token, progress.report)

    progress_token = await progress.begin("starting")
    if ls.jobs.request_cancelled(request_id):
        progress.end("cancelled: nothing was applied")
        return result(False, "cancelled: the client cancelled the request; nothing was applied", cancelled=True)
    job = ls.jobs.submit(snapshot.uri, title, compute, request_id=request_id)
    job.progress_token = progress_token

    def set_status(message: str) -> None:
        job.status = message

    progress.on_status = set_status
    log.info("%s: started (%s, version %s)", job.describe(), what(snapshot.target), snapshot.version)
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
    return await apply_outcome(ls, command, args, snapshot, outcome, progress, job)


async def apply_outcome(
    ls: O1CoderServer,
    command: WorkCommand,
    args: WorkArgs,
    snapshot: Snapshot,
    outcome: Outcome,
    progress: WorkProgress,
    job: Job,
) -> dict[str, Any]:
    """Apply `outcome` if every document is still at the version the request saw."""
    for uri, version in outcome.guards:
        if uri in ls.workspace.text_documents:
            current = ls.workspace.get_text_document(uri).version
            if version is not None and current != version:
                progress.end("the document changed: nothing was applied")
                return stale(ls, command, args, version, current, qualname(snapshot.target))
        elif version is not None:
            progress.end("the document was closed: nothing was applied")
            return result(False, f"{uri} was closed while the work ran; nothing was applied")
    base = {"kind": command.kind.value, "uri": snapshot.uri, "version": snapshot.version, **outcome.extra}
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
                types.ApplyWorkspaceEditParams(edit=edit, label=f"o1coder: {command.title}")
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
                return stale(ls, command, args, snapshot.version, current, qualname(snapshot.target))
            reason = f"the editor refused the edit: {response.failure_reason or 'no reason given'}"
            progress.end(reason)
            ls.show(f"o1coder: {reason}", types.MessageType.Warning)
            return result(False, reason, **base)
    for uri, diagnostics in outcome.diagnostics.items():
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
    progress.end(outcome.summary)
    log.info("%s: applied: %s", job.describe(), outcome.summary)
    return result(True, outcome.summary, **base)


# ------------------------------------------------------------------ retry


async def retry(ls: O1CoderServer, uri: str | None = None) -> dict[str, Any]:
    """Re-run the last refused job (on document `uri`, when given) on the document's current text."""
    if ls.last_refused is None:
        return result(False, "nothing to retry: no edit was refused")
    refused = ls.last_refused
    args = refused.args
    if uri not in (None, args.uri):
        return result(False, f"nothing to retry on {uri}: the last refused job was on {args.uri}")
    position, selection = args.position, args.range
    if refused.qualname is not None:
        try:
            text = ls.workspace.get_text_document(args.uri).source
        except OSError as exc:
            return result(False, f"cannot read {args.uri}: {exc}")
        moved = find_function_by_name(text, refused.qualname)
        if moved is None:
            return result(False, f"cannot retry: {refused.qualname}() is no longer in {args.uri.rsplit('/', 1)[-1]}")
        position = types.Position(line=moved.def_line, character=len(moved.indent))
        selection = None
    ls.last_refused = None
    fresh = WorkArgs(uri=args.uri, position=position, version=None, range=selection)
    return await run(ls, refused.command, fresh)
