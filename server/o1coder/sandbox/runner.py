"""Parent side of the sandbox processes: start a confined child, write frames, read its messages.

A `Child` is one process started as `python -s -P -S -B boot.py` in a fresh temporary
directory with a scrubbed environment, in its own session. The `Pump` watches every child
of one verification at once: it keeps their output pipes drained (capped, kept for the
report), splits their result pipes into messages, and returns the next message of the child
asked for, or says that the deadline passed or the child is gone. Messages are parsed as
JSON with limits; a line that is not a message is counted, never trusted.
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
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

from o1coder.config import SandboxSettings
from o1coder.sandbox.child import plain
from o1coder.sandbox.child.protocol import frame

CHILD_DIR = Path(__file__).with_name("child")
BOOT = str(CHILD_DIR / "boot.py")
CHILD_MODULES = ("protocol", "plain", "guard", "confine", "seccomp", "harness", "candidate", "judge")
PYTHON_FLAGS = ("-s", "-P", "-S", "-B")  # -I without -E: the scrubbed env below is all it sees
STARTUP_SECONDS = 5.0  # interpreter start and confinement, on a busy machine
FORMAT_SECONDS = 1.0  # a child's budget for a failure's message (untrusted __str__/__repr__)
GRACE_SECONDS = 0.5  # past the child's own alarm before the parent kills it
READ_SIZE = 1 << 16
MAX_LINE = 16 << 20  # a longer line is not a message (the candidate's encoder stops far below)
PARENT_LAYERS = (
    "separate processes for the candidate and for the tests (python -s -P -S -B, own sessions); "
    "verdicts decided outside the candidate's process; fresh temporary workdirs; scrubbed environment"
)
GONE = "gone"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Layers:
    """Which defences the children apply. All of them, except in tests that check one alone."""

    namespaces: bool = True
    view: bool = True  # within the mount namespace: an own file view (else the whole tree, read-only)
    privileges: bool = True
    seccomp: bool = True
    rlimits: bool = True
    audit: bool = True


ALL_LAYERS = Layers()


@functools.cache
def child_modules() -> tuple[tuple[str, CodeType], ...]:
    """The children's modules, compiled once per process (the children compile nothing)."""
    compiled = []
    for name in CHILD_MODULES:
        path = CHILD_DIR / f"{name}.py"
        compiled.append(
            (name, compile(path.read_text(encoding="utf-8"), str(path), "exec", dont_inherit=True))
        )
    return tuple(compiled)


def disk_mb(limits: SandboxSettings) -> int:
    """Size of a child's tmpfs workdir and its largest file: a quarter of its memory, 16..256 MiB."""
    return max(16, min(256, limits.memory_mb // 4))


class Child:
    """One confined sandbox process and its three pipes."""

    def __init__(self, role: str, payload: dict, limits: SandboxSettings, cpu_seconds: int, layers: Layers):
        self.role = role
        self.workdir = tempfile.mkdtemp(prefix=f"o1coder-{role}-")
        self.messages: deque = deque()
        self.buffer = b""
        self.result_open = self.output_open = True
        self.stray_lines = 0
        self.exit_text, self.exit_signal = "", None
        self.proc: subprocess.Popen | None = None
        result_r, result_w = os.pipe()
        self.result_fd = result_r
        body = marshal.dumps(
            {
                **payload,
                "role": role,
                "fd": result_w,
                "parent": os.getpid(),
                "workdir": self.workdir,
                "limits": {
                    "timeout": float(limits.timeout_seconds),
                    "memory_mb": int(limits.memory_mb),
                    "cpu_seconds": int(cpu_seconds),
                    "disk_mb": disk_mb(limits),
                },
                "layers": {name: getattr(layers, name) for name in Layers.__dataclass_fields__},
                "modules": child_modules(),
            }
        )
        self.pending = memoryview(frame(body))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, *PYTHON_FLAGS, BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=_environment(self.workdir),
                pass_fds=(result_w,),
                start_new_session=True,
            )
        except OSError as exc:
            self.exit_text = f"cannot start {sys.executable}: {exc}"
            self.result_open = self.output_open = False
        finally:
            os.close(result_w)
        if self.proc is not None:
            self.stdin_fd = self.proc.stdin.fileno()
            self.output_fd = self.proc.stdout.fileno()
            os.set_blocking(self.stdin_fd, False)

    @property
    def started(self) -> bool:
        return self.proc is not None

    def send(self, message: list) -> None:
        """Queue one request (the pump writes it)."""
        self.pending = memoryview(bytes(self.pending) + frame(plain.dumps(message).encode("ascii")))

    def feed(self, data: bytes) -> None:
        """Split result-pipe bytes into messages."""
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > MAX_LINE:
            self.stray_lines += 1
            self.buffer = b""
        for line in lines:
            if not line:
                continue
            try:
                message = plain.loads(line)
            except plain.PlainError:
                message = None
            if type(message) is list and message and type(message[0]) is str:
                self.messages.append(message)
            else:
                self.stray_lines += 1

    def kill(self) -> None:
        """SIGKILL the child and its process group (it cannot fork, but be thorough)."""
        if self.proc is None:
            return
        for send in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                send()

    def close(self) -> None:
        """Reap the process, close the pipes, remove the workdir."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            if self.proc.poll() is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=0.5)  # it exits once its stdin closes
            if self.proc.poll() is None:
                self.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=2.0)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in its group (there should be nothing)
            with contextlib.suppress(OSError):
                self.proc.stdout.close()
            if not self.exit_text:
                self.exit_text, self.exit_signal = describe_exit(self.proc.returncode)
        with contextlib.suppress(OSError):
            os.close(self.result_fd)
        _remove_tree(self.workdir)

    def exit_status(self) -> tuple[str, int | None]:
        """How the process ended, waiting a moment for it (its pipes are closed or it was killed)."""
        if self.proc is None:
            return self.exit_text, None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1.0)
        return describe_exit(self.proc.returncode)


class Pump:
    """One selector over the pipes of every child of a verification."""

    def __init__(self, output_budget: int):
        self.sel = selectors.DefaultSelector()
        self.output = bytearray()
        self.output_budget = output_budget
        self.output_dropped = 0
        self.children: list[Child] = []

    def add(self, child: Child) -> None:
        self.children.append(child)
        if not child.started:
            return
        self.sel.register(child.result_fd, selectors.EVENT_READ, (child, "result"))
        self.sel.register(child.output_fd, selectors.EVENT_READ, (child, "output"))
        self._want_write(child)

    def remove(self, child: Child) -> None:
        for fd in (child.result_fd, getattr(child, "output_fd", None), getattr(child, "stdin_fd", None)):
            if fd is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self.sel.unregister(fd)
        if child in self.children:
            self.children.remove(child)

    def close(self) -> None:
        self.sel.close()

    def send(self, child: Child, message: list) -> None:
        child.send(message)
        self._want_write(child)

    def _want_write(self, child: Child) -> None:
        if child.started and child.pending and child.stdin_fd not in self.sel.get_map():
            self.sel.register(child.stdin_fd, selectors.EVENT_WRITE, (child, "stdin"))

    def next_message(self, child: Child, deadline: float, accept=None) -> list | str:
        """The child's next message (that `accept` takes, others are dropped), GONE or TIMEOUT."""
        while True:
            while child.messages:
                message = child.messages.popleft()
                if accept is None or accept(message):
                    return message
                child.stray_lines += 1
            if not child.result_open:
                return GONE
            now = time.monotonic()
            if now >= deadline:
                return TIMEOUT
            for key, _ in self.sel.select(deadline - now):
                owner, kind = key.data
                getattr(self, "_on_" + kind)(owner, key.fd)

    def drain(self, seconds: float) -> None:
        """Read what the children still write for a moment (their last output)."""
        end = time.monotonic() + seconds
        while any(c.output_open for c in self.children) and time.monotonic() < end:
            for key, _ in self.sel.select(max(end - time.monotonic(), 0)):
                owner, kind = key.data
                getattr(self, "_on_" + kind)(owner, key.fd)

    def _on_stdin(self, child: Child, fd: int) -> None:
        try:
            written = os.write(fd, child.pending[: 1 << 16])
        except BlockingIOError:
            return
        except OSError:  # the child is gone before reading everything
            child.pending = memoryview(b"")
            self.sel.unregister(fd)
            return
        child.pending = child.pending[written:]
        if not child.pending:
            self.sel.unregister(fd)

    def _on_output(self, child: Child, fd: int) -> None:
        data = os.read(fd, READ_SIZE)
        if not data:
            child.output_open = False
            self.sel.unregister(fd)
            return
        room = max(self.output_budget - len(self.output), 0)
        self.output += data[:room]
        self.output_dropped += max(len(data) - room, 0)

    def _on_result(self, child: Child, fd: int) -> None:
        data = os.read(fd, READ_SIZE)
        if not data:
            child.result_open = False
            self.sel.unregister(fd)
            return
        child.feed(data)


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
