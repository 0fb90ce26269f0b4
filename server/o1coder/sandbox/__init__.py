"""Sandboxed verification: run candidate code against tests in a confined child process.

    run_tests(code, tests, limits) -> VerificationReport   (thread-safe, always returns)
    check_compiles(code) -> bool                           (compile only, nothing runs)
    isolation_summary() -> str                             (the defences active here)

Defences, layered (each reported in `VerificationReport.isolation`): a separate interpreter
with a scrubbed environment in a fresh temporary directory; on Linux new network and mount
namespaces (everything read-only but a size-capped tmpfs workdir), uid 65534 without
capabilities, a seccomp filter (no fork/exec/sockets/signals to others), rlimits (memory,
CPU, processes, file size); everywhere an audit hook refusing the same from inside Python.
Results come back over an authenticated pipe that candidate code cannot forge, and the
parent enforces every deadline itself.
"""

from o1coder.sandbox.run import check_compiles, isolation_summary, run_tests
from o1coder.sandbox.runner import Layers
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport

__all__ = [
    "Layers",
    "TestCase",
    "TestOutcome",
    "TestStatus",
    "VerificationReport",
    "check_compiles",
    "isolation_summary",
    "run_tests",
]
