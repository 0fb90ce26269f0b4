"""Generation backends for training: the engine's `Backend` protocol over transformers (and vLLM).

`TransformersBackend` is what synthesis, TCG sampling, evaluation and the process reward use:
the engine's own search code runs unchanged on it. It mirrors `o1coder.models.llama_backend`:
sampling order top-k -> top-p -> temperature -> draw with the request's seed, stop strings
cut the text before them, end-of-generation tokens end a sequence, and `judge` is
P(yes)/(P(yes)+P(no)) over the first tokens of the spellings at the last position (the stop,
judgement-token and template-less chat rules are the shared ones of `o1coder.models.backend`).
Prefixes of one call are decoded together (left padding); there is no cross-call KV cache,
so `counters.prompt_tokens_evaluated` counts every prefix token of every call.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from o1coder.cancel import CancelToken
from o1coder.models.backend import (
    Continuation,
    Counters,
    SampleParams,
    TokenTrie,
    find_stop,
    judgement_ids,
    plain_chat,
)
from o1coder_train.measure import GENERATED

_EOG_NAMES = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>", "</s>")


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_tokenizer(path: str | Path, gguf_file: str = "") -> Any:
    """The tokenizer saved in `path` (or read from `gguf_file` there), loaded once per process.

    Parsing a 150k-token tokenizer.json takes seconds on a laptop CPU and every stage loads
    several backends, so loaded tokenizers are shared (keyed by path and modification time);
    callers must not change them beyond setting a missing pad token.
    """
    file = Path(path) / (gguf_file or "tokenizer.json")
    stamp = file.stat().st_mtime_ns if file.exists() else 0
    return _load_tokenizer(str(Path(path).resolve()), gguf_file, stamp)


@functools.lru_cache(maxsize=8)
def _load_tokenizer(path: str, gguf_file: str, stamp: int) -> Any:
    from transformers import AutoTokenizer

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    tok = AutoTokenizer.from_pretrained(path, **kwargs)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: str | Path, *, gguf_file: str = "", dtype: str = "float32", device: str = "auto") -> Any:
    """A causal LM from a model directory (or a GGUF in it, dequantized by transformers)."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    return model.to(pick_device(device))


class TextBackend:
    """The text half of a backend: tokenize, detokenize and the chat template, from a tokenizer.

    Training examples are rendered through it with the engine's prompt builders, without a model.
    """

    def __init__(self, tokenizer: Any, name: str = "tokenizer"):
        self.tokenizer = tokenizer
        self.name = name
        self.counters = Counters()
        self.tree = TokenTrie()

    def tokenize(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode(list(tokens), skip_special_tokens=False)

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            return plain_chat(messages, add_generation_prompt)
        return self.tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def forget(self) -> None:
        """Nothing to drop: no prefix is cached across calls (vLLM manages its own cache)."""


class TransformersBackend(TextBackend):
    """`o1coder.models.backend.Backend` over a transformers causal LM."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str = "transformers", batch_size: int = 16):
        super().__init__(tokenizer, name)
        self.model = model
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        vocab = tokenizer.get_vocab()
        eog = {tokenizer.eos_token_id} | {vocab[n] for n in _EOG_NAMES if n in vocab}
        gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        eog |= set(gen_eos) if isinstance(gen_eos, list) else {gen_eos}
        self.eog = {t for t in eog if t is not None}
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eog)

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        tokenizer: str | Path | None = None,
        gguf_file: str = "",
        dtype: str = "float32",
        device: str = "auto",
        name: str | None = None,
        batch_size: int = 16,
    ) -> TransformersBackend:
        tok = load_tokenizer(tokenizer or path, gguf_file if not tokenizer else "")
        model = load_model(path, gguf_file=gguf_file, dtype=dtype, device=device)
        return cls(model, tok, name=name or Path(str(path)).name, batch_size=batch_size)

    def n_ctx(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 4096))

    # ------------------------------------------------------------------ model calls
    def _batch(self, prefixes: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        if any(len(p) == 0 for p in prefixes):
            raise ValueError("empty prefix")
        width = max(len(p) for p in prefixes)
        ids = torch.full((len(prefixes), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prefixes), width), dtype=torch.long)
        for i, p in enumerate(prefixes):
            ids[i, width - len(p) :] = torch.tensor(list(p), dtype=torch.long)
            mask[i, width - len(p) :] = 1
        return ids.to(self.device), mask.to(self.device)

    def last_logits(self, prefixes: Sequence[Sequence[int]]) -> torch.Tensor:
        """Next-token logits after each prefix, float32, shape (len(prefixes), vocab)."""
        ids, mask = self._batch(prefixes)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.no_grad():
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
        return out.logits[:, -1, :].float()

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        yes_ids, no_ids = judgement_ids(self.tokenize, yes, no)
        results: list[float] = []
        for start in range(0, len(prefixes), self.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            group = prefixes[start : start + self.batch_size]
            started = time.monotonic()
            logits = self.last_logits(group)
            results.extend(yes_probability(logits, yes_ids, no_ids).tolist())
            self.counters.calls += 1
            self.counters.judgements += len(group)
            self.counters.prompt_tokens_evaluated += sum(len(p) for p in group)
            self.counters.decode_seconds += time.monotonic() - started
            for p in group:
                self.tree.add(p)
        return results

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        if len(params) != len(prefixes):
            raise ValueError("one SampleParams per prefix")
        out: list[Continuation] = []
        for start in range(0, len(prefixes), self.batch_size):
            out.extend(
                self._generate_batch(
                    prefixes[start : start + self.batch_size], params[start : start + self.batch_size], cancel
                )
            )
        return out

    def _generate_batch(
        self, prefixes: Sequence[Sequence[int]], params: Sequence[SampleParams], cancel: CancelToken | None
    ) -> list[Continuation]:
        started = time.monotonic()
        ids, mask = self._batch(prefixes)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        rows = [_Row(p, self.device) for p in params]
        with torch.no_grad():
            out = self.model(
                input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1
            )
            past = out.past_key_values
            logits = out.logits[:, -1, :].float()
            next_pos = positions[:, -1:] + 1
            for row in rows:
                if row.params.max_tokens <= 0:
                    row.finish, row.text = "length", ""
            while True:
                live = [i for i, row in enumerate(rows) if row.finish is None]
                if live:
                    picked = sample_tokens(
                        logits[live], [rows[i].params for i in live], [rows[i].generator for i in live]
                    )
                    for i, token in zip(live, picked, strict=True):
                        self._accept(rows[i], token)
                if all(r.finish is not None for r in rows):
                    break
                if cancel is not None:
                    cancel.raise_if_cancelled()
                step = torch.tensor(
                    [[r.tokens[-1] if r.tokens else self.pad_id] for r in rows], device=self.device
                )
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                out = self.model(
                    input_ids=step,
                    attention_mask=mask,
                    position_ids=next_pos,
                    past_key_values=past,
                    use_cache=True,
                    logits_to_keep=1,
                )
                past = out.past_key_values
                logits = out.logits[:, -1, :].float()
                next_pos = next_pos + 1
        seconds = time.monotonic() - started
        self.counters.calls += 1
        self.counters.prompt_tokens_evaluated += sum(len(p) for p in prefixes)
        self.counters.decode_seconds += seconds
        results = []
        for row, prefix in zip(rows, prefixes, strict=True):
            self.counters.tokens_generated += len(row.tokens)
            self.tree.add(list(prefix) + row.tokens)
            results.append(Continuation(row.tokens, row.text, row.finish or "length", row.stop_string))
        GENERATED.add(sum(len(r.tokens) for r in rows), seconds)
        return results

    def _accept(self, row: _Row, token: int) -> None:
        """Take one sampled token; end the row on an end-of-generation token, a stop string or its length.

        A stop string can only appear where the text ends, so each step decodes just the last
        tokens (enough for the longest stop string even at one byte per token); the whole text
        is decoded once, when the row ends.
        """
        row.tokens.append(token)
        if token in self.eog:
            row.finish = "eos"
            row.text = self.detokenize(row.tokens[:-1])
            return
        stops = row.params.stop
        if stops and any(s in self.detokenize(row.tokens[-row.tail :]) for s in stops):
            text = self.detokenize(row.tokens)
            hit = find_stop(text, stops)
            if hit is not None:
                at, row.stop_string = hit
                row.text = text[:at]
                row.finish = "stop"
                return
        if len(row.tokens) >= row.params.max_tokens:
            row.finish = "length"
            row.text = self.detokenize(row.tokens)


class _Row:
    """One sequence being generated, with its own seeded generator (on the CPU: see sample_tokens)."""

    def __init__(self, params: SampleParams, device: torch.device):
        self.params = params
        self.tokens: list[int] = []
        self.text = ""
        self.finish: str | None = None
        self.stop_string: str | None = None
        self.generator = torch.Generator()
        self.generator.manual_seed(params.seed & 0xFFFFFFFF)
        # tokens whose text can hold the longest stop string (a token may be a single byte)
        self.tail = 4 * max((len(s) for s in params.stop), default=0) + 2


def sample_tokens(
    logits: torch.Tensor, params: Sequence[SampleParams], generators: Sequence[torch.Generator | None]
) -> list[int]:
    """One token per row of `logits` (rows, vocab), each by llama.cpp's chain with its own params:
    greedy at temperature 0, else top-k -> top-p -> temperature -> a draw from its generator.

    The rows are sampled together, one tensor operation per step of the chain: the draw is
    Gumbel-max (the argmax of the kept logits / temperature plus Gumbel noise, which picks
    each kept token with its softmax probability), the noise drawn on the CPU from each row's
    own generator. One copy back to the host for the whole batch.
    """
    rows, vocab = logits.shape
    temperature = torch.tensor([p.temperature for p in params], dtype=torch.float32)
    greedy = temperature <= 0
    k = vocab if any(p.top_k <= 0 for p in params) else min(vocab, max(p.top_k for p in params))
    values, index = torch.topk(logits, k, dim=-1)  # sorted, largest first
    position = torch.arange(k).expand(rows, k)
    top_k = torch.tensor([p.top_k if p.top_k > 0 else vocab for p in params])
    keep = position < top_k[:, None]
    probs = torch.softmax(values.masked_fill(~keep.to(values.device), float("-inf")), dim=-1)
    before = (torch.cumsum(probs, dim=-1) - probs).cpu()  # mass of the tokens ranked above each
    top_p = torch.tensor([p.top_p for p in params], dtype=before.dtype)
    keep &= (before < top_p[:, None]) | (top_p[:, None] >= 1.0)
    keep[:, 0] = True
    noise = torch.stack(
        [torch.rand(k, generator=g) if g is not None else torch.rand(k) for g in generators]
    ).clamp_(1e-10, 1.0 - 1e-7)
    gumbel = -torch.log(-torch.log(noise))
    scaled = values.float().cpu() / temperature.clamp(min=1e-6)[:, None] + gumbel
    scaled = scaled.masked_fill(~keep, float("-inf"))
    choice = torch.where(greedy, torch.zeros(rows, dtype=torch.long), scaled.argmax(dim=-1))
    return index.cpu().gather(1, choice[:, None]).squeeze(1).tolist()


def sample_token(logits: torch.Tensor, params: SampleParams, generator: torch.Generator | None = None) -> int:
    """`sample_tokens` for one row (`logits` of shape (vocab,))."""
    return sample_tokens(logits[None, :], [params], [generator])[0]


def yes_probability(logits: torch.Tensor, yes_ids: Sequence[int], no_ids: Sequence[int]) -> torch.Tensor:
    """P(yes)/(P(yes)+P(no)) per row of `logits` (batch, vocab): softmax restricted to the answer tokens.

    Differentiable: the PRM's losses use it on training batches.
    """
    y = torch.logsumexp(logits[:, list(yes_ids)], dim=-1)
    n = torch.logsumexp(logits[:, list(no_ids)], dim=-1)
    return torch.sigmoid(y - n)


def yes_margin(logits: torch.Tensor, yes_ids: Sequence[int], no_ids: Sequence[int]) -> torch.Tensor:
    """log P(yes) - log P(no) per row: the PRM's reward for pair-wise (Bradley-Terry) training."""
    return torch.logsumexp(logits[:, list(yes_ids)], dim=-1) - torch.logsumexp(
        logits[:, list(no_ids)], dim=-1
    )


class VLLMBackend(TransformersBackend):
    """Generation through vLLM (when installed); judgements and tokenization through transformers.

    vLLM batches and caches prefixes across calls, which matters on a GPU for synthesis and RL
    sampling; judging needs only one forward pass per prefix and stays on the transformers model.
    """

    def __init__(
        self, model: Any, tokenizer: Any, model_path: str | Path, *, name: str = "vllm", **llm_kwargs: Any
    ):
        try:
            from vllm import LLM
        except ImportError as exc:
            raise RuntimeError(
                "[synthesize].backend = 'vllm' needs vLLM installed (pip install vllm, GPU machines only); "
                "use backend = 'transformers' otherwise"
            ) from exc
        super().__init__(model, tokenizer, name=name)
        self.llm = LLM(model=str(model_path), enable_prefix_caching=True, **llm_kwargs)

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        if cancel is not None:
            cancel.raise_if_cancelled()
        started = time.monotonic()
        sampling = [
            SamplingParams(
                max_tokens=p.max_tokens,
                temperature=max(p.temperature, 0.0),
                top_k=p.top_k if p.top_k > 0 else -1,
                top_p=p.top_p,
                seed=p.seed,
                stop=list(p.stop),
                stop_token_ids=sorted(self.eog),
                include_stop_str_in_output=False,
            )
            for p in params
        ]
        outs = self.llm.generate(
            [TokensPrompt(prompt_token_ids=list(p)) for p in prefixes], sampling, use_tqdm=False
        )
        results = []
        for prefix, out in zip(prefixes, outs, strict=True):
            c = out.outputs[0]
            tokens = list(c.token_ids)
            stop = c.stop_reason if isinstance(c.stop_reason, str) else None
            finish = "stop" if stop else ("eos" if tokens and tokens[-1] in self.eog else "length")
            results.append(Continuation(tokens, c.text, finish, stop))
            self.counters.tokens_generated += len(tokens)
            self.tree.add(list(prefix) + tokens)
        seconds = time.monotonic() - started
        self.counters.calls += 1
        self.counters.prompt_tokens_evaluated += sum(len(p) for p in prefixes)
        self.counters.decode_seconds += seconds
        GENERATED.add(sum(len(c.tokens) for c in results), seconds)
        return results
