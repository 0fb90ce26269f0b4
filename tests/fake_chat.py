"""FAKE text side of a Backend, shared by the scripted backends of the tests. Nothing here is a model.

One token per character (token counts are character counts), a ChatML-like template, and
`continuation`, which applies stop strings and the token cap to a scripted reply the way a
real backend applies them to what it generates.
"""

from __future__ import annotations

from collections.abc import Sequence

from o1coder.models.backend import Continuation, SampleParams, find_stop

EOS = -1  # the fake's end-of-generation token (decodes to nothing)


class CharacterChat:
    """The text methods of the Backend protocol for a FAKE backend."""

    def tokenize(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(chr(t) for t in tokens if t >= 0)

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def n_ctx(self) -> int:
        return 1_000_000


def continuation(reply: str, params: SampleParams) -> Continuation:
    """`reply` as a backend would return it: cut at the first stop string, or at the token cap,
    or ended by EOS."""
    hit = find_stop(reply, params.stop)
    if hit is not None:
        at, stop = hit
        if at + len(stop) <= params.max_tokens:
            return Continuation([ord(c) for c in reply[: at + len(stop)]], reply[:at], "stop", stop)
    if len(reply) >= params.max_tokens:
        return Continuation([ord(c) for c in reply[: params.max_tokens]], reply[: params.max_tokens], "length")
    return Continuation([ord(c) for c in reply] + [EOS], reply, "eos")
