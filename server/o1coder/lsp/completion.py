"""`textDocument/inlineCompletion` (LSP 3.18) and a `textDocument/completion` fallback.

Two kinds of answer:

- **Ghost text** (an inline completion the editor asks for while the user types, trigger kind
  Automatic): the policy model fills in the middle (FIM) at the cursor, llama.vim style. The
  prompt is `<|fim_prefix|>` the lines above the cursor's line, `<|fim_suffix|>` a few lines
  below it, `<|fim_middle|>` and the cursor's line up to the cursor. Typing on one line only
  changes the prompt's end, so the backend's prefix cache holds all the rest and a keystroke
  costs the prefill of the characters typed since the last request plus a short greedy
  generation: the rest of the line, and more lines of the block while time is left (see
  GHOST_*). Nothing of the search runs, and the KV cache is not forgotten between requests.
- **The pseudocode-first body** of the stub function at the cursor (an inline completion the
  user asks for, trigger kind Invoked, and `textDocument/completion`): one greedy structure →
  refine → code chain (strategy "pseudocode"), checked only against the docstring's examples
  (no test generation), with `editor.completionBudgetTokens` split over the three steps so it
  comes back in seconds.

A completion never waits behind a search: while work holds the model, none is offered. Each new
completion on a document cancels the previous one; a completion never cancels a search.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types

from o1coder.config import Settings
from o1coder.engine.types import Budget, Cancelled, CancelToken, SolveResult
from o1coder.lsp import edits
from o1coder.lsp.jobs import COMPLETION
from o1coder.lsp.targets import FunctionTarget, find_function
from o1coder.lsp.text import indent_of, is_blank, is_python_document, split_lines, utf16_len, utf16_to_index
from o1coder.models.backend import SampleParams, common_prefix_length, find_stop

if TYPE_CHECKING:
    from o1coder.lsp.server import O1CoderServer
    from o1coder.models.backend import Backend

log = logging.getLogger(__name__)
T = TypeVar("T")

STRATEGY = "pseudocode"
SECONDS = 30.0  # a hard stop, whatever the token split
MIN_STEP_TOKENS = 32

# Ghost text. Costs on the 2-core machine the project runs on (0.5B Q4_K_M): a prompt token
# ~12 ms to prefill, a generated token ~33 ms.
FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"
# Special tokens that end the middle when the model writes one that is not end-of-generation.
GHOST_STOP = ("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|repo_name|>", "<|im_end|>")
GHOST_STOP += (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)
# The prompt's first line is a multiple of GHOST_PREFIX_ALIGN at most GHOST_PREFIX_LINES (plus
# the alignment) above the cursor: moving the cursor keeps the prompt's start, so the cache
# still holds everything above the edited line.
GHOST_PREFIX_LINES = 128
GHOST_PREFIX_ALIGN = 32
# Lines below the cursor in the prompt: the rest of the cursor's block (up to the first line
# indented less than the cursor's), at most this many. The suffix follows the edited line, so a
# request on a new line prefills all of it again: it is kept short. The next function's header
# and docstring are left out: with them the 0.5B model often wrote that function's body (on
# the benchmark's module, 12 of 33 suggestions with the 6 lines below, none with the block).
GHOST_SUFFIX_LINES = 8
GHOST_LINE_TOKENS = 40  # the rest of the cursor's line: at most this many tokens
GHOST_MAX_TOKENS = 96  # the whole suggestion
# Lines after the cursor's line are generated only until this long after the request started
# (prefill included): the suggestion comes back within about a second.
GHOST_MORE_LINES_SECONDS = 0.6
GHOST_CHUNK_TOKENS = 4  # tokens per generate call: the stops above are checked between calls
# The prompt up to the cursor's line is prefilled in pieces of this many tokens, each in one
# batch without a cancel token, the cancel checked between pieces: with a token the backend
# cuts prefill into ~0.1 s slices for a quick stop, and slices that small cost several times
# more per token on 2 busy cores. That part of the prompt is what the
# next request shares (typing changes only the cursor's line), so finishing a piece after a
# cancel is not lost work.
GHOST_PREFILL_PIECE = 32


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


# ---------------------------------------------------------------- ghost text (fill in the middle)


@dataclasses.dataclass(frozen=True)
class GhostPrompt:
    """The FIM prompt at a cursor and what shaping the model's answer needs."""

    text: str  # the prompt
    line: int  # the cursor's line
    line_text: str  # the whole of it
    typed: str  # the line up to the cursor
    # The end of `typed` the prompt leaves out for the model to write again: its last blank
    # ("x = " ends in a space the tokenizer joins to the next word; see ghost_prompt).
    tail: str
    below: tuple[str, ...]  # the lines under the cursor's line that the prompt holds


def ghost_prompt(text: str, position: types.Position) -> GhostPrompt | None:
    """The prompt for ghost text at `position`, or None where none is offered (the cursor is
    not at the end of its line, ignoring blanks)."""
    lines = split_lines(text)
    if position.line >= len(lines):
        return None
    line_text = lines[position.line]
    col = utf16_to_index(line_text, position.character)
    typed = line_text[:col]
    if line_text[col:].strip():
        return None
    # The tokenizer joins a blank to the word after it ("    return" is "   " + " return"), so
    # a prompt ending in a blank ends mid-token and the model wrote a second blank: the last
    # blank is left for the model to write. Only the last one: on a line of indentation alone,
    # a prompt ending in "   " got a statement 11 of 11 times on the benchmark's stubs, one
    # ending at the line's start (the whole indentation left out) 2 of 11 (mostly a newline).
    middle = typed[:-1] if typed[-1:] in (" ", "\t") else typed
    start = max(0, position.line - GHOST_PREFIX_LINES) // GHOST_PREFIX_ALIGN * GHOST_PREFIX_ALIGN
    above = lines[start : position.line]
    below = tuple(block_below(lines, position.line, len(indent_of(typed))))
    prompt = (
        FIM_PREFIX
        + "".join(line + "\n" for line in above)
        + FIM_SUFFIX
        + "\n"
        + "".join(line + "\n" for line in below)
        + FIM_MIDDLE
        + middle
    )
    return GhostPrompt(prompt, position.line, line_text, typed, typed[len(middle) :], below)


def block_below(lines: list[str], line: int, indent: int) -> list[str]:
    """The lines under `line` of its block: up to the first one indented less than `indent`."""
    below = []
    for text in lines[line + 1 : line + 1 + GHOST_SUFFIX_LINES]:
        if text.strip() and len(indent_of(text)) < indent:
            break
        below.append(text)
    return below


def ghost_suggestion(prompt: GhostPrompt, generated: str, complete: bool) -> str | None:
    """The text to show after the cursor, from `generated` (the model's text after the prompt).

    None when the model did not write the prompt's left-out tail again (it meant another line)
    or wrote nothing. The rest of the cursor's line is kept as written (even cut short); later
    lines are kept up to the first one indented less than the cursor's line (the block ended),
    only whole lines (`complete`: the model ended the text itself, so its last line is whole),
    without a last line opening a block whose body is missing, and not repeating the line below.
    """
    generated = _skip_blank_lines(prompt, generated)
    if not generated.startswith(prompt.tail):
        return None
    first, *later = generated[len(prompt.tail) :].split("\n")
    first = first.rstrip()
    if not complete and later:
        later = later[:-1]  # cut short
    indent = len(indent_of(prompt.typed + first))
    kept: list[str] = []
    for line in later:
        if line.strip() and len(indent_of(line)) < indent:
            break
        kept.append(line.rstrip())
    following = next((line.strip() for line in prompt.below if line.strip()), None)
    if following is not None:
        for i, line in enumerate(kept):
            if line.strip() == following:
                del kept[i:]
                break
    while kept and (not kept[-1].strip() or kept[-1].endswith(":")):
        kept.pop()
    if not kept and following is not None and (prompt.typed + first).strip() == following:
        return None  # the line below, again
    suggestion = "\n".join([first, *kept])
    return suggestion if suggestion.strip() else None


def _skip_blank_lines(prompt: GhostPrompt, generated: str) -> str:
    """On a blank line, the model's answer without the blank lines it may start with (after a
    docstring: "\\n    with open(...)"), as if it had written the rest of the cursor's line."""
    if prompt.typed.strip() or not generated.startswith("\n"):
        return generated
    line = generated.lstrip("\n")  # a whole line, its indentation included
    middle = prompt.typed[: len(prompt.typed) - len(prompt.tail)]
    return line[len(middle) :] if line.startswith(middle) else line


def _dedented_line(prompt: GhostPrompt, body: str) -> bool:
    """Whether a line after the first one of `body` starts indented less than the first line."""
    first, *later = body.split("\n")
    indent = len(indent_of(prompt.typed + first))
    # the last piece may be a partial indentation ("  " of "    x"): only text after it counts
    return any(line.strip() and len(indent_of(line)) < indent for line in later)


def supports_fim(backend: Backend) -> bool:
    return all(len(backend.tokenize(marker)) == 1 for marker in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE))


# id(backend) -> the tokens the last ghost request left in its cache (an estimate: other model
# work may have replaced them, and then the final generate call prefills what is missing)
_CACHED: dict[int, list[int]] = {}


def _prefill(backend: Backend, head: list[int], cancel: CancelToken | None) -> None:
    """Put `head` (but its last piece) in the backend's cache, GHOST_PREFILL_PIECE tokens a call."""
    if GHOST_PREFILL_PIECE <= 0:
        return
    done = common_prefix_length(_CACHED.get(id(backend), []), head)
    for end in range(done + GHOST_PREFILL_PIECE, len(head), GHOST_PREFILL_PIECE):
        if cancel is not None:
            cancel.raise_if_cancelled()
        backend.generate([head[:end]], [SampleParams(max_tokens=0)])
        _CACHED[id(backend)] = head[:end]


def generate_ghost(
    backend: Backend,
    prompt: GhostPrompt,
    cancel: CancelToken | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> str | None:
    """Greedy FIM generation for `prompt`, GHOST_CHUNK_TOKENS at a time, until the model ends
    the middle, the block ends, or the limits above; the suggestion (`ghost_suggestion`)."""
    started = clock()
    middle = prompt.typed[: len(prompt.typed) - len(prompt.tail)]
    head = backend.tokenize(prompt.text[: len(prompt.text) - len(middle)])  # ends with FIM_MIDDLE
    tokens = head + backend.tokenize(middle)
    backend.tree.clear()  # search accounting; no search runs beside ghost text
    _prefill(backend, head, cancel)
    out: list[int] = []
    text = ""
    complete = False
    params = SampleParams(max_tokens=GHOST_CHUNK_TOKENS, temperature=0.0, stop=GHOST_STOP)
    while len(out) < GHOST_MAX_TOKENS:
        want = min(GHOST_CHUNK_TOKENS, GHOST_MAX_TOKENS - len(out))
        [cont] = backend.generate([tokens + out], [dataclasses.replace(params, max_tokens=want)], cancel)
        _CACHED[id(backend)] = tokens + out
        if cont.finish_reason == "eos":
            out.extend(cont.tokens[:-1])
            text = backend.detokenize(out)
            complete = True
            break
        out.extend(cont.tokens)
        text = backend.detokenize(out)
        if (hit := find_stop(text, GHOST_STOP)) is not None:
            text = text[: hit[0]]
            complete = True
            break
        answer = _skip_blank_lines(prompt, text)
        if not (answer.startswith(prompt.tail) or prompt.tail.startswith(answer)):
            return None  # it meant another line than the one typed
        body = answer[len(prompt.tail) :]
        if "\n" not in body:
            if len(out) >= GHOST_LINE_TOKENS:
                break
            continue
        if _dedented_line(prompt, body) or clock() - started >= GHOST_MORE_LINES_SECONDS:
            break
    return ghost_suggestion(prompt, text, complete)


def ghost_items(prompt: GhostPrompt, suggestion: str) -> types.InlineCompletionList:
    """One item: the cursor's line (one line, as 3.18 asks) becomes what was typed and the suggestion."""
    line_range = types.Range(
        start=types.Position(line=prompt.line, character=0),
        end=types.Position(line=prompt.line, character=utf16_len(prompt.line_text)),
    )
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=prompt.typed + suggestion, range=line_range)]
    )


# ---------------------------------------------------------------- handlers


async def inline_completion(ls: O1CoderServer, params: types.InlineCompletionParams) -> types.InlineCompletionList | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    if not is_python_document(doc.language_id, doc.uri):
        return None
    text = doc.source
    target = completion_target(text, params.position)
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    if target is None or not invoked:  # asked for inside a stub: its pseudocode-first body
        return await _ghost(ls, doc.uri, doc.version, text, params.position)
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


async def _ghost(
    ls: O1CoderServer, uri: str, version: int | None, text: str, position: types.Position
) -> types.InlineCompletionList | None:
    prompt = ghost_prompt(text, position)
    if prompt is None:
        return None
    if ls.jobs.busy():
        log.info("ghost text skipped: a search is using the model")
        return None

    def work(token: CancelToken) -> str | None:
        backend = ls.get_engine().pool.get("policy")
        if not supports_fim(backend):
            log.info("ghost text skipped: the policy model %s has no fill-in-the-middle tokens", backend.name)
            return None
        before = backend.counters.snapshot()
        started = time.monotonic()
        suggestion = generate_ghost(backend, prompt, token)
        spent = backend.counters.since(before)
        log.info(
            "ghost text in %.0f ms (%.0f ms decoding): %d prompt tokens evaluated, %d generated, %d lines shown",
            (time.monotonic() - started) * 1000,
            spent.decode_seconds * 1000,
            spent.prompt_tokens_evaluated,
            spent.tokens_generated,
            0 if suggestion is None else suggestion.count("\n") + 1,
        )
        return suggestion

    suggestion = await _run_current(ls, uri, version, "ghost text", work)
    return None if suggestion is None else ghost_items(prompt, suggestion)


async def _run_current(
    ls: O1CoderServer, uri: str, version: int | None, title: str, work: Callable[[CancelToken], T | None]
) -> T | None:
    """`work` run in the completion lane; None when it was cancelled, failed (reported), gave
    nothing, or the document changed meanwhile (the answer is for text that is gone)."""
    job = ls.jobs.submit(uri, title, work, lane=COMPLETION, request_id=ls.protocol.msg_id)
    try:
        result = await job.result()
    except Cancelled:
        return None
    except Exception as exc:
        _report_failure(ls, exc)
        return None
    if uri in ls.workspace.text_documents and ls.workspace.get_text_document(uri).version != version:
        return None
    return result


def _report_failure(ls: O1CoderServer, exc: Exception) -> None:
    from o1coder.models.pool import RoleError

    message = ls.describe_failure(exc)
    log.warning("completion failed: %s", message)
    if isinstance(exc, RoleError):  # a model file is missing or broken: the user must act
        ls.show_once(message)


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

    solved = await _run_current(ls, uri, version, "completion", work)
    if solved is None or not solved.code.strip():
        return None
    try:
        body = body_lines(target, solved.code, solved.pseudocode, keep)
    except edits.CodeShapeError as exc:
        log.info("completion dropped: %s", exc)
        return None
    report = solved.test_results
    detail = f"o1coder · {report.passed}/{report.total} examples pass" if report and report.total else "o1coder"
    return body, detail
