"""FAKES for engine tests: a scripted Backend and a scripted verifier. Nothing here is a model.

`ScriptedBackend` implements the Backend protocol with a character tokenizer (one token per
character, so token counts are character counts), a ChatML-like template, continuations
taken from per-marker reply queues, and judgement values from a function of the judged text.
`FakeVerifier` decides verification outcomes from markers in the program text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fake_chat import CharacterChat, continuation

from o1coder.cancel import CancelToken
from o1coder.engine import prompts
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie
from o1coder.sandbox.types import TestCase, TestOutcome, TestStatus, VerificationReport

# Markers: the latest one found in a prefix says what the prefix asks for.
A1 = prompts.STEP_TITLES["structure"]
A2 = prompts.STEP_TITLES["refine"]
A3 = prompts.STEP_TITLES["code"]
TCG = "test cases for the Python function"
DIRECT = "Reply with the whole function"

Reply = str | Callable[[str, SampleParams], str]


@dataclass
class GenerateCall:
    prefixes: list[str]
    params: list[SampleParams]


class ScriptedBackend(CharacterChat):
    """FAKE Backend: scripted continuations by marker, judgement values by a function."""

    def __init__(
        self,
        replies: dict[str, Sequence[Reply]] | None = None,
        values: Callable[[str], float] | None = None,
        name: str = "scripted-fake",
    ):
        self.name = name
        self.counters = Counters()
        self.tree = TokenTrie()
        self.replies = {marker: list(queue) for marker, queue in (replies or {}).items()}
        self.values = values or (lambda _text: 0.5)
        self.generate_calls: list[GenerateCall] = []
        self.judge_calls: list[list[str]] = []
        self.tokenize_calls = 0
        self.forget_calls = 0

    # ------------------------------------------------------------ text
    def tokenize(self, text: str) -> list[int]:
        self.tokenize_calls += 1
        return super().tokenize(text)

    def forget(self) -> None:
        self.forget_calls += 1

    # ------------------------------------------------------------ model calls
    def _reply(self, prefix: str, params: SampleParams) -> str:
        found = [(prefix.rfind(marker), marker) for marker in self.replies if marker in prefix]
        if not found:
            raise AssertionError(f"the fake has no reply for a prefix ending {prefix[-80:]!r}")
        _, marker = max(found)
        queue = self.replies[marker]
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(prefix, params) if callable(reply) else reply

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        texts = [self.detokenize(p) for p in prefixes]
        self.generate_calls.append(GenerateCall(texts, list(params)))
        self.counters.calls += 1
        out = []
        for prefix, text, p in zip(prefixes, texts, params, strict=True):
            if cancel is not None:
                cancel.raise_if_cancelled()
            cont = continuation(self._reply(text, p), p)
            self.counters.prompt_tokens_evaluated += _new_positions(self.tree, prefix)
            self.counters.tokens_generated += len(cont.tokens)
            self.tree.add(list(prefix) + cont.tokens)
            out.append(cont)
        return out

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        texts = [self.detokenize(p) for p in prefixes]
        self.judge_calls.append(texts)
        self.counters.calls += 1
        self.counters.judgements += len(prefixes)
        for prefix in prefixes:
            self.counters.prompt_tokens_evaluated += _new_positions(self.tree, prefix)
            self.tree.add(prefix)
        return [self.values(text) for text in texts]


def _new_positions(tree: TokenTrie, tokens: Sequence[int]) -> int:
    """Positions of `tokens` no earlier call evaluated (a perfect prefix cache), now recorded."""
    before = tree.size
    tree.add(tokens)
    return tree.size - before


def function_reply(code: str, before: str = "", after: str = "<|im_end|>") -> Callable[[str, SampleParams], str]:
    """A FAKE direct answer writing `code` (a function, its def line first): the whole function in
    a python block, or only its body when the engine already opened the block and wrote the
    function's head (`prompts.sampled_answer_start`), as a real model continues from there."""

    def write(prefix: str, params: SampleParams) -> str:
        answer_so_far = prefix.rsplit("<|im_start|>assistant\n", 1)[-1]
        if answer_so_far.startswith(prompts.CODE_FENCE):
            return code.split("\n", 1)[1] + "\n```" + after
        return f"{before}```python\n{code}\n```{after}"

    return write


# ------------------------------------------------------------ helpers for judgement functions


def judged_step(text: str) -> str:
    """The content of the last step in a judged prefix (the step being judged)."""
    answer = (
        text.rsplit("<|im_start|>assistant\n", 2)[-2] if text.count("<|im_start|>assistant\n") >= 2 else text
    )
    answer = answer.split("<|im_end|>", 1)[0]
    last = answer.rsplit("### Step", 1)[-1]
    return (last.split("\n", 1)[1] if "\n" in last else "").strip()


def is_self_critic(text: str) -> bool:
    return prompts.SELF_CRITIC_QUESTION in text


# ------------------------------------------------------------ verifier


@dataclass
class FakeVerifier:
    """FAKE verifier: a program containing a marker gets that marker's (compiled, pass fraction).

    The first matching marker wins; programs without a marker compile and pass nothing.
    """

    outcomes: dict[str, tuple[bool, float]] = field(default_factory=dict)
    programs: list[str] = field(default_factory=list)

    def __call__(self, program: str, tests: list[TestCase]) -> VerificationReport:
        self.programs.append(program)
        compiled, fraction = next((v for m, v in self.outcomes.items() if m in program), (True, 0.0))
        if not compiled:
            return VerificationReport(compiled=False, error="fake: does not load")
        passing = round(fraction * len(tests))
        outcomes = [
            TestOutcome(t.name, TestStatus.PASSED if i < passing else TestStatus.FAILED)
            for i, t in enumerate(tests)
        ]
        return VerificationReport(compiled=True, outcomes=outcomes, isolation="fake")


@dataclass
class BehaviourVerifier:
    """FAKE verifier with behaviour: a program containing a marker returns that marker's values.

    `behaviours[marker][test name]` is what the program's call returns on that test's input (an
    exception instance: what it raises);
    `expected[test name]` is what the test expects. Outcomes carry the canonical output the
    real sandbox records, so execution agreement sees what it sees in a real solve.
    """

    behaviours: dict[str, dict[str, object]]
    expected: dict[str, object]
    programs: list[str] = field(default_factory=list)

    def __call__(self, program: str, tests: list[TestCase]) -> VerificationReport:
        from o1coder.sandbox.child.plain import canonical, dumps

        self.programs.append(program)
        marker = next((m for m in self.behaviours if m in program), None)
        if marker is None:
            return VerificationReport(compiled=False, error="fake: no known behaviour")
        outcomes = []
        for test in tests:
            value = self.behaviours[marker][test.name]
            if isinstance(value, BaseException):  # the call raised, as the sandbox records it
                name = type(value).__name__
                message = f"{name}: {value}"
                outcomes.append(TestOutcome(test.name, TestStatus.ERROR, message, output=dumps(["raised", name])))
                continue
            ok = value == self.expected[test.name]
            outcomes.append(
                TestOutcome(
                    test.name,
                    TestStatus.PASSED if ok else TestStatus.FAILED,
                    "" if ok else f"assert ... == {self.expected[test.name]!r} (got {value!r})",
                    output=canonical(value),
                )
            )
        return VerificationReport(compiled=True, outcomes=outcomes, isolation="fake")
