"""Text from candidate code or a model made safe for a terminal: control characters escaped.

A failure message can carry anything a candidate's `__str__` returned, ANSI escapes included
(enough to repaint a line as "1/1 tests passed"). Human output passes such text through
`printable`; JSON output needs nothing (json escapes control characters itself).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = True) -> str:
    """`text` with every control character shown as an escape (newlines and tabs too when one_line)."""
    return (_UNSAFE_LINE if one_line else _UNSAFE).sub(_escape, text)
