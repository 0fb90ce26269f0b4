"""Fixtures of the training tests: the default model's tokenizer and a tiny random model.

The training pipeline needs the `train` extra (torch, transformers, trl, ...): without it
these tests are skipped, as the server installs and tests without torch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the training tests need the train extra: pip install -e '.[train]'")
pytest.importorskip("trl", reason="the training tests need the train extra: pip install -e '.[train]'")


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory, default_model_path: Path) -> Path:
    """The default model's tokenizer and chat template, read from its GGUF once per session."""
    from o1coder_train.tiny import save_tokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    save_tokenizer(out, default_model_path)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    from o1coder_train.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"), tokenizer_dir, seed=0)


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir: Path):
    from o1coder_train.backends import TransformersBackend, load_model, load_tokenizer

    model = load_model(tiny_model_dir, device="cpu")
    return TransformersBackend(model, load_tokenizer(tiny_model_dir), name="tiny", batch_size=4)


@pytest.fixture(scope="session")
def text_backend(tokenizer_dir: Path):
    from o1coder_train.backends import TextBackend, load_tokenizer

    return TextBackend(load_tokenizer(tokenizer_dir), name="tiny")
