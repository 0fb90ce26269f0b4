"""FAKE model for the data-build tests: a scripted Backend. Nothing here is a model.

`ScriptedModel` implements the engine's Backend protocol (`o1coder.models.backend`) with a
character tokenizer (one token per character), a ChatML-like template, and replies chosen
by a function of the prompt's last user turn, so tests decide exactly what "the model" writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fake_chat import CharacterChat, continuation

from o1coder.cancel import CancelToken
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie


class ScriptedModel(CharacterChat):
    """FAKE Backend: `reply(last_user_turn, params)` is what it generates after each prefix."""

    def __init__(self, reply: Callable[[str, SampleParams], str], name: str = "scripted-fake"):
        self.name = name
        self.reply = reply
        self.counters = Counters()
        self.tree = TokenTrie()
        self.prompts: list[str] = []  # every prefix it was asked to continue, decoded
        self.closed = False

    def forget(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        self.counters.calls += 1
        out = []
        for prefix, p in zip(prefixes, params, strict=True):
            text = self.detokenize(prefix)
            self.prompts.append(text)
            last_user = text.rsplit("<|im_start|>user\n", 1)[-1]
            cont = continuation(self.reply(last_user, p), p)
            self.counters.tokens_generated += len(cont.tokens)
            out.append(cont)
        return out

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        self.counters.judgements += len(prefixes)
        return [0.5 for _ in prefixes]
