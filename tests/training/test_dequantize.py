"""The base stage: a GGUF becomes an ordinary transformers checkpoint (`o1coder_train.dequantize`).

The model tests dequantize the real default GGUF on the CPU (about 45 s on 2 cores, then 7 s for
the comparison) and compare the checkpoint, reloaded with a plain
`AutoModelForCausalLM.from_pretrained(dir)`, with llama.cpp running the GGUF itself. The other
tests cover how `[model]` names a GGUF and the stage's errors, without a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o1coder.models.backend import SampleParams
from o1coder_train.config import ModelConfig, TrainConfig
from o1coder_train.dequantize import DequantizeError, dequantize_gguf
from o1coder_train.run import RunDir, StageError
from o1coder_train.stages.base import ensure_base, gguf_source

# Chat-templated prompts for the greedy comparison (the first three of the eight measured).
PROMPTS = (
    "Write a Python function `is_palindrome(s)` that ignores case and spaces.",
    "What does the `yield` keyword do in Python? Answer in two sentences.",
    "Fix the bug: def mean(xs): return sum(xs) / len(xs) - 1",
)
TOKENS = 32
MIN_AGREEMENT_EACH = 8  # measured: 32, 21, 32 (see the test's docstring)
MIN_AGREEMENT_TOTAL = 64  # of 3 * 32; measured: 85


@pytest.fixture(scope="module")
def dequantized(tmp_path_factory: pytest.TempPathFactory, default_model_path: Path):
    return dequantize_gguf(default_model_path, tmp_path_factory.mktemp("dq") / "base")


@pytest.fixture(scope="module")
def reloaded(dequantized):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(dequantized.path)
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def test_the_checkpoint_is_an_ordinary_bfloat16_model(dequantized, reloaded, default_model_path) -> None:
    import torch

    from o1coder.models.gguf_file import read_gguf

    model, tokenizer = reloaded
    path = Path(dequantized.path)
    names = {p.name for p in path.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"} <= names
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config and config["dtype"] == "bfloat16"
    assert getattr(model.config, "quantization_config", None) is None
    assert not getattr(model, "is_quantized", False) and getattr(model, "hf_quantizer", None) is None
    assert model.dtype == torch.bfloat16 and {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert dequantized.parameters == sum(p.numel() for p in model.parameters())

    # Tied embeddings follow the file: this GGUF stores output.weight (Q8_0) beside token_embd (Q5_0).
    summary = read_gguf(default_model_path)
    has_output = any(t.name == "output.weight" for t in summary.tensors)
    assert model.config.tie_word_embeddings is (not has_output) is dequantized.tied_embeddings
    shares = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert shares is (not has_output)

    # The tokenizer and the chat template are the GGUF's.
    assert tokenizer.chat_template == summary.metadata["tokenizer.chat_template"]
    assert tokenizer.eos_token_id == summary.metadata["tokenizer.ggml.eos_token_id"]
    assert len(tokenizer) <= model.config.vocab_size


def _agreement(a: list[int], b: list[int]) -> int:
    """How many of the first TOKENS tokens agree before the first difference (both ending alike: all)."""
    a, b = a[:TOKENS], b[:TOKENS]
    if a == b:
        return TOKENS
    for i, (x, y) in enumerate(zip(a, b)):  # noqa: B905 - one may have ended (EOS) before the other
        if x != y:
            return i
    return min(len(a), len(b))


def test_greedy_tokens_agree_with_llama_cpp(reloaded, default_model_path) -> None:
    """Greedy continuations of the checkpoint agree with llama.cpp's on the GGUF.

    Both sides get the same prompt tokens (the checkpoint's tokenizer and chat template; llama.cpp's
    own rendering and tokenization are checked to be identical first) and decode 32 tokens greedily;
    agreement is the number of tokens before the first difference. The checkpoint runs as loaded
    (bfloat16, the three prompts in one left-padded batch); llama.cpp decodes each prompt alone
    from an empty KV cache, its plain greedy decoding: decoding them together changes its own
    arithmetic (batched matmul paths), and its batched tokens agreed with its single-sequence ones
    for only 32, 21 and 4 tokens on these prompts. The dequantized values are exact (float32);
    what is left is their rounding to bfloat16, bfloat16 arithmetic, and llama.cpp's (it quantizes
    activations to 8 bits for the quantized dot products), so near-ties can flip a token.

    Measured (transformers 5.24, gguf 0.19, llama-cpp-python 0.3.36, 2 cores of an AMD EPYC with
    avx512_bf16), tokens before the first difference out of 32:
      this test (bfloat16 checkpoint, bfloat16 compute, 3 prompts):   32, 21, 32
      the same on eight prompts (one batch of 8):   32, 21, 32, 32, 32, 32, 29, 32
      bfloat16 weights upcast to float32 compute:    32, 32, 32, 32, 32, 32, 25, 32
      float32 checkpoint (exact), float32 compute:   32, 32, 32, 32, 32, 21, 25, 32
    (token 21 of the second prompt is a near-tie: "It is particularly useful" / "This is ...").
    A wrong dequantization (layout, scales, q/k order) agrees on a token or two at most; the bounds
    (each prompt >= 8, the three >= 64 of 96) leave room for more flipped near-ties elsewhere.
    """
    from o1coder.models.llama_backend import LlamaBackend
    from o1coder_train.backends import TransformersBackend

    model, tokenizer = reloaded
    hf = TransformersBackend(model, tokenizer, name="dequantized", batch_size=len(PROMPTS))
    llama = LlamaBackend(default_model_path, n_ctx=512, n_seq=1)
    try:
        prefixes = []
        for prompt in PROMPTS:
            messages = [{"role": "user", "content": prompt}]
            text = hf.render_chat(messages)
            assert text == llama.render_chat(messages)
            prefixes.append(hf.tokenize(text))
            assert prefixes[-1] == llama.tokenize(text)
        greedy = [SampleParams(max_tokens=TOKENS, temperature=0.0)] * len(PROMPTS)
        ours = hf.generate(prefixes, greedy)
        theirs = []
        for prefix, params in zip(prefixes, greedy, strict=True):
            llama.forget()  # each prompt alone, from an empty KV cache: llama.cpp's plain greedy decoding
            theirs.extend(llama.generate([prefix], [params]))
    finally:
        llama.close()
    agreement = [_agreement(a.tokens, b.tokens) for a, b in zip(ours, theirs, strict=True)]
    detail = [(n, a.text, b.text) for n, a, b in zip(agreement, ours, theirs, strict=True)]
    print(f"agreement with llama.cpp, first {TOKENS} greedy tokens: {agreement}")
    assert min(agreement) >= MIN_AGREEMENT_EACH and sum(agreement) >= MIN_AGREEMENT_TOTAL, detail


def test_the_gpu_config_resolves_the_default_gguf(default_model_path) -> None:
    from o1coder_train.config import load_config

    gpu = load_config(Path(__file__).resolve().parents[2] / "training" / "configs" / "gpu-0.5b.toml")
    assert gguf_source(gpu) == default_model_path


# ---------------------------------------------------------------- without a model


def _cfg(tmp_path: Path, base: str, gguf_file: str = "", dtype: str = "bfloat16") -> TrainConfig:
    return TrainConfig(
        run_dir=str(tmp_path / "run"),
        model=ModelConfig(base=base, gguf_file=gguf_file, dtype=dtype),
        source=str(tmp_path / "run.toml"),
    )


def _fake_gguf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def test_model_base_names_a_directory_or_a_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O1CODER_DATA_DIR", str(tmp_path / "data"))  # an empty model store
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text("{}")
    assert gguf_source(_cfg(tmp_path, str(hf_dir))) is None
    file = _fake_gguf(tmp_path / "m" / "x.gguf")
    assert gguf_source(_cfg(tmp_path, str(file))) == file
    assert gguf_source(_cfg(tmp_path, str(file.parent), gguf_file="x.gguf")) == file
    for base, gguf_file, message in [
        (str(tmp_path), "", "has no config.json"),
        (str(tmp_path / "nope"), "", "does not exist: give a transformers model directory"),
        (str(file.parent), "y.gguf", r"gguf_file: .*y.gguf does not exist; install it"),
        ("no-such-model", "", "unknown model 'no-such-model'; known models: qwen2.5-coder-0.5b"),
        ("qwen2.5-coder-0.5b", "", "is not installed .*o1coder models install qwen2.5-coder-0.5b"),
    ]:
        with pytest.raises(StageError, match=message):
            gguf_source(_cfg(tmp_path, base, gguf_file))
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(StageError, match="is not a GGUF file"):
        gguf_source(_cfg(tmp_path, str(text)))


def test_dequantize_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(DequantizeError, match="does not exist: install the model"):
        dequantize_gguf(tmp_path / "missing.gguf", tmp_path / "out")
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(DequantizeError, match="not a GGUF file"):
        dequantize_gguf(text, tmp_path / "out")
    with pytest.raises(DequantizeError, match="dtype 'int8'"):
        dequantize_gguf(_fake_gguf(tmp_path / "x.gguf"), tmp_path / "out", dtype="int8")
    assert not (tmp_path / "out").exists()


def test_a_base_from_another_gguf_is_not_reused(tmp_path: Path) -> None:
    gguf = _fake_gguf(tmp_path / "m" / "x.gguf")
    cfg = _cfg(tmp_path, str(gguf))
    rd = RunDir(cfg)
    out = rd.model_dir("base")
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")
    made = {"gguf": str(gguf.resolve()), "gguf_size": gguf.stat().st_size, "dtype": "bfloat16"}
    (out / "dequantized.json").write_text(json.dumps(made))
    assert ensure_base(cfg, rd) == out  # the same source: reused, nothing rebuilt
    other = _cfg(tmp_path, str(_fake_gguf(tmp_path / "m" / "y.gguf")))
    with pytest.raises(
        StageError, match=r"was dequantized from .*x.gguf .*o1coder-train base --config .* --force"
    ):
        ensure_base(other, rd)
    with pytest.raises(StageError, match=r"\(bfloat16\), but \[model\] now names .*x.gguf \(float32\)"):
        ensure_base(_cfg(tmp_path, str(gguf), dtype="float32"), rd)


def test_base_stage_leaves_a_transformers_directory_alone(tmp_path: Path) -> None:
    from o1coder_train.cli import run_stage

    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text("{}")
    cfg = _cfg(tmp_path, str(hf_dir))
    assert run_stage(cfg, "base") == {"base": str(hf_dir.resolve()), "dequantized": False}
    assert ensure_base(cfg, RunDir(cfg)) == hf_dir and not RunDir(cfg).model_dir("base").exists()


@pytest.mark.slow
def test_a_gguf_without_output_weight_gives_tied_embeddings(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The tiny model ties lm_head to embed_tokens, so its GGUF has no output.weight."""
    import torch
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from o1coder.models.gguf_file import read_gguf
    from o1coder_train.backends import load_tokenizer
    from o1coder_train.export import convert_f16, quantize

    f16 = convert_f16(tiny_model_dir, tmp_path / "tiny-f16.gguf")
    q8 = quantize(f16, tmp_path / "tiny-q8_0.gguf", "Q8_0")
    tensors = {t.name for t in read_gguf(q8).tensors}
    assert "token_embd.weight" in tensors and "output.weight" not in tensors
    result = dequantize_gguf(q8, tmp_path / "base", dtype="float32", tokenizer=load_tokenizer(tiny_model_dir))
    assert result.tied_embeddings
    with safe_open(str(tmp_path / "base" / "model.safetensors"), "pt") as f:
        assert "lm_head.weight" not in set(f.keys())
    ours = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    assert ours.config.tie_word_embeddings
    assert ours.lm_head.weight.data_ptr() == ours.model.embed_tokens.weight.data_ptr()
    original = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = torch.tensor([list(range(100, 140))])
    with torch.no_grad():
        a, b = original(ids).logits.flatten(), ours(ids).logits.flatten()
    assert torch.nn.functional.cosine_similarity(a, b, dim=0) > 0.999  # Q8_0 round trip
