"""Hostile candidates: each defence holds, results stay honest, the host is unharmed.

Where a defence has several layers, the attack is also run against each layer alone (when
this machine can apply it), so a layer that stops working fails a test even while the others
still hold. Attacks that would harm the host without any defence (a real fork bomb) run only
against the full set; their single-layer variants are bounded.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sandbox_helpers import (
    AUDIT_ONLY,
    FULL,
    KERNEL_ONLY,
    LIMITS,
    NAMESPACES_ONLY,
    RLIMITS_ONLY,
    live_processes,
    require,
    statuses,
    wait_for_exit,
)

from o1coder.config import SandboxSettings
from o1coder.sandbox import Layers, TestCase, run_tests

SECCOMP_ONLY = Layers(namespaces=False, privileges=False, rlimits=False, audit=False)
NPROC_ONLY = Layers(namespaces=False, seccomp=False, audit=False)  # uid 65534 + RLIMIT_NPROC=0
REFUSALS = (
    "not allowed",
    "Operation not permitted",
    "Resource temporarily unavailable",
    "Read-only file system",
    "No such file or directory",  # the file view holds no user files: the target is not there
)


def refused(message: str) -> bool:
    return any(text in message for text in REFUSALS)


# -- runaway time ---------------------------------------------------------------------------


def test_infinite_loops_time_out_and_leave_no_process(marked_python):
    code = """
def spin():
    while True:
        pass

def stubborn():  # swallows the child's own alarm: only the parent's deadline stops it
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass

def fine():
    return 1
"""
    tests = [
        TestCase("spin", "assert spin() == 1"),
        TestCase("stubborn", "assert stubborn() == 1"),
        TestCase("fine", "assert fine() == 1"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["timeout", "timeout", "passed"]  # stopped, and the next test still ran
    assert report.compiled
    assert live_processes(marked_python) == []


def test_an_endless_top_level_does_not_hang_the_caller():
    report = run_tests("while True:\n    pass\n", [TestCase("t", "assert True")], LIMITS)
    assert not report.compiled and statuses(report) == ["error"]
    assert "did not finish loading" in report.error


# -- processes -------------------------------------------------------------------------------

BOUNDED_FORKS = """
import os

def forks():
    made = 0
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        made += 1
    return made
"""


def test_a_fork_bomb_is_refused_and_the_host_is_unharmed(marked_python):
    code = "import os\n\ndef bomb():\n    while True:\n        os.fork()\n"
    report = run_tests(code, [TestCase("bomb", "bomb()")], LIMITS)
    assert statuses(report) == ["error"]
    assert refused(report.outcomes[0].message), report.outcomes[0].message
    assert live_processes(marked_python) == []
    assert subprocess.run(["true"], timeout=10).returncode == 0  # the host can still start processes


@pytest.mark.parametrize(
    ("layers", "needle"),
    [
        (FULL, ""),
        (AUDIT_ONLY, ""),
        (SECCOMP_ONLY, "seccomp ("),
        (NPROC_ONLY, "NPROC=0;"),
    ],
    ids=["full", "audit-hook", "seccomp", "nproc"],
)
def test_each_process_layer_alone_refuses_fork(layers, needle, isolation):
    require(isolation, needle)
    if layers is NPROC_ONLY:
        require(isolation, "uid/gid 65534")
    report = run_tests(BOUNDED_FORKS, [TestCase("forks", "assert forks() == 0")], LIMITS, layers=layers)
    assert statuses(report) == ["error"], report.outcomes
    assert refused(report.outcomes[0].message), report.outcomes[0].message


@pytest.mark.parametrize(
    ("layers", "needle"),
    [(FULL, ""), (KERNEL_ONLY, "seccomp ("), (AUDIT_ONLY, "")],
    ids=["full", "kernel", "audit-hook"],
)
def test_subprocess_and_system_are_refused(layers, needle, isolation):
    require(isolation, needle)
    code = "import os\n\ndef shell():\n    return os.system('true')\n"
    tests = [
        TestCase("system", "assert shell() == 0"),
        TestCase("run", "import subprocess\nassert subprocess.run(['true']).returncode == 0"),
        TestCase("spawn", "import os\nassert os.posix_spawn('/bin/true', ['true'], {}) > 0"),
    ]
    report = run_tests(code, tests, LIMITS, layers=layers)
    assert report.passed == 0, report.outcomes
    for outcome in report.outcomes:  # refused, or (system() under seccomp) "exit status 127"
        assert refused(outcome.message) or "(got 32512)" in outcome.message, outcome


def test_a_sandbox_dies_with_its_parent(tmp_path, marked_python):
    """A stuck child whose parent is killed (say, the language server crashed) does not linger."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys\n"
        "from o1coder.config import SandboxSettings\n"
        "from o1coder.sandbox import TestCase, run_tests\n"
        f"sys.executable = {marked_python!r}\n"
        "code = 'import time\\ndef f():\\n    while True:\\n        try:\\n            time.sleep(100)\\n'"
        " '        except BaseException:\\n            pass\\n'\n"
        "run_tests(code, [TestCase('a', 'f()')], SandboxSettings(timeout_seconds=60))\n"
    )
    # the killed parent cannot remove its workdir: keep that under tmp_path
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    parent = subprocess.Popen([os.readlink(marked_python), str(script)], env=env)  # the real interpreter
    try:
        while not live_processes(marked_python) and parent.poll() is None:
            time.sleep(0.05)
        children = live_processes(marked_python)
        assert children, f"the sandbox child never started (the parent exited with {parent.returncode})"
    finally:
        parent.kill()
        parent.wait()
    # Each child was sent SIGKILL as its parent died (PR_SET_PDEATHSIG): wait for exactly that, no
    # clock. Without the signal the stuck child sleeps on, and this test hangs instead of passing.
    # A process started between the listing above and the kill is waited for too: until none is left.
    while left := live_processes(marked_python):
        for pid in left:
            wait_for_exit(pid)
    assert live_processes(marked_python) == []


# -- memory ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layers", [FULL, RLIMITS_ONLY], ids=["full", "rlimits"])
def test_allocating_10_gb_is_a_memory_error(layers):
    code = "def big():\n    return len(bytearray(10 * 1024 ** 3))\n"
    report = run_tests(code, [TestCase("big", "assert big() == 10 * 1024 ** 3")], LIMITS, layers=layers)
    assert statuses(report) == ["error"]
    assert "MemoryError" in report.outcomes[0].message


def test_growing_memory_until_the_limit_is_an_error_not_a_pass():
    code = "def grow():\n    chunks = []\n    while True:\n        chunks.append(bytearray(16 << 20))\n"
    report = run_tests(code, [TestCase("grow", "grow()"), TestCase("after", "assert 1 + 1 == 2")], LIMITS)
    assert statuses(report) == ["error", "passed"]
    assert "MemoryError" in report.outcomes[0].message


# -- files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layers", "needle"),
    [(FULL, ""), (KERNEL_ONLY, "read-only but the workdir"), (AUDIT_ONLY, "")],
    ids=["full", "kernel", "audit-hook"],
)
def test_writing_or_deleting_outside_the_workdir_does_not_happen(layers, needle, isolation, tmp_path):
    require(isolation, needle)
    tag = uuid.uuid4().hex
    escapes = [Path(f"/tmp/o1coder_escape_{tag}_{i}") for i in range(4)]
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o600)
    victim_dir = tmp_path / "victim_dir"
    victim_dir.mkdir()
    (victim_dir / "inner.txt").write_text("also precious")
    code = f"""
import os, pathlib, shutil

def write_tmp():
    open({str(escapes[0])!r}, "w").write("x")
    return 1

def write_pathlib():
    pathlib.Path({str(escapes[1])!r}).write_text("x")
    return 1

def write_os_open():
    fd = os.open({str(escapes[2])!r}, os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"x")
    return 1

def write_dotdot():
    open("../" + {escapes[3].name!r}, "w").write("x")
    return 1

def delete():
    os.remove({str(victim)!r})
    return 1

def rename():
    os.rename({str(victim)!r}, {str(victim)!r} + ".moved")
    return 1

def chmod():
    os.chmod({str(victim)!r}, 0o777)
    return 1

def rmtree():
    shutil.rmtree({str(victim_dir)!r})
    return 1

def through_symlink():
    os.symlink({str(victim)!r}, "link")
    open("link", "w").write("overwritten")
    return 1

def inside():
    os.mkdir("sub")
    with open("sub/inside.txt", "w") as f:
        f.write("ok")
    return open("sub/inside.txt").read()
"""
    attacks = ["write_tmp", "write_pathlib", "write_os_open", "write_dotdot", "delete", "rename", "chmod"]
    attacks += ["rmtree", "through_symlink"]
    tests = [TestCase(name, f"assert {name}() == 1") for name in attacks]
    tests.append(TestCase("inside", "assert inside() == 'ok'"))
    report = run_tests(code, tests, LIMITS, layers=layers)

    assert statuses(report) == ["error"] * len(attacks) + ["passed"], report.outcomes
    for outcome in report.outcomes[:-1]:
        assert refused(outcome.message), outcome
    assert [p for p in escapes if p.exists()] == []
    assert victim.read_text() == "precious" and victim.stat().st_mode & 0o777 == 0o600
    assert not Path(str(victim) + ".moved").exists()
    assert (victim_dir / "inner.txt").read_text() == "also precious"


def test_the_workdir_is_fresh_and_removed_afterwards():
    code = "import os\n\ndef where():\n    return os.getcwd(), sorted(os.listdir('.'))\n"
    report = run_tests(code, [TestCase("where", "assert where() == None")], LIMITS)
    assert statuses(report) == ["failed"]
    message = report.outcomes[0].message
    workdir, listing = ast.literal_eval(message[message.index("(got ") + 5 : -1])
    assert listing == []
    assert "o1coder-candidate-" in workdir and not os.path.exists(workdir)


# -- network -------------------------------------------------------------------------------------


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.3)
    yield server
    server.close()


def arrived(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize(
    ("layers", "needle"),
    [
        (FULL, ""),
        (KERNEL_ONLY, "seccomp ("),
        (NAMESPACES_ONLY, "network namespace"),
        (SECCOMP_ONLY, "seccomp ("),
        (AUDIT_ONLY, ""),
    ],
    ids=["full", "kernel", "netns", "seccomp", "audit-hook"],
)
def test_a_network_connection_never_arrives(layers, needle, isolation, listener):
    require(isolation, needle)
    port = listener.getsockname()[1]
    code = f"""
import socket

def call_home():
    conn = socket.create_connection(("127.0.0.1", {port}), timeout=0.5)
    conn.sendall(b"secret")
    return 1
"""
    report = run_tests(code, [TestCase("net", "assert call_home() == 1")], LIMITS, layers=layers)
    assert statuses(report) == ["error"]
    assert not arrived(listener)


def test_the_listener_itself_works(listener):
    """The check above can fail: an unconfined connection does arrive."""
    with socket.create_connection(listener.getsockname(), timeout=1):
        pass
    assert arrived(listener)


# -- exiting early ---------------------------------------------------------------------------------

EXITS = {
    "sys.exit": "import sys\nsys.exit(0)",
    "os._exit": "import os\nos._exit(0)",
    "SystemExit": "raise SystemExit(0)",
    "SIGKILL self": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
}


@pytest.mark.parametrize("exit_code", EXITS.values(), ids=EXITS.keys())
def test_exiting_before_the_tests_run_passes_nothing(exit_code):
    code = exit_code + "\n\ndef f():\n    return 1\n"
    tests = [TestCase("a", "assert f() == 1"), TestCase("b", "def test_b():\n    assert f() == 1\n")]
    report = run_tests(code, tests, LIMITS)
    assert not report.compiled
    assert statuses(report) == ["error", "error"]
    assert report.passed == 0 and report.reward(0.1) == 0.0
    assert "while loading" in report.error


@pytest.mark.parametrize("leave", ["os._exit(0)", "sys.exit(0)", "raise KeyboardInterrupt"])
def test_exiting_inside_a_test_is_an_error_and_the_rest_still_run(leave):
    code = f"import os, sys\n\ndef leave():\n    {leave}\n\ndef f():\n    return 1\n"
    tests = [
        TestCase("leave", "leave()"),
        TestCase("ok", "assert f() == 1"),
        TestCase("bad", "assert f() == 2"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["error", "passed", "failed"]


# -- output --------------------------------------------------------------------------------------


def test_flooding_stdout_is_capped_and_results_stay_honest():
    code = """
import sys

def chatty():
    for i in range(100_000):
        print("spam spam spam spam spam spam spam spam", i)
        sys.stderr.write("eggs\\n")
    return 42

def forever():
    while True:
        print("x" * 1000)
"""
    limits = SandboxSettings(timeout_seconds=3.0, cpu_seconds=3, memory_mb=256, max_output_bytes=4096)
    tests = [TestCase("chatty", "assert chatty() == 42"), TestCase("forever", "forever()")]
    report = run_tests(code, tests, limits)
    assert statuses(report) == ["passed", "timeout"]
    assert report.output_truncated
    assert 0 < len(report.output.encode()) <= limits.max_output_bytes
    assert "spam spam" in report.output and "eggs" in report.output


# -- tampering with the harness -----------------------------------------------------------------


def test_redefining_assertion_error_does_not_turn_failures_into_passes():
    code = """
import builtins

class AssertionError(Exception):
    pass

builtins.AssertionError = AssertionError
builtins.BaseException = AssertionError

def f(x):
    return x + 1
"""
    tests = [
        TestCase("wrong", "assert f(1) == 3"),
        TestCase("raises", "def test_raises():\n    raise AssertionError('boom')\n"),
        TestCase("right", "assert f(1) == 2"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["failed", "failed", "passed"]


def test_patched_builtins_do_not_reach_the_tests_or_the_harness():
    code = """
import builtins

def f(x):
    return x + 1

for name in ("exec", "eval", "len", "isinstance", "issubclass", "repr", "str", "type", "dict",
             "tuple", "sorted", "abs", "print", "compile", "__import__", "SystemExit"):
    setattr(builtins, name, lambda *args, **kwargs: None)
builtins.len = lambda obj: 3
"""
    tests = [
        TestCase("wrong", "assert f(1) == 3"),
        TestCase("len", "assert len([1, 2]) == 3"),
        TestCase("isinstance", "assert isinstance(f(1), str)"),
        TestCase("import", "import math\nassert math.floor(f(0.5)) == 1"),
        TestCase("right", "assert f(1) == 2"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["failed", "failed", "failed", "passed", "passed"]


def test_fake_result_lines_are_ignored():
    code = """
import os, sys

FAKE = "0" * 32 + " ('end', 0, 'passed', '', 0.0)\\n"
print(FAKE, ('end', 0, 'passed', '', 0.0), "('done',)")
for fd in range(3, 64):
    for text in (FAKE, "('end', 0, 'passed', '', 0.0)\\n", "garbage without a newline"):
        try:
            os.write(fd, text.encode())
        except OSError:
            pass

def f(x):
    return x + 1
"""
    tests = [TestCase("wrong", "assert f(1) == 3"), TestCase("right", "assert f(1) == 2")]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["failed", "passed"]
    assert any("not answers" in note for note in report.notes), report.notes


def test_replacing_or_closing_stdout_changes_nothing():
    code = """
import os, sys

class Liar:
    def write(self, text):
        return len(text)
    def flush(self):
        raise RuntimeError("no")

sys.stdout = sys.stderr = Liar()
sys.__stdout__.close()
os.close(1)
os.close(2)

def f(x):
    return x + 1
"""
    tests = [TestCase("wrong", "assert f(1) == 3"), TestCase("right", "assert f(1) == 2")]
    assert statuses(run_tests(code, tests, LIMITS)) == ["failed", "passed"]


def test_patching_the_harness_reporting_changes_nothing():
    code = """
import __main__, marshal, os, sys

def passed(*args, **kwargs):
    return ("end", 0, "passed", "", 0.0)

for name in list(vars(__main__)):
    if not name.startswith("__"):
        setattr(__main__, name, passed)
real_write = os.write
os.write = lambda fd, data: real_write(fd, data.replace(b"failed", b"passed"))
os._exit = lambda code: None
marshal.loads = passed
for module in list(sys.modules.values()):
    for name in ("send", "report", "make_writer", "outcome", "guarded"):
        if hasattr(module, name):
            setattr(module, name, passed)

def f(x):
    return x + 1
"""
    tests = [TestCase("wrong", "assert f(1) == 3"), TestCase("right", "assert f(1) == 2")]
    assert statuses(run_tests(code, tests, LIMITS)) == ["failed", "passed"]


def test_system_exit_and_friends_raised_by_a_test_are_errors():
    code = "def f(x):\n    return x\n"
    tests = [
        TestCase("exit", "def test_exit():\n    raise SystemExit(0)\n"),
        TestCase("interrupt", "def test_interrupt():\n    raise KeyboardInterrupt\n"),
        TestCase("generator_exit", "def test_generator_exit():\n    raise GeneratorExit\n"),
    ]
    assert statuses(run_tests(code, tests, LIMITS)) == ["error", "error", "error"]


FORGER = """
import gc, os, sys

def forge(frame):
    while frame is not None:
        local = frame.f_locals
        if "send" in local and "tests" in local:
            for test in local["tests"]:  # the parent already saw "start" for the current one
                if test[0] > local["index"]:
                    local["send"](("start", test[0]))
                if test[0] >= local["index"]:
                    local["send"](("end", test[0], "passed", "", 0.0))
            local["send"](("done",))
            os._exit(0)
        frame = frame.f_back

def via_getframe(x):
    forge(sys._getframe())
    return x

def via_traceback(x):
    try:
        raise ValueError
    except ValueError as exc:
        forge(exc.__traceback__.tb_frame)
    return x

def via_gc(x):
    for obj in gc.get_objects():
        if type(obj).__name__ == "frame":
            forge(obj)
    return x

def via_signal(x):
    import signal
    signal.signal(signal.SIGALRM, lambda signum, frame: forge(frame))
    signal.setitimer(signal.ITIMER_REAL, 0.01)
    while True:
        pass
"""


@pytest.mark.parametrize("route", ["via_getframe", "via_traceback", "via_gc", "via_signal"])
def test_walking_frames_to_forge_results_is_refused(route, isolation):
    if route == "via_signal":
        require(isolation, "seccomp (")  # changing signal handlers is refused by the kernel filter
    tests = [TestCase("a", f"assert {route}(1) == 2"), TestCase("b", f"assert {route}(2) == 3")]
    report = run_tests(FORGER, tests, LIMITS)
    assert report.passed == 0, report.outcomes
    assert set(statuses(report)) <= {"error", "timeout"}


def test_the_forger_forges_nothing_even_with_every_layer_off():
    """Walking frames reaches nothing that decides a verdict: none is decided in the candidate's process."""
    no_layers = Layers(namespaces=False, privileges=False, seccomp=False, rlimits=False, audit=False)
    tests = [TestCase("a", "assert via_getframe(1) == 2"), TestCase("b", "assert via_getframe(2) == 3")]
    report = run_tests(FORGER, tests, LIMITS, layers=no_layers)
    assert report.passed == 0, report.outcomes


def test_reading_process_memory_is_refused():
    code = "def peek():\n    with open('/proc/self/mem', 'rb') as f:\n        return f.read(1)\n"
    report = run_tests(code, [TestCase("peek", "assert peek() == b''")], LIMITS)
    assert statuses(report) == ["error"] and refused(report.outcomes[0].message)


def test_resetting_the_alarm_is_stopped_by_the_parent():
    code = """
import signal

def sneaky():
    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        pass

def f():
    return 1
"""
    tests = [TestCase("sneaky", "sneaky()"), TestCase("after", "assert f() == 1")]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["timeout", "passed"]
