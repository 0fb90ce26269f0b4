"""FAKE model for the data-build tests: a scripted Backend. Nothing here is a model.

`ScriptedModel` implements the engine's Backend protocol (`o1coder.models.backend`) with a
character tokenizer (one token per character), a ChatML-like template, and replies chosen
by a function of the prompt's last user turn, so tests decide exactly what "the model" writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from o1coder.cancel import CancelToken
from o1coder.models.backend import Continuation, Counters, SampleParams, TokenTrie, find_stop

EOS = -1


class ScriptedModel:
    """FAKE Backend: `reply(last_user_turn, params)` is what it generates after each prefix."""

    def __init__(self, reply: Callable[[str, SampleParams], str], name: str = "scripted-fake"):
        self.name = name
        self.reply = reply
        self.counters = Counters()
        self.tree = TokenTrie()
        self.prompts: list[str] = []  # every prefix it was asked to continue, decoded
        self.closed = False

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(chr(t) for t in tokens if t >= 0)

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def n_ctx(self) -> int:
        return 1_000_000

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
            cont = _continue(self.reply(last_user, p), p)
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


def _continue(reply: str, params: SampleParams) -> Continuation:
    """Stop strings and the token cap applied as a real backend applies them."""
    hit = find_stop(reply, params.stop)
    if hit is not None:
        at, stop = hit
        if at + len(stop) <= params.max_tokens:
            return Continuation([ord(c) for c in reply[: at + len(stop)]], reply[:at], "stop", stop)
    if len(reply) >= params.max_tokens:
        return Continuation([ord(c) for c in reply[: params.max_tokens]], reply[: params.max_tokens], "length")
    return Continuation([ord(c) for c in reply] + [EOS], reply, "eos")
