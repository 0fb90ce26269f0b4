"""The model `data build` runs: `[data].generator` (default `[model].base`), opened as an engine
`Backend` (`o1coder.models.backend`), so self-generation and the difficulty sample are written
against that protocol alone.

`[data].generator_backend`:
- `llama`: a GGUF (a catalog name, a name added with `o1coder models add`, a .gguf path) in the
  server's llama.cpp backend, on the CPU (about 10x faster than transformers there);
- `transformers`: a transformers directory, or the run's own base when `[data].generator` is
  empty (a GGUF base is dequantized once into the run, as every stage does), on `[model].device`;
- `auto`: llama.cpp for a GGUF, transformers for a directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o1coder_train.config import TrainConfig
from o1coder_train.run import RunDir, StageError

# Seeds asked at once (one generate call): sequences decoded together by llama.cpp on a CPU;
# transformers (a GPU) takes wider batches.
BATCH = 4
GPU_BATCH = 16


@dataclass
class Generator:
    backend: Any  # an o1coder.models.backend.Backend
    name: str  # what the caches key results by: the model file or directory, and the backend
    kind: str  # llama | transformers
    batch: int = BATCH  # seeds asked at once

    def close(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()


def generator_source(cfg: TrainConfig) -> tuple[Path, bool]:
    """(the model's path, whether it is a GGUF) for `[data].generator`, else `[model].base`."""
    from o1coder_train.stages.base import gguf_source

    name = cfg.data.generator
    if not name:
        gguf = gguf_source(cfg)
        return (gguf, True) if gguf is not None else (Path(cfg.model.base), False)
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").exists():
            raise StageError(f"[data].generator = {name}: a directory without config.json is no transformers model")
        return local, False
    from o1coder.models import resolve
    from o1coder.models.errors import ModelError

    try:
        return resolve.resolve(name, setting="[data].generator"), True
    except ModelError as exc:
        raise StageError(f"[data].generator = {name!r}: {exc.message}") from None


def open_generator(cfg: TrainConfig, run: RunDir) -> Generator:
    path, is_gguf = generator_source(cfg)
    kind = cfg.data.generator_backend
    if kind == "auto":
        kind = "llama" if is_gguf else "transformers"
    if kind == "llama":
        if not is_gguf:
            raise StageError(
                f"[data].generator_backend = \"llama\" needs a GGUF; {path} is a transformers directory "
                "(set generator_backend = \"transformers\", or name a GGUF in [data].generator)"
            )
        from o1coder.models.llama_backend import LlamaBackend

        threads = cfg.data.generator_threads or max(1, min(os.cpu_count() or 2, 16))
        backend = LlamaBackend(path, n_ctx=8192, n_threads=threads, n_seq=2 * BATCH, name="data-generator")
        return Generator(backend, f"llama:{path.name}", "llama")
    from o1coder_train.stages.common import load_backend

    if is_gguf:
        if cfg.data.generator:
            raise StageError(
                f"[data].generator = {cfg.data.generator!r} is a GGUF: the transformers backend reads the run's "
                "dequantized base only; leave [data].generator empty, or use generator_backend = \"llama\""
            )
        from o1coder_train.stages.base import ensure_base

        path = ensure_base(cfg, run)
    backend = load_backend(cfg, path, "data-generator", batch_size=GPU_BATCH)
    return Generator(backend, f"transformers:{path.name}", "transformers", GPU_BATCH)
