"""The module around a stub: which definitions the prompt shows, the budget, and the program run."""

from __future__ import annotations

import ast

import pytest

from o1coder.engine import context
from o1coder.engine.problem import Problem, ProblemError, assemble_program
from o1coder.sandbox import TestCase, run_tests

MODULE = '''"""Shapes."""
import math

SCALE = 10
UNUSED = 99


def helper(x):
    """Scale x by SCALE."""
    return x * SCALE


def unrelated(y):
    return y - 1


class Box:
    """A box of a given size."""

    def __init__(self, size):
        self.size = size

    def area(self):
        return self.size * self.size


def boxed_total(values):
    """A Box whose size is the sum of helper(v) for v in values.

    >>> boxed_total([1, 2]).size
    30
    """
    pass


if __name__ == "__main__":
    print(boxed_total([1]))
'''


def test_what_the_target_uses_comes_first_then_the_rest_while_the_budget_lasts():
    roomy = context.build(MODULE, "boxed_total")
    assert roomy.included == ("SCALE", "UNUSED", "helper", "unrelated", "Box") and roomy.left_out == ()
    tree = ast.parse(roomy.text)
    assert [getattr(s, "name", None) for s in tree.body][-1] == "boxed_total"  # the target last
    assert "__main__" not in roomy.text and '"""Shapes."""' not in roomy.text

    tight = context.build(MODULE, "boxed_total", max_chars=220)
    # Box and helper are used by the target, SCALE by helper; unrelated and UNUSED are not
    assert {"Box", "helper", "SCALE"} <= set(tight.included) | set(tight.summarized)
    assert "unrelated" in tight.left_out
    assert len(tight.text) - len(context._segment(MODULE, context.find_function(ast.parse(MODULE), "boxed_total"))) <= 220 + 10
    assert "class Box" in tight.text  # needed: whole or by signature and docstring


def test_a_definition_too_long_to_show_whole_is_summarized():
    built = context.build(MODULE, "boxed_total", max_chars=150)
    assert "Box" in built.summarized
    assert "def area(self):\n        ..." in built.text and "self.size * self.size" not in built.text


def test_the_program_is_the_module_with_only_the_target_replaced():
    problem = Problem.from_module(MODULE, "boxed_total")
    assert problem.module == MODULE and problem.entry_point == "boxed_total"
    assert [t.source for t in problem.docstring_examples] == ["assert boxed_total([1, 2]).size == 30"]
    code = "import functools\n\ndef boxed_total(values):\n    return Box(sum(helper(v) for v in values))\n"
    program = assemble_program(problem, code)
    assert program.startswith('"""Shapes."""\nimport math\n') and 'if __name__ == "__main__":' in program
    assert "import functools\n\ndef boxed_total(values):\n    return Box(" in program
    assert program.count("def boxed_total") == 1 and "pass\n" not in program.split("def boxed_total")[1]
    body_only = assemble_program(problem, "    return Box(sum(helper(v) for v in values))")
    assert '    """A Box whose' in body_only and body_only.count("def boxed_total") == 1
    # and it runs in the sandbox with the module's helper, constant and class around it
    report = run_tests(program, [TestCase("t", "assert boxed_total([1, 2]).size == 30")])
    assert report.passed == 1, report.outcomes


def test_an_unknown_function_or_a_broken_module_says_what_to_do():
    with pytest.raises(ProblemError, match="no top-level function 'nope'.*helper"):
        Problem.from_module(MODULE, "nope")
    with pytest.raises(ProblemError, match="does not parse"):
        Problem.from_module("def f(:\n", "f")


def test_solve_function_names_the_functions_it_knows_when_the_name_is_wrong(tmp_path):
    import subprocess
    import sys

    module = tmp_path / "shapes.py"
    module.write_text(MODULE)
    done = subprocess.run(
        [sys.executable, "-m", "o1coder", "solve", str(module), "--function", "boxed", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "no top-level function 'boxed'" in done.stderr
    assert "boxed_total" in done.stderr and "Traceback" not in done.stderr


# -- methods -------------------------------------------------------------------------------------

CLASSY = '''import math

UNIT = 2


def helper(x):
    return x * UNIT


class Box:
    """A square box."""

    SIDES = 4

    def __init__(self, size):
        self.size = size

    def scale(self, k):
        return Box(self.size * k)

    def unrelated(self):
        return "far away"

    def area(self):
        """The area, doubled by helper.

        >>> Box(3).area()
        18
        """
        pass


def after():
    return 0
'''


def test_a_method_comes_inside_its_class_with_init_and_what_it_calls_first():
    built = context.build(CLASSY, "Box.area", max_chars=260)
    # the class last, the method last in it, shown without its placeholder `pass`
    assert built.text.rstrip().endswith('        18\n        """') and "pass" not in built.text
    assert "class Box:" in built.text and "def __init__(self, size):\n        self.size = size" in built.text
    assert built.text.index("def __init__") < built.text.index("def area")
    roomy = context.build(CLASSY, "Box.area")
    assert "helper" in roomy.included and "def unrelated" in roomy.text


def test_a_method_problem_tests_and_programs():
    from o1coder.engine import prompts
    from o1coder.engine.tests_format import parse_tests

    problem = Problem.from_module(CLASSY, "Box.area")
    assert (problem.class_name, problem.entry_point, problem.qualname) == ("Box", "area", "Box.area")
    assert [t.source for t in problem.docstring_examples] == ["assert Box(3).area() == 18"]
    assert "Complete the method `area` of class `Box`" in prompts.direct_messages(problem)[-1]["content"]
    assert "assert Box(<constructor arguments>).area(<arguments>)" in prompts.tcg_messages(problem, 3)[-1]["content"]
    assert prompts.tcg_answer_start(problem) == "```python\nassert Box("
    assert [t.source for t in parse_tests("assert Box(2).area() == 8\n", "area", method=True)] == [
        "assert Box(2).area() == 8"
    ]
    # the model may write the method alone or the class around it: the program is the module
    # with the method replaced in place, and the answer is the method alone
    for code in (
        "def area(self):\n    return helper(self.size * self.size)\n",
        "import math\n\nclass Box:\n    def area(self):\n        return helper(self.size * self.size)\n",
    ):
        program = assemble_program(problem, code)
        assert program.count("class Box:") == 1 and program.count("def area") == 1
        assert "    def area(self):\n        return helper(self.size * self.size)" in program
        assert "def unrelated(self):" in program and program.rstrip().endswith("return 0")
        report = run_tests(program, [TestCase("t", "assert Box(3).area() == 18")])
        assert report.passed == 1, report.outcomes
    from o1coder.engine.problem import target_code

    assert target_code(problem, "class Box:\n    def area(self):\n        return 1\n") == "def area(self):\n    return 1"


def test_an_unknown_method_names_the_methods_it_knows():
    with pytest.raises(ProblemError, match="class Box has no method 'volume'; its methods: __init__, area"):
        Problem.from_module(CLASSY, "Box.volume")


PROBLEM_ALONE = Problem.from_source('def add(a, b):\n    """Add."""\n')  # HumanEval's shape: no module


def test_a_method_s_direct_answer_starts_with_its_def_and_docstring():
    """The engine writes the method's head (a small model asked for a method of a long class
    otherwise rewrites the whole class and is cut off before reaching it); the answer is the
    head plus the model's body, up to the block's close. Functions keep the model's own reply."""
    from fakes import FakeVerifier, ScriptedBackend

    from o1coder.config import SearchSettings
    from o1coder.engine import prompts
    from o1coder.engine.baselines import greedy
    from o1coder.engine.budget import Meter
    from o1coder.engine.types import Budget

    problem = Problem.from_module(CLASSY, "Box.area")
    head = 'def area(self):\n    """The area, doubled by helper.\n\n    >>> Box(3).area()\n    18\n    """'
    assert problem.head == head
    assert prompts.direct_answer_start(problem) == "```python\n" + head + "\n"
    function = Problem.from_module(MODULE, "boxed_total")  # a function in a module starts the same way
    assert prompts.direct_answer_start(function) == "```python\n" + function.head + "\n"
    assert function.head.startswith("def boxed_total(values):") and prompts.direct_answer_start(PROBLEM_ALONE) == ""

    backend = ScriptedBackend({"Reply with the whole method": ["    return helper(self.size * self.size)\n"]})
    meter = Meter([backend], Budget())
    answer = greedy(problem, [], policy=backend, verifier=FakeVerifier(), settings=SearchSettings(), meter=meter)
    [call] = backend.generate_calls
    assert call.prefixes[0].endswith("<|im_start|>assistant\n```python\n" + head + "\n")
    assert call.params[0].stop == prompts.CODE_STOPS
    assert answer.code == head + "\n    return helper(self.size * self.size)"
    program = assemble_program(problem, answer.code)
    assert run_tests(program, [TestCase("t", "assert Box(3).area() == 18")]).passed == 1


def test_a_method_s_code_steps_open_with_its_head_too():
    from o1coder.engine import prompts
    from o1coder.engine.types import CODE, REPAIR, STRUCTURE

    problem = Problem.from_module(CLASSY, "Box.area")
    assert prompts.step_lead(CODE, problem) == problem.head + "\n" == prompts.step_lead(REPAIR, problem)
    assert prompts.step_lead(STRUCTURE, problem) == prompts.PSEUDOCODE_LEAD
    assert prompts.step_lead(CODE) == prompts.step_lead(CODE, PROBLEM_ALONE) == ""
    body = "    return helper(self.size * self.size)"
    assert prompts.step_content(CODE, body + "\n", problem) == problem.head + "\n" + body


@pytest.mark.parametrize("source,target", [(MODULE, "boxed_total"), (CLASSY, "Box.area")])
def test_every_prompt_of_a_stub_in_a_module_opens_with_the_same_system_prompt_and_module(source, target):
    """The test generator's, the direct answer's and the search's prompts differ only after the
    module, so the backend reads the module's tokens once per solve (a shared KV prefix)."""
    import os

    from fakes import ScriptedBackend

    from o1coder.engine import prompts

    problem = Problem.from_module(source, target)
    backend = ScriptedBackend({})
    rendered = [
        backend.render_chat(prompts.tcg_messages(problem, 3)),
        backend.render_chat(prompts.direct_messages(problem)),
        backend.render_chat(prompts.method_messages(problem)),
    ]
    shared = os.path.commonprefix(rendered)
    assert shared.startswith(f"<|im_start|>system\n{prompts.SYSTEM_PROMPT}")
    assert problem.text.rstrip() + "\n```\n\n" in shared
    name = problem.function_name
    assert all(f"`{name}`" in r[len(shared) :] and "above" in r[len(shared) :] for r in rendered)
    # a bare function (HumanEval's shape) keeps the instruction first
    assert prompts.direct_messages(PROBLEM_ALONE)[0]["content"].startswith("Complete the following Python function.")
    assert prompts.tcg_messages(PROBLEM_ALONE, 3)[0]["content"].startswith("Write 3 test cases")


@pytest.mark.parametrize("placeholder", ["pass", "...", "raise NotImplementedError", "raise NotImplementedError('later')"])
def test_a_documented_stub_is_shown_without_its_placeholder_and_keeps_its_comments(placeholder):
    """Shown `pass` at the end of the prompt, the 0.5B model answered `pass` (collections'
    Counter.elements); the prompt ends with the docstring, as HumanEval's do."""
    source = MODULE.replace("    pass\n", f"    # 1. add helper(v) for each value\n    {placeholder}\n")
    text = context.build(source, "boxed_total").text
    assert text.rstrip().endswith('    """\n    # 1. add helper(v) for each value')
    assert placeholder not in text
    undocumented = "def f(x):\n    pass\n"  # nothing else would make it a function: kept
    assert context.build(undocumented, "f").text == undocumented
    one_line = 'def g(x):\n    """Doc."""; pass\n'
    assert context.build(one_line, "g").text == one_line
