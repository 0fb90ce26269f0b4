"""`o1coder verify --code FILE --tests FILE [--json]`: run a program against tests in the sandbox.

The tests file holds `assert ...` lines and/or `def test_*():` functions (imports at the top
are shared by every test), the format the engine's test generator writes.

Exit codes: 0 every test passed; 1 some test did not pass; 2 bad input (a missing or empty
file, a file that is not Python, tests that are not asserts or test functions).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from o1coder.commands.printable import printable
from o1coder.config import SandboxSettings
from o1coder.engine.tests_format import MalformedTests, parse_tests
from o1coder.sandbox import run_tests
from o1coder.sandbox.limits import MAX_CODE_BYTES, SourceRejected, check_size, parse
from o1coder.sandbox.types import TestCase, VerificationReport


class BadInput(ValueError):
    """An input file the command cannot use; the message says which and why."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="run a program against tests in the sandbox",
        description="Runs the program (--code), then each test (assert lines or def test_* functions, "
        "--tests) against it, in an isolated process; prints one line per test. Exit status: 0 all "
        "passed, 1 some did not, 2 bad input.",
    )
    p.add_argument("--code", type=Path, required=True, help="the program (Python file)")
    p.add_argument(
        "--tests", type=Path, required=True, help="the tests (assert lines or def test_* functions)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    defaults = SandboxSettings()
    p.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout_seconds,
        help="wall-clock seconds per test (default %(default)s)",
    )
    p.add_argument(
        "--memory-mb", type=int, default=defaults.memory_mb, help="memory limit (default %(default)s)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        code = read_python(args.code, "program")
        tests = read_tests(args.tests)
        limits = limits_from(args)
    except BadInput as exc:
        print(f"o1coder verify: {exc}", file=sys.stderr)
        return 2
    report = run_tests(code, tests, limits)
    print(json.dumps(to_json(report)) if args.json else render(report))
    return 0 if report.total and report.passed == report.total else 1


def limits_from(args: argparse.Namespace) -> SandboxSettings:
    if args.timeout <= 0:
        raise BadInput(f"--timeout must be positive, got {args.timeout}")
    if args.memory_mb < 64:
        raise BadInput(f"--memory-mb must be at least 64, got {args.memory_mb}")
    defaults = SandboxSettings()
    return SandboxSettings(
        timeout_seconds=args.timeout,
        cpu_seconds=max(defaults.cpu_seconds, int(args.timeout) + 1),
        memory_mb=args.memory_mb,
        max_output_bytes=defaults.max_output_bytes,
    )


def read_text(path: Path, what: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CODE_BYTES:  # before reading it: a huge file is refused, not parsed
            raise BadInput(f"{what} file {path} is too large ({size:,} bytes; the limit is {MAX_CODE_BYTES:,})")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {what} file {path}: {exc}") from None
    if not text.strip():
        raise BadInput(f"{what} file {path} is empty")
    return text


def read_python(path: Path, what: str) -> str:
    text = read_text(path, what)
    try:
        check_size(text, f"{what} file {path}", MAX_CODE_BYTES)
        parse(text, f"{what} file {path}", MAX_CODE_BYTES)
    except SourceRejected as exc:
        raise BadInput(str(exc)) from None
    except SyntaxError as exc:
        raise BadInput(f"{what} file {path} is not valid Python (line {exc.lineno}: {exc.msg})") from None
    return text


def read_tests(path: Path) -> list[TestCase]:
    text = read_python(path, "tests")
    try:
        return parse_tests(text)
    except (MalformedTests, RecursionError, MemoryError) as exc:
        raise BadInput(f"tests file {path}: {exc or 'nested too deeply'}") from None


def to_json(report: VerificationReport) -> dict:
    return {
        "passed": report.passed,
        "total": report.total,
        "compiled": report.compiled,
        "tests": [
            {
                "name": o.name,
                "status": o.status.value,
                "message": o.message,
                "seconds": round(o.seconds, 6),
                "output": o.output,
            }
            for o in report.outcomes
        ],
        "isolation": report.isolation,
        "error": report.error,
        "notes": report.notes,
    }


def render(report: VerificationReport) -> str:
    names = [printable(o.name) for o in report.outcomes]
    width = max((len(n) for n in names), default=0)
    lines = [
        f"{o.status.value:<8} {name:<{width}}  {printable(o.message)}".rstrip()
        for o, name in zip(report.outcomes, names, strict=True)
    ]
    lines.append(
        f"{report.passed}/{report.total} tests passed"
        + ("" if report.compiled else " (the program did not load)")
    )
    if report.error:
        lines.append(f"note: {printable(report.error)}")
    lines += [f"note: {printable(note)}" for note in report.notes]
    lines.append(f"isolation: {report.isolation}")
    return "\n".join(lines)
