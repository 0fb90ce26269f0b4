"""The strict parser of generated tests and the tests-file writer."""

from __future__ import annotations

import pytest

from o1coder.engine.tests_format import MalformedTests, format_tests, parse_tests
from o1coder.sandbox import types as sandbox


def test_asserts_in_a_fence_with_junk_around_it():
    text = (
        "Here are the tests:\n```python\nimport math\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n```\n"
        "These cover the edge cases. ```not code"
    )
    tests = parse_tests(text, "add")
    assert tests == [
        sandbox.TestCase("test_1", "import math\nassert add(1, 2) == 3"),
        sandbox.TestCase("test_2", "import math\nassert add(-1, 1) == 0"),
    ]


def test_without_a_fence_the_whole_text_is_the_code():
    assert [t.source for t in parse_tests("assert f(1) == 1\n")] == ["assert f(1) == 1"]


def test_only_the_first_python_block_is_read():
    text = "```python\nassert f(1) == 1\n```\nand\n```python\nassert f(2) == 2\n```"
    assert [t.source for t in parse_tests(text)] == ["assert f(1) == 1"]


def test_an_unclosed_fence_runs_to_the_end():
    assert [t.source for t in parse_tests("```python\nassert f(1) == 1\n")] == ["assert f(1) == 1"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("```python\nassert f(1) == 1\nassert f(2 == 2\n```", "line 2"),
        ("```python\nassert f(1) == 1\nprint(f(1))\n```", "got expr"),
        ("```python\nx = f(1)\nassert x == 1\n```", "got assign"),
        ("```python\ndef helper():\n    return 1\nassert f(1) == 1\n```", "got def helper"),
        ("```python\n\n```", "no test code"),
        ("```python\nimport os\n```", "no assert"),
    ],
)
def test_malformed_or_foreign_statements_reject_the_whole_output(text, why):
    with pytest.raises(MalformedTests) as err:
        parse_tests(text)
    assert why in str(err.value)


def test_every_test_must_call_the_entry_point():
    text = "```python\nassert add(1, 2) == 3\nassert len([1]) == 1\n```"
    with pytest.raises(MalformedTests, match="does not call add"):
        parse_tests(text, "add")
    assert len(parse_tests(text)) == 2  # without an entry point both are fine


def test_duplicates_are_merged_by_syntax_not_spelling():
    text = "```python\nassert add(1,2)==3\nassert add( 1, 2 ) == 3\nassert add(2, 2) == 4\n```"
    assert [t.source for t in parse_tests(text, "add")] == ["assert add(1,2)==3", "assert add(2, 2) == 4"]


def test_def_test_functions_keep_their_names_and_asserts_avoid_them():
    text = (
        "```python\n"
        "def test_1():\n    assert add(0, 0) == 0\n\n"
        "assert add(1, 2) == 3\n"
        "def test_big():\n    result = add(10**6, 1)\n    assert result == 10**6 + 1\n"
        "```"
    )
    tests = parse_tests(text, "add")
    assert [t.name for t in tests] == ["test_1", "test_2", "test_big"]
    assert tests[2].source.startswith("def test_big():")


def test_format_tests_round_trips_through_the_parser():
    tests = [
        sandbox.TestCase("example_1", "assert add(1, 2) == 3"),
        sandbox.TestCase("test_1", "import math\nassert add(math.pi, 0) == math.pi"),
        sandbox.TestCase("test_big", "def test_big():\n    assert add(10, 1) == 11"),
    ]
    text = format_tests(tests)
    assert text.startswith("import math\n")
    assert text.count("import math") == 1
    again = parse_tests(text, "add")
    assert [t.name for t in again] == ["test_example_1", "test_1", "test_big"]
    scope: dict = {"add": lambda a, b: a + b}
    exec(text, scope)
    for t in again:
        scope[t.name]()
