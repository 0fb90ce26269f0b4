"""`o1coder verify`: end to end in a fresh interpreter, plus the subcommand wiring."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from o1coder.commands import verify

PROGRAM = "def add(a, b):\n    return a + b\n"
GOOD_TESTS = "import math\n\nassert add(1, 2) == 3\n\n\ndef test_floats():\n    assert math.isclose(add(0.1, 0.2), 0.3)\n"
MIXED_TESTS = "assert add(1, 2) == 3\nassert add(2, 2) == 5\n"


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "o1coder.cli", "verify", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def files(tmp_path: Path):
    def write(program: str, tests: str) -> tuple[str, str]:
        code, tests_file = tmp_path / "program.py", tmp_path / "tests.py"
        code.write_text(program)
        tests_file.write_text(tests)
        return str(code), str(tests_file)

    return write


def test_all_passing_exits_0_with_one_line_per_test(files):
    code, tests = files(PROGRAM, GOOD_TESTS)
    result = cli("--code", code, "--tests", tests)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["passed", "test_1"]
    assert lines[1].split() == ["passed", "test_floats"]
    assert lines[2] == "2/2 tests passed"
    assert lines[3].startswith("isolation: separate process")


def test_a_failure_exits_1_and_says_what_failed(files):
    code, tests = files(PROGRAM, MIXED_TESTS)
    result = cli("--code", code, "--tests", tests)
    assert result.returncode == 1
    assert "failed   test_2  assert add(2, 2) == 5 (got 4)" in result.stdout
    assert "1/2 tests passed" in result.stdout


def test_json_is_one_object_with_every_field(files):
    code, tests = files(PROGRAM, MIXED_TESTS)
    result = cli("--code", code, "--tests", tests, "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert (data["passed"], data["total"], data["compiled"]) == (1, 2, True)
    assert [t["status"] for t in data["tests"]] == ["passed", "failed"]
    assert set(data["tests"][0]) == {"name", "status", "message", "seconds", "output"}
    assert data["tests"][1]["message"] == "assert add(2, 2) == 5 (got 4)"
    assert "audit hook" in data["isolation"]


def test_an_endless_program_times_out_test_by_test(files):
    code, tests = files("def add(a, b):\n    while True:\n        pass\n", MIXED_TESTS)
    result = cli("--code", code, "--tests", tests, "--timeout", "1", "--json")
    assert result.returncode == 1
    assert [t["status"] for t in json.loads(result.stdout)["tests"]] == ["timeout", "timeout"]


def test_a_program_that_exits_early_does_not_pass(files):
    code, tests = files("import sys\nsys.exit(0)\n" + PROGRAM, GOOD_TESTS)
    result = cli("--code", code, "--tests", tests)
    assert result.returncode == 1
    assert "0/2 tests passed (the program did not load)" in result.stdout


@pytest.mark.parametrize(
    ("program", "tests", "complaint"),
    [
        (PROGRAM, "", "tests file .* is empty"),
        ("", MIXED_TESTS, "program file .* is empty"),
        ("def add(a, b)\n", MIXED_TESTS, r"program file .* is not valid Python \(line 1"),
        (PROGRAM, "assert add(1, 2) ==\n", "tests file .* is not valid Python"),
        (PROGRAM, "x = 1\nassert add(1, 2) == 3\n", "only import, assert and def test_"),
    ],
    ids=["empty-tests", "empty-program", "program-syntax", "tests-syntax", "not-tests"],
)
def test_bad_input_exits_2_with_one_line(files, program, tests, complaint):
    code, tests_file = files(program, tests)
    result = cli("--code", code, "--tests", tests_file)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("o1coder verify: ")
    assert re.search(complaint, result.stderr), result.stderr


def test_a_missing_file_exits_2(tmp_path):
    result = cli("--code", str(tmp_path / "nope.py"), "--tests", str(tmp_path / "nope_tests.py"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_add_parser_registers_verify_with_run(files, capsys):
    parser = argparse.ArgumentParser(prog="o1coder")
    verify.add_parser(parser.add_subparsers(dest="command"))
    code, tests = files(PROGRAM, GOOD_TESTS)
    args = parser.parse_args(["verify", "--code", code, "--tests", tests, "--json"])
    assert args.func is verify.run
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["passed"] == 2


# -- hostile input: one line and exit 2, or honest output; never a traceback ---------------------


@pytest.mark.parametrize(
    ("program", "tests", "complaint"),
    [
        ("x = 1\n" + "# padding\n" * 1_200_000, "assert 1 == 1\n", "too large"),
        ("x = " + "-" * 100_000 + "1\n", "assert 1 == 1\n", "nested too deeply"),
        ("def f():\n    return 1\n", "assert f() == " + "+".join(["1"] * 3000) + "\n", "nested"),
    ],
    ids=["12MB-program", "100k-unary-minus", "3000-term-test"],
)
def test_oversized_or_overdeep_input_exits_2_with_one_line(tmp_path, program, tests, complaint):
    code_file, tests_file = tmp_path / "impl.py", tmp_path / "tests.py"
    code_file.write_text(program)
    tests_file.write_text(tests)
    done = cli("--code", str(code_file), "--tests", str(tests_file))
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert complaint in done.stderr and "Traceback" not in done.stderr


def test_control_characters_in_messages_cannot_repaint_the_terminal(tmp_path):
    code_file, tests_file = tmp_path / "impl.py", tmp_path / "tests.py"
    code_file.write_text(
        "def f():\n    raise ValueError('\\x1b[2K\\r1/1 tests passed\\x1b[8m')\n"
        "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n"
        "def g():\n    return AlwaysEqual()\n"
    )
    tests_file.write_text("assert f() == 1\nassert g() == 1\n")
    done = cli("--code", str(code_file), "--tests", str(tests_file))
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\\x1b[2K\\x0d1/1 tests passed" in done.stdout
    assert "0/2 tests passed" in done.stdout
    assert "note: " in done.stdout and "AlwaysEqual object" in done.stdout and "not plain data" in done.stdout
