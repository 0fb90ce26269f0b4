"""Ghost text (fill-in-the-middle inline completion): the prompt, the shaping of the model's
answer and the chunked generation, against a FAKE backend. The real model's side is in
tests/clients/test_nvim_ghost.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from lsprotocol import types

from o1coder.cancel import Cancelled, CancelToken
from o1coder.lsp import completion, edits
from o1coder.lsp.completion import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, GhostPrompt
from o1coder.lsp.text import is_valid_python
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie

SOURCE = '''\
import math


def area(r: float) -> float:
    """The area of a circle of radius r."""
    ret


def other() -> int:
    return 1
'''
LINE = 5  # "    ret"


@pytest.fixture(autouse=True)
def no_cache_estimate() -> None:
    """Each test's fake starts with nothing cached (ids of collected fakes are reused)."""
    completion._CACHED.clear()


def prompt_at(text: str, line: int, character: int) -> GhostPrompt:
    prompt = completion.ghost_prompt(text, types.Position(line=line, character=character))
    assert prompt is not None
    return prompt


class FakeFim:
    """FAKE backend: the FIM markers are one token each, every other character one token; it
    answers every prompt with `answer` (then end-of-generation), `max_tokens` at a time."""

    SPECIAL = {FIM_PREFIX: 1, FIM_SUFFIX: 2, FIM_MIDDLE: 3}
    EOS = 0

    def __init__(self, answer: str, eos: bool = True):
        self.name = "fake-fim"
        self.counters = Counters()
        self.tree = TokenTrie()
        self.answer = answer
        self.eos = eos
        self.calls: list[int] = []  # prompt lengths
        self.prefills: list[int] = []  # prefill pieces' lengths

    def tokenize(self, text: str) -> list[int]:
        out: list[int] = []
        i = 0
        while i < len(text):
            for marker, token in self.SPECIAL.items():
                if text.startswith(marker, i):
                    out.append(token)
                    i += len(marker)
                    break
            else:
                out.append(ord(text[i]) + 100)
                i += 1
        return out

    def detokenize(self, tokens: Sequence[int]) -> str:
        names = {v: k for k, v in self.SPECIAL.items()}
        return "".join(names.get(t, "") if t < 100 else chr(t - 100) for t in tokens)

    def generate(
        self, prefixes: Sequence[Sequence[int]], params: Sequence[SampleParams], cancel: CancelToken | None = None
    ) -> list[Continuation]:
        [prefix], [p] = prefixes, params
        if cancel is not None:
            cancel.raise_if_cancelled()
        if 3 not in prefix:  # a prefill piece: the prompt up to its middle is not there yet
            assert p.max_tokens == 0 and cancel is None
            self.prefills.append(len(prefix))
            return [Continuation([], "", "length")]
        self.calls.append(len(prefix))
        middle = list(prefix).index(3)
        done = len(prefix) - middle - 1 - len(self._typed(prefix))
        rest = self.answer[done:]
        if not rest and self.eos:
            return [Continuation([self.EOS], "", "eos")]
        piece = rest[: p.max_tokens]
        return [Continuation(self.tokenize(piece), piece, "length" if piece else "eos")]

    def _typed(self, prefix: Sequence[int]) -> str:
        return self.typed

    typed = ""


def run(answer: str, prompt: GhostPrompt, eos: bool = True, clock=None) -> tuple[str | None, FakeFim]:
    backend = FakeFim(answer, eos)
    backend.typed = prompt.text.split(FIM_MIDDLE)[1]
    kwargs = {"clock": clock} if clock else {}
    return completion.generate_ghost(backend, prompt, **kwargs), backend


def test_prompt_is_prefix_block_suffix_and_the_line_up_to_the_cursor() -> None:
    prompt = prompt_at(SOURCE, LINE, 7)
    assert prompt.text == (
        FIM_PREFIX
        + 'import math\n\n\ndef area(r: float) -> float:\n    """The area of a circle of radius r."""\n'
        + FIM_SUFFIX
        + "\n\n\n"  # the rest of the block: the blank lines, not `def other`
        + FIM_MIDDLE
        + "    ret"
    )
    assert (prompt.typed, prompt.tail, prompt.below) == ("    ret", "", ("", ""))
    # the last blank of what was typed is left for the model to write (it starts the next token)
    blank = SOURCE.replace("    ret\n", "    \n")
    assert prompt_at(blank, LINE, 4).text.endswith(FIM_MIDDLE + "   ") and prompt_at(blank, LINE, 4).tail == " "
    spaced = SOURCE.replace("    ret\n", "    return  \n")
    assert prompt_at(spaced, LINE, 12).text.endswith(FIM_MIDDLE + "    return ")
    # only at the end of a line (blanks after the cursor do not count)
    assert completion.ghost_prompt(SOURCE, types.Position(line=LINE, character=5)) is None
    assert completion.ghost_prompt(SOURCE.replace("    ret\n", "    ret   \n"), types.Position(line=LINE, character=7))
    assert completion.ghost_prompt(SOURCE, types.Position(line=99, character=0)) is None


def test_prompt_start_is_aligned_so_the_cache_keeps_it() -> None:
    many = "".join(f"x{i} = {i}\n" for i in range(400))
    at_300 = prompt_at(many, 300, 10).text
    at_310 = prompt_at(many, 310, 10).text
    first = at_300[len(FIM_PREFIX) :].split("\n")[0]
    assert first == at_310[len(FIM_PREFIX) :].split("\n")[0] == "x160 = 160"  # 300 - 128 = 172 -> 160
    assert prompt_at(many, 20, 8).text.startswith(FIM_PREFIX + "x0 = 0\n")


def test_utf16_cursor() -> None:
    text = 's = "😀"\n'
    prompt = prompt_at(text, 0, 8)  # the emoji is two UTF-16 units
    assert prompt.typed == 's = "😀"'
    assert completion.ghost_prompt(text, types.Position(line=0, character=7)) is None  # before the quote


@pytest.mark.parametrize(
    ("typed", "generated", "complete", "shown"),
    [
        ("    ret", "urn math.pi * r ** 2", False, "urn math.pi * r ** 2"),  # cut short: the line as written
        ("    ret", "urn x\n    y = 1\n    z", False, "urn x\n    y = 1"),  # a later line cut short is dropped
        ("    ret", "urn x\n    y = 1\n    z = 2", True, "urn x\n    y = 1\n    z = 2"),
        ("    ret", "urn x\n\ndef other():\n    pass", True, "urn x"),  # the block ended
        ("    if x", ":\n        for y in z:\n", False, ":"),  # a block opener without its body
        ("    ret", "urn x\n\n\n", True, "urn x"),  # no trailing blank lines
        ("    ", " return 1", True, "return 1"),  # the left-out blank, written again
        ("    ", "return 1", True, None),  # another token boundary than the one typed
        ("    ", "\n    with open(p) as f:\n        x = 1", True, "with open(p) as f:\n        x = 1"),  # on a blank line
        ("    ", "\n\ndef f():", True, None),
        ("    ", "\n      x = 1", True, "  x = 1"),
        ("    x = ", "\n    1", True, None),  # blank lines are skipped on a blank line only
        ("    x = ", " 1", True, "1"),
        ("    ret", "   ", True, None),
    ],
)
def test_suggestion_shaping(typed: str, generated: str, complete: bool, shown: str | None) -> None:
    text = SOURCE.replace("    ret\n", typed + "\n")
    prompt = prompt_at(text, LINE, len(typed))
    assert completion.ghost_suggestion(prompt, generated, complete) == shown


def test_a_suggestion_repeating_the_line_below_is_cut() -> None:
    text = SOURCE.replace("    ret\n", "    x = 1\n    \n    return x\n")
    prompt = prompt_at(text, LINE + 1, 4)
    assert completion.ghost_suggestion(prompt, " y = 2\n    return x\n", True) == "y = 2"
    assert completion.ghost_suggestion(prompt, " return x\n", True) is None


def test_generation_accepted_into_the_document_is_valid_python() -> None:
    prompt = prompt_at(SOURCE, LINE, 7)
    suggestion, backend = run("urn math.pi * r ** 2\n", prompt)
    assert suggestion == "urn math.pi * r ** 2"
    [item] = completion.ghost_items(prompt, suggestion).items
    assert item.range.start == types.Position(line=LINE, character=0)
    assert item.range.end == types.Position(line=LINE, character=7)
    new = edits.apply_text_edits(SOURCE, [types.TextEdit(range=item.range, new_text=item.insert_text)])
    assert "    return math.pi * r ** 2\n" in new and is_valid_python(new)
    # chunks of GHOST_CHUNK_TOKENS, each call continuing the previous one's tokens
    assert backend.calls == sorted(backend.calls) and len(backend.calls) >= 5
    # the prompt up to its middle was prefilled first in pieces, without a cancel token
    piece = completion.GHOST_PREFILL_PIECE
    assert backend.prefills and all(b - a == piece for a, b in zip(backend.prefills[:-1], backend.prefills[1:], strict=True))
    assert backend.calls[0] - backend.prefills[-1] <= piece + len("    ret")
    # the next request on the same line prefills nothing again
    again = FakeFim("urn 1\n")
    again.typed = "    ret"
    completion._CACHED[id(again)] = completion._CACHED[id(backend)]
    assert completion.generate_ghost(again, prompt) == "urn 1" and again.prefills == []


def test_generation_stops_at_the_end_of_the_block_and_after_the_time_for_more_lines() -> None:
    prompt = prompt_at(SOURCE, LINE, 7)
    answer = "urn 1\n" + "    x = 1\n" * 3 + "\n\ndef more():\n" + "    y = 2\n" * 30
    suggestion, backend = run(answer, prompt, eos=False)
    assert suggestion == "urn 1\n    x = 1\n    x = 1\n    x = 1"
    assert sum(1 for _ in backend.calls) < len(answer) // completion.GHOST_CHUNK_TOKENS

    ticks = iter(range(1000))
    long_block = "urn 1\n" + "    x = 1\n" * 40
    suggestion, _ = run(long_block, prompt, eos=False, clock=lambda: next(ticks) * 0.1)
    assert suggestion is not None and suggestion.startswith("urn 1") and suggestion.count("\n") <= 4


def test_first_line_is_capped_and_a_cancel_stops_generation() -> None:
    prompt = prompt_at(SOURCE, LINE, 7)
    suggestion, _ = run("urn " + "x" * 200, prompt, eos=False)
    assert suggestion == "urn " + "x" * (completion.GHOST_LINE_TOKENS - 4)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        completion.generate_ghost(FakeFim("urn 1"), prompt, token)


def test_a_model_without_fim_tokens_is_not_asked() -> None:
    class Plain(FakeFim):
        def tokenize(self, text: str) -> list[int]:
            return [ord(c) for c in text]

    assert completion.supports_fim(FakeFim("")) and not completion.supports_fim(Plain(""))
