"""What both sandbox children do first: confine this process, then offer deadlines and messages.

`boot.py` (the script the parent starts) calls `main` with the payload the parent sent and
this folder's other modules; `main` confines the process (namespaces and the file view,
privileges, parent-death signal, seccomp, rlimits, audit hook: each step reported, a failing
step does not stop the others), says "ready" with what it achieved, and hands over to the
role the parent asked for: `candidate` (loads the candidate code and answers for it) or
`judge` (runs tests, reaching the candidate only through the parent).
"""

import _signal
import builtins
import gc
import os
import sys
import time


class Timeout(BaseException):  # a BaseException: code catching Exception lets it through
    pass


class Kit:
    """The tools a role uses once confined (bound now, before any untrusted code runs)."""

    def __init__(self, channel, notes: list, permit: list, timeout: float):
        self.channel, self.notes, self.permit, self.timeout = channel, notes, permit, timeout
        self.Timeout = Timeout
        self.state = [False]  # true while untrusted code runs under a deadline
        self.pristine = dict(builtins.__dict__)
        self._builtins = builtins.__dict__
        self._setitimer, self._real = _signal.setitimer, _signal.ITIMER_REAL
        self._clock = time.perf_counter
        self._flushes = (sys.stdout.flush, sys.stderr.flush)
        self._exit = os._exit
        self._traceback_of = BaseException.__dict__["__traceback__"].__get__
        self._name_of = type.__dict__["__name__"].__get__
        self._mro_of = type.__dict__["__mro__"].__get__
        self._module_of = type.__dict__["__module__"].__get__
        try:
            raise ValueError
        except ValueError as probe:
            self._traceback_type = type(probe.__traceback__)

    def guarded(self, fn, args, seconds: float):
        """fn(*args) under a wall-clock deadline: (result, exception or None, seconds taken)."""
        result = failure = None
        start = self._clock()
        try:
            try:
                self.state[0] = True
                self._setitimer(self._real, max(seconds, 0.001))
                result = fn(*args)
            finally:
                self.state[0] = False
                self._setitimer(self._real, 0.0)
        except BaseException as exc:
            self.state[0] = False
            failure = exc
        return result, failure, self._clock() - start

    def restore_builtins(self) -> None:
        """Undo whatever untrusted code did to builtins (its own functions see the real ones too)."""
        self._builtins.clear()
        self._builtins.update(self.pristine)

    def flush(self) -> None:
        for flush in self._flushes:
            try:
                flush()
            except BaseException:  # replaced or closed by untrusted code
                continue

    def send(self, message: list) -> None:
        if not self.channel.send(message):
            self._exit(3)

    def receive(self):
        message = self.channel.receive()
        if message is None:  # the parent is gone or said something we cannot read
            self._exit(0)
        return message

    def exit(self) -> None:
        self.flush()
        self._exit(0)

    def type_name(self, cls) -> str:
        name = self._name_of(cls)
        return str.__str__(name) if isinstance(name, str) else "object"

    def builtin_bases(self, cls) -> list:
        """Names of the builtin classes among `cls`'s real bases (for re-raising in the judge)."""
        return [
            str.__str__(self._name_of(base))
            for base in self._mro_of(cls)
            if self._module_of(base) == "builtins" and type(self._name_of(base)) is str
        ]

    def code_line(self, exc, filename: str) -> int:
        """The last line run of code compiled as `filename` in exc's traceback (0 if none)."""
        line = 0
        tb = self._traceback_of(exc)
        was_enabled = gc.isenabled()
        gc.disable()  # no collection (so no untrusted __del__) while frames are readable
        self.permit[0] = True
        try:
            while type(tb) is self._traceback_type:  # a real traceback: reading it runs no untrusted code
                name = tb.tb_frame.f_code.co_filename
                if type(name) is str and name == filename:  # never a str subclass's __eq__
                    line = tb.tb_lineno
                tb = tb.tb_next
        finally:
            self.permit[0] = False
            if was_enabled:
                gc.enable()
        return line

    def text_of(self, exc) -> str:
        """`Type: message` of exc; runs its __str__ (untrusted) under a one-second deadline."""
        name = self.type_name(type(exc))
        detail, trouble, _ = self.guarded(lambda: str.__str__(str(exc)), (), 1.0)
        if trouble is not None or type(detail) is not str:
            return name + " (its message could not be formatted)"
        return (name + ": " + detail if detail else name)[:2000]


def main(payload: dict, modules: dict) -> None:
    confine, guard, protocol, seccomp, plain = (
        modules[n] for n in ("confine", "guard", "protocol", "seccomp", "plain")
    )
    request_fd = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    channel = protocol.Channel(request_fd, payload["fd"], plain.dumps, plain.loads)

    limits, layers, workdir = payload["limits"], payload["layers"], payload["workdir"]
    notes = []
    readonly = view = False
    if layers["namespaces"]:
        try:
            found, readonly, view = confine.isolate(workdir, limits["disk_mb"], layers["view"], payload.get("workspace"))
            notes += found
        except Exception as exc:  # a layer that fails is reported, the others still apply
            notes.append(f"namespaces failed ({exc})")
    os.chdir(workdir)  # again: a tmpfs may have been mounted over it
    if layers["privileges"]:
        try:
            notes.append(confine.drop_privileges(readonly, workdir, view))
        except Exception as exc:
            notes.append(f"privilege drop failed ({exc})")
    try:
        notes.append(confine.die_with_parent(payload["parent"]))
    except Exception as exc:
        notes.append(f"parent-death signal failed ({exc})")

    kit = Kit(channel, notes, [False], limits["timeout"])
    state = kit.state

    def on_alarm(signum, frame):
        if state[0]:
            raise Timeout

    _signal.signal(_signal.SIGALRM, on_alarm)
    if hasattr(_signal, "SIGXFSZ"):
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)  # a too-big write fails instead of killing
    seccomp_active = False
    if layers["seccomp"]:
        try:
            notes.append(seccomp.install())
            seccomp_active = notes[-1] == seccomp.DESCRIPTION
        except Exception as exc:
            notes.append(f"seccomp failed ({exc})")
    if layers["rlimits"]:
        try:
            notes.append(confine.limit(limits["memory_mb"], limits["cpu_seconds"], limits["disk_mb"] << 20))
        except Exception as exc:
            notes.append(f"rlimits failed ({exc})")
    if layers["audit"]:
        kit.permit = guard.install(workdir, kernel_refuses_processes=seccomp_active, kernel_confines_files=view)
        notes.append(guard.DESCRIPTION)
    kit.send(["ready", "; ".join(notes)])
    modules[payload["role"]].serve(payload, kit, plain)
