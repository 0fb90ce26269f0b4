"""Prompt templates: step headers, judge suffixes, code extraction."""

from __future__ import annotations

from fakes import ScriptedBackend

from o1coder.engine import prompts
from o1coder.engine.problem import Problem
from o1coder.engine.types import CODE, REFINE, STRUCTURE


def test_step_headers_and_the_code_step_opens_the_block():
    assert prompts.step_header(STRUCTURE, 1) == "### Step 1: Define the algorithm structure (pseudocode)\n"
    assert prompts.step_header(REFINE, 2) == "### Step 2: Refine the pseudocode\n"
    assert prompts.step_header(CODE, 3) == "### Step 3: Generate the Python code\n```python\n"
    assert prompts.stop_strings(CODE) == ("```", "### Step")
    assert prompts.stop_strings(REFINE) == ("### Step", "```", "<|im_end|>")


def test_step_segments_are_header_content_blank_line_and_code_is_closed():
    assert prompts.step_segment(STRUCTURE, 1, "\n1. read\n2. sum  \n") == (
        "### Step 1: Define the algorithm structure (pseudocode)\n1. read\n2. sum\n\n"
    )
    assert prompts.step_segment(CODE, 2, "def f():\n    return 1\n") == (
        "### Step 2: Generate the Python code\n```python\ndef f():\n    return 1\n```\n\n"
    )


def test_judge_suffix_is_what_the_template_adds_after_the_assistant_turn():
    backend = ScriptedBackend()
    suffix = prompts.judge_suffix(backend, prompts.PRM_QUESTION)
    assert (
        suffix == f"<|im_end|>\n<|im_start|>user\n{prompts.PRM_QUESTION}<|im_end|>\n<|im_start|>assistant\n"
    )


def test_method_prompt_carries_the_problem_and_the_step_format():
    problem = Problem.from_source("def f(x):\n    '''Double x.'''\n")
    system, user = prompts.method_messages(problem)
    assert system["role"] == "system" and "pseudocode" in system["content"]
    assert "```python\ndef f(x):\n    '''Double x.'''\n```" in user["content"]
    assert "### Step k: <title>" in user["content"]
    prose = prompts.method_messages(Problem.from_source("Add two numbers."))[1]["content"]
    assert "named `solution`" in prose
    chat = prompts.chat_prefix(ScriptedBackend(), problem)
    assert chat.endswith("<|im_start|>assistant\n") and "Double x." in chat


def test_tcg_prompt_names_the_function_and_the_answer_starts_an_assert():
    problem = Problem.from_source("def add(a, b):\n    '''Sum.'''\n")
    [user] = prompts.tcg_messages(problem, 5)
    assert "Write 5 test cases" in user["content"] and "`add`" in user["content"]
    assert prompts.tcg_answer_start(problem) == "```python\nassert add("


def test_first_code_block_and_extract_code():
    reply = (
        "Sure!\n```text\nnot this\n```\n```python\ndef f():\n    return 1\n```\nExplanation ```python\nx\n```"
    )
    assert prompts.first_code_block(reply) == "def f():\n    return 1"
    assert prompts.first_code_block("no code here") is None
    assert prompts.extract_code("```py\nx = 1\n") == "x = 1"  # unclosed: up to the end
    assert prompts.extract_code("\ndef g():\n    pass\n") == "def g():\n    pass"  # no fence: all of it
    assert prompts.PROMPT_VERSION.startswith("o1c-prompts-")


def test_pseudocode_steps_start_with_the_engine_written_lead():
    assert prompts.step_prompt(REFINE, 2) == "### Step 2: Refine the pseudocode\n1."
    assert prompts.step_prompt(CODE, 3) == prompts.step_header(CODE, 3)
    assert prompts.step_content(STRUCTURE, " read x\n2. add\n\n") == "1. read x\n2. add"
    assert prompts.step_content(CODE, "x = 1\n") == "x = 1"


def test_sampled_direct_answers_start_after_the_function_s_head():
    """The search's sampled answers start with the def line and docstring as written (a HumanEval
    reply restates the docstring: 3x the tokens); the code assembles with the problem's imports."""
    from o1coder.engine.problem import assemble_program
    from o1coder.sandbox import TestCase, run_tests

    problem = Problem.from_source('from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum xs."""\n')
    head = 'def total(xs: List[int]) -> int:\n    """Sum xs."""'
    assert problem.stated_head == head
    assert prompts.sampled_answer_start(problem) == "```python\n" + head + "\n"
    assert prompts.sampled_answer_stops(problem) == prompts.CODE_STOPS
    assert prompts.direct_answer_start(problem) == ""  # the greedy answer: the model's own reply
    code = prompts.extract_code(prompts.sampled_answer_start(problem) + "    return sum(xs)\n")
    assert run_tests(assemble_program(problem, code), [TestCase("t", "assert total([1, 2]) == 3")]).passed == 1
    words = Problem.from_source("Return the sum of a list of numbers.")
    assert words.stated_head is None and prompts.sampled_answer_start(words) == ""
