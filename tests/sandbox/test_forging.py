"""Verdicts candidate code cannot forge, and nothing in the sandbox worth stealing.

The routes that forged verdicts before (a `str` subclass as a code object's `co_filename`
reaching the harness's frames; reading the result key out of the process's own memory)
and the reads that leaked (a 0600 file, /etc/shadow, the tests file found through
/proc/<ppid>/cmdline), each as an attack against the real sandbox. Where an attack needs a
defence switched off to even try (reading its own memory needs /proc and no audit hook), it
runs with every layer off: the verdict must still hold, because no verdict is decided in the
candidate's process and nothing there decides one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from sandbox_helpers import AUDIT_ONLY, FULL, LIMITS, require, statuses

from o1coder.config import SandboxSettings
from o1coder.sandbox import Layers, TestCase, run_tests

NO_LAYERS = Layers(namespaces=False, privileges=False, seccomp=False, rlimits=False, audit=False)
ROOMY = SandboxSettings(timeout_seconds=20.0, cpu_seconds=30, memory_mb=1024, max_output_bytes=4096)


# -- forging a pass ----------------------------------------------------------------------------

FRAME_FORGER = '''
import os, sys

SENT = []

def forge_everything(frame):
    """From any frame it reaches: call every sending function with every "passed" message."""
    messages = [["end", i, "passed", "", []] for i in range(8)]
    messages += [["ok", rid, True, []] for rid in range(1, 40)]
    messages += [["ok", rid, ["i", "0x2"], []] for rid in range(1, 40)]
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            for name in ("send", "report", "_send"):
                fn = getattr(value, name, None)
                if callable(fn):
                    for m in messages:
                        try:
                            fn(m)
                            SENT.append(name)
                        except BaseException:
                            pass
        frame = frame.f_back
    for fd in range(3, 64):
        for m in messages:
            try:
                os.write(fd, ("\\n" + json.dumps(m) + "\\n").encode())
            except (OSError, NameError):
                pass

import json

class Sneaky(str):
    def __eq__(self, other):
        forge_everything(sys._getframe())
        return str.__eq__(self, other)
    __hash__ = str.__hash__

SNEAKY_CODE = compile("raise ValueError('trigger the harness')", Sneaky("<candidate>"), "exec")

def f(x):
    try:
        forge_everything(sys._getframe())
    except BaseException:  # frame inspection is refused where the audit hook is on
        pass
    return x + 5

def g(x):
    exec(SNEAKY_CODE)  # the harness reads this traceback
'''


@pytest.mark.parametrize("layers", [FULL, NO_LAYERS], ids=["full", "no-layers"])
def test_a_str_subclass_co_filename_and_frame_walking_forge_nothing(layers):
    tests = [
        TestCase("fast", "assert f(1) == 2"),
        TestCase("constant", "assert 1 == 2"),
        TestCase("function", "def test_false():\n    assert False\n"),
        TestCase("judged", "def test_judged():\n    assert f(1) == 2\n"),
        TestCase("traceback", "assert g(1) == 2"),
    ]
    report = run_tests(FRAME_FORGER, tests, LIMITS, layers=layers)
    assert report.passed == 0, report.outcomes
    assert statuses(report) == ["failed", "failed", "failed", "failed", "error"]
    assert report.outcomes[0].message == "assert f(1) == 2 (got 6)"
    assert report.outcomes[4].message.startswith("ValueError: trigger the harness")
    if layers == NO_LAYERS:  # it did reach the process's channel: its answers ahead of time were dropped
        assert any("not answers" in note for note in report.notes)


def _memory_scanner(marker_prefix: str) -> str:
    """Candidate code that searches its own memory (through /proc/self/mem) for `prefix` + 32 hex digits."""
    return f'''
import re

PATTERN = re.compile(rb"{marker_prefix}" + rb"[0-9a-f]{{32}}")

def scan():
    found = set()
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            found.update(m.decode() for m in PATTERN.findall(data))
    return sorted(found)

def steal():
    found = scan()
    return found[0] if found else "nothing found"
'''


def test_the_expected_value_is_nowhere_in_the_candidates_memory():
    """The issue's memmove route, generalised: read all of its own memory, find the answer."""
    secret = f"EXPECTED-{uuid.uuid4().hex}"
    tests = [
        TestCase("fast", f"assert steal() == {secret!r}"),
        TestCase("judged", f"def test_judged():\n    assert steal() == {secret!r}\n"),
        TestCase("computed", f"assert steal() == ''.join([{secret[:20]!r}, {secret[20:]!r}])"),
    ]
    report = run_tests(_memory_scanner("EXPECTED-"), tests, ROOMY, layers=NO_LAYERS)
    assert statuses(report) == ["failed", "failed", "failed"], report.outcomes
    assert all("nothing found" in o.message for o in report.outcomes), report.outcomes


def test_the_memory_scanner_does_find_what_is_in_its_memory():
    """The check above can fail: a value that is in the candidate's memory is found."""
    secret = f"EXPECTED-{uuid.uuid4().hex}"
    code = _memory_scanner("EXPECTED-") + f"\nHINT = {secret[:20]!r} + {secret[20:]!r}\n"
    report = run_tests(code, [TestCase("fast", f"assert steal() == {secret!r}")], ROOMY, layers=NO_LAYERS)
    assert statuses(report) == ["passed"], report.outcomes


# -- values that are not what they claim -------------------------------------------------------

ALWAYS_EQUAL = """
class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
    __hash__ = object.__hash__

class EqualStr(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__

class EqualInt(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

def anything():
    return AlwaysEqual()

def text():
    return EqualStr("wrong")

def number():
    return EqualInt(7)

def listed():
    return [AlwaysEqual()]
"""


def test_always_equal_values_pass_nothing_and_are_reported():
    tests = [
        TestCase("fast", "assert anything() == 5"),
        TestCase("truthy", "assert anything()"),
        TestCase("str_subclass", "assert text() == 'right'"),
        TestCase("int_subclass", "assert number() == 8"),
        TestCase("nested", "assert listed() == [5]"),
        TestCase("judged", "def test_judged():\n    assert anything() == 5\n"),
        TestCase("judged_truth", "def test_truth():\n    assert anything()\n"),
        TestCase("int_value", "assert number() == 7"),
    ]
    report = run_tests(ALWAYS_EQUAL, tests, LIMITS)
    assert statuses(report) == ["failed", "failed", "failed", "failed", "failed", "failed", "error", "passed"]
    assert report.outcomes[2].message == "assert text() == 'right' (got 'wrong')"
    notes = " | ".join(report.notes)
    assert "AlwaysEqual object" in notes and "not plain data" in notes, report.notes
    assert "judged: " in notes and "compared with plain data: unequal" in notes
    assert "truth value" in report.outcomes[6].message


# -- nothing to steal --------------------------------------------------------------------------


@pytest.fixture
def secrets(tmp_path):
    """A 0600 file in a 0700 directory (as in a home directory), and a tests file next to it."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    token = f"SECRET-{uuid.uuid4().hex}"
    private = home / "token.txt"
    private.write_text(token)
    private.chmod(0o600)
    return private, token


READER = """
import os

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        return type(exc).__name__

def parent_cmdline():
    return read("/proc/%d/cmdline" % os.getppid())
"""


def test_private_files_and_the_parents_command_line_cannot_be_read(secrets, isolation):
    private, token = secrets
    tests = [
        TestCase("private", f"assert read({str(private)!r}) == 'x'"),
        TestCase("shadow", "assert read('/etc/shadow') == 'x'"),
        TestCase("cmdline", "assert parent_cmdline() == 'x'"),
        TestCase("judged", f"def test_judged():\n    assert read({str(private)!r}) == 'x'\n"),
    ]
    report = run_tests(READER, tests, LIMITS, layers=FULL)
    assert statuses(report) == ["failed"] * 4
    text = json.dumps(report.to_dict())
    assert token not in text
    for outcome in report.outcomes:
        assert "(got 'FileNotFoundError')" in outcome.message or "(got 'PermissionError')" in outcome.message
    if "file view" in isolation:
        assert all("FileNotFoundError" in o.message for o in report.outcomes)


def test_the_tests_file_is_out_of_reach_through_the_cli(tmp_path):
    """The issue's table attack: find the tests file from the parent's command line, answer from it."""
    code = tmp_path / "impl.py"
    code.write_text(
        READER
        + """
import ast, re

def answer(x):
    words = read("/proc/%d/cmdline" % os.getppid()).split("\\0")
    path = words[words.index("--tests") + 1] if "--tests" in words else ""
    table = {}
    for line in read(path).splitlines() if path else []:
        match = re.match(r"assert answer\\((.*)\\) == (.*)", line)
        if match:
            table[ast.literal_eval(match.group(1))] = ast.literal_eval(match.group(2))
    return table.get(x, -1)
"""
    )
    tests = tmp_path / "tests.py"
    tests.write_text("assert answer(1) == 101\nassert answer(2) == 202\nassert answer(3) == 303\n")
    done = subprocess.run(
        [sys.executable, "-m", "o1coder", "verify", "--code", str(code), "--tests", str(tests), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["passed"] == 0 and [t["message"][-8:] for t in result["tests"]] == ["(got -1)"] * 3


def test_without_the_file_view_a_known_path_is_readable(tmp_path):
    """What the file view prevents (and why `isolation` names the view it has): with the audit
    hook alone, as on a machine without namespaces, a candidate that knows a readable file's
    path reads it."""
    known = tmp_path / "known.txt"
    known.write_text("readable")
    known.chmod(0o644)
    report = run_tests(READER, [TestCase("t", f"assert read({str(known)!r}) == 'readable'")], LIMITS, layers=AUDIT_ONLY)
    assert statuses(report) == ["passed"]
    assert "file view" not in report.isolation


# -- hostile replies and inputs: the parent never crashes ---------------------------------------

GARBAGE = r"""
import os

def f(x):
    lines = [
        b'["ok", %d, ["i", "zz"], []]' % rid for rid in range(1, 30)
    ] + [
        b'["ok", %d, ' % rid + b"[" * 100000 + b"]" * 100000 + b", []]" for rid in range(1, 3)
    ] + [
        b'["raised", %d, "not a dict"]' % rid for rid in range(1, 30)
    ] + [b"\xff\xfe not utf-8", b"[" * 200000, b"x" * (3 << 20), b'["end", 99999999999, "passed"]']
    for fd in range(3, 64):
        for line in lines:
            try:
                os.write(fd, b"\n" + line + b"\n")
            except OSError:
                pass
    return x
"""


ANSWERS_ITS_OWN_REQUEST_BADLY = r"""
import os, sys

def f(x):
    frame, rid = sys._getframe(), None
    while frame is not None and rid is None:
        rid = frame.f_locals.get("rid")
        frame = frame.f_back
    for line in (b'["ok", %d, ["i", "zz"], []]' % rid, b'["ok", %d, ' % rid + b"[" * 5000 + b"]" * 5000 + b", []]"):
        for fd in range(3, 64):
            try:
                os.write(fd, b"\n" + line + b"\n")
            except OSError:
                pass
    return x
"""


def test_a_reply_to_the_right_request_with_a_malformed_value_is_an_error():
    no_layers = Layers(namespaces=False, privileges=False, seccomp=False, rlimits=False, audit=False)
    tests = [TestCase("fast", "assert f(1) == 1"), TestCase("judged", "def test_j():\n    assert f(1) == 1\n")]
    report = run_tests(ANSWERS_ITS_OWN_REQUEST_BADLY, tests, LIMITS, layers=no_layers)
    assert statuses(report) == ["error", "error"], report.outcomes
    assert all("unreadable value" in o.message for o in report.outcomes)


def test_forged_and_malformed_replies_never_crash_the_parent():
    tests = [
        TestCase("a", "assert f(1) == 2"),
        TestCase("b", "def test_b():\n    assert f(1) == 2\n"),
        TestCase("c", "assert f(3) == 3"),
    ]
    report = run_tests(GARBAGE, tests, SandboxSettings(timeout_seconds=5.0, cpu_seconds=10, memory_mb=512))
    # request ids are unguessable: the forged "answers" are dropped and the real values judged
    assert statuses(report) == ["failed", "failed", "passed"], report.outcomes
    assert report.outcomes[0].message == "assert f(1) == 2 (got 1)"
    assert any("not answers" in note for note in report.notes)


@pytest.mark.parametrize(
    ("code", "test", "needle"),
    [
        ("x = 1\n" + "# padding\n" * 1_200_000, "assert 1 == 1", "too large"),
        ("x = " + "-" * 100_000 + "1\ndef f():\n    return 1\n", "assert f() == 1", "nested too deeply"),
        ("def f():\n    return 1\n", "assert f() == " + "+".join(["1"] * 3000), "nested"),
    ],
    ids=["12MB-source", "100k-unary-minus", "3000-term-test"],
)
def test_oversized_and_overdeep_input_is_refused_in_one_line(code, test, needle):
    report = run_tests(code, [TestCase("t", test)], LIMITS)
    assert report.passed == 0
    message = report.error or report.outcomes[0].message
    assert needle in message and "\n" not in message


def test_the_candidate_process_is_not_dumpable(isolation):
    code = "def dumpable():\n    import ctypes\n    return ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)\n"
    report = run_tests(code, [TestCase("t", "assert dumpable() == 0")], LIMITS, layers=Layers(audit=False))
    assert statuses(report) == ["passed"], report.outcomes
    assert "not dumpable" in isolation


def test_the_read_only_tree_fallback_says_what_it_exposes(secrets, isolation):
    """Where no own view can be built, the whole tree is read-only; files are read as uid 65534
    where it can read the standard library, else as uid 0 - and the isolation line says which."""
    require(isolation, "uid/gid 65534")
    private, token = secrets
    tests = [
        TestCase("private", f"assert read({str(private)!r}) == 'x'"),
        TestCase("write", f"def test_write():\n    open({str(private)!r}, 'w')\n"),
    ]
    report = run_tests(READER, tests, LIMITS, layers=Layers(view=False))
    assert "whole tree read-only" in report.isolation and "visible where permissions allow" in report.isolation
    assert statuses(report)[1] == "error"  # read-only, whoever reads
    assert private.read_text() == token
    if "files read as uid 65534" in report.isolation:
        assert token not in json.dumps(report.to_dict())
    else:  # the interpreter lives where uid 65534 cannot read (here: under /root): said so
        assert "files read as uid 0 on the whole read-only tree" in report.isolation
