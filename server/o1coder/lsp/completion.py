"""`textDocument/inlineCompletion` (LSP 3.18) and a `textDocument/completion` fallback.

Both offer the pseudocode-first body of the stub function at the cursor: one greedy
structure → refine → code chain (strategy "pseudocode"), checked only against the
docstring's examples (no test generation), with `editor.completionBudgetTokens` split over
the three steps so it comes back in seconds. A completion never waits behind a search: while
work holds the model, none is offered. Each new completion on a document cancels the
previous one; a completion never cancels a search.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from o1coder.config import Settings
from o1coder.engine.types import Budget, Cancelled, CancelToken, SolveResult
from o1coder.lsp import edits
from o1coder.lsp.jobs import COMPLETION
from o1coder.lsp.targets import FunctionTarget, find_function
from o1coder.lsp.text import is_blank, is_python_document, split_lines, utf16_len

if TYPE_CHECKING:
    from o1coder.lsp.server import O1CoderServer

log = logging.getLogger(__name__)

STRATEGY = "pseudocode"
SECONDS = 30.0  # a hard stop, whatever the token split
MIN_STEP_TOKENS = 32


# ---------------------------------------------------------------- pure helpers


def completion_target(text: str, position: types.Position) -> FunctionTarget | None:
    """The stub function whose body the cursor is in (below its header), if any."""
    lines = split_lines(text)
    target = find_function(lines, position.line, position.character)
    if target is None or not target.stub or target.inline_col is not None:
        return None
    if position.line <= target.header_end:
        return None
    return target


def step_split(budget_tokens: int) -> tuple[int, int]:
    """(tokens per pseudocode step, tokens for the code step) out of `budget_tokens`."""
    step = max(MIN_STEP_TOKENS, budget_tokens // 6)  # structure and refine: a few short lines each
    code = max(2 * MIN_STEP_TOKENS, budget_tokens - 2 * step)  # the code needs most (~130-200 tokens)
    return step, code


def completion_settings(settings: Settings) -> Settings:
    """The search settings of a completion: the pseudocode chain at a small budget."""
    step, code = step_split(settings.editor.completion_budget_tokens)
    search = dataclasses.replace(settings.search, strategy=STRATEGY, max_step_tokens=step, max_code_tokens=code)
    return dataclasses.replace(settings, search=search)


def body_lines(target: FunctionTarget, code: str, pseudocode: str, keep_pseudocode: bool) -> list[str]:
    """The new body, indented for `target`: pseudocode comments first (when kept), then the code."""
    body = edits.function_body(code, target.name, drop_docstring=target.has_docstring)
    lines = edits.comment_block(pseudocode, target.body_indent) if keep_pseudocode and pseudocode.strip() else []
    return lines + edits.reindent(body, target.body_indent)


def _line_range(lines: list[str], line: int) -> types.Range:
    return types.Range(
        start=types.Position(line=line, character=0),
        end=types.Position(line=line, character=utf16_len(lines[line])),
    )


def inline_items(text: str, position: types.Position, body: list[str]) -> types.InlineCompletionList:
    """One inline item replacing the cursor's line with the body (a single-line range, as 3.18 asks)."""
    lines = split_lines(text)
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text="\n".join(body), range=_line_range(lines, position.line))]
    )


def completion_items(
    text: str, target: FunctionTarget, position: types.Position, body: list[str], detail: str
) -> types.CompletionList:
    """One item: the cursor's line becomes the body; the stub's other lines are removed."""
    lines = split_lines(text)
    first = target.body_start
    removals = [
        types.TextEdit(range=edits.line_range(lines, i, i), new_text="")
        for i in range(first, target.end_line + 1)
        if i != position.line and not is_blank(lines[i])
    ]
    item = types.CompletionItem(
        label=f"{target.name}: pseudocode-first body",
        kind=types.CompletionItemKind.Snippet,
        detail=detail,
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="```python\n" + "\n".join(body) + "\n```"
        ),
        filter_text=lines[position.line],
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=_line_range(lines, position.line), new_text="\n".join(body)),
        additional_text_edits=removals or None,
        sort_text="0",
    )
    return types.CompletionList(is_incomplete=False, items=[item])


# ---------------------------------------------------------------- handlers


async def inline_completion(ls: O1CoderServer, params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if not is_python_document(doc.language_id, doc.uri):
        return None
    text = doc.source
    target = completion_target(text, params.position)
    if target is None:
        return None
    lines = split_lines(text)
    automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
    if automatic and not is_blank(lines[params.position.line]):
        return None  # typing inside the body: only offer on an empty line, or when asked
    generated = await _generate(ls, doc.uri, doc.version, text, target)
    if generated is None:
        return None
    body, _detail = generated
    return inline_items(text, params.position, body)


async def completion(ls: O1CoderServer, params: types.CompletionParams) -> types.CompletionList | None:
    if params.context is not None and params.context.trigger_kind != types.CompletionTriggerKind.Invoked:
        return None  # model work only when the user asks for completions
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if not is_python_document(doc.language_id, doc.uri):
        return None
    text = doc.source
    target = completion_target(text, params.position)
    if target is None:
        return None
    generated = await _generate(ls, doc.uri, doc.version, text, target)
    if generated is None:
        return None
    body, detail = generated
    return completion_items(text, target, params.position, body, detail)


async def _generate(
    ls: O1CoderServer, uri: str, version: int | None, text: str, target: FunctionTarget
) -> tuple[list[str], str] | None:
    if ls.jobs.busy():
        log.info("completion skipped: a search is using the model")
        return None
    settings = completion_settings(ls.settings)
    keep = ls.settings.editor.keep_pseudocode_comments
    source = target.source

    def work(token: CancelToken) -> SolveResult:
        from o1coder.engine.problem import Problem

        engine = ls.get_engine().with_settings(settings)  # the loaded models, the completion's settings
        problem = Problem.from_source(source)
        budget = Budget(tokens=settings.editor.completion_budget_tokens, nodes=settings.search.budget_nodes, seconds=SECONDS)
        return engine.solve(problem, strategy=STRATEGY, budget=budget, tests=list(problem.docstring_examples), cancel=token)

    job = ls.jobs.submit(uri, "completion", work, lane=COMPLETION, request_id=ls.protocol.msg_id)
    try:
        solved = await job.result()
    except Cancelled:
        return None
    except Exception as exc:
        from o1coder.models.pool import RoleError

        message = ls.describe_failure(exc)
        log.warning("completion failed: %s", message)
        if isinstance(exc, RoleError):  # a model file is missing or broken: the user must act
            ls.show_once(message)
        return None
    if not solved.code.strip():
        return None
    if uri in ls.workspace.text_documents and ls.workspace.get_text_document(uri).version != version:
        return None  # the user typed on: this body is for text that is gone
    try:
        body = body_lines(target, solved.code, solved.pseudocode, keep)
    except edits.CodeShapeError as exc:
        log.info("completion dropped: %s", exc)
        return None
    report = solved.test_results
    detail = f"o1coder · {report.passed}/{report.total} examples pass" if report and report.total else "o1coder"
    return body, detail
