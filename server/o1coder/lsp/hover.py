"""Hover on a function header: what o1coder can do there, and the search running on the document."""

from __future__ import annotations

from lsprotocol import types

from o1coder.lsp import targets
from o1coder.lsp.text import split_lines, utf16_len
from o1coder.lsp.work_commands import offered


def hover(text: str, position: types.Position, status: str | None) -> types.Hover | None:
    """Markdown for the header of the function at `position`; None elsewhere."""
    lines = split_lines(text)
    target = targets.find_function(lines, position.line, position.character)
    if target is None or not target.def_line <= position.line <= target.header_end:
        return None
    parts = []
    if status:
        parts.append(f"**o1coder** · {status}")
    if target.stub:
        parts.append("**o1coder** code actions: " + " · ".join(command.title for command in offered(target)))
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n".join(parts)),
        range=types.Range(
            start=types.Position(line=target.def_line, character=0),
            end=types.Position(line=target.def_line, character=utf16_len(lines[target.def_line])),
        ),
    )
