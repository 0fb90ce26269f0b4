"""Building edits: the text edits Plan, Refine, Implement and Generate tests make, and the
LSP edit objects that carry them. Pure text logic (targets come from `o1coder.lsp.targets`).

Edits replace whole lines, so they never depend on the position encoding except for the
single-line `def f(): pass` case, which is converted to UTF-16 units explicitly.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from lsprotocol import types

from o1coder.lsp.targets import (
    FunctionTarget,
    Target,
    TaskTarget,
)
from o1coder.lsp.text import (
    newline_of,
    split_lines,
    utf16_len,
    utf16_to_index,
)

# ------------------------------------------------------------------ new lines


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
