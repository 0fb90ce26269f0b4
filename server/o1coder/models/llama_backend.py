"""The llama.cpp backend: one GGUF, one context, many KV sequences.

Every `llama_cpp` import of the project lives here (and in the quantize step of export).

How the KV cache is reused across a search tree:
- The context holds `n_seq` sequences over one unified KV cache (`kv_unified`), so cells
  of a shared prefix are stored once and a sequence can grow to the whole context.
- `self._slots[s]` records exactly the tokens whose KV sequence `s` holds.
- A request (k prefixes) first gives each prefix the slot whose tokens share the longest
  prefix with it; prefixes with nothing better share one base slot holding their common
  prefix, copied with `llama_memory_seq_cp` (a metadata operation: ~0.1 ms, no compute).
  Only the tokens no slot holds are evaluated, all sequences together in shared batches.
- Generation then decodes the k sequences in lockstep, one token each per `llama_decode`
  (siblings in one batch: the main throughput lever on a CPU).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import llama_cpp
from jinja2.sandbox import ImmutableSandboxedEnvironment

from o1coder.cancel import Cancelled, CancelToken
from o1coder.models.backend import (
    Continuation,
    Counters,
    SampleParams,
    TokenTrie,
    common_prefix_length,
    find_stop,
    judgement_ids,
    plain_chat,
)

_backend_ready = False
_init_lock = threading.Lock()


def _quiet_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:  # pragma: no cover - C callback
    return None


_LOG_CB = llama_cpp.llama_log_callback(_quiet_log)


def _init_llama() -> None:
    global _backend_ready
    with _init_lock:
        if not _backend_ready:
            llama_cpp.llama_log_set(_LOG_CB, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True


class ModelLoadError(RuntimeError):
    """llama.cpp could not load the file (not a GGUF it understands, or out of memory)."""


@dataclass
class _Active:
    """One sequence being generated."""

    slot: int
    params: SampleParams
    sampler: ctypes.c_void_p
    tokens: list[int] = field(default_factory=list)
    pieces: bytearray = field(default_factory=bytearray)
    finish: str | None = None
    stop_string: str | None = None
    text: str = ""


class LlamaBackend:
    """`o1coder.models.backend.Backend` over llama.cpp's C API."""

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 8192,
        n_threads: int = 2,
        n_seq: int = 16,
        n_batch: int = 512,
        prefill_slice_seconds: float = 0.1,
        flash_attention: bool = False,
        name: str | None = None,
    ):
        _init_llama()
        self.path = Path(path)
        self.name = name or self.path.stem
        self.counters = Counters()
        self.tree = TokenTrie()
        self._lock = threading.RLock()
        self._n_seq = n_seq
        self._n_batch = n_batch
        # With a cancel token, prompt prefill runs in slices of about `prefill_slice_seconds` of
        # work, sized from the measured prefill speed, so that a cancel is seen within one slice.
        self._prefill_slice_seconds = prefill_slice_seconds
        self._prefill_rate = 320.0  # tokens/s: a first guess, measured on every prefill batch

        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        self._model = llama_cpp.llama_model_load_from_file(str(self.path).encode(), mparams)
        if not self._model:
            raise ModelLoadError(f"llama.cpp could not load {self.path}: is it a complete GGUF model file?")
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        n_ctx_train = llama_cpp.llama_model_n_ctx_train(self._model)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = min(n_ctx, n_ctx_train) if n_ctx_train > 0 else n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_seq
        cparams.n_threads = n_threads
        cparams.n_threads_batch = n_threads
        cparams.kv_unified = True
        cparams.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attention else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        cparams.no_perf = True
        self._ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            llama_cpp.llama_model_free(self._model)
            raise ModelLoadError(f"llama.cpp could not create a {n_ctx}-token context for {self.path}")
        self._n_ctx = llama_cpp.llama_n_ctx(self._ctx)
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._slots: list[list[int]] = [[] for _ in range(n_seq)]
        self._last_used = [0] * n_seq
        self._tick = 0
        self._add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self._vocab))
        self._bos = llama_cpp.llama_vocab_bos(self._vocab)
        self._template = self._load_template()
        self._eos_text = self._piece(llama_cpp.llama_vocab_eos(self._vocab)).decode("utf-8", "ignore")
        self._bos_text = self._piece(self._bos).decode("utf-8", "ignore") if self._bos >= 0 else ""

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        with self._lock:
            if self._ctx:
                llama_cpp.llama_batch_free(self._batch)
                llama_cpp.llama_free(self._ctx)
                llama_cpp.llama_model_free(self._model)
                self._ctx = None
                self._model = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        with contextlib.suppress(Exception):
            self.close()

    def n_ctx(self) -> int:
        return self._n_ctx

    # ------------------------------------------------------------------ text
    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 16
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, cap, False, True)
        if n < 0:
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, cap, False, True)
        return list(buf[:n])

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, 64, 0, True)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
        return buf.raw[:n]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", "ignore")

    def _load_template(self) -> object | None:
        raw = llama_cpp.llama_model_chat_template(self._model, None)
        if not raw:
            return None
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

        def raise_exception(message: str) -> None:
            raise ValueError(message)

        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
        return env.from_string(raw.decode("utf-8"))

    def render_chat(self, messages: Sequence[dict[str, str]], add_generation_prompt: bool = True) -> str:
        if self._template is None:
            return plain_chat(messages, add_generation_prompt)
        return self._template.render(  # type: ignore[attr-defined]
            messages=list(messages),
            add_generation_prompt=add_generation_prompt,
            bos_token=self._bos_text,
            eos_token=self._eos_text,
        )

    def has_chat_template(self) -> bool:
        return self._template is not None

    # ------------------------------------------------------------------ KV bookkeeping
    def _full(self, prefix: Sequence[int]) -> list[int]:
        tokens = list(prefix)
        if self._add_bos and self._bos >= 0 and (not tokens or tokens[0] != self._bos):
            tokens.insert(0, self._bos)
        return tokens

    def _touch(self, slot: int) -> None:
        self._tick += 1
        self._last_used[slot] = self._tick

    def _truncate(self, slot: int, keep: int) -> None:
        if keep < len(self._slots[slot]):
            if not llama_cpp.llama_memory_seq_rm(self._mem, slot, keep, -1):
                llama_cpp.llama_memory_seq_rm(self._mem, slot, -1, -1)
                keep = 0
            del self._slots[slot][keep:]

    def _assign(self, prefixes: list[list[int]], cancel: CancelToken | None = None) -> list[int]:
        """Give each prefix a slot holding as much of it as possible; return the slots.

        After this call slot `slots[j]` holds a prefix of `prefixes[j]` of length at most
        len - 1 (the last token is always evaluated so its logits exist).
        """
        if len(prefixes) > self._n_seq:
            raise ValueError(f"{len(prefixes)} prefixes in one call, at most {self._n_seq}")
        common = prefixes[0]
        for p in prefixes[1:]:
            common = common[: common_prefix_length(common, p)]
        common = common[: min(len(p) for p in prefixes) - 1]

        claimed: set[int] = set()
        slots: list[int | None] = [None] * len(prefixes)
        # 1. A prefix whose own slot holds more than the common part keeps it (children being judged).
        for j, p in enumerate(prefixes):
            best, best_len = None, len(common)
            for s in range(self._n_seq):
                if s in claimed:
                    continue
                n = min(common_prefix_length(self._slots[s], p), len(p) - 1)
                if n > best_len:
                    best, best_len = s, n
            if best is not None:
                claimed.add(best)
                slots[j] = best
                self._truncate(best, best_len)
        need = [j for j, s in enumerate(slots) if s is None]
        if not need:
            self._share_duplicates(prefixes, slots, cancel)  # type: ignore[arg-type]
            return slots  # type: ignore[return-value]
        # 2. The rest share a base slot holding the common prefix.
        free = [s for s in range(self._n_seq) if s not in claimed]
        base = max(free, key=lambda s: (min(common_prefix_length(self._slots[s], common), len(common)), -self._last_used[s]))
        self._truncate(base, common_prefix_length(self._slots[base], common))
        self._evaluate({base: common[len(self._slots[base]) :]}, cancel)  # sliced when cancellable
        claimed.add(base)
        slots[need[0]] = base
        for j in need[1:]:
            target = min((s for s in range(self._n_seq) if s not in claimed), key=lambda s: self._last_used[s])
            claimed.add(target)
            self._copy(base, target, len(common))
            slots[j] = target
        self._share_duplicates(prefixes, slots, cancel)  # type: ignore[arg-type]
        return slots  # type: ignore[return-value]

    def _copy(self, source: int, target: int, n: int) -> None:
        """Make slot `target` hold the first `n` tokens of slot `source` (a KV copy, no decoding)."""
        llama_cpp.llama_memory_seq_rm(self._mem, target, -1, -1)
        llama_cpp.llama_memory_seq_cp(self._mem, source, target, 0, n)
        self._slots[target] = self._slots[source][:n]

    def _share_duplicates(self, prefixes: list[list[int]], slots: list[int], cancel: CancelToken | None) -> None:
        """Prefixes repeated in one call (the samples of one prompt beside other prompts) are
        evaluated once: in the slot of the one holding most of it, then copied to the others'.
        Every slot holds a prefix of its own prefix here, whichever step of `_assign` gave it."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for p, s in zip(prefixes, slots, strict=True):
            groups.setdefault(tuple(p[:-1]), []).append(s)
        repeated = {
            key: sorted(members, key=lambda s: -len(self._slots[s]))
            for key, members in groups.items()
            if len(members) > 1
        }
        if not repeated:
            return
        self._evaluate({m[0]: list(key[len(self._slots[m[0]]) :]) for key, m in repeated.items()}, cancel)
        for key, (first, *others) in repeated.items():
            for other in others:
                if len(self._slots[other]) < len(key):
                    self._copy(first, other, len(key))

    def _decode(self, entries: list[tuple[int, int, bool]]) -> None:
        """Decode (slot, token, want_logits) entries in one batch, appending to the slots."""
        batch = self._batch
        for i, (slot, token, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = len(self._slots[slot])
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = slot
            batch.logits[i] = logits
            self._slots[slot].append(token)
        batch.n_tokens = len(entries)
        started = time.perf_counter()
        rc = llama_cpp.llama_decode(self._ctx, batch)
        self.counters.decode_seconds += time.perf_counter() - started
        if rc != 0:
            for slot, _, _ in entries:
                self._slots[slot].pop()
            if rc == 1:
                raise _KVFull()
            raise RuntimeError(f"llama_decode failed with status {rc}")

    def _evaluate(self, work: dict[int, list[int]], cancel: CancelToken | None = None) -> None:
        """Prefill tokens into slots (no logits), interleaving slots in shared batches."""
        queues = {s: list(toks) for s, toks in work.items() if toks}
        while queues:
            if cancel is not None:
                cancel.raise_if_cancelled()
            entries: list[tuple[int, int, bool]] = []
            room = self._n_batch if cancel is None else self._prefill_room()
            per_slot = max(1, room // len(queues))
            for s in list(queues):
                take, queues[s] = queues[s][:per_slot], queues[s][per_slot:]
                entries.extend((s, t, False) for t in take)
                if not queues[s]:
                    del queues[s]
            started = time.perf_counter()
            self._decode_with_room(entries)
            elapsed = time.perf_counter() - started
            if elapsed > 0:
                self._prefill_rate = 0.5 * self._prefill_rate + 0.5 * len(entries) / elapsed
            self.counters.prompt_tokens_evaluated += len(entries)

    def _prefill_room(self) -> int:
        """Tokens one prefill batch may hold to take about one slice of time (16 at least)."""
        return max(16, min(self._n_batch, int(self._prefill_rate * self._prefill_slice_seconds)))

    def _decode_with_room(self, entries: list[tuple[int, int, bool]]) -> None:
        """Decode; if the KV cache is full, drop least recently used slots not in this batch."""
        busy = {s for s, _, _ in entries}
        while True:
            try:
                self._decode(entries)
                return
            except _KVFull:
                victims = [s for s in range(self._n_seq) if s not in busy and self._slots[s]]
                if not victims:
                    raise RuntimeError(
                        f"the context ({self._n_ctx} tokens) is too small for this request; "
                        "raise o1coder.models.contextSize"
                    ) from None
                victim = min(victims, key=lambda s: self._last_used[s])
                llama_cpp.llama_memory_seq_rm(self._mem, victim, -1, -1)
                self._slots[victim] = []

    def _prepare(self, prefixes: Sequence[Sequence[int]], cancel: CancelToken | None) -> list[int]:
        """Load every prefix into its own slot; the last batch carries each last token with logits.

        Returns the slots; logits of prefix j are at batch index j afterwards.
        """
        full = [self._full(p) for p in prefixes]
        if any(not p for p in full):
            raise ValueError("empty prefix")
        slots = self._assign(full, cancel)
        self._evaluate({s: p[len(self._slots[s]) : -1] for s, p in zip(slots, full, strict=True)}, cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        self._decode_with_room([(s, p[-1], True) for s, p in zip(slots, full, strict=True)])
        self.counters.prompt_tokens_evaluated += len(full)
        for s in slots:
            self._touch(s)
        return slots

    # ------------------------------------------------------------------ sampling
    def _make_sampler(self, params: SampleParams) -> ctypes.c_void_p:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if params.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            if params.top_k > 0:
                llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_k(params.top_k))
            if params.top_p < 1.0:
                llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(params.temperature))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(params.seed & 0xFFFFFFFF))
        return chain

    def _accept_token(self, act: _Active, token: int) -> None:
        act.tokens.append(token)
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            act.finish = "eos"
            act.text = act.pieces.decode("utf-8", "ignore")
            return
        act.pieces += self._piece(token)
        act.text = act.pieces.decode("utf-8", "ignore")
        if act.params.stop:
            # Only the tail can newly contain a stop string.
            window = max(len(s) for s in act.params.stop) + 16
            tail_from = max(0, len(act.text) - window)
            hit = find_stop(act.text, act.params.stop, tail_from)
            if hit is not None:
                at, act.stop_string = hit
                act.text = act.text[:at]
                act.finish = "stop"
                return
        if len(act.tokens) >= act.params.max_tokens:
            act.finish = "length"

    def generate(
        self,
        prefixes: Sequence[Sequence[int]],
        params: Sequence[SampleParams],
        cancel: CancelToken | None = None,
    ) -> list[Continuation]:
        if len(params) != len(prefixes):
            raise ValueError("one SampleParams per prefix")
        out: list[Continuation] = []
        # More prefixes than sequences: serve them in groups.
        for start in range(0, len(prefixes), self._n_seq):
            out.extend(self._generate_group(prefixes[start : start + self._n_seq], params[start : start + self._n_seq], cancel))
        return out

    def _generate_group(
        self, prefixes: Sequence[Sequence[int]], params: Sequence[SampleParams], cancel: CancelToken | None
    ) -> list[Continuation]:
        with self._lock:
            self.counters.calls += 1
            slots = self._prepare(prefixes, cancel)
            acts = [_Active(slot=s, params=p, sampler=self._make_sampler(p)) for s, p in zip(slots, params, strict=True)]
            try:
                for i, act in enumerate(acts):
                    if act.params.max_tokens <= 0:
                        act.finish = "length"
                        continue
                    self._accept_token(act, llama_cpp.llama_sampler_sample(act.sampler, self._ctx, i))
                    self.counters.tokens_generated += 1  # counted as sampled: progress reads it mid-call
                while True:
                    live = [a for a in acts if a.finish is None]
                    if not live:
                        break
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    self._decode_with_room([(a.slot, a.tokens[-1], True) for a in live])
                    for i, act in enumerate(live):
                        self._accept_token(act, llama_cpp.llama_sampler_sample(act.sampler, self._ctx, i))
                    self.counters.tokens_generated += len(live)
            except Cancelled:
                raise
            finally:
                for act in acts:
                    llama_cpp.llama_sampler_free(act.sampler)
            results = []
            for act, prefix in zip(acts, prefixes, strict=True):
                self.tree.add(self._full(prefix) + act.tokens)
                self._touch(act.slot)
                results.append(Continuation(act.tokens, act.text, act.finish or "length", act.stop_string))
            return results

    def judge(
        self,
        prefixes: Sequence[Sequence[int]],
        yes: Sequence[str],
        no: Sequence[str],
        cancel: CancelToken | None = None,
    ) -> list[float]:
        yes_ids, no_ids = judgement_ids(self.tokenize, yes, no)
        results: list[float] = []
        for start in range(0, len(prefixes), self._n_seq):
            group = prefixes[start : start + self._n_seq]
            with self._lock:
                self.counters.calls += 1
                self._prepare(group, cancel)
                for i, prefix in enumerate(group):
                    logits = llama_cpp.llama_get_logits_ith(self._ctx, i)
                    results.append(_p_first(logits, yes_ids, no_ids))
                    self.tree.add(self._full(prefix))
                self.counters.judgements += len(group)
        return results

    def forget(self) -> None:
        with self._lock:
            llama_cpp.llama_memory_clear(self._mem, True)
            self._slots = [[] for _ in range(self._n_seq)]

    def kv_tokens(self, slot: int) -> list[int]:
        """What KV sequence `slot` holds (for tests of the reuse invariant)."""
        return list(self._slots[slot])


class _KVFull(Exception):
    pass


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _p_first(logits: ctypes.Array, yes_ids: list[int], no_ids: list[int]) -> float:
    """P(yes) / (P(yes) + P(no)) from raw logits: softmax restricted to the answer tokens."""
    y = _logsumexp([logits[t] for t in yes_ids])
    n = _logsumexp([logits[t] for t in no_ids])
    return 1.0 / (1.0 + math.exp(n - y))
