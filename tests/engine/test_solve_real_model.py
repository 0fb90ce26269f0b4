"""`o1coder solve --tests` end to end with the real default model: a user's wrong test is reported
suspect, not obeyed. Nothing stands in for the model, the engine or the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from o1coder.sandbox import TestCase, run_tests

pytestmark = [pytest.mark.model, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "running_max.py"
RIGHT = [
    "assert running_max([1, 3, 2, 5, 4]) == [1, 3, 3, 5, 5]",
    "assert running_max([]) == []",
    "assert running_max([2, 2, 1]) == [2, 2, 2]",
]
WRONG = "assert running_max([-1, -5, 0]) == [-1, -1, 1]"  # the running maximum ends in 0


def test_solve_with_a_wrong_user_test_reports_it_suspect_and_returns_correct_code(
    tmp_path, default_model_path
):
    tests = tmp_path / "tests.py"
    tests.write_text("\n".join([*RIGHT, WRONG]) + "\n")
    budget = 2500
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "o1coder",
            "solve",
            str(EXAMPLE),
            "--tests",
            str(tests),
            "--json",
            "--quiet",
            "--tree",
            str(tmp_path / "tree.html"),
            "--budget-tokens",
            str(budget),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    by_source = {src: o for src, o in zip(result["tests"], result["test_results"]["outcomes"], strict=True)}
    assert by_source[WRONG]["status"] == "suspect", by_source[WRONG]
    assert "[-1, -1, 0]" in by_source[WRONG]["message"]  # the value the consensus computed
    assert all(by_source[src]["status"] == "passed" for src in RIGHT), by_source
    stats = result["stats"]
    assert stats["ended_by"] in ("consensus", "threshold", "budget") and stats["suspect_tests"] >= 1
    assert stats["tokens_generated"] <= budget
    # the code is right: checked here against the right tests and the corrected one
    corrected = WRONG.replace("[-1, -1, 1]", "[-1, -1, 0]")
    report = run_tests(result["code"], [TestCase(f"t{i}", t) for i, t in enumerate([*RIGHT, corrected])])
    assert report.passed == report.total == 4, report.outcomes
    # the tree page: the answer, the suspect test, the chosen node highlighted
    page = (tmp_path / "tree.html").read_text()
    assert '<td class="suspect">suspect</td>' in page and 'class="node chosen' in page
    assert "running_max" in page and "<script" not in page
