"""`tests_file.user_tests`: which tests of an existing tests file the engine takes as the user's."""

from __future__ import annotations

from o1coder.lsp.tests_file import user_tests

TESTS_FILE = """\
import pytest
import math
from running import running_max
from . import running as r


def test_a():
    assert running_max([1, 2]) == [1, 2]


def test_fixture(tmp_path):
    assert running_max([1]) == [1]


def test_raises():
    with pytest.raises(TypeError):
        running_max(None)


@pytest.mark.slow
def test_marked():
    assert running_max([5]) == [5]


def test_other():
    assert math.pi > 3


assert running_max([3, 1]) == [3, 3]
"""


def test_plain_tests_of_the_function_are_taken_with_the_files_other_imports():
    taken = user_tests(TESTS_FILE, "running_max", {"running"})
    assert [t.name for t in taken] == ["yours_test_a", "yours_line_29"]
    assert taken[0].source == "import math\ndef test_a():\n    assert running_max([1, 2]) == [1, 2]"
    assert taken[1].source == "import math\nassert running_max([3, 1]) == [3, 3]"


def test_a_file_that_does_not_parse_gives_nothing():
    assert user_tests("def test_a(:\n", "running_max", {"running"}) == []
