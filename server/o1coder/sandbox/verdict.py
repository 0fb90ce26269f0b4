"""The parent's verdict on a fast test: the candidate's call value (plain data) against the literal.

Nothing here runs candidate code: the value was decoded from plain data into builtin objects
by the parent, so `==`, `<`, `in`, `bool()` and `abs()` are the builtins' own. A value that
is not plain data (an `Opaque`) passes no check: its class's methods are the candidate's,
so nothing it would say about itself is trusted, and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from o1coder.sandbox.child.plain import Opaque
from o1coder.sandbox.prepare import OPERATORS, Check, FastTest
from o1coder.sandbox.types import TestStatus

MAX_GOT = 300
_BY_TEXT = {text: fn for text, fn in OPERATORS.values()}


@dataclass(frozen=True)
class Verdict:
    status: TestStatus
    message: str = ""
    note: str = ""  # for the report, when the value was not plain data


def decide(test: FastTest, value: object) -> Verdict:
    check = test.check
    if _has_opaque(value):
        what = _describe_opaque(value)
        return Verdict(
            TestStatus.FAILED,
            f"{test.text} (got {_shown(value)})",
            f"{test.text}: the candidate returned {what}, not plain data; its own comparison is not trusted",
        )
    try:
        ok = _holds(check, value)
    except (TypeError, ValueError, ArithmeticError, RecursionError, MemoryError) as exc:
        return Verdict(TestStatus.ERROR, f"{type(exc).__name__}: {exc}"[:2000] + f" (checking {_shown(value)})")
    if ok:
        return Verdict(TestStatus.PASSED)
    return Verdict(TestStatus.FAILED, f"{test.text} (got {_shown(value)})")


def _holds(check: Check, value: object) -> bool:
    if check.kind == "truthy":
        return bool(value)
    if check.kind == "falsy":
        return not value
    if check.kind == "close":
        if type(value) not in (int, float, bool):
            raise TypeError(f"expected a number, got {type(value).__name__}")
        if check.isclose:
            return math.isclose(value, check.expected, rel_tol=check.rel_tol, abs_tol=check.tolerance)
        difference = abs(value - check.expected)
        return difference <= check.tolerance if check.inclusive else difference < check.tolerance
    fn = _BY_TEXT[check.op]
    left, right = (value, check.expected) if check.call_on_left else (check.expected, value)
    return bool(fn(left, right))


def _has_opaque(value: object, depth: int = 0) -> bool:
    if isinstance(value, Opaque):
        return True
    if depth > 70:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_opaque(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_has_opaque(k, depth + 1) or _has_opaque(v, depth + 1) for k, v in value.items())
    return False


def _describe_opaque(value: object) -> str:
    if isinstance(value, Opaque):
        article = "an" if value.type_name[:1].lower() in "aeiou" else "a"
        detail = f" ({value.description})" if value.description not in ("", "not plain data", "an object") else ""
        return f"{article} {value.type_name} object{detail}"
    return "a value holding an object"


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except (RecursionError, MemoryError, ValueError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_GOT else text[:MAX_GOT] + "..."
