"""Finding what an action applies to: the function, method, selection or task comment at a
position in a document. Pure text logic, unit-testable on strings.

Finding the target is local: from the cursor we walk up to the nearest enclosing `def`,
find the function's textual extent by indentation, and `ast`-parse only that function.
A whole-file parse of a 2,000-line module costs ~15 ms; listing code actions must stay far
under 20 ms even while a search holds a core, so the full parse is only a fallback for the
rare function the indentation scan gets wrong (a dedented multi-line string inside it).
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field

from lsprotocol import types

from o1coder.engine.context import is_stub_statement
from o1coder.lsp.text import comment_text, indent_of, is_blank, is_comment, split_lines

DEF_RE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
SCOPE_RE = re.compile(r"^(?P<indent>[ \t]*)(?:(?:async[ \t]+)?def|class)[ \t]+(?P<name>\w+)")
TODO_RE = re.compile(r"\b(TODO|FIXME|XXX)\b")
WORD_RE = re.compile(r"[A-Za-z]{2,}")

MAX_SCAN_LINES = 20_000  # how far up to look for an enclosing def


@dataclass(frozen=True)
class FunctionTarget:
    """A function the cursor is in. Line numbers are 0-based and inclusive."""

    name: str
    qualname: str
    def_line: int
    header_end: int  # the line holding the header's closing `:`
    end_line: int  # the function's last non-blank line
    indent: str  # the def's indentation
    body_indent: str
    body_start: int  # first line of the replaceable body (after the header and docstring)
    stub: bool  # body is empty, pass, ..., raise NotImplementedError, or comments only
    has_docstring: bool = False
    todo_lines: tuple[int, ...] = ()
    plan_lines: tuple[int, ...] = ()
    stub_statement: str = "pass"
    inline_col: int | None = None  # `def f(): pass`: index where the inline body starts
    source: str = ""  # the function's source, dedented to column 0

    @property
    def kind(self) -> str:
        return "function"

    @property
    def has_plan(self) -> bool:
        return self.stub and bool(self.plan_lines)

    def plan_text(self, lines: list[str]) -> str:
        return "\n".join(comment_text(lines[i]) for i in self.plan_lines)


@dataclass(frozen=True)
class TaskTarget:
    """A task described by a comment block or a selection. Lines are 0-based and inclusive."""

    first_line: int
    last_line: int
    indent: str
    text: str
    replace: bool = False  # True: the selection is replaced; False: code goes below the comment
    plan_lines: tuple[int, ...] = field(default=())

    @property
    def kind(self) -> str:
        return "task"

    @property
    def has_plan(self) -> bool:
        return False


Target = FunctionTarget | TaskTarget


def find_target(
    text: str, line: int, character: int = 0, selection: types.Range | None = None
) -> Target | None:
    """The function, selection or task comment the actions at (`line`, `character`) apply to."""
    lines = split_lines(text)
    if not lines or line < 0 or line >= len(lines):
        return None
    if selection is not None and selection.start.line != selection.end.line:
        start, end = selection.start.line, selection.end.line
        if selection.end.character == 0 and end > start:
            end -= 1  # a selection of whole lines ends at column 0 of the next line
        end = min(end, len(lines) - 1)
        outer = find_function(lines, start, selection.start.character)
        if outer is not None and outer.def_line <= start and end <= outer.end_line and start > outer.header_end:
            inner = find_function(lines, end, selection.end.character)
            if inner == outer:
                return outer
        return task_from_selection(lines, start, end)
    function = find_function(lines, line, character)
    if function is not None and (function.stub or not is_comment(lines[line])):
        return function
    if is_comment(lines[line]):
        task = task_from_comment(lines, line)
        if task is not None:
            return task
    return function


def task_from_selection(lines: list[str], start: int, end: int) -> TaskTarget | None:
    chosen = lines[start : end + 1]
    if not any(line.strip() for line in chosen):
        return None
    only_comments = all(is_comment(line) or is_blank(line) for line in chosen)
    first_nonblank = next(line for line in chosen if line.strip())
    text = "\n".join(comment_text(line) if is_comment(line) else line for line in chosen).strip("\n")
    return TaskTarget(
        first_line=start,
        last_line=end,
        indent=indent_of(first_nonblank),
        text=textwrap.dedent(text),
        replace=not only_comments,
    )


def task_from_comment(lines: list[str], line: int) -> TaskTarget | None:
    """The comment block around `line`, if it reads like a task and nothing is written below it yet."""
    indent = indent_of(lines[line])

    def same_block(i: int) -> bool:
        return is_comment(lines[i]) and indent_of(lines[i]) == indent

    first = line
    while first > 0 and same_block(first - 1):
        first -= 1
    last = line
    while last + 1 < len(lines) and same_block(last + 1):
        last += 1
    text = "\n".join(comment_text(lines[i]) for i in range(first, last + 1)).strip()
    if len(WORD_RE.findall(text)) < 3 or text.startswith("!") or text.lower().startswith(("type:", "noqa")):
        return None
    following = lines[last + 1] if last + 1 < len(lines) else ""
    if following.strip() and len(indent_of(following)) >= len(indent) and not following.lstrip().startswith(
        ("def ", "async def ", "class ", "@")
    ):
        return None  # code already follows the comment: it documents that code, it is not a task
    return TaskTarget(first_line=first, last_line=last, indent=indent, text=text)


def find_function(lines: list[str], line: int, character: int = 0) -> FunctionTarget | None:
    """The innermost function whose text contains (`line`, `character`).

    Walks up from the cursor keeping `limit`, the smallest indentation of code seen so far:
    only a def indented less than every code line between it and the cursor can enclose it,
    so the walk stops at the first column-0 statement above a module-level cursor.
    """
    if line < 0 or line >= len(lines):
        return None
    cursor_blank = is_blank(lines[line])
    closing = lines[line].lstrip().startswith((")", "]", "}"))
    limit = len(indent_of(lines[line])) if not (cursor_blank or closing) else 1 << 30
    for d in range(line, max(-1, line - MAX_SCAN_LINES), -1):
        text = lines[d]
        match = DEF_RE.match(text)
        if match is not None:
            def_indent = len(match.group("indent"))
            if d == line or def_indent < limit or _in_header(lines, d, line):
                extent = _extent(lines, d)
                if extent is None:
                    return _find_function_ast(lines, line)
                header_end, end_line, inline_col, trailing_end = extent
                if d <= line <= end_line or (cursor_blank and end_line < line <= trailing_end and character > def_indent):
                    target = _analyse(lines, d, header_end, end_line, inline_col)
                    return target if target is not None else _find_function_ast(lines, line)
        if d != line and not is_blank(text) and not is_comment(text) and not text.lstrip().startswith((")", "]", "}")):
            limit = min(limit, len(indent_of(text)))
            if limit == 0:
                return None
    return None


def find_function_by_name(text: str, qualname: str) -> FunctionTarget | None:
    """The function called `qualname` (dotted through classes and functions), for retries."""
    lines = split_lines(text)
    leaf = qualname.rsplit(".", 1)[-1]
    for i, line in enumerate(lines):
        match = DEF_RE.match(line)
        if match and match.group("name") == leaf:
            target = find_function(lines, i, len(match.group("indent")))
            if target is not None and target.qualname == qualname:
                return target
    return None


def _in_header(lines: list[str], d: int, line: int) -> bool:
    """Whether `line` could be a continuation line of the def header at `d`."""
    return line - d < 50 and lines[d].count("(") > lines[d].count(")")


def _extent(lines: list[str], d: int) -> tuple[int, int, int | None, int] | None:
    """(header_end, end_line, inline_col, trailing_end) of the def at line `d`, by tokens and indentation."""
    header = _header(lines, d)
    if header is None:
        return None
    header_end, inline_col = header
    def_indent = len(indent_of(lines[d]))
    end_line = header_end
    trailing_end = header_end
    if inline_col is None:
        j = header_end + 1
        while j < len(lines):
            line = lines[j]
            if is_blank(line):
                trailing_end = j
                j += 1
                continue
            if len(indent_of(line)) <= def_indent:
                break
            end_line = trailing_end = j
            j += 1
    return header_end, end_line, inline_col, trailing_end


def _header(lines: list[str], d: int) -> tuple[int, int | None] | None:
    """The line of the header's `:` and, for an inline body, the column where the body starts."""
    first_indent = indent_of(lines[d])
    chunk = [ln[len(first_indent) :] if ln.startswith(first_indent) else ln.lstrip() for ln in lines[d : d + 60]]
    reader = io.StringIO("\n".join(chunk) + "\n").readline
    depth = 0
    colon_found = False
    colon_row = 0
    try:
        for tok in tokenize.generate_tokens(reader):
            if colon_found:
                if tok.type in (tokenize.COMMENT, tokenize.NL):
                    continue
                if tok.type == tokenize.NEWLINE:
                    return d + colon_row, None
                return d + colon_row, tok.start[1] + len(first_indent) if tok.start[0] - 1 == colon_row else None
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                elif tok.string in ")]}":
                    depth -= 1
                elif tok.string == ":" and depth == 0:
                    colon_found = True
                    colon_row = tok.start[0] - 1
            elif tok.type == tokenize.NEWLINE:
                return None
    except (tokenize.TokenError, IndentationError, SyntaxError):
        if colon_found:
            return d + colon_row, None
        return None
    return (d + colon_row, None) if colon_found else None


def _analyse(
    lines: list[str], d: int, header_end: int, end_line: int, inline_col: int | None
) -> FunctionTarget | None:
    indent = indent_of(lines[d])
    snippet_lines = [
        (ln[len(indent) :] if ln.startswith(indent) else ln.lstrip(" \t")) for ln in lines[d : end_line + 1]
    ]
    source = "\n".join(snippet_lines) + "\n"
    unit = "\t" if "\t" in indent else "    "
    padded = False
    try:
        tree = ast.parse(source)
    except SyntaxError:
        try:
            tree = ast.parse(source + unit + "pass\n")
            padded = True
        except SyntaxError:
            return None
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    node = tree.body[0]
    if node.end_lineno is not None and d + node.end_lineno - 1 < end_line and not padded:
        # Something after the function at a deeper indentation: the scan is wrong, parse properly.
        last_code = d + node.end_lineno - 1
        if any(not is_blank(ln) and not is_comment(ln) for ln in lines[last_code + 1 : end_line + 1]):
            return None
    body = list(node.body)
    has_docstring = bool(
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    statements = body[1:] if has_docstring else body
    if padded:
        statements = statements[:-1]
    stub = all(is_stub_statement(s) for s in statements)
    stub_statement = "pass"
    if statements and stub:
        segment = ast.get_source_segment(source, statements[0])
        if segment and "\n" not in segment:
            stub_statement = segment
    if inline_col is not None:
        body_start = header_end
        body_indent = indent + unit
    else:
        body_start = d + body[0].end_lineno if has_docstring and body[0].end_lineno else header_end + 1
        first_body = next(
            (lines[i] for i in range(header_end + 1, end_line + 1) if not is_blank(lines[i])),
            None,
        )
        body_indent = indent_of(first_body) if first_body is not None else indent + unit
        if len(body_indent) <= len(indent):
            body_indent = indent + unit
    todo_lines: list[int] = []
    plan_lines: list[int] = []
    for i in range(body_start if inline_col is None else end_line + 1, end_line + 1):
        if is_comment(lines[i]):
            (todo_lines if TODO_RE.search(lines[i]) else plan_lines).append(i)
    return FunctionTarget(
        name=node.name,
        qualname=_qualname(lines, d, node.name),
        def_line=d,
        header_end=header_end,
        end_line=end_line,
        indent=indent,
        body_indent=body_indent,
        body_start=body_start,
        stub=stub,
        has_docstring=has_docstring,
        todo_lines=tuple(todo_lines),
        plan_lines=tuple(plan_lines),
        stub_statement=stub_statement,
        inline_col=inline_col,
        source=source if not padded else source + unit + "pass\n",
    )


def _qualname(lines: list[str], d: int, name: str) -> str:
    parts = [name]
    level = len(indent_of(lines[d]))
    i = d - 1
    while level > 0 and i >= 0:
        match = SCOPE_RE.match(lines[i])
        if match and len(match.group("indent")) < level:
            parts.append(match.group("name"))
            level = len(match.group("indent"))
        i -= 1
    return ".".join(reversed(parts))


def _find_function_ast(lines: list[str], line: int) -> FunctionTarget | None:
    """Slow path: the innermost function containing `line` from a whole-file parse."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return None
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.lineno - 1 <= line <= (node.end_lineno or node.lineno) - 1
            and (best is None or node.lineno > best.lineno)
        ):
            best = node
    if best is None:
        return None
    d = best.lineno - 1
    end_line = (best.end_lineno or best.lineno) - 1
    header = _header(lines, d)
    if header is None:
        return None
    header_end, inline_col = header
    return _analyse_trusted(lines, d, header_end, end_line, inline_col)


def _analyse_trusted(
    lines: list[str], d: int, header_end: int, end_line: int, inline_col: int | None
) -> FunctionTarget | None:
    # Extend over comment lines that belong to the body textually.
    def_indent = len(indent_of(lines[d]))
    j = end_line + 1
    while j < len(lines) and (is_blank(lines[j]) or (is_comment(lines[j]) and len(indent_of(lines[j])) > def_indent)):
        if not is_blank(lines[j]):
            end_line = j
        j += 1
    target = _analyse(lines, d, header_end, end_line, inline_col)
    if target is not None:
        return target
    # The function holds a string the dedent broke; describe it without the source snippet.
    return None
