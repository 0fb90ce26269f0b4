"""What a stage costs: wall seconds, generated tokens and their rate, training tokens and their
rate, and peak GPU memory.

Generated tokens are counted where they are made: the run's own backends
(`backends.TransformersBackend`, `VLLMBackend`: synthesis, DPO sampling, evaluation) add to
the process-wide `GENERATED` tally, and `counting_hf_generate` counts the tokens of every
`transformers` `generate` call made inside it (trl's GRPO sampling). Training tokens and
seconds are what the trainers log: trl's cumulative `num_tokens` (transformers'
`num_input_tokens_seen` for the PRM's plain Trainer) and `train_runtime`, read back from the
stage's rows of metrics.jsonl.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Generated:
    """Tokens sampled by a model in this process, and the seconds the generating calls took."""

    tokens: int = 0
    seconds: float = 0.0
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, tokens: int, seconds: float) -> None:
        with self._lock:
            self.tokens += tokens
            self.seconds += seconds
            self.calls += 1

    def snapshot(self) -> tuple[int, float, int]:
        with self._lock:
            return self.tokens, self.seconds, self.calls


GENERATED = Generated()


def new_tokens(output: Any, prompt_length: int, pad_id: int | None) -> int:
    """Tokens a `generate` call added: the columns after the prompt that are not padding."""
    tail = output[:, prompt_length:]
    return int(tail.numel() if pad_id is None else (tail != pad_id).sum().item())


@contextlib.contextmanager
def counting_hf_generate() -> Iterator[None]:
    """Count every `transformers` `generate` call made inside (e.g. trl's GRPO sampling) in GENERATED."""
    from transformers.generation.utils import GenerationMixin

    original = GenerationMixin.generate

    @functools.wraps(original)
    def generate(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        output = original(self, *args, **kwargs)
        sequences = getattr(output, "sequences", output)
        inputs = kwargs.get("input_ids", args[0] if args else None)
        if inputs is not None and hasattr(sequences, "shape") and len(sequences.shape) == 2:
            config = kwargs.get("generation_config") or getattr(self, "generation_config", None)
            pad = getattr(config, "pad_token_id", None)
            GENERATED.add(new_tokens(sequences, inputs.shape[-1], pad), time.monotonic() - started)
        return output

    GenerationMixin.generate = generate  # type: ignore[method-assign]
    try:
        yield
    finally:
        GenerationMixin.generate = original  # type: ignore[method-assign]


def gpu_peak_reset() -> None:
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_mib() -> float | None:
    """torch.cuda.max_memory_allocated since the last reset, in MiB; None without a GPU."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def rate(amount: float, seconds: float) -> float | None:
    return amount / seconds if seconds > 0 and amount > 0 else None


@dataclass
class StageCost:
    """One stage's measured cost and outcome."""

    stage: str
    status: str = "ok"  # ok | skipped | failed
    seconds: float = 0.0
    generated_tokens: int = 0
    generation_seconds: float = 0.0
    training_tokens: int = 0
    training_seconds: float = 0.0
    peak_gpu_mib: float | None = None
    note: str = ""  # why it was skipped or failed

    @property
    def generated_per_second(self) -> float | None:
        """Tokens sampled per second of generating calls (not of the whole stage)."""
        return rate(self.generated_tokens, self.generation_seconds)

    @property
    def training_per_second(self) -> float | None:
        return rate(self.training_tokens, self.training_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "generated_per_second": self.generated_per_second,
            "training_per_second": self.training_per_second,
        }


def training_cost(rows: list[dict[str, Any]]) -> tuple[int, float]:
    """Training tokens and seconds from the metric rows one stage logged.

    trl logs `num_tokens` (transformers `num_input_tokens_seen`) cumulatively per trainer, and
    `train_runtime` at the end of each `train()` (and as a running total at every log step when
    it counts input tokens). A stage may run several trainers (the loop: PRM, then GRPO), each
    under its own (stage, round): tokens and seconds are the largest per (stage, round), summed.
    """
    tokens: dict[tuple[Any, Any], int] = {}
    seconds: dict[tuple[Any, Any], float] = {}
    for row in rows:
        key = (row.get("stage"), row.get("round"))
        for name in ("num_tokens", "num_input_tokens_seen"):  # trl's count; transformers' own
            if isinstance(row.get(name), int | float):
                tokens[key] = max(tokens.get(key, 0), int(row[name]))
        if isinstance(row.get("train_runtime"), int | float):  # running totals when tokens are tracked
            seconds[key] = max(seconds.get(key, 0.0), float(row["train_runtime"]))
    return sum(tokens.values()), sum(seconds.values())


@contextlib.contextmanager
def measuring(cost: StageCost, metric_rows: Any) -> Iterator[StageCost]:
    """Fill `cost` with what the body spends; `metric_rows()` returns the run's metric rows so far."""
    before_rows = len(metric_rows())
    tokens0, seconds0, _ = GENERATED.snapshot()
    gpu_peak_reset()
    started = time.monotonic()
    try:
        with counting_hf_generate():
            yield cost
    finally:
        cost.seconds = time.monotonic() - started
        tokens1, seconds1, _ = GENERATED.snapshot()
        cost.generated_tokens = tokens1 - tokens0
        cost.generation_seconds = seconds1 - seconds0
        cost.training_tokens, cost.training_seconds = training_cost(metric_rows()[before_rows:])
        cost.peak_gpu_mib = gpu_peak_mib()
