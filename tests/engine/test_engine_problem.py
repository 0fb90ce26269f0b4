"""Problem.from_source, docstring examples, assemble_program."""

from __future__ import annotations

import pytest

from o1coder.engine.problem import MAX_PROBLEM_CHARS, Problem, ProblemError, assemble_program

HUMANEVAL_LIKE = '''from typing import List


def is_palindrome(string: str) -> bool:
    """ Test if given string is a palindrome """
    return string == string[::-1]


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    >>> has_close_elements(undefined_name, 0.3)
    True
    >>> has_close_elements([1.0], 0.3
    False
    """
'''

INLINE = '''
def words_string(s):
    """
    Split the string into words.

    For example:
    words_string("Hi, my name") == ["Hi", "my", "name"]
    words_string("One, two") ==> ["One", "two"]
    words_string("a") == true
    """
'''

FLOAT = '''
def truncate_number(number: float) -> float:
    """ Return the decimal part of the number.
    >>> truncate_number(3.5)
    0.5
    >>> print(truncate_number(2.25))
    0.25
    """
    pass
'''


def run(program: str, call: str):
    scope: dict = {}
    exec(compile(program, "<program>", "exec"), scope)
    return eval(call, scope)


def test_humaneval_prompt_targets_the_last_def_and_extracts_doctests():
    problem = Problem.from_source(HUMANEVAL_LIKE)
    assert problem.entry_point == "has_close_elements"
    assert problem.signature == "def has_close_elements(numbers: List[float], threshold: float) -> bool:"
    assert [t.source for t in problem.docstring_examples] == [
        "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False",
        "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True",
    ]  # the example with an undefined name and the unparseable one are skipped
    assert [t.name for t in problem.docstring_examples] == ["example_1", "example_2"]
    assert problem.is_function and problem.function_name == "has_close_elements"


def test_inline_examples_and_names_that_are_not_python():
    problem = Problem.from_source(INLINE)
    assert [t.source for t in problem.docstring_examples] == [
        "assert words_string('Hi, my name') == ['Hi', 'my', 'name']",
        "assert words_string('One, two') == ['One', 'two']",
    ]


def test_float_examples_compare_with_a_tolerance_and_prints_are_skipped():
    problem = Problem.from_source(FLOAT)
    assert [t.source for t in problem.docstring_examples] == [
        "assert abs(truncate_number(3.5) - (0.5)) < 1e-6"
    ]


def test_prose_is_a_task_without_entry_point():
    problem = Problem.from_source("  Write a function that reverses the words of a sentence.\n")
    assert problem.entry_point is None and problem.signature is None
    assert problem.text == "Write a function that reverses the words of a sentence.\n"
    assert problem.function_name == "solution"
    assert Problem.from_source("fizzbuzz").entry_point is None  # one word parses as Python, still prose


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * (MAX_PROBLEM_CHARS + 1), "limit"),
        ("def f(x):\n    return x +\n", "line 2"),
        ("import os\nx = os.getcwd()\n", "no top-level function"),
    ],
)
def test_bad_inputs_raise_one_actionable_line(text, words):
    with pytest.raises(ProblemError) as err:
        Problem.from_source(text)
    message = str(err.value)
    assert words in message and "\n" not in message


def test_assemble_full_definition_keeps_problem_imports_and_helpers():
    problem = Problem.from_source(HUMANEVAL_LIKE)
    code = (
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
    )
    program = assemble_program(problem, code)
    assert program.startswith("from typing import List")
    assert "def is_palindrome" in program
    assert program.count("def has_close_elements") == 1
    assert run(program, "has_close_elements([1.0, 2.8, 3.0], 0.3)") is True
    assert run(program, "is_palindrome('aba')") is True


def test_assemble_drops_a_helper_the_code_redefines():
    problem = Problem.from_source(HUMANEVAL_LIKE)
    code = (
        "def is_palindrome(string):\n    return False\n\n\n"
        "def has_close_elements(numbers, threshold):\n    return is_palindrome('a')\n"
    )
    program = assemble_program(problem, code)
    assert program.count("def is_palindrome") == 1
    assert run(program, "has_close_elements([], 1.0)") is False


def test_assemble_body_only_code_is_indented_under_the_problem():
    problem = Problem.from_source(FLOAT)
    program = assemble_program(problem, "return number % 1.0\n")
    assert program.startswith(problem.text.rstrip("\n"))
    assert run(program, "truncate_number(3.5)") == 0.5


def test_assemble_prose_and_broken_definitions():
    prose = Problem.from_source("Add two numbers.")
    assert assemble_program(prose, "\ndef solution(a, b):\n    return a + b\n\n") == (
        "def solution(a, b):\n    return a + b\n"
    )
    problem = Problem.from_source(HUMANEVAL_LIKE)
    broken = "def has_close_elements(numbers, threshold)\n    return True\n"
    program = assemble_program(problem, broken)
    assert program.startswith("from typing import List") and program.rstrip().endswith("return True")
    assert "Check if in given list" not in program  # not pasted under the target's docstring
    with pytest.raises(SyntaxError):
        compile(program, "<program>", "exec")


def test_accepts_call_checks_the_signature():
    import ast

    problem = Problem.from_source("def f(a, b=1, /, c=2, *, d, e=3):\n    pass\n")

    def ok(call: str) -> bool:
        return problem.accepts_call(ast.parse(call, mode="eval").body)

    assert ok("f(1, d=4)") and ok("f(1, 2, 3, d=4, e=5)") and ok("f(1, c=0, d=4)")
    assert not ok("f(1)")  # d is required
    assert not ok("f(1, 2, 3, 4, d=4)")  # too many positionals
    assert not ok("f(1, d=4, z=0)")  # unknown keyword
    assert not ok("f(1, 2, 3, c=3, d=4)")  # c given twice
    assert ok("f(*args)") and ok("f(**kw)")
    varargs = Problem.from_source("def g(*xs, **kw):\n    pass\n")
    assert varargs.accepts_call(ast.parse("g(1, 2, 3, y=1)", mode="eval").body)


def test_future_imports_of_the_problem_and_the_code_come_first_once() -> None:
    problem = Problem.from_source(
        "from __future__ import annotations\nimport math\n\n\ndef f(x: float) -> float:\n    \"\"\"Root of x.\"\"\"\n"
    )
    code = "from __future__ import annotations\nimport math\n\n\ndef f(x: float) -> float:\n    return math.sqrt(x)\n"
    program = assemble_program(problem, code)
    assert program.startswith("from __future__ import annotations\n\nimport math")
    assert program.count("from __future__") == 1
    namespace: dict = {}
    exec(compile(program, "<program>", "exec"), namespace)
    assert namespace["f"](4.0) == 2.0
