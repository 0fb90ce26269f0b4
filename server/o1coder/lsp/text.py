"""Reading document text: lines as LSP counts them, UTF-16 offsets, indentation, comments.

Pure string functions shared by target finding (`o1coder.lsp.targets`) and edit building
(`o1coder.lsp.edits`), plus the checks of what a document is (Python, and whether it parses).
"""

from __future__ import annotations

import ast


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
