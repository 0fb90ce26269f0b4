"""Parent side of the sandbox: start the confined child, feed it, watch its clock, read results.

One child process runs the candidate and all its tests. The parent keeps a deadline for
each phase (start, load, each test) from the child's authenticated "start" messages, so a
test that defeats the child's own alarm is still killed on time. If the child dies or is
killed inside a test, that test is `timeout` or `error` and the remaining tests run in a
fresh child; tests never count as passed without an authentic "passed" message for them.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType

from o1coder.config import SandboxSettings
from o1coder.sandbox import channel
from o1coder.sandbox.prepare import PreparedTest
from o1coder.sandbox.types import TestOutcome, TestStatus

CHILD_DIR = Path(__file__).with_name("child")
BOOT = str(CHILD_DIR / "boot.py")
CHILD_MODULES = ("protocol", "guard", "confine", "seccomp", "harness")  # sent compiled to boot.py
PYTHON_FLAGS = ("-s", "-P", "-S", "-B")  # -I without -E: the scrubbed env below is all it sees
STARTUP_SECONDS = 5.0  # interpreter start and confinement, on a busy machine
FORMAT_SECONDS = 1.0  # the child's budget for a failure's message (candidate __str__/__repr__)
GRACE_SECONDS = 0.5  # past the child's own alarm before the parent kills it
BETWEEN_SECONDS = 2.0  # from one message to the next outside tests
READ_SIZE = 1 << 16
PARENT_LAYERS = (
    "separate process (python -s -P -S -B, own session); fresh temporary workdir; scrubbed environment"
)


@dataclass(frozen=True)
class Layers:
    """Which defences the child applies. All of them, except in tests that check one alone."""

    namespaces: bool = True
    privileges: bool = True
    seccomp: bool = True
    rlimits: bool = True
    audit: bool = True


ALL_LAYERS = Layers()


@dataclass
class ChildRun:
    """What one child process said and how it ended."""

    isolation: str = ""
    loaded: bool | None = None  # None: it never said
    load_message: str = ""
    outcomes: dict[int, TestOutcome] = field(default_factory=dict)
    done: bool = False
    phase: str = "start"  # start | load | test | between | done: where it was when it stopped
    current: int | None = None  # the test running when it stopped
    current_seconds: float = 0.0
    killed: str = ""  # "" or why the parent killed it: its phase's deadline, "overall" or "protocol"
    exit_text: str = ""
    exit_signal: int | None = None
    forged_lines: int = 0
    output: bytearray = field(default_factory=bytearray)
    output_dropped: int = 0


@functools.cache
def child_modules() -> tuple[tuple[str, CodeType], ...]:
    """The child's modules, compiled once per process (the child then compiles nothing)."""
    compiled = []
    for name in CHILD_MODULES:
        path = CHILD_DIR / f"{name}.py"
        compiled.append(
            (name, compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True))
        )
    return tuple(compiled)


def disk_mb(limits: SandboxSettings) -> int:
    """Size of the child's tmpfs workdir and its largest file: a quarter of its memory, 16..256 MiB."""
    return max(16, min(256, limits.memory_mb // 4))


def run_child(
    code: CodeType,
    tests: list[PreparedTest],
    limits: SandboxSettings,
    overall_deadline: float,
    output_budget: int,
    layers: Layers = ALL_LAYERS,
) -> ChildRun:
    """Run `code` and then `tests` in one confined child; returns what happened."""
    key = channel.new_key()
    workdir = tempfile.mkdtemp(prefix="o1coder-sandbox-")
    result_r, result_w = os.pipe()
    run = ChildRun()
    try:
        payload = marshal.dumps(
            {
                "fd": result_w,
                "parent": os.getpid(),
                "key": key,
                "workdir": workdir,
                "limits": {
                    "timeout": float(limits.timeout_seconds),
                    "memory_mb": int(limits.memory_mb),
                    # CPU time is a backstop for the whole child (a single test is stopped by the
                    # wall clock first, being single-threaded): cpu_seconds for each test and the load
                    "cpu_seconds": int(limits.cpu_seconds) * (len(tests) + 1),
                    "disk_mb": disk_mb(limits),
                },
                "layers": {name: getattr(layers, name) for name in Layers.__dataclass_fields__},
                "code": code,
                "tests": [t.payload() for t in tests],
                "modules": child_modules(),
            }
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, *PYTHON_FLAGS, BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=_environment(workdir),
                pass_fds=(result_w,),
                start_new_session=True,
            )
        except OSError as exc:
            run.exit_text = f"cannot start {sys.executable}: {exc}"
            return run
        finally:
            os.close(result_w)
        try:
            _Supervisor(proc, result_r, key, payload, limits, overall_deadline, output_budget, run).loop()
        finally:
            _reap(proc)
        run.exit_text, run.exit_signal = describe_exit(proc.returncode)
    finally:
        os.close(result_r)
        _remove_tree(workdir)
    return run


def _environment(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONUTF8": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": workdir,
        "TMPDIR": workdir,
    }


class _Supervisor:
    """The select loop over the child's stdin, result pipe and output pipe, with deadlines."""

    def __init__(self, proc, result_r, key, payload, limits, overall_deadline, output_budget, run):
        self.proc, self.key, self.run = proc, key, run
        self.timeout = float(limits.timeout_seconds)
        self.overall_deadline = overall_deadline
        self.output_budget = output_budget
        self.pending = memoryview(payload)
        self.buffer = b""
        self.broken = False
        self.started = self.test_started = time.monotonic()
        self.deadline = self.started + STARTUP_SECONDS
        self.sel = selectors.DefaultSelector()
        self.stdin = proc.stdin.fileno()
        os.set_blocking(self.stdin, False)
        self.sel.register(self.stdin, selectors.EVENT_WRITE, "stdin")
        self.sel.register(result_r, selectors.EVENT_READ, "result")
        self.sel.register(proc.stdout.fileno(), selectors.EVENT_READ, "output")

    def loop(self) -> None:
        try:
            while self.sel.get_map():
                now = time.monotonic()
                deadline = min(self.deadline, self.overall_deadline)
                if now >= deadline and not self.run.killed:
                    self.run.killed = "overall" if self.overall_deadline <= self.deadline else self.run.phase
                    if self.run.current is not None:
                        self.run.current_seconds = now - self.test_started
                    _kill(self.proc)
                    self.deadline = now + BETWEEN_SECONDS  # to drain what is left
                    self.overall_deadline = self.deadline
                    continue
                if now >= deadline:
                    break  # killed and still not closed: give up on the pipes
                for key, _ in self.sel.select(deadline - now):
                    getattr(self, "_on_" + key.data)(key.fd)
        finally:
            for key in list(self.sel.get_map().values()):
                self._close(key.fd)
            self.sel.close()

    def _close(self, fd: int) -> None:
        self.sel.unregister(fd)
        if fd == self.stdin:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def _on_stdin(self, fd: int) -> None:
        try:
            written = os.write(fd, self.pending[: 1 << 16])
        except BlockingIOError:
            return
        except OSError:  # the child is gone before reading everything
            self._close(fd)
            return
        self.pending = self.pending[written:]
        if not self.pending:
            self._close(fd)

    def _on_output(self, fd: int) -> None:
        data = os.read(fd, READ_SIZE)
        if not data:
            self._close(fd)
            return
        room = self.output_budget - len(self.run.output)
        self.run.output += data[: max(room, 0)]
        self.run.output_dropped += max(len(data) - max(room, 0), 0)

    def _on_result(self, fd: int) -> None:
        data = os.read(fd, READ_SIZE)
        if not data:
            self._close(fd)
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > channel.MAX_LINE:
            self.run.forged_lines += 1
            self.buffer = b""
        for line in lines:
            if not line:
                continue
            message = channel.read_line(self.key, line)
            if message is None:
                self.run.forged_lines += 1
            else:
                self._on_message(message)

    def _on_message(self, message: tuple) -> None:
        if self.broken:
            return
        run, now, kind = self.run, time.monotonic(), message[0]
        if kind == "ready" and run.phase == "start":
            run.isolation, run.phase = str(message[1]), "load"
            self.deadline = now + self.timeout + FORMAT_SECONDS + GRACE_SECONDS
        elif kind == "load" and run.phase == "load":
            run.loaded, run.load_message, run.phase = bool(message[1]), str(message[2]), "between"
            self.deadline = now + BETWEEN_SECONDS
        elif kind == "start" and run.phase == "between" and run.loaded:
            run.phase, run.current, self.test_started = "test", int(message[1]), now
            self.deadline = now + self.timeout + FORMAT_SECONDS + GRACE_SECONDS
        elif kind == "end" and run.phase == "test" and message[1] == run.current:
            _, index, status, text, seconds = message
            run.outcomes[index] = TestOutcome("", TestStatus(status), str(text), float(seconds))
            run.phase, run.current = "between", None
            self.deadline = now + BETWEEN_SECONDS
        elif kind == "done" and run.phase in ("between", "load"):
            run.done, run.phase = True, "done"
            self.deadline = now + BETWEEN_SECONDS
        else:  # authentic but out of order: stop trusting this child
            run.killed = run.killed or "protocol"
            self.broken = True
            _kill(self.proc)


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the child and its process group (it cannot fork, but be thorough)."""
    for send in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send()


def _reap(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        # its pipes closed, so it is exiting; give it a moment before the SIGKILL
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=BETWEEN_SECONDS)
    if proc.poll() is None:
        _kill(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=BETWEEN_SECONDS)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything left in its group (there should be nothing)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def describe_exit(returncode: int | None) -> tuple[str, int | None]:
    if returncode is None:
        return "did not exit", None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}", -returncode
    return f"exit status {returncode}", None


def _remove_tree(path: str) -> None:
    def retry(func, target, _exc_info):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target) or ".", 0o700)
            os.chmod(target, 0o700)
            func(target)

    shutil.rmtree(path, onerror=retry)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)
