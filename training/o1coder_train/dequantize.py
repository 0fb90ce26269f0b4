"""A GGUF file -> an ordinary transformers checkpoint (safetensors, config, tokenizer, chat template).

transformers 5.x loads `from_pretrained(dir, gguf_file=...)` through `GgufHfQuantizer`, which keeps
the model marked quantized (and refuses `save_pretrained`: "The model is quantized with gguf and
is not serializable") unless the load is asked to unpack every weight. `dequantize_gguf` asks for
exactly that, `quantization_config=GgufConfig(dequantize=True)`; for the architectures the new
block loader does not cover (qwen2, llama, ...) transformers then reads the file with its legacy
`load_gguf_checkpoint(..., return_tensors=True)`: gguf-py's `GGUFReader` and
`gguf.quants.dequantize` (exact: every stored value is reproduced in float32), its own GGUF -> HF
tensor-name map (`get_gguf_hf_weights_map`) and config map (`GGUF_CONFIG_MAPPING`), and the
per-architecture fixes (`TENSOR_PROCESSORS`: llama's q/k rows are un-permuted; qwen2 has none, as
llama.cpp's converter stores its q/k unpermuted for NEOX rope). The values are then cast to
`dtype`, the quantizer removes itself, and the result is saved like any model.

Tied embeddings follow the file: without `output.weight` the config says
`tie_word_embeddings = true` and `lm_head` is `embed_tokens`; a file that stores `output.weight`
(the default Qwen2.5-Coder GGUF does, as Q8_0 beside a Q5_0 `token_embd`) keeps the two
matrices, because llama.cpp computes the logits with that tensor.

The tokenizer (and its chat template) is built from the GGUF by transformers
(`AutoTokenizer.from_pretrained(dir, gguf_file=...)`) and saved with the model.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DTYPES = ("bfloat16", "float16", "float32")
PROVENANCE = "dequantized.json"
PROVENANCE_FORMAT = "o1coder-dequantized/1"


class DequantizeError(RuntimeError):
    """The GGUF cannot be turned into a checkpoint; the message says what to do instead."""


@dataclass
class Dequantized:
    """What `dequantize_gguf` wrote (also saved as `dequantized.json` in the checkpoint)."""

    path: str
    gguf: str
    gguf_size: int
    dtype: str
    architecture: str
    parameters: int
    tied_embeddings: bool
    chat_template: bool
    checkpoint_bytes: int
    seconds: float
    transformers: str
    gguf_py: str
    format: str = PROVENANCE_FORMAT


def dequantize_gguf(
    gguf: str | Path, out: str | Path, *, dtype: str = "bfloat16", tokenizer: Any = None
) -> Dequantized:
    """Write the model in `gguf` to the directory `out` as a plain `dtype` transformers checkpoint.

    `out` is replaced as a whole, and only once everything is written (a partial directory never
    looks finished). `tokenizer`: save this one instead of the GGUF's own.
    """
    started = time.monotonic()
    gguf = Path(gguf).expanduser().resolve()
    out = Path(out).expanduser()
    _check_file(gguf)
    if dtype not in DTYPES:
        raise DequantizeError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    versions = _versions()

    import torch

    model = _load_dense(gguf, getattr(torch, dtype), versions["transformers"])
    if tokenizer is None:
        tokenizer = load_gguf_tokenizer(gguf)

    partial = out.with_name(f".{out.name}.partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    result = Dequantized(
        path=str(out.resolve()),
        gguf=str(gguf),
        gguf_size=gguf.stat().st_size,
        dtype=dtype,
        architecture=model.config.model_type,
        parameters=sum(p.numel() for p in model.parameters()),
        tied_embeddings=bool(getattr(model.config, "tie_word_embeddings", False)),
        chat_template=bool(getattr(tokenizer, "chat_template", None)),
        checkpoint_bytes=sum(f.stat().st_size for f in partial.iterdir() if f.is_file()),
        seconds=0.0,
        transformers=versions["transformers"],
        gguf_py=versions["gguf"],
    )
    del model
    result.seconds = round(time.monotonic() - started, 1)
    (partial / PROVENANCE).write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(partial, out)
    return result


def read_provenance(model_dir: str | Path) -> dict[str, Any] | None:
    """The `dequantized.json` of a checkpoint `dequantize_gguf` wrote, else None."""
    path = Path(model_dir) / PROVENANCE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def load_gguf_tokenizer(gguf: Path) -> Any:
    """The tokenizer (and chat template) transformers builds from the GGUF's metadata."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise DequantizeError(
            f"transformers cannot build a tokenizer from {gguf} ({exc}); give a tokenizer "
            "directory (the original model's) instead"
        ) from None


def _check_file(gguf: Path) -> None:
    if not gguf.is_file():
        raise DequantizeError(
            f"{gguf} does not exist: install the model (`o1coder models install`) or give the path "
            "of a .gguf file"
        )
    with open(gguf, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise DequantizeError(f"{gguf} is not a GGUF file (no GGUF magic); give a .gguf model file")


def _versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for name in ("transformers", "gguf"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise DequantizeError(
                f"reading a GGUF needs the {name} package: pip install -e '.[train]' "
                "(transformers and gguf come with the train extra)"
            ) from None
    return out


def _load_dense(gguf: Path, torch_dtype: Any, transformers_version: str) -> Any:
    """The model with every weight unpacked into `torch_dtype`, no quantizer left on it."""
    import torch
    from transformers import AutoModelForCausalLM, GgufConfig

    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent),
            gguf_file=gguf.name,
            dtype=torch_dtype,
            quantization_config=GgufConfig(dequantize=True),
            output_loading_info=True,
        )
    except ValueError as exc:
        if "not supported" not in str(exc):
            raise
        raise DequantizeError(
            f"transformers {transformers_version} cannot read {gguf.name}: {exc} Use the original "
            "Hugging Face checkpoint of this model instead ([model].base = its directory)"
        ) from None
    wrong = {k: sorted(v) for k, v in info.items() if k != "error_msgs" and v}
    if wrong or info.get("error_msgs"):
        raise DequantizeError(
            f"{gguf.name} does not fill the {type(model).__name__} transformers builds for it "
            f"({wrong or info['error_msgs']}); this GGUF's tensors do not match its architecture"
        )
    quantized = (
        getattr(model, "hf_quantizer", None) is not None
        or getattr(model.config, "quantization_config", None) is not None
        or getattr(model, "is_quantized", False)
    )
    odd = sorted(
        name
        for name, p in model.named_parameters()
        if type(p) is not torch.nn.Parameter or p.dtype != torch_dtype or p.is_meta
    )
    if quantized or odd:
        raise DequantizeError(
            f"transformers {transformers_version} left {gguf.name} quantized "
            f"({odd[:3] or 'a quantization config'}); this version's GGUF loader does not dequantize "
            "it: use the original Hugging Face checkpoint instead"
        )
    model.eval()
    return model
