"""What the smoke run measures: generated tokens (backends and transformers' generate), training
tokens from the trainers' logs, and the overrides the GPU script passes on the command line."""

from __future__ import annotations

import pytest
import torch

from o1coder_train.config import ConfigError, merge, parse_override
from o1coder_train.measure import GENERATED, StageCost, counting_hf_generate, measuring, training_cost


def _tiny_random_qwen() -> torch.nn.Module:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=64,
    )
    return Qwen2ForCausalLM(config).eval()


def test_transformers_generate_is_counted_inside_the_context_only() -> None:
    model = _tiny_random_qwen()
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    kwargs = dict(max_new_tokens=5, min_new_tokens=5, do_sample=False, pad_token_id=None, eos_token_id=None)
    before = GENERATED.snapshot()
    with counting_hf_generate():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
    inside = GENERATED.snapshot()
    model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
    assert out.shape == (2, 8)
    assert inside[0] - before[0] == 10 and inside[2] - before[2] == 1
    assert GENERATED.snapshot()[0] == inside[0]  # the patch is gone after the context


def test_training_tokens_are_the_largest_cumulative_count_per_trainer() -> None:
    rows = [
        {"stage": "prm", "round": 1, "num_tokens": 100},
        {"stage": "prm", "round": 1, "num_input_tokens_seen": 250, "loss": 1.0, "train_runtime": 2.0},
        {"stage": "prm", "round": 1, "train_runtime": 5.0},  # the running total, then the last one
        {"stage": "rl", "round": 1, "num_tokens": 40.0},
        {"stage": "rl", "round": 1, "train_runtime": 3.0},
        {"stage": "loop", "round": 1, "pass_at_1": 0.5},
    ]
    assert training_cost(rows) == (290, 8.0)
    cost = StageCost("loop", training_tokens=290, training_seconds=8.0)
    assert cost.training_per_second == pytest.approx(36.25) and cost.generated_per_second is None


def test_measuring_reads_only_the_rows_the_stage_added() -> None:
    rows = [{"stage": "old", "num_tokens": 999, "train_runtime": 1.0}]
    cost = StageCost("tcg-sft")
    with measuring(cost, lambda: rows):
        rows.append({"stage": "tcg-sft", "round": None, "num_tokens": 30})
        rows.append({"stage": "tcg-sft", "round": None, "train_runtime": 2.0})
        GENERATED.add(12, 0.5)
    assert (cost.training_tokens, cost.training_seconds) == (30, 2.0)
    assert (cost.generated_tokens, cost.generation_seconds) == (12, 0.5)
    assert cost.seconds >= 0 and cost.peak_gpu_mib is None  # no GPU here


def test_overrides_merge_into_nested_tables() -> None:
    data = {"model": {"base": "a", "dtype": "float32"}, "seed": 0}
    merge(data, parse_override("model.base=/tmp/m/model.gguf"))
    merge(data, parse_override("synthesize.search.budgetTokens=800"))
    merge(data, parse_override("seed=3"))
    assert data == {
        "model": {"base": "/tmp/m/model.gguf", "dtype": "float32"},
        "seed": 3,
        "synthesize": {"search": {"budgetTokens": 800}},
    }
    with pytest.raises(ConfigError, match="SECTION.KEY=VALUE"):
        parse_override("model.base")
