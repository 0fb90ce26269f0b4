"""The sandbox child's work: confine this process, load the candidate, run the tests.

`boot.py` (the script the parent starts) calls `main` with the payload the parent sent on
stdin: the result channel's fd and key, the limits, the candidate's code object and the
tests' code objects, and this folder's other modules. Results go back over that channel
only (see `protocol`); whatever the candidate prints goes to stdout/stderr, which the
parent merely caps and keeps.

Everything the code below uses once candidate code has run is bound in `main`'s closure
before that (never looked up in a module or in builtins at that point), so candidate code
that patches builtins, modules or `__main__` cannot change how tests are run or reported.
"""

import _signal
import builtins
import gc
import os
import sys
import time


def main(payload: dict, modules: dict) -> None:
    confine, guard, protocol, seccomp = (modules[n] for n in ("confine", "guard", "protocol", "seccomp"))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    send = protocol.make_writer(payload["fd"], payload.pop("key"))

    limits, layers, workdir = payload["limits"], payload["layers"], payload["workdir"]
    timeout = limits["timeout"]
    notes = []
    readonly = False
    if layers["namespaces"]:
        try:
            found, readonly = confine.isolate(workdir, limits["disk_mb"])
            notes += found
        except Exception as exc:  # a layer that fails is reported, the others still apply
            notes.append(f"namespaces failed ({exc})")
    os.chdir(workdir)  # again: a tmpfs may have been mounted over it
    if layers["privileges"]:
        try:
            notes.append(confine.drop_privileges(readonly, workdir))
        except Exception as exc:
            notes.append(f"privilege drop failed ({exc})")
    try:
        notes.append(confine.die_with_parent(payload["parent"]))
    except Exception as exc:
        notes.append(f"parent-death signal failed ({exc})")

    class Timeout(BaseException):  # a BaseException: candidate code catching Exception lets it through
        pass

    state = [False]  # true while candidate code runs under a deadline

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
    permit = [False]
    if layers["audit"]:
        permit = guard.install(workdir, kernel_refuses_processes=seccomp_active)
        notes.append(guard.DESCRIPTION)

    # Captured now, before any candidate code runs (see the module docstring).
    _exec, _type, _str, _tuple, _len, _issubclass = exec, type, str, tuple, len, issubclass
    _repr, _dict, _exit, _clock = repr, dict, os._exit, time.perf_counter
    _base_exception, _assertion_error, _system_exit = BaseException, AssertionError, SystemExit
    _exact = str.__str__  # an exact str, never a candidate's str subclass (whose methods could run)
    _name_of = type.__dict__["__name__"].__get__  # a class's own name, whatever its metaclass says
    _drop_traceback = BaseException.with_traceback
    _traceback_of = BaseException.__dict__["__traceback__"].__get__  # not a subclass's property
    _setitimer, _real = _signal.setitimer, _signal.ITIMER_REAL
    _gc_enabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
    _flushes = (sys.stdout.flush, sys.stderr.flush)
    _builtins_module, _builtins_dict = builtins, builtins.__dict__
    pristine = _dict(_builtins_dict)
    try:
        raise ValueError
    except ValueError as probe:
        _traceback_type = _type(probe.__traceback__)

    # From here on: closure names only (tests/sandbox/test_run_tests.py checks).
    code, tests = payload["code"], payload["tests"]
    del payload

    def guarded(fn, args, seconds):
        """fn(*args) under a wall-clock deadline: (result, exception or None, seconds)."""
        result = failure = None
        start = _clock()
        try:
            try:
                state[0] = True
                _setitimer(_real, seconds)
                result = fn(*args)
            finally:
                state[0] = False
                _setitimer(_real, 0.0)
        except _base_exception as exc:
            state[0] = False
            failure = exc
        return result, failure, _clock() - start

    def candidate_line(exc):
        """The last line of candidate code in exc's traceback (0 if none)."""
        line = 0
        tb = _traceback_of(exc)
        was_enabled = _gc_enabled()
        _gc_disable()  # no collection (so no candidate __del__) while frames are readable
        permit[0] = True
        try:
            while _type(tb) is _traceback_type:  # a real traceback: reading it runs no candidate code
                if tb.tb_frame.f_code.co_filename == "<candidate>":
                    line = tb.tb_lineno
                tb = tb.tb_next
        finally:
            permit[0] = False
            if was_enabled:
                _gc_enable()
        return line

    def describe(exc, failed, line):
        """The message for exc; runs candidate __str__/__repr__, so only under `guarded`."""
        args = exc.args
        if (
            failed
            and _type(args) is _tuple
            and args
            and _type(args[0]) is _tuple
            and _len(args[0]) in (2, 3)
            and _type(args[0][0]) is _str
            and args[0][0] == "\x00o1"
        ):
            text = _exact(args[0][1])
            if _len(args[0]) == 3:
                got = _exact(_repr(args[0][2]))
                text = text + " (got " + (got if _len(got) <= 300 else got[:300] + "...") + ")"
            return text
        name = _exact(_name_of(_type(exc)))
        detail = _exact(_str(exc))
        text = name + ": " + detail if detail else name
        return text + " (candidate line " + _exact(_str(line)) + ")" if line else text

    def outcome(exc):
        """(status, message) of a failure."""
        if _type(exc) is Timeout:
            return "timeout", "timed out after " + f"{timeout:g}" + " s"
        failed = _issubclass(_type(exc), _assertion_error)
        line = candidate_line(exc)
        _drop_traceback(exc, None)  # frees the failed code's frames (say, what filled the memory)
        message, trouble, _ = guarded(describe, (exc, failed, line), 1.0)
        if trouble is not None or _type(message) is not _str:
            message = _exact(_name_of(_type(exc))) + " (its message could not be formatted)"
        if _issubclass(_type(exc), _system_exit):
            message = "exited (" + message + ") instead of returning"
        return ("failed" if failed else "error"), message[:2000]

    def run_test(test_code, ns, calls):
        # undo whatever the candidate did to builtins (its own functions see the real ones too)
        _builtins_dict.clear()
        _builtins_dict.update(pristine)
        _exec(test_code, ns)
        for name in calls:
            ns[name]()

    def flush():
        for f in _flushes:
            try:
                f()
            except _base_exception:  # the candidate closed or replaced them
                continue

    def report(message):
        if not send(message):
            _exit(3)

    report(("ready", "; ".join(notes)))
    namespace = {"__name__": "__candidate__", "__builtins__": _builtins_module}
    _, failure, _ = guarded(_exec, (code, namespace), timeout)
    flush()
    if failure is not None:
        if _type(failure) is Timeout:
            message = "the candidate code did not finish loading within " + f"{timeout:g}" + " s"
        else:
            message = outcome(failure)[1]
        report(("load", False, message))
        report(("done",))
        _exit(0)
    report(("load", True, ""))

    shadowing = [k for k in namespace if _type(k) is _str and k in pristine and not k.startswith("__")]
    kept = []  # test namespaces stay alive: no candidate __del__ runs between tests
    for index, test_code, calls in tests:
        ns = _dict(namespace)
        for k in shadowing:
            ns[k] = pristine[k]  # tests see the real builtins, whatever the candidate named its globals
        ns["__builtins__"] = _dict(pristine)
        ns["__name__"] = "__test__"
        kept.append(ns)
        report(("start", index))
        _, failure, seconds = guarded(run_test, (test_code, ns, calls), timeout)
        flush()
        if failure is None:
            report(("end", index, "passed", "", seconds))
        else:
            status, message = outcome(failure)
            report(("end", index, status, message, seconds))
    report(("done",))
    _exit(0)
