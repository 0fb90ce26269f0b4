"""`run_tests`: verify candidate code against tests in the sandbox and say honestly what happened.

Two confined processes do the work, and neither decides a verdict with candidate code beside it:

- the **candidate's process** loads the candidate code and answers requests with plain data
  (the value a call returned, or the exception it raised);
- the **judge** (started only when a test needs it) runs tests that are more than a call
  checked against a literal, reaching the candidate's functions through the parent.

Fast tests (`assert f(...) == literal` and kin, see `prepare`) are decided here in the
parent from the call's value. The parent keeps every deadline itself; if a process dies or
is killed inside a test, that test is `timeout` or `error` and the remaining tests run in
fresh processes. No test counts as passed without a value that passed the parent's check or
an "end" message from the judge.
"""

from __future__ import annotations

import dataclasses
import secrets
import signal
import threading
import time
from collections.abc import Sequence

from o1coder.config import SandboxSettings
from o1coder.sandbox.child import plain
from o1coder.sandbox.limits import MAX_TEST_BYTES
from o1coder.sandbox.prepare import FastTest, JudgeTest, PreparedTest, compile_candidate, prepare_test
from o1coder.sandbox.runner import (
    ALL_LAYERS,
    FORMAT_SECONDS,
    GONE,
    GRACE_SECONDS,
    PARENT_LAYERS,
    STARTUP_SECONDS,
    TIMEOUT,
    Child,
    Layers,
    Pump,
)
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport
from o1coder.sandbox.verdict import decide
from o1coder.sandbox.workspace import Workspace

ERROR, TIMEOUT_STATUS, FAILED = TestStatus.ERROR, TestStatus.TIMEOUT, TestStatus.FAILED
REPLIES = ("ok", "raised", "timeout")
JUDGE_REQUESTS = ("call", "attr", "op")
EXITS = ("SystemExit", "KeyboardInterrupt", "GeneratorExit")
MAX_MESSAGE = 2000
MAX_TESTS = 10_000


def check_compiles(code: str) -> bool:
    """Whether `code` compiles (nothing is executed)."""
    return compile_candidate(code)[0] is not None


def run_tests(
    code: str,
    tests: Sequence[TestCase],
    limits: SandboxSettings | None = None,
    *,
    layers: Layers = ALL_LAYERS,
    workspace: Workspace | None = None,
) -> VerificationReport:
    """Run `code`, then each test against it, in confined processes; never raises on hostile input.

    Thread-safe; returns within about timeout_seconds * (len(tests) + 1) + 10 s whatever the
    code does. `workspace`: the user's project the code belongs to (read-only, importable,
    tests hidden). `layers` switches defences off, for tests of a single layer only.
    """
    limits = limits or SandboxSettings()
    _check_limits(limits)
    tests = list(tests)[:MAX_TESTS]
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
        prepared = prepare_test(index, test) if len(test.source) <= 4 * MAX_TEST_BYTES else "the test is too large"
        if isinstance(prepared, str):
            outcomes[index] = TestOutcome(test.name, ERROR, prepared)
        else:
            pending.append(prepared)
    return _Verification(tests, outcomes, limits, layers, workspace).run(compiled, pending)


def _check_limits(limits: SandboxSettings) -> None:
    if limits.timeout_seconds <= 0 or limits.cpu_seconds < 1 or limits.memory_mb < 64:
        raise ValueError(
            f"sandbox limits out of range: {limits} (timeout_seconds > 0, cpu_seconds >= 1, memory_mb >= 64)"
        )


class _Broken(Exception):
    """The processes can no longer be trusted to continue: the current test's outcome, and why."""

    def __init__(self, outcome: TestOutcome):
        self.outcome = outcome


class _Verification:
    """One run_tests call: as many process pairs as it takes to give every test an outcome."""

    def __init__(self, tests, outcomes, limits: SandboxSettings, layers: Layers, workspace: Workspace | None = None):
        self.tests, self.outcomes, self.limits, self.layers = tests, outcomes, limits, layers
        self.workspace = workspace.payload() if workspace is not None else None
        self.timeout = float(limits.timeout_seconds)
        self.isolation = ""
        self.error_notes: list[str] = []
        self.notes: list[str] = []
        self.pump = Pump(limits.max_output_bytes)
        self.stray = 0

    def run(self, code, pending: list[PreparedTest]) -> VerificationReport:
        overall = time.monotonic() + self.timeout * (len(self.tests) + 1) + STARTUP_SECONDS
        compiled, first = True, True
        try:
            while True:
                session = _Session(self, code, pending, overall)
                try:
                    loaded = session.start()
                    if loaded is not None:  # the candidate did not load: why
                        compiled = compiled and not first
                        self.error_notes.insert(0, loaded if first else f"a restarted sandbox failed: {loaded}")
                        self._fill(pending, ERROR, "not run: " + loaded)
                        break
                    session.run_all(pending)
                finally:
                    session.close()
                pending = [p for p in pending if self.outcomes[p.index] is None]
                if not pending:
                    break
                if time.monotonic() >= overall:
                    self.error_notes.append("the overall time limit was reached")
                    self._fill(pending, TIMEOUT_STATUS, "not run: the overall time limit was reached")
                    break
                first = False
        finally:
            self.pump.close()
        if self.stray:
            self.notes.append(f"ignored {self.stray} line(s) on the result channel that were not answers")
        return VerificationReport(
            compiled=compiled,
            outcomes=[o for o in self.outcomes if o is not None],
            isolation=f"{PARENT_LAYERS}; {self.isolation}" if self.isolation else PARENT_LAYERS,
            error="; ".join(self.error_notes),
            output=self.pump.output.decode("utf-8", "replace"),
            output_truncated=self.pump.output_dropped > 0,
            notes=self.notes,
        )

    def note(self, text: str) -> None:
        if text and text not in self.notes and len(self.notes) < 50:
            self.notes.append(text[:MAX_MESSAGE])

    def _fill(self, pending: list[PreparedTest], status: TestStatus, message: str) -> None:
        for p in pending:
            if self.outcomes[p.index] is None:
                self.outcomes[p.index] = TestOutcome(self.tests[p.index].name, status, message)


class _Session:
    """The candidate's process (and the judge, if a pending test needs one) for a run of tests."""

    def __init__(self, verification: _Verification, code, pending: list[PreparedTest], overall: float):
        self.v, self.overall = verification, overall
        self.pump = verification.pump
        limits, layers = verification.limits, verification.layers
        fast = [p.payload() for p in pending if isinstance(p, FastTest)]
        judged = [p.payload() for p in pending if isinstance(p, JudgeTest)]
        # CPU time is a backstop for the whole process (a test is stopped by the wall clock first)
        cpu = int(limits.cpu_seconds) * (len(pending) + 1)
        shared = {"workspace": verification.workspace}
        self.candidate = Child("candidate", {"code": code, "fast": fast, **shared}, limits, cpu, layers)
        self.pump.add(self.candidate)
        self.judge = Child("judge", {"tests": judged, **shared}, limits, cpu, layers) if judged else None
        if self.judge is not None:
            self.pump.add(self.judge)
        self.rid = 0

    # -- start --------------------------------------------------------------------------------

    def start(self) -> str | None:
        """None once the candidate loaded (and the judge is ready), else why not."""
        timeout = self.v.timeout
        ready = self._wait(self.candidate, time.monotonic() + STARTUP_SECONDS, ("ready",))
        if not isinstance(ready, list):
            return self._start_failure(self.candidate, ready)
        self.v.isolation = self.v.isolation or str(ready[1])[:MAX_MESSAGE]
        loaded = self._wait(self.candidate, time.monotonic() + timeout + FORMAT_SECONDS + GRACE_SECONDS, ("loaded",))
        if loaded == TIMEOUT:
            return f"the candidate code did not finish loading within {timeout:g} s"
        if loaded == GONE:
            text, sig = self.candidate.exit_status()
            if sig == signal.SIGXCPU:
                return "the candidate code exceeded the CPU time limit while loading"
            return f"the candidate code ended the process while loading ({text})"
        if len(loaded) < 4 or loaded[1] is not True:
            message = loaded[2] if len(loaded) > 2 and type(loaded[2]) is str else "(no message)"
            return f"the candidate code failed while loading: {message[:MAX_MESSAGE]}"
        if self.judge is not None:
            ready = self._wait(self.judge, time.monotonic() + STARTUP_SECONDS, ("ready",))
            if not isinstance(ready, list):
                return self._start_failure(self.judge, ready)
            names = loaded[3] if type(loaded[3]) is list else []
            self.pump.send(self.judge, ["names", _valid_names(names)])
        return None

    def _start_failure(self, child: Child, what: str) -> str:
        tail = self.pump.output.decode("utf-8", "replace").strip().splitlines()[-3:]
        detail = f": {' | '.join(tail)}" if tail else ""
        how = "timed out" if what == TIMEOUT else child.exit_status()[0] or child.exit_text
        return f"the sandbox did not start ({how}){detail}"

    # -- tests --------------------------------------------------------------------------------

    def run_all(self, pending: list[PreparedTest]) -> None:
        for test in pending:
            if time.monotonic() >= self.overall:
                return
            name = self.v.tests[test.index].name
            started = time.monotonic()
            try:
                outcome = self._fast(test) if isinstance(test, FastTest) else self._judged(test)
            except _Broken as broken:
                outcome = broken.outcome
                self.v.outcomes[test.index] = dataclasses.replace(
                    outcome, name=name, seconds=outcome.seconds or time.monotonic() - started
                )
                return
            self.v.outcomes[test.index] = dataclasses.replace(outcome, name=name, seconds=time.monotonic() - started)

    def _deadline(self) -> float:
        return min(time.monotonic() + self.v.timeout + FORMAT_SECONDS + GRACE_SECONDS, self.overall)

    def _fast(self, test: FastTest) -> TestOutcome:
        deadline = self._deadline()
        self.rid = _request_id()
        self._ask(["eval", self.rid, test.index, self.v.timeout])
        reply = self._reply(deadline, self.rid)
        if reply[0] == "ok":
            value = self._decode(reply[2])
            if value is None:
                return TestOutcome("", ERROR, "the candidate's process sent an unreadable value")
            verdict = decide(test, value[0])
            self.v.note(verdict.note)
            return TestOutcome("", verdict.status, verdict.message, output=plain.canonical(value[0]))
        return self._not_ok(reply)

    def _judged(self, test: JudgeTest) -> TestOutcome:
        deadline = self._deadline()
        self.pump.send(self.judge, ["run", test.index, self.v.timeout])
        values: list = []
        while True:
            message = self._wait(self.judge, deadline, ("end", *JUDGE_REQUESTS))
            if not isinstance(message, list):
                self._stopped(self.judge, message)
            if message[0] == "end":
                break
            self._relay(message, deadline, values)
        _, index, status, text, notes = (message + [None] * 5)[:5]
        if index != test.index or status not in ("passed", "failed", "error", "timeout"):
            self._stopped(self.judge, "protocol")
        for note in notes if type(notes) is list else []:
            self.v.note(f"{self.v.tests[test.index].name}: {note}" if type(note) is str else "")
        output = plain.canonical(values) if values else ""
        outcome = TestOutcome("", TestStatus(status), str(text)[:MAX_MESSAGE], output=output)
        if outcome.status is TIMEOUT_STATUS:  # the candidate may still be busy with the test's call
            for child in self._children():
                child.kill()
            raise _Broken(outcome)
        return outcome

    def _relay(self, request: list, deadline: float, values: list) -> None:
        """Pass a judge's request to the candidate's process and its checked answer back."""
        rid = request[1] if len(request) > 1 else None
        if type(rid) is not int:
            self._stopped(self.judge, "protocol")
        self.rid = _request_id()  # the parent's own ids, whoever asks, unguessable: no answer ahead of time
        seconds = max(deadline - time.monotonic() - GRACE_SECONDS - FORMAT_SECONDS, 0.01)
        self._ask([request[0], self.rid, *request[2:-1], seconds])
        reply = self._reply(deadline, self.rid)
        if reply[0] == "ok":
            value = self._decode(reply[2])
            back = reply[3] if len(reply) > 3 and type(reply[3]) is list else []
            if value is None or any(self._decode(w[1]) is None for w in back if type(w) is list and len(w) == 2):
                reply = ["raised", rid, _sandbox_error("the candidate's process sent an unreadable value")]
            else:
                values.append(value[0])
                reply = ["ok", rid, reply[2], [w for w in back if type(w) is list and len(w) == 2]]
        elif reply[0] == "raised":
            info = reply[2] if len(reply) > 2 and type(reply[2]) is dict else {}
            reply = ["raised", rid, _exception_info(info)]
        else:
            reply = ["timeout", rid]
        self.pump.send(self.judge, reply)

    def _ask(self, request: list) -> None:
        """Send the candidate's process a request; whatever it said before is stale."""
        self.v.stray += len(self.candidate.messages)
        self.candidate.messages.clear()
        self.pump.send(self.candidate, request)

    def _reply(self, deadline: float, rid: int) -> list:
        """The candidate's answer to request `rid` (other lines are strays); _Broken if none comes."""

        def accept(message: list) -> bool:
            return message[0] in REPLIES and len(message) >= 2 and message[1] == rid

        reply = self._wait(self.candidate, deadline, None, accept)
        if not isinstance(reply, list):
            self._stopped(self.candidate, reply)
        return reply

    def _not_ok(self, reply: list) -> TestOutcome:
        """The outcome of a call that raised or ran out of time; its output names which."""
        if reply[0] == "timeout":
            return TestOutcome("", TIMEOUT_STATUS, f"timed out after {self.v.timeout:g} s", output='["timeout"]')
        info = _exception_info(reply[2] if len(reply) > 2 and type(reply[2]) is dict else {})
        message, output = info["message"], plain.dumps(["raised", info["type"]])
        if info["type"] in EXITS or any(b in EXITS for b in info["bases"]):
            return TestOutcome("", ERROR, f"exited ({message}) instead of returning", output=output)
        status = FAILED if "AssertionError" in info["bases"] else ERROR
        return TestOutcome("", status, message, output=output)

    def _decode(self, tree) -> tuple | None:
        try:
            return (plain.decode(tree),)
        except (plain.PlainError, RecursionError, MemoryError):
            return None

    def _wait(self, child: Child, deadline: float, kinds, accept=None) -> list | str:
        if accept is None:

            def accept(message: list) -> bool:
                return message[0] in kinds

        before = child.stray_lines
        message = self.pump.next_message(child, deadline, accept)
        self.v.stray += child.stray_lines - before
        return message

    def _stopped(self, child: Child, why: str) -> None:
        """The child broke off inside the current test: kill both, raise the test's outcome."""
        timeout = self.v.timeout
        if why == TIMEOUT:
            for c in self._children():
                c.kill()
            if time.monotonic() >= self.overall:
                raise _Broken(TestOutcome("", TIMEOUT_STATUS, "the overall time limit was reached"))
            raise _Broken(TestOutcome("", TIMEOUT_STATUS, f"timed out after {timeout:g} s", timeout))
        if why == "protocol":
            for c in self._children():
                c.kill()
            raise _Broken(TestOutcome("", ERROR, "the test process broke its protocol and was stopped"))
        text, sig = child.exit_status()
        for c in self._children():
            c.kill()
        whose = "the candidate's process" if child is self.candidate else "the test's process"
        if sig == signal.SIGXCPU:
            raise _Broken(TestOutcome("", TIMEOUT_STATUS, f"CPU time limit of {self.v.limits.cpu_seconds} s exceeded"))
        if sig == signal.SIGKILL:
            raise _Broken(TestOutcome("", ERROR, f"{whose} was killed (SIGKILL: out of memory?)"))
        if sig is not None:
            raise _Broken(TestOutcome("", ERROR, f"{whose} crashed during this test ({text})"))
        raise _Broken(TestOutcome("", ERROR, f"{whose} exited during this test ({text}); tests may not exit"))

    def _children(self) -> list[Child]:
        return [c for c in (self.candidate, self.judge) if c is not None]

    def close(self) -> None:
        for child in self._children():
            if child.result_open and child.started:
                self.pump.send(child, ["bye"])
        self.pump.drain(0.5)  # ends as soon as both have exited
        for child in self._children():
            self.pump.remove(child)
            child.close()


def _request_id() -> int:
    return secrets.randbits(62)


def _valid_names(table: list) -> list:
    """The candidate's globals table, entries that are not well-formed dropped."""
    out = []
    for entry in table[:10_000]:
        if type(entry) is list and len(entry) == 3 and entry[0] in ("module", "value") and type(entry[1]) is str:
            if entry[0] == "module" and type(entry[2]) is not str:
                continue
            if entry[0] == "value":
                try:
                    plain.decode(entry[2], lambda *_: None)
                except (plain.PlainError, RecursionError, MemoryError):
                    continue
            out.append(entry)
    return out


def _exception_info(info: dict) -> dict:
    """The candidate's exception report, with only well-formed fields."""
    name = info.get("type")
    bases = info.get("bases")
    message = info.get("message")
    line = info.get("line")
    return {
        "type": name[:200] if type(name) is str else "Exception",
        "bases": [b[:100] for b in bases[:50] if type(b) is str] if type(bases) is list else [],
        "message": message[:MAX_MESSAGE] if type(message) is str else "(no message)",
        "line": line if type(line) is int else 0,
    }


def _sandbox_error(message: str) -> dict:
    return {"type": "SandboxError", "bases": ["Exception"], "message": message, "line": 0}


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
