"""Sandboxed verification: run candidate code against tests in confined processes.

    run_tests(code, tests, limits) -> VerificationReport   (thread-safe, always returns)
    check_compiles(code) -> bool                           (compile only, nothing runs)
    isolation_summary() -> str                             (the defences active here)

No verdict is decided where candidate code has run. The candidate's process only answers
with plain data (what its calls returned); the parent compares `assert f(...) == literal`
tests itself, and a judge process without candidate code runs every other test, reaching
the candidate's functions through the parent. Both processes are confined, in layers (each
reported in `VerificationReport.isolation`): a separate interpreter with a scrubbed
environment in a fresh temporary directory; on Linux new network and mount namespaces with
a file view of their own (the standard library, system libraries and a size-capped tmpfs
workdir, read-only but the workdir), uid 65534 without capabilities, a seccomp filter (no
fork/exec/sockets/signals to others), rlimits (memory, CPU, processes, file size); everywhere
an audit hook refusing the same from inside Python. The parent enforces every deadline.
"""

from o1coder.sandbox.run import check_compiles, isolation_summary, run_tests
from o1coder.sandbox.runner import Layers
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport
from o1coder.sandbox.workspace import Workspace

__all__ = [
    "Layers",
    "TestCase",
    "TestOutcome",
    "TestStatus",
    "VerificationReport",
    "Workspace",
    "check_compiles",
    "isolation_summary",
    "run_tests",
]
