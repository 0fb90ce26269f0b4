"""Every prompt template of the engine, in one place. Bump PROMPT_VERSION on any change.

The pseudocode-first format: the assistant answers in steps headed `### Step k: <title>`.
The engine writes each step's header itself (so a small model keeps the format) and the
model writes the content: a node's text is header + content + a blank line. Pseudocode steps
start with "1." written by the engine (the lead: it keeps the 0.5B model from jumping to code);
the code step's header opens the ```python block, its content is the code, closed by the engine.
To generate step k: prompt with `step_prompt`, then `step_content` of the continuation.
Judgements (PRM, self-critic) are asked as a new user turn after the partial answer, so they
reuse the tokens (and the KV cache) of the node they judge and add only a short suffix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from o1coder.engine.problem import Problem
from o1coder.engine.types import CODE, CODE_ACTIONS, REFINE, REPAIR, STRUCTURE
from o1coder.models.backend import Backend

# 2: pseudocode lead "1.", terser TCG prompt, code stops at "### Step"; 3: the repair step;
# 4: a stub in a module: answers start with its def line and docstring (bare functions as in 3);
# 5: a stub in a module: every prompt is the system prompt, then the module, then the instruction;
# 6: the search's sampled direct answers start after the function's head, a bare function's too
PROMPT_VERSION = "o1c-prompts-6"

SYSTEM_PROMPT = (
    "You are an expert Python programmer. You always think in pseudocode first: you plan the "
    "algorithm as short numbered pseudocode lines, refine the plan, and only then write the Python code."
)

METHOD = """Work in steps. Start every step with a header line `### Step k: <title>`.
- Step 1 defines the algorithm structure in pseudocode: the function, its inputs and output, and the plan as short numbered lines. No code.
- The next steps refine the pseudocode into concrete operations, as numbered lines. No code.
- The final step writes the complete function in one ```python code block: its signature, the imports it needs and the body, without repeating the docstring."""

STEP_TITLES = {
    STRUCTURE: "Define the algorithm structure (pseudocode)",
    REFINE: "Refine the pseudocode",
    CODE: "Generate the Python code",
    REPAIR: "Fix the code",
}
# The repair step's header carries the execution feedback of the code it fixes (what the
# sandbox reported), then opens the code block for the corrected function.
REPAIR_FEEDBACK = "The code above fails these checks:\n{failures}\nWrite the corrected function.\n"
MAX_FEEDBACK_LINES = 3
MAX_FEEDBACK_CHARS = 240
CODE_FENCE = "```python\n"
PSEUDOCODE_LEAD = "1."
STEP_STOPS = ("### Step", "```", "<|im_end|>")
CODE_STOPS = ("```", "### Step")  # a code step that turns into more steps is cut

# The direct prompt of the greedy / best-of-N baselines: at most 512 new tokens, first code block
# taken (greedy HumanEval with it, 0.5B Q4_K_M: 57.3% pass@1, 229 generated tokens on average).
DIRECT_MAX_TOKENS = 512

# Judgement questions; the answer is read from the first token's yes/no probabilities.
PRM_QUESTION = (
    "Look at the last step of your answer above. Is it correct and useful toward a correct solution "
    "of the problem? Answer yes or no."
)
SELF_CRITIC_QUESTION = (
    "Is the pseudocode above complete enough to write the final Python code now? Answer yes or no."
)
YES = ("yes", "Yes", "YES")
NO = ("no", "No", "NO")
_SENTINEL = "\x00o1c-sentinel\x00"


def problem_block(problem: Problem) -> str:
    if problem.is_function:
        return f"```python\n{problem.text.rstrip()}\n```"
    return (
        f"{problem.text.strip()}\n\nWrite the solution as a Python function named `{problem.function_name}`."
    )


def _task(problem: Problem) -> str:
    if problem.class_name:
        where = "the Python code above" if problem.module is not None else "this Python code"
        return f"Complete the method `{problem.function_name}` of class `{problem.class_name}` in {where}."
    if problem.module is not None:
        return f"Complete the function `{problem.function_name}` in the Python code above."
    return "Complete this Python function." if problem.is_function else "Solve this programming task."


def _module_first(problem: Problem, ask: str) -> list[dict[str, str]]:
    """The turns of any prompt for a stub in a module: the system prompt, then the module, then what
    is asked. The module context is most of the prompt (up to about 1,500 tokens); with it first,
    the test generator's, the direct answer's and the search's prompts share its tokens, and the
    backend reads them once per solve instead of once per kind of prompt."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"{problem_block(problem)}\n\n{ask}"},
    ]


def method_messages(problem: Problem) -> list[dict[str, str]]:
    """System + user turns of the pseudocode-first prompt (MCTS and the pseudocode chain)."""
    task = _task(problem)
    if problem.module is not None:
        return _module_first(problem, f"{task}\n\n{METHOD}")
    user = f"{task}\n\n{problem_block(problem)}\n\n{METHOD}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def chat_prefix(backend: Backend, problem: Problem) -> str:
    """The chat text every pseudocode-first answer continues."""
    return backend.render_chat(method_messages(problem), add_generation_prompt=True)


def step_header(action: str, k: int, feedback: str = "") -> str:
    """The header the engine writes before the model's content of step `k` (a repair step's
    carries `feedback`, see `repair_feedback`)."""
    header = f"### Step {k}: {STEP_TITLES[action]}\n"
    if action == REPAIR:
        header += REPAIR_FEEDBACK.format(failures=feedback)
    return header + CODE_FENCE if action in CODE_ACTIONS else header


def repair_feedback(failures: Sequence[str]) -> str:
    """The failing checks a repair step shows, one `- ` line each, capped."""
    lines = []
    for text in list(failures)[:MAX_FEEDBACK_LINES]:
        text = " ".join(text.split())
        lines.append("- " + (text if len(text) <= MAX_FEEDBACK_CHARS else text[:MAX_FEEDBACK_CHARS] + "..."))
    return "\n".join(lines)


def step_lead(action: str, problem: Problem | None = None) -> str:
    """The start of a step's content the engine writes for the model: pseudocode steps open a
    numbered list (without it a small model tends to jump to code at once); the code steps of a
    stub in a module open with its def line and docstring (see `direct_answer_start`)."""
    if action not in CODE_ACTIONS:
        return PSEUDOCODE_LEAD
    return problem.head + "\n" if problem is not None and problem.head else ""


def step_prompt(action: str, k: int, feedback: str = "") -> str:
    """What the engine writes before the model continues step `k`: header and lead."""
    return step_header(action, k, feedback) + step_lead(action)


def step_content(action: str, generated: str, problem: Problem | None = None) -> str:
    """A step's content from the model's continuation of `step_prompt` (the lead included)."""
    return clean_step_text(step_lead(action, problem) + generated)


def step_body(action: str, content: str) -> str:
    """What follows the header in a node's text: the content, closed and spaced."""
    if action in CODE_ACTIONS:
        return content.rstrip() + "\n```\n\n"
    return content.rstrip() + "\n\n"


def step_segment(action: str, k: int, content: str) -> str:
    return step_header(action, k) + step_body(action, clean_step_text(content))


def stop_strings(action: str) -> tuple[str, ...]:
    return CODE_STOPS if action in CODE_ACTIONS else STEP_STOPS


def clean_step_text(text: str) -> str:
    """A step's content as shown and stored: no surrounding blank lines or trailing spaces."""
    return text.strip("\n").rstrip()


def direct_messages(problem: Problem) -> list[dict[str, str]]:
    """The baseline prompt: complete the function, reply with the whole function in one block."""
    where = "above" if problem.module is not None else "following"
    if problem.class_name:
        ask = (
            f"Complete the method `{problem.function_name}` of class `{problem.class_name}` in the {where} "
            "Python code. Reply with the whole method in one python code block."
        )
    elif problem.module is not None:
        ask = (
            f"Complete the function `{problem.function_name}` in the Python code above. "
            "Reply with the whole function in one python code block."
        )
    elif problem.is_function:
        ask = (
            "Complete the following Python function. Reply with the whole function in one python code block."
        )
    else:
        ask = "Solve the following task. Reply with the whole function in one python code block."
    if problem.module is not None:
        return _module_first(problem, ask)
    return [{"role": "user", "content": f"{ask}\n\n{problem_block(problem)}"}]


def direct_answer_start(problem: Problem) -> str:
    """The start of the direct answer the engine writes for the model. For a stub in a module: the
    code block, the stub's `def` line and docstring as written, so the answer is the stub filled in
    (shown a long module, a small model rewrites it and runs out of tokens before reaching the
    target). For a bare function (HumanEval's shape): nothing, the model's own reply."""
    lead = step_lead(CODE, problem)
    return CODE_FENCE + lead if lead else ""


def direct_stops(problem: Problem) -> tuple[str, ...]:
    """Where a direct answer ends: at its block's close when the engine opened the block."""
    return CODE_STOPS if direct_answer_start(problem) else ()


def sampled_answer_start(problem: Problem) -> str:
    """The start of the direct answers the search samples beside the greedy one (System 1's
    agreement): the code block and the function's `def` line and docstring as written, a bare
    function's too. A HumanEval reply restates the docstring (200-350 tokens); started after
    it, a sample writes only the body, a third of that. The greedy answer keeps its own start
    (`direct_answer_start`), so the greedy baseline is unchanged."""
    head = problem.stated_head
    return CODE_FENCE + head + "\n" if head else direct_answer_start(problem)


def sampled_answer_stops(problem: Problem) -> tuple[str, ...]:
    return CODE_STOPS if sampled_answer_start(problem) else ()


def tcg_messages(problem: Problem, n: int) -> list[dict[str, str]]:
    name = problem.function_name
    where = "above" if problem.module is not None else "below"
    if problem.class_name:
        owner = problem.class_name
        ask = (
            f"Write {n} test cases for the method `{name}` of class `{owner}` {where}. Reply with one ```python "
            f"code block of exactly {n} lines, each line `assert {owner}(<constructor arguments>).{name}(<arguments>) "
            "== <expected result>` with fixed inputs (construct the object as its `__init__` expects). "
            "Work out each expected result carefully from the description. No messages, no comments, no other code."
        )
    else:
        ask = (
            f"Write {n} test cases for the Python function `{name}` {where}. Reply with one ```python code block "
            f"of exactly {n} lines, each line `assert {name}(<arguments>) == <expected result>` with fixed inputs. "
            "Work out each expected result carefully from the description. No messages, no comments, no other code."
        )
    if problem.module is not None:
        return _module_first(problem, ask)
    return [{"role": "user", "content": f"{ask}\n\n{problem_block(problem)}"}]


def tcg_answer_start(problem: Problem) -> str:
    """The start of the TCG answer the engine writes for the model: the block and the first assert."""
    if problem.class_name:
        return f"```python\nassert {problem.class_name}("
    return f"```python\nassert {problem.function_name}("


def judge_suffix(backend: Backend, question: str) -> str:
    """The chat text that closes the assistant turn and asks `question` (template-generic)."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": _SENTINEL},
        {"role": "user", "content": question},
    ]
    rendered = backend.render_chat(messages, add_generation_prompt=True)
    at = rendered.find(_SENTINEL)
    if at < 0:
        raise ValueError(f"the chat template of {backend.name} drops assistant turns; cannot ask judgements")
    return rendered[at + len(_SENTINEL) :]


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)


def first_code_block(text: str, languages: Sequence[str] = ("python", "py", "python3", "")) -> str | None:
    """The content of the first fenced block in `text` (unclosed: up to the end); None if none."""
    for match in _FENCE.finditer(text):
        if match.group(1).lower() in languages:
            return match.group(2).rstrip("\n")
    return None


def extract_code(text: str) -> str:
    """The code of a free-form reply: its first code block, else the whole reply."""
    block = first_code_block(text)
    return (block if block is not None else text).strip("\n")
