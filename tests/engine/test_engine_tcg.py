"""Test generation at inference, with the ScriptedBackend FAKE."""

from __future__ import annotations

from fakes import TCG, ScriptedBackend

from o1coder.config import SearchSettings
from o1coder.engine.budget import Meter
from o1coder.engine.problem import Problem
from o1coder.engine.tcg import TOKENS_PER_TEST, generate_tests
from o1coder.engine.types import Budget

PROBLEM = Problem.from_source('def add(a, b):\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n')


def test_examples_first_then_parsed_deduplicated_generated_asserts():
    replies = {
        TCG: [
            # the engine wrote "```python\nassert add(" before each sample
            "1, 2) == 3\nassert add(2, 2) == 4\nassert add(1, 2) == 4\nassert add(-1, 1) == 0\n```\nThese test...",
            "0, 0) == 0\nprint('not a test')\n```",  # malformed: dropped whole
        ]
    }
    backend = ScriptedBackend(replies)
    meter = Meter([backend], Budget(tokens=10_000))
    tests = generate_tests(PROBLEM, backend, SearchSettings(num_tests=6), meter)
    assert [t.source for t in tests] == [
        "assert add(1, 2) == 3",  # the docstring example
        "assert add(2, 2) == 4",
        "assert add(-1, 1) == 0",  # add(1, 2) == 4 contradicts the example: dropped
    ]
    assert [t.name for t in tests] == ["example_1", "test_1", "test_2"]
    [call] = backend.generate_calls
    assert len(call.prefixes) == 2 and call.prefixes[0] == call.prefixes[1]
    assert call.prefixes[0].endswith("<|im_start|>assistant\n```python\nassert add(")
    assert "Write 6 test cases" in call.prefixes[0]
    assert [p.seed for p in call.params] == [0, 1] and all(p.temperature <= 0.3 for p in call.params)
    assert meter.tokens_generated == backend.counters.tokens_generated > 0


def test_generated_tests_are_capped_and_a_length_cut_line_is_dropped():
    long_sample = "".join(f"{i}, 0) == {i}\nassert add(" for i in range(2, 40))
    backend = ScriptedBackend({TCG: [long_sample]})
    settings = SearchSettings(num_tests=2)
    tests = generate_tests(PROBLEM, backend, settings, samples=1)
    assert [t.source for t in tests] == [
        "assert add(1, 2) == 3",
        "assert add(2, 0) == 2",
        "assert add(3, 0) == 3",
    ]
    assert backend.generate_calls[0].params[0].max_tokens == TOKENS_PER_TEST * 2 + 20


def test_only_malformed_samples_leave_the_examples():
    backend = ScriptedBackend({TCG: ["1, 2) == 3\nx = 1\n```"]})
    assert [t.name for t in generate_tests(PROBLEM, backend, SearchSettings())] == ["example_1"]


FLOATS = Problem.from_source(
    'def half(x: float, *, exact: bool = False) -> float:\n    """Half of x.\n    >>> half(1.0)\n    0.5\n    """\n'
)


def test_float_expectations_get_a_tolerance_and_bad_arities_are_dropped():
    sample = (
        "1.0) == 0.5\n"  # the example again, once compared within a tolerance
        "assert half(4.9) == 2.45\n"
        "assert half(1.0, 2.0) == 0.5\n"  # two positional arguments: half takes one
        "assert half(x=3.0, exact=True) == 1.5\n"
        "assert half(exact=True) == 0.0\n"  # x missing
        "assert half(2.0, y=1) == 1.0\n"  # no parameter y
        "assert half(2.0) == 1\n"  # an int expectation stays exact
        "```"
    )
    tests = generate_tests(FLOATS, ScriptedBackend({TCG: [sample]}), SearchSettings(), samples=1)
    assert [t.source for t in tests] == [
        "assert abs(half(1.0) - (0.5)) < 1e-6",
        "assert abs(half(4.9) - (2.45)) < 1e-6",
        "assert abs(half(x=3.0, exact=True) - (1.5)) < 1e-6",
        "assert half(2.0) == 1",
    ]
    scope: dict = {"half": lambda x, *, exact=False: x * 0.5000000001}  # off in the 10th digit
    for t in tests[:3]:
        exec(t.source, scope)  # within the tolerance
