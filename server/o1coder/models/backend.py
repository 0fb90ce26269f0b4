"""The generation backend contract the engine is written against.

The engine never imports llama.cpp: it talks to a `Backend`. The real one is
`o1coder.models.llama_backend.LlamaBackend` (llama.cpp through llama-cpp-python);
training plugs in a transformers one; unit tests use `ScriptedBackend` fakes named as such.

Token sequences are plain lists of ints. A search builds every node's sequence by
appending to its parent's, so backends can reuse the KV cache of the longest common
prefix: callers never re-evaluate shared prefixes, the backend does the bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from o1coder.cancel import CancelToken


@dataclass(frozen=True)
class SampleParams:
    """How to sample one continuation."""

    max_tokens: int = 256
    temperature: float = 0.8  # 0 means greedy (argmax)
    top_k: int = 40
    top_p: float = 0.95
    seed: int = 0
    # Generation stops when the decoded continuation contains one of these strings.
    stop: tuple[str, ...] = ()


@dataclass
class Continuation:
    """One sampled continuation of a prefix.

    `tokens` are every token sampled (including the one that completed a stop string);
    `text` is the decoded continuation cut just before the stop string, if any.
    """

    tokens: list[int]
    text: str
    finish_reason: str  # "stop" (a stop string), "eos" (end-of-generation token), "length"
    stop_string: str | None = None


@dataclass
class Counters:
    """Work done by a backend, accumulated over calls. `snapshot()` for deltas."""

    calls: int = 0
    tokens_generated: int = 0
    prompt_tokens_evaluated: int = 0  # tokens fed to the model that it did not sample itself
    judgements: int = 0
    decode_seconds: float = 0.0

    def snapshot(self) -> Counters:
        return Counters(**self.__dict__)

    def since(self, earlier: Counters) -> Counters:
        return Counters(**{k: getattr(self, k) - getattr(earlier, k) for k in self.__dict__})


@dataclass
class TokenTrie:
    """Counts the distinct token positions of every sequence a search touched.

    `size` is the number of trie nodes: the tokens a perfect prefix cache would have
    evaluated exactly once. prompt_tokens_evaluated + tokens_generated over `size` is the
    re-evaluation ratio the benchmark reports.
    """

    _root: dict = field(default_factory=dict)
    size: int = 0

    def add(self, tokens: Sequence[int]) -> None:
        node = self._root
        for tok in tokens:
            nxt = node.get(tok)
            if nxt is None:
                nxt = node[tok] = {}
                self.size += 1
            node = nxt

    def clear(self) -> None:
        self._root = {}
        self.size = 0


# ------------------------------------------------------------------ rules every backend shares


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` share (what a KV cache holding one reuses for the other)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def find_stop(text: str, stop: Sequence[str], start: int = 0) -> tuple[int, str] | None:
    """Where the earliest stop string in `text` (at or after `start`) begins, and which one it is.

    A continuation's text is cut there (`Continuation.text`); None when no stop string occurs.
    """
    hits = [(at, s) for s in stop if (at := text.find(s, start)) >= 0]
    return min(hits) if hits else None


def judgement_ids(
    tokenize: Callable[[str], Sequence[int]], yes: Sequence[str], no: Sequence[str]
) -> tuple[list[int], list[int]]:
    """The token ids `judge` compares: the distinct first tokens of each spelling of yes and of no."""

    def first_tokens(spellings: Sequence[str]) -> list[int]:
        out = set()
        for text in spellings:
            tokens = tokenize(text)
            if not tokens:
                raise ValueError(f"{text!r} has no tokens")
            out.add(tokens[0])
        return sorted(out)

    return first_tokens(yes), first_tokens(no)


def plain_chat(messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """The chat text for a model without a chat template (a base model): "Role: content" turns."""
    text = "".join(f"{m['role'].title()}: {m['content']}\n\n" for m in messages)
    return text + ("Assistant: " if add_generation_prompt else "")


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from a language model."""

    name: str
    counters: Counters
    tree: TokenTrie

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text`, parsing special tokens (chat markers), without BOS."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The model's own chat template (GGUF metadata) applied to `messages`."""
        ...

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        """One continuation per prefix, decoded together (one batch per step) where possible.

        Prefixes may repeat (k samples of one prefix) or differ (siblings). Shared prefixes
        and prefixes still in the KV cache are not re-evaluated. A set `cancel` token raises
        `o1coder.cancel.Cancelled` at the next point the backend polls it (every decode step
        for the llama.cpp backend); nothing partial is returned.
        """
        ...

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        """P(yes) / (P(yes) + P(no)) for the next token after each prefix.

        `yes`/`no` are spellings of the answer ("yes", "Yes"); each is scored by its first
        token, from the last position's logits only. `cancel` as for `generate`.
        """
        ...

    def n_ctx(self) -> int: ...

    def forget(self) -> None:
        """Drop every cached prefix: the calls that follow belong to a new, unrelated tree.

        Stale sequences are not free on a CPU: attention spans every occupied cache cell, and
        a cache still holding earlier problems made a whole search 11% slower (measured).
        """
        ...
