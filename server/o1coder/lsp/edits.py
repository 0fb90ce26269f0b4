"""Pure text logic of the language server: what is at a position, and the edits to make.

Nothing here touches LSP state or the engine, so all of it is unit-testable on strings.

Finding the target is local: from the cursor we walk up to the nearest enclosing `def`,
find the function's textual extent by indentation, and `ast`-parse only that function.
A whole-file parse of a 2,000-line module costs ~15 ms; listing code actions must stay far
under 20 ms even while a search holds a core, so the full parse is only a fallback for the
rare function the indentation scan gets wrong (a dedented multi-line string inside it).

Edits replace whole lines, so they never depend on the position encoding except for the
single-line `def f(): pass` case, which is converted to UTF-16 units explicitly.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

DEF_RE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
SCOPE_RE = re.compile(r"^(?P<indent>[ \t]*)(?:(?:async[ \t]+)?def|class)[ \t]+(?P<name>\w+)")
TODO_RE = re.compile(r"\b(TODO|FIXME|XXX)\b")
WORD_RE = re.compile(r"[A-Za-z]{2,}")

MAX_SCAN_LINES = 20_000  # how far up to look for an enclosing def


# ------------------------------------------------------------------ text helpers


def split_lines(text: str) -> list[str]:
    """Lines without their terminators; a trailing newline gives a last empty line (as LSP counts)."""
    return [line.rstrip("\r") for line in text.split("\n")]


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_to_index(line: str, character: int) -> int:
    """Python string index of UTF-16 offset `character` in `line` (clamped to the line)."""
    units = 0
    for index, ch in enumerate(line):
        if units >= character:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def is_blank(line: str) -> bool:
    return not line.strip()


def is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def comment_text(line: str) -> str:
    """The text of a comment line without `#` and one following space."""
    body = line.lstrip()[1:]
    return body[1:] if body.startswith(" ") else body


def comment_block(text: str, indent: str) -> list[str]:
    """`text`'s lines as `# ` comments at `indent` (blank lines become a bare `#`)."""
    out = []
    for line in text.strip("\n").splitlines():
        line = line.rstrip()
        out.append(f"{indent}# {line}" if line.strip() else f"{indent}#")
    return out


def reindent(code: str, indent: str) -> list[str]:
    """`code` dedented, then every non-blank line prefixed with `indent`."""
    out = []
    for line in textwrap.dedent(code.expandtabs(4) if "\t" in code and " " in code else code).splitlines():
        out.append(indent + line if line.strip() else "")
    return out


def is_python_document(language_id: str | None, uri: str) -> bool:
    """Python files first: documents in other languages get nothing from this server yet."""
    if language_id:
        return language_id == "python"
    name = uri.rsplit("/", 1)[-1]
    return name.endswith((".py", ".pyi")) or "." not in name


def is_valid_python(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


# ------------------------------------------------------------------ targets


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
    stub = all(_is_stub_statement(s) for s in statements)
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


def _is_stub_statement(node: ast.stmt) -> bool:
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
        return True
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


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


# ------------------------------------------------------------------ edits


def line_range(lines: list[str], first: int, last: int) -> types.Range:
    """The range of whole lines `first..last` including the last line's terminator when there is one."""
    if last + 1 < len(lines):
        end = types.Position(line=last + 1, character=0)
    else:
        end = types.Position(line=last, character=utf16_len(lines[last]))
    return types.Range(start=types.Position(line=first, character=0), end=end)


def _replace_lines(lines: list[str], first: int, last: int, new_lines: list[str], newline: str) -> types.TextEdit:
    """Replace lines first..last (inclusive; last < first inserts before `first`)."""
    if last < first:
        position = types.Position(line=first, character=0)
        if first >= len(lines):
            # Insert after the last line, which has no terminator.
            position = types.Position(line=len(lines) - 1, character=utf16_len(lines[-1]))
            return types.TextEdit(range=types.Range(start=position, end=position), new_text=newline + newline.join(new_lines))
        return types.TextEdit(
            range=types.Range(start=position, end=position), new_text="".join(ln + newline for ln in new_lines)
        )
    rng = line_range(lines, first, last)
    text = newline.join(new_lines)
    if last + 1 < len(lines):
        text += newline
    return types.TextEdit(range=rng, new_text=text)


def _body_edit(lines: list[str], target: FunctionTarget, body: list[str], newline: str) -> types.TextEdit:
    """Replace the function's replaceable body (after header and docstring) with `body` lines."""
    if target.inline_col is not None:
        header_line = lines[target.header_end]
        head = header_line[: target.inline_col].rstrip()
        return _replace_lines(lines, target.header_end, target.end_line, [head, *body], newline)
    return _replace_lines(lines, target.body_start, target.end_line, body, newline)


def plan_edit(text: str, target: Target, plan: str) -> types.TextEdit:
    """Insert `plan` as comments: into a function's body (keeping TODO lines and a stub statement),
    or below a task comment. A function's existing plan comments are replaced (refine)."""
    lines = split_lines(text)
    newline = newline_of(text)
    if isinstance(target, TaskTarget):
        if target.replace:
            block = [*comment_block(target.text, target.indent), *comment_block(plan, target.indent)]
            return _replace_lines(lines, target.first_line, target.last_line, block, newline)
        return _replace_lines(lines, target.last_line + 1, target.last_line, comment_block(plan, target.indent), newline)
    kept = [lines[i] for i in target.todo_lines]
    body = [*kept, *comment_block(plan, target.body_indent), target.body_indent + target.stub_statement]
    return _body_edit(lines, target, body, newline)


refine_edit = plan_edit


def implement_edit(
    text: str, target: Target, code: str, pseudocode: str = "", keep_pseudocode: bool = True
) -> types.TextEdit:
    """Replace a function's body with the body of `code` (pseudocode first, as comments, when kept),
    or put `code` below a task comment (or in place of a selection)."""
    lines = split_lines(text)
    newline = newline_of(text)
    if isinstance(target, TaskTarget):
        new = comment_block(pseudocode, target.indent) if keep_pseudocode and pseudocode.strip() else []
        new += reindent(code, target.indent)
        if target.replace:
            return _replace_lines(lines, target.first_line, target.last_line, new, newline)
        return _replace_lines(lines, target.last_line + 1, target.last_line, new, newline)
    body_code = function_body(code, target.name, drop_docstring=target.has_docstring)
    new = comment_block(pseudocode, target.body_indent) if keep_pseudocode and pseudocode.strip() else []
    new += reindent(body_code, target.body_indent)
    return _body_edit(lines, target, new, newline)


class CodeShapeError(ValueError):
    """The engine's code cannot be turned into a function body."""


def function_body(code: str, name: str, drop_docstring: bool = True) -> str:
    """The body for function `name` from the engine's `code`, at column 0.

    `code` is usually a whole module: imports, helpers, `def name(...)`. The function's body
    is taken; imports and helper definitions are moved inside it so the edit stays local to
    the function. Code without a matching def is taken as a body already.
    """
    code = textwrap.dedent(code).strip("\n")
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise CodeShapeError(f"the generated code does not parse: {exc.msg} (line {exc.lineno})") from exc
    code_lines = code.splitlines()
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    main = next((n for n in functions if n.name == name), None)
    if main is None and len(functions) == 1 and len(tree.body) == 1:
        main = functions[0]
    if main is None:
        return code
    extras: list[str] = []
    for node in tree.body:
        if node is main:
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # module docstring
        if isinstance(node, ast.If) and _is_main_guard(node):
            continue
        start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        extras.extend(code_lines[start : node.end_lineno])
    statements = list(main.body)
    docstring: list[str] = []
    if (
        statements
        and isinstance(statements[0], ast.Expr)
        and isinstance(statements[0].value, ast.Constant)
        and isinstance(statements[0].value.value, str)
        and len(statements) > 1
    ):
        if not drop_docstring:
            docstring = textwrap.dedent("\n".join(code_lines[statements[0].lineno - 1 : statements[0].end_lineno])).splitlines()
        statements = statements[1:]
    first = statements[0].lineno - 1
    while first - 1 >= main.lineno and code_lines[first - 1].lstrip().startswith("#"):
        first -= 1  # comments just above the first statement belong to the body
    if statements[0].lineno == main.lineno:
        body_lines = [ast.get_source_segment(code, s) or "" for s in statements]  # `def f(): return 1`
    else:
        # Keep comments between statements: take the text from the first statement to the end.
        body_lines = textwrap.dedent("\n".join(code_lines[first : main.end_lineno])).splitlines()
    return "\n".join([*docstring, *extras, *body_lines]).strip("\n")


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
    )


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with non-overlapping `edits` applied (positions in UTF-16 units), as a client would."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)

    def index(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        return offsets[pos.line] + utf16_to_index(lines[pos.line].rstrip("\r"), pos.character)

    spans = sorted(((index(e.range.start), index(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def document_edit(uri: str, version: int | None, edits: list[types.TextEdit]) -> types.TextDocumentEdit:
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=list(edits),
    )


def workspace_edit(
    changes: list[types.TextDocumentEdit | types.CreateFile], document_changes: bool = True
) -> types.WorkspaceEdit:
    """One atomic WorkspaceEdit; plain `changes` (unversioned) only for clients without documentChanges."""
    if document_changes:
        return types.WorkspaceEdit(document_changes=list(changes))
    flat: dict[str, list[types.TextEdit]] = {}
    for change in changes:
        if isinstance(change, types.TextDocumentEdit):
            flat.setdefault(change.text_document.uri, []).extend(change.edits)  # type: ignore[arg-type]
    return types.WorkspaceEdit(changes=flat)


# ------------------------------------------------------------------ tests files


def tests_file_for(module: Path, root: Path | None) -> Path:
    """The conventional tests file of `module`: `<root>/tests/test_<module>.py` when the project
    has a tests/ directory, else `test_<module>.py` beside the module."""
    if root is not None and (root / "tests").is_dir():
        return root / "tests" / f"test_{module.stem}.py"
    return module.with_name(f"test_{module.stem}.py")


def import_line(module: Path, root: Path | None, names: list[str], beside: bool) -> str:
    """`from <module> import <names>` as the tests file should write it."""
    dotted = module.stem
    if not beside and root is not None:
        try:
            parts = list(module.with_suffix("").relative_to(root).parts)
        except ValueError:
            parts = [module.stem]
        if parts and parts[0] == "src":
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        dotted = ".".join(parts) or module.stem
    return f"from {dotted} import {', '.join(sorted(set(names)))}"


def append_edit(existing: str, addition: str) -> tuple[types.TextEdit, int]:
    """Append `addition` (whole lines) to a file holding `existing`; also the 0-based line it starts at."""
    lines = split_lines(existing)
    newline = newline_of(existing) if existing else "\n"
    if existing == "":
        start = types.Position(line=0, character=0)
        return types.TextEdit(range=types.Range(start=start, end=start), new_text=addition), 0
    last = len(lines) - 1
    end = types.Position(line=last, character=utf16_len(lines[last]))
    prefix = ""
    if lines[last] != "":
        prefix = newline  # the file does not end with a newline
    separator = newline * 2 if any(ln.strip() for ln in lines[-2:]) else ""  # two blank lines before a def
    text = prefix + separator + addition.replace("\n", newline)
    first_line = last + text[: len(text) - len(text.lstrip("\r\n"))].count("\n")
    return types.TextEdit(range=types.Range(start=end, end=end), new_text=text), first_line
