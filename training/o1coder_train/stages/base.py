"""`o1coder-train base`: the run's base model as an ordinary transformers checkpoint.

`[model].base` names either a transformers model directory (used as it is: nothing to do) or a
GGUF, in any of the forms the server resolves (`o1coder.models.resolve.resolve`): a catalog name
(`qwen2.5-coder-0.5b`), a name added with `o1coder models add` (`NAME`, `NAME:prm`, `NAME:tcg`),
or a `.gguf` path; or the directory holding `[model].gguf_file`. A GGUF is dequantized once
(`o1coder_train.dequantize`) into `<run_dir>/models/base` in `[model].dtype`, with its tokenizer
and chat template; every stage that starts from the base calls `ensure_base`, which runs this
stage when the run has no base yet.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from o1coder_train.config import TrainConfig
from o1coder_train.run import RunDir, StageError

STAGE = "base"


def gguf_source(cfg: TrainConfig) -> Path | None:
    """The GGUF `[model]` names, checked; None when `[model].base` is a transformers directory."""
    base = cfg.model.base
    if cfg.model.gguf_file:
        path = Path(base).expanduser() / cfg.model.gguf_file
        if not path.is_file():
            raise StageError(
                f"[model].gguf_file: {path} does not exist; install it (`o1coder models install`) "
                "or set [model].base to a catalog name (e.g. qwen2.5-coder-0.5b) or a .gguf path"
            )
        return path
    local = Path(base).expanduser()
    if local.is_dir():
        if (local / "config.json").exists():
            return None
        raise StageError(
            f"[model].base = {base} has no config.json: give a transformers model directory, a GGUF "
            "(a catalog name such as qwen2.5-coder-0.5b, a name added with `o1coder models add`, a "
            ".gguf path), or this directory with [model].gguf_file"
        )
    from o1coder.models import resolve
    from o1coder.models.errors import ModelError

    if not local.exists() and resolve.looks_like_path(base) and not base.endswith(".gguf"):
        raise StageError(
            f"[model].base = {base} does not exist: give a transformers model directory (the tiny CPU "
            "model is made by `o1coder-train tiny-model --out DIR`) or a GGUF (a catalog name such as "
            "qwen2.5-coder-0.5b, a name added with `o1coder models add`, a .gguf path)"
        )
    try:
        return resolve.resolve(base, setting="[model].base")
    except ModelError as exc:
        raise StageError(f"[model].base = {base!r}: {exc.message}") from None


def ensure_base(cfg: TrainConfig, rd: RunDir) -> Path:
    """The base model as a transformers directory: `[model].base` itself, or the run's dequantized GGUF."""
    gguf = gguf_source(cfg)
    if gguf is None:
        return Path(cfg.model.base)
    out = rd.model_dir("base")
    if (out / "config.json").exists():
        _check_same_source(cfg, out, gguf)
        return out
    with rd.recording(STAGE) as outcome:
        outcome.update(build(cfg, rd, gguf))
    rd.mark_done(STAGE, outcome)
    return out


def build(cfg: TrainConfig, rd: RunDir, gguf: Path) -> dict[str, Any]:
    from o1coder_train.backends import load_tokenizer
    from o1coder_train.dequantize import DequantizeError, dequantize_gguf

    tokenizer = load_tokenizer(cfg.model.tokenizer) if cfg.model.tokenizer else None
    print(
        f"o1coder-train base: dequantizing {gguf} into {rd.model_dir('base')} ({cfg.model.dtype})",
        file=sys.stderr,
    )
    try:
        result = dequantize_gguf(gguf, rd.model_dir("base"), dtype=cfg.model.dtype, tokenizer=tokenizer)
    except DequantizeError as exc:
        raise StageError(f"[model].base: {exc}") from None
    return {
        "base": result.path,
        "gguf": result.gguf,
        "dtype": result.dtype,
        "parameters": result.parameters,
        "tied_embeddings": result.tied_embeddings,
        "checkpoint_bytes": result.checkpoint_bytes,
        "seconds": result.seconds,
    }


def _check_same_source(cfg: TrainConfig, out: Path, gguf: Path) -> None:
    from o1coder_train.dequantize import read_provenance

    made = read_provenance(out)
    if made is None:  # not written by this stage: the user put a checkpoint there
        return
    now = {"gguf": str(gguf.resolve()), "gguf_size": gguf.stat().st_size, "dtype": cfg.model.dtype}
    before = {key: made.get(key) for key in now}
    if before != now:
        raise StageError(
            f"{out} was dequantized from {before['gguf']} ({before['dtype']}), but [model] now names "
            f"{now['gguf']} ({now['dtype']}): rebuild it with `o1coder-train base --config "
            f"{cfg.source or 'run.toml'} --force` (later stages then start from the new base), or "
            "use a new run_dir"
        )


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    """(Re)write `<run_dir>/models/base` from the GGUF; a transformers `[model].base` needs nothing."""
    gguf = gguf_source(cfg)
    if gguf is None:
        return {"base": str(Path(cfg.model.base).resolve()), "dequantized": False}
    return build(cfg, rd, gguf)
