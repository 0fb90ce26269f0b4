"""`run_tests`: verify candidate code against tests in the sandbox and say honestly what happened."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Sequence

from o1coder.config import SandboxSettings
from o1coder.sandbox.prepare import PreparedTest, compile_candidate, prepare_test
from o1coder.sandbox.runner import ALL_LAYERS, PARENT_LAYERS, STARTUP_SECONDS, ChildRun, Layers, run_child
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport

ERROR, TIMEOUT = TestStatus.ERROR, TestStatus.TIMEOUT


def check_compiles(code: str) -> bool:
    """Whether `code` compiles (nothing is executed)."""
    return compile_candidate(code)[0] is not None


def run_tests(
    code: str,
    tests: Sequence[TestCase],
    limits: SandboxSettings | None = None,
    *,
    layers: Layers = ALL_LAYERS,
) -> VerificationReport:
    """Run `code`, then each test against its globals, in a confined child process.

    Thread-safe; returns within about timeout_seconds * (len(tests) + 1) + 5 s whatever the
    code does. `layers` switches defences off, for tests of a single layer only.
    """
    limits = limits or SandboxSettings()
    _check_limits(limits)
    tests = list(tests)
    compiled, why = compile_candidate(code)
    if compiled is None:
        message = f"the candidate code does not compile: {why}"
        return VerificationReport(
            compiled=False,
            outcomes=[TestOutcome(t.name, ERROR, "not run: " + message) for t in tests],
            isolation="none (nothing ran)",
            error=message,
        )
    outcomes: list[TestOutcome | None] = [None] * len(tests)
    pending: list[PreparedTest] = []
    for index, test in enumerate(tests):
        prepared = prepare_test(index, test)
        if isinstance(prepared, str):
            outcomes[index] = TestOutcome(test.name, ERROR, prepared)
        else:
            pending.append(prepared)
    return _Verification(tests, outcomes, limits, layers).run(compiled, pending)


def _check_limits(limits: SandboxSettings) -> None:
    if limits.timeout_seconds <= 0 or limits.cpu_seconds < 1 or limits.memory_mb < 64:
        raise ValueError(
            f"sandbox limits out of range: {limits} (timeout_seconds > 0, cpu_seconds >= 1, memory_mb >= 64)"
        )


class _Verification:
    """One run_tests call: as many children as it takes to give every test an outcome."""

    def __init__(self, tests, outcomes, limits, layers):
        self.tests, self.outcomes, self.limits, self.layers = tests, outcomes, limits, layers
        self.output = bytearray()
        self.dropped = 0
        self.isolation = ""
        self.notes: list[str] = []

    def run(self, code, pending: list[PreparedTest]) -> VerificationReport:
        timeout = self.limits.timeout_seconds
        overall = time.monotonic() + timeout * (len(self.tests) + 1) + STARTUP_SECONDS
        compiled, first = True, True
        while True:
            run = run_child(
                code,
                pending,
                self.limits,
                overall,
                self.limits.max_output_bytes - len(self.output),
                self.layers,
            )
            self._absorb(run)
            if run.loaded is not True:
                reason = _load_failure(run, timeout)
                compiled = compiled and not first
                self.notes.insert(0, reason if first else f"a restarted sandbox failed: {reason}")
                self._fill(pending, ERROR, "not run: " + reason)
                break
            progress = len(run.outcomes)
            if run.phase == "test" and run.current is not None and self.outcomes[run.current] is None:
                self.outcomes[run.current] = self._stopped_test(run)
                progress += 1
            pending = [p for p in pending if self.outcomes[p.index] is None]
            if not pending:
                break
            if run.killed == "overall" or time.monotonic() >= overall:
                self.notes.append("the overall time limit was reached")
                self._fill(pending, TIMEOUT, "not run: the overall time limit was reached")
                break
            if not progress:
                self._fill(
                    pending, ERROR, f"not run: the sandbox process stopped between tests ({run.exit_text})"
                )
                break
            first = False
        return VerificationReport(
            compiled=compiled,
            outcomes=[o for o in self.outcomes if o is not None],
            isolation=f"{PARENT_LAYERS}; {self.isolation}" if self.isolation else PARENT_LAYERS,
            error="; ".join(self.notes),
            output=self.output.decode("utf-8", "replace"),
            output_truncated=self.dropped > 0,
        )

    def _absorb(self, run: ChildRun) -> None:
        self.output += run.output
        self.dropped += run.output_dropped
        self.isolation = self.isolation or run.isolation
        for index, outcome in run.outcomes.items():
            self.outcomes[index] = dataclasses.replace(outcome, name=self.tests[index].name)
        if run.killed == "protocol":
            self.notes.append("the result channel carried messages out of order (candidate tampering?)")
        if run.forged_lines:
            self.notes.append(
                f"ignored {run.forged_lines} unauthenticated line(s) on the result channel (candidate tampering?)"
            )

    def _fill(self, pending: list[PreparedTest], status: TestStatus, message: str) -> None:
        for p in pending:
            if self.outcomes[p.index] is None:
                self.outcomes[p.index] = TestOutcome(self.tests[p.index].name, status, message)

    def _stopped_test(self, run: ChildRun) -> TestOutcome:
        name, seconds = self.tests[run.current].name, run.current_seconds
        if run.killed == "test":
            return TestOutcome(name, TIMEOUT, f"timed out after {self.limits.timeout_seconds:g} s", seconds)
        if run.killed == "overall":
            return TestOutcome(name, TIMEOUT, "the overall time limit was reached", seconds)
        if run.exit_signal == signal.SIGXCPU:
            return TestOutcome(
                name, TIMEOUT, f"CPU time limit of {self.limits.cpu_seconds} s exceeded", seconds
            )
        if run.exit_signal == signal.SIGKILL:
            return TestOutcome(
                name, ERROR, "the sandbox process was killed (SIGKILL: out of memory?)", seconds
            )
        if run.killed == "protocol":
            return TestOutcome(name, ERROR, "the sandbox broke its protocol and was stopped", seconds)
        if run.exit_signal is not None:
            return TestOutcome(
                name, ERROR, f"the process crashed during this test ({run.exit_text})", seconds
            )
        return TestOutcome(
            name, ERROR, f"the process exited during this test ({run.exit_text}); tests may not exit", seconds
        )


def _load_failure(run: ChildRun, timeout: float) -> str:
    if run.loaded is False:
        return f"the candidate code failed while loading: {run.load_message}"
    if run.phase == "start":
        tail = run.output.decode("utf-8", "replace").strip().splitlines()[-3:]
        detail = f": {' | '.join(tail)}" if tail else ""
        return f"the sandbox did not start ({run.killed and 'timed out' or run.exit_text}){detail}"
    if run.killed == "protocol":
        return "the sandbox broke its protocol while loading (candidate tampering?)"
    if run.killed in ("load", "overall"):
        return f"the candidate code did not finish loading within {timeout:g} s"
    if run.exit_signal == signal.SIGXCPU:
        return "the candidate code exceeded the CPU time limit while loading"
    return f"the candidate code ended the process while loading ({run.exit_text})"


_summary: str | None = None
_summary_lock = threading.Lock()


def isolation_summary() -> str:
    """The isolation active on this machine (probed once by running an empty candidate)."""
    global _summary
    with _summary_lock:
        if _summary is None:
            report = run_tests("", [])
            if report.error:  # not cached: the next call probes again
                return f"{report.isolation} (probe failed: {report.error})"
            _summary = report.isolation
        return _summary
