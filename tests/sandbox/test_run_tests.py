"""run_tests: classification, test formats, compile failures, rewards, environment, concurrency."""

from __future__ import annotations

import dis
import inspect
import json
import os
import subprocess
import sys
import threading

import pytest
from sandbox_helpers import AUDIT_ONLY, FULL, LIMITS, statuses

from o1coder.config import SandboxSettings
from o1coder.sandbox import TestCase, TestStatus, VerificationReport, check_compiles, run_tests
from o1coder.sandbox.child import guard, seccomp
from o1coder.sandbox.prepare import prepare_test
from o1coder.sandbox.types import TestOutcome

ADD = "def add(a, b):\n    return a + b\n"


def test_each_status_is_classified():
    code = ADD + "\ndef spin():\n    while True:\n        pass\n"
    tests = [
        TestCase("passes", "assert add(1, 2) == 3"),
        TestCase("fails", "assert add(2, 2) == 5"),
        TestCase("errors", "assert add(1) == 1"),
        TestCase("times_out", "spin()"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert [o.name for o in report.outcomes] == ["passes", "fails", "errors", "times_out"]
    assert statuses(report) == ["passed", "failed", "error", "timeout"]
    assert report.compiled and report.error == ""
    assert report.outcomes[1].message == "assert add(2, 2) == 5 (got 4)"
    assert report.outcomes[2].message.startswith("TypeError: add() missing 1 required positional argument")
    assert report.outcomes[3].message == "timed out after 1 s"
    assert report.outcomes[3].seconds >= 0.9
    assert (report.passed, report.total) == (1, 4)


def test_assert_lines_and_test_functions_both_run():
    tests = [
        TestCase("line", "assert add(1, 1) == 2"),
        TestCase("multiline", "assert add(\n    1,\n    2,\n) == 3"),
        TestCase("with_import", "import math\nassert add(math.pi, 0) == math.pi"),
        TestCase(
            "function", "def test_many():\n    assert add(1, 2) == 3\n    assert add('a', 'b') == 'ab'\n"
        ),
        TestCase(
            "function_fails", "def test_second():\n    assert add(1, 2) == 3\n    assert add(1, 2) == 4\n"
        ),
        TestCase(
            "helper_and_test",
            "def helper(x):\n    return add(x, x)\n\ndef test_helper():\n    assert helper(2) == 4\n",
        ),
        TestCase("message", "assert add(1, 1) == 3, 'one and one'"),
        TestCase("not_equal", "assert add(1, 1) > 3"),
    ]
    report = run_tests(ADD, tests, LIMITS)
    assert statuses(report) == [
        "passed",
        "passed",
        "passed",
        "passed",
        "failed",
        "passed",
        "failed",
        "failed",
    ]
    assert report.outcomes[4].message == "assert add(1, 2) == 4 (got 3)"
    assert report.outcomes[6].message == "AssertionError: one and one"
    assert report.outcomes[7].message == "assert add(1, 1) > 3 (got 2)"


def test_error_messages_point_at_the_candidate_line():
    code = "def divide(a, b):\n    x = a\n    return x / b\n"
    report = run_tests(code, [TestCase("zero", "assert divide(1, 0) == 0")], LIMITS)
    assert report.outcomes[0].message == "ZeroDivisionError: division by zero (candidate line 3)"


def test_a_test_that_cannot_run_is_an_error_and_the_others_still_run():
    tests = [
        TestCase("broken", "assert add(1, 1) ==="),
        TestCase("empty", "import math\n"),
        TestCase("fine", "assert add(1, 1) == 2"),
    ]
    report = run_tests(ADD, tests, LIMITS)
    assert statuses(report) == ["error", "error", "passed"]
    assert report.outcomes[0].message.startswith("the test does not parse")
    assert report.outcomes[1].message.startswith("the test is empty")


def test_code_that_does_not_compile_runs_nothing():
    tests = [TestCase("a", "assert add(1, 1) == 2"), TestCase("b", "assert True")]
    report = run_tests("def add(a, b)\n    return a + b\n", tests, LIMITS)
    assert not report.compiled
    assert statuses(report) == ["error", "error"]
    assert "does not compile" in report.error and "candidate line 1" in report.error
    assert all(o.message.startswith("not run:") for o in report.outcomes)
    assert not check_compiles("def add(a, b)\n    return a + b\n")
    assert check_compiles(ADD)
    assert not check_compiles("x = '\0'")


def test_check_compiles_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    assert check_compiles(f"open({str(marker)!r}, 'w').write('x')")
    assert not marker.exists()


def test_code_that_raises_while_loading_did_not_compile():
    report = run_tests(
        "import nonexistent_module_xyz\n" + ADD, [TestCase("a", "assert add(1, 1) == 2")], LIMITS
    )
    assert not report.compiled and statuses(report) == ["error"]
    assert "ModuleNotFoundError" in report.error


def test_reward_arithmetic():
    report = run_tests(
        ADD, [TestCase(f"t{i}", f"assert add({i}, 0) == {i if i < 2 else -1}") for i in range(4)]
    )
    assert (report.passed, report.total) == (2, 4)
    assert report.pass_rate == 0.5
    assert report.reward(0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert report.reward(0.0) == pytest.approx(0.5)
    broken = run_tests("def add(", [TestCase("t", "assert add(1, 1) == 2")])
    assert broken.reward(0.1) == 0.0
    assert VerificationReport(compiled=True).reward(0.1) == pytest.approx(0.1)  # no tests: compile only


def test_to_dict_is_plain_json():
    report = run_tests(ADD, [TestCase("t", "assert add(1, 1) == 3")], LIMITS)
    data = report.to_dict()
    assert data["outcomes"][0]["status"] == "failed"
    assert (data["passed"], data["total"], data["compiled"]) == (0, 1, True)
    assert "isolation" in data and "output" in data


def test_from_dict_reads_back_what_to_dict_wrote():
    code = "def add(a, b):\n    print('adding')\n    return a + b\n"
    tests = [TestCase("ok", "assert add(1, 1) == 2"), TestCase("wrong", "assert add(1, 1) == 3")]
    report = run_tests(code, tests, LIMITS)
    again = VerificationReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert [o.status for o in again.outcomes] == [TestStatus.PASSED, TestStatus.FAILED]
    assert again.outcomes[0].output == report.outcomes[0].output != ""


def test_tests_see_candidate_globals_but_not_each_others():
    code = "LIMIT = 10\n\ndef clamp(x):\n    return min(x, LIMIT)\n"
    tests = [
        TestCase("globals", "assert clamp(50) == LIMIT"),
        TestCase("defines", "LEAKED = 1\nassert clamp(1) == 1"),
        TestCase("isolated", "assert 'LEAKED' not in globals()"),
    ]
    assert statuses(run_tests(code, tests, LIMITS)) == ["passed", "passed", "passed"]


def test_main_guard_of_the_candidate_does_not_run():
    code = ADD + "\nif __name__ == '__main__':\n    raise SystemExit(add(1, 1))\n"
    report = run_tests(code, [TestCase("t", "assert add(1, 1) == 2")], LIMITS)
    assert report.compiled and statuses(report) == ["passed"]


def test_printed_output_is_kept():
    code = "print('hello from the candidate')\n" + ADD
    report = run_tests(code, [TestCase("t", "print('and from a test')\nassert add(1, 1) == 2")], LIMITS)
    assert "hello from the candidate" in report.output and "and from a test" in report.output
    assert not report.output_truncated


def test_the_environment_is_scrubbed_and_hashing_is_deterministic(monkeypatch):
    monkeypatch.setenv("O1CODER_SECRET_TOKEN", "hunter2")
    expected = subprocess.run(
        [sys.executable, "-c", "print(hash('o1coder'))"],
        env={"PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    code = "import os, sys\n\ndef env():\n    return dict(os.environ)\n\ndef cwd():\n    return os.getcwd()\n"
    tests = [
        TestCase("secret", "assert 'O1CODER_SECRET_TOKEN' not in env()"),
        TestCase("home", "assert env()['HOME'] == cwd() == env()['TMPDIR']"),
        TestCase("hash", f"assert hash('o1coder') == {expected}"),
        TestCase(
            "flags", "import sys\nassert sys.flags.no_user_site and sys.flags.safe_path and sys.flags.no_site"
        ),
        TestCase(
            "path", "import sys\nassert not any('o1coder' in p or 'site-packages' in p for p in sys.path)"
        ),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["passed"] * 5, report.outcomes


@pytest.mark.parametrize("layers", [FULL, AUDIT_ONLY], ids=["full", "audit-hook"])
def test_ordinary_library_code_works_inside(layers):
    code = """
import collections, dataclasses, enum, json, logging, tempfile, typing, fractions, decimal, re
import os, pathlib, shutil

Point = collections.namedtuple("Point", "x y")

class Color(enum.Enum):
    RED = 1

class Pair(typing.NamedTuple):
    a: int
    b: int

@dataclasses.dataclass
class Box:
    size: int

def work():
    logging.getLogger("candidate").warning("logging works")
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/f.json", "w") as f:
            json.dump({"a": 1}, f)
        with open(d + "/f.json") as f:
            data = json.load(f)
    os.makedirs("a/b")
    pathlib.Path("a/b/c.txt").write_text("c")
    os.rename("a/b/c.txt", "a/c.txt")
    shutil.rmtree("a/b")
    shutil.rmtree("a")
    import statistics  # a lazy import, after the sandbox dropped privileges
    return (Point(1, 2).x, Color.RED.value, Pair(1, 2).b, Box(3).size, data["a"],
            str(fractions.Fraction(1, 3)), statistics.mean([1, 2, 3]), re.sub("a", "b", "aa"))
"""
    test = TestCase("work", "assert work() == (1, 1, 2, 3, 1, '1/3', 2, 'bb')")
    report = run_tests(code, [test], LIMITS, layers=layers)
    assert statuses(report) == ["passed"], report.outcomes


def test_concurrent_calls_are_independent():
    results: dict[int, VerificationReport] = {}

    def verify(i: int) -> None:
        tests = [
            TestCase("ok", f"assert add({i}, 1) == {i + 1}"),
            TestCase("bad", f"assert add({i}, 1) == {i}"),
        ]
        results[i] = run_tests(ADD, tests, LIMITS)

    threads = [threading.Thread(target=verify, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == list(range(6))
    for i, report in results.items():
        assert statuses(report) == ["passed", "failed"]
        assert report.outcomes[1].message == f"assert add({i}, 1) == {i} (got {i + 1})"


def test_no_tests_still_reports_isolation():
    report = run_tests(ADD, [])
    assert report.compiled and report.total == 0 and report.pass_rate == 0.0
    assert "separate process" in report.isolation and "audit hook" in report.isolation


def test_isolation_summary_names_the_layers(isolation):
    assert "fresh temporary workdir" in isolation and "scrubbed environment" in isolation
    assert "audit hook" in isolation and "rlimits" in isolation
    if sys.platform.startswith("linux") and "namespaces unavailable" not in isolation:
        assert "network namespace" in isolation


def test_bad_limits_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="timeout_seconds"):
        run_tests(ADD, [], SandboxSettings(timeout_seconds=0))


def test_outcomes_for_a_name_keep_the_test_order():
    tests = [TestCase(f"t{i}", f"assert add({i}, {i}) == {2 * i}") for i in range(10)]
    report = run_tests(ADD, tests, LIMITS)
    assert [o.name for o in report.outcomes] == [f"t{i}" for i in range(10)]
    assert all(isinstance(o, TestOutcome) and o.status is TestStatus.PASSED for o in report.outcomes)


# -- the code the candidate could reach: nothing looked up at run time ----------------------------


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _code_objects(const)


def _global_loads(code, after_line: int = 0) -> list[str]:
    return [
        f"{c.co_name}:{ins.positions.lineno} {ins.argval}"
        for c in _code_objects(code)
        for ins in dis.get_instructions(c)
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and (ins.positions.lineno or 0) > after_line
    ]


def test_the_audit_hook_looks_nothing_up():
    """Candidate code that patches builtins or modules cannot change what the hook allows."""
    assert _global_loads(guard._make_hook.__code__) == []


def test_the_seccomp_program_jumps_forward_and_ends_in_returns():
    for arch in seccomp.DENY:
        rows = seccomp.program(arch, os.getpid())
        assert rows[-1][0] == seccomp.BPF_RET_K and rows[-2][0] == seccomp.BPF_RET_K
        for i, (code, jt, jf, _k) in enumerate(rows):
            if code in (seccomp.BPF_JEQ_K, seccomp.BPF_JGE_K):
                assert i + 1 + max(jt, jf) < len(rows)


def test_assert_rewrite_keeps_the_meaning():
    prepared = prepare_test(0, TestCase("t", "x = 3\nassert x == 3\nassert [x] == [3]"))
    namespace: dict = {}
    exec(prepared.code, namespace)  # our own rewritten test code, no candidate involved (judge route)
    assert namespace["x"] == 3
    failing = prepare_test(1, TestCase("t", "assert 1 + 1 == 3"))
    with pytest.raises(AssertionError) as info:
        exec(failing.code, {})
    assert info.value.args[0][1:] == ("assert 1 + 1 == 3", 2)


# -- routes: what the candidate's process is given ----------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "assert f(3) == 424242",
        "assert 424242 == f(3)",
        "assert f(3) != 424242",
        "assert abs(f(3) - 424242.5) < 1e-6",
        "import math\nassert math.isclose(f(3), 424242.5, rel_tol=1e-9)",
        "assert f(3) in [424242, 1]",
    ],
)
def test_a_fast_test_gives_the_candidate_only_the_call(source):
    import marshal

    from o1coder.sandbox.prepare import FastTest

    prepared = prepare_test(0, TestCase("t", source))
    assert isinstance(prepared, FastTest)
    payload = marshal.dumps(prepared.payload())
    for form in (b"424242", (424242).to_bytes(4, "little"), marshal.dumps(424242), marshal.dumps(424242.5)):
        assert form not in payload


@pytest.mark.parametrize(
    "source",
    [
        "assert isinstance(f(1), int)",  # logic around the call: its dunders would run in the candidate
        "assert f(1) == [100] * 10",  # a computed expected value
        "assert f(1) == LIMIT",  # a candidate name on the expected side
        "assert f(1) == 2 or f(1) == 3",
        "assert obj.f(1) == 2",
        "def test_x():\n    assert f(1) == 2\n",
        "x = f(1)\nassert x == 2",
        "assert f(1) is 2",
        "assert f(1) == 2, 'message'",
    ],
)
def test_everything_else_goes_to_the_judge(source):
    from o1coder.sandbox.prepare import JudgeTest

    assert isinstance(prepare_test(0, TestCase("t", source)), JudgeTest)


def test_outputs_are_recorded_comparably_per_test():
    code = "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return {x, -x}\n"
    tests = [
        TestCase("set", "assert f(2) == {2, -2}"),
        TestCase("raises", "assert f(-1) == set()"),
        TestCase("judged", "def test_j():\n    assert f(1) == {1, -1}\n    assert f(0) == {0}\n"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["passed", "error", "passed"]
    assert report.outcomes[0].output == '["s",[["i","-0x2"],["i","0x2"]]]'
    assert report.outcomes[1].output == '["raised","ValueError"]'
    assert report.outcomes[2].output.startswith('["l",[["s",')


def test_in_place_functions_and_objects_work_in_judged_tests():
    code = """
def sort_in_place(items):
    items.sort()

class Stack:
    def __init__(self):
        self.items = []
    def push(self, x):
        self.items.append(x)
    def pop(self):
        return self.items.pop()
    def __len__(self):
        return len(self.items)
"""
    tests = [
        TestCase("in_place", "def test_sort():\n    xs = [3, 1, 2]\n    sort_in_place(xs)\n    assert xs == [1, 2, 3]\n"),
        TestCase(
            "object",
            "def test_stack():\n    s = Stack()\n    s.push(1)\n    s.push(2)\n    assert len(s) == 2\n"
            "    assert s.pop() == 2\n    assert s.items == [1]\n",
        ),
        TestCase("lambda", "def test_key():\n    sort_in_place(lambda: 1)\n"),
    ]
    report = run_tests(code, tests, LIMITS)
    assert statuses(report) == ["passed", "passed", "error"], report.outcomes
    assert "only plain data" in report.outcomes[2].message
