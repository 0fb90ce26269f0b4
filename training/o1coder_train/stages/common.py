"""What the trainer-backed stages share: models in and out of the run directory, trainer
arguments from a stage's `TrainSettings`, metrics logging, resuming from checkpoints."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from o1coder.config import SandboxSettings, SearchSettings
from o1coder_train.backends import TransformersBackend, load_model, load_tokenizer, pick_device
from o1coder_train.config import TrainConfig, TrainSettings
from o1coder_train.run import RunDir, StageError
from o1coder_train.stages.base import ensure_base, gguf_source

ROLE_FALLBACK = {"policy": (), "prm": ("policy",), "tcg": ()}


def sandbox_settings() -> SandboxSettings:
    return SandboxSettings()


def search_settings(cfg: TrainConfig, **changes: Any) -> SearchSettings:
    """The run's search settings (`[synthesize.search]`, seeded by the run), with `changes`."""
    return dataclasses.replace(cfg.synthesize.search, **{"seed": cfg.seed, **changes})


def base_model_dir(cfg: TrainConfig, run: RunDir) -> Path:
    """The base model as a transformers directory (a GGUF base is dequantized once into the run)."""
    return ensure_base(cfg, run)


def tokenizer_for(cfg: TrainConfig) -> Any:
    """[model].tokenizer, else the base's: read from its GGUF, or saved in its directory."""
    if cfg.model.tokenizer:
        return load_tokenizer(cfg.model.tokenizer)
    gguf = gguf_source(cfg)
    if gguf is not None:
        return load_tokenizer(gguf.parent, gguf.name)
    return load_tokenizer(cfg.model.base)


def model_path(cfg: TrainConfig, run: RunDir, role: str) -> Path:
    """The latest checkpoint of `role` in this run, else the base model."""
    for name in (role, *ROLE_FALLBACK.get(role, ())):
        path = run.model(name)
        if path is not None and (path / "config.json").exists():
            return path
    return base_model_dir(cfg, run)


def tokenizer_at(cfg: TrainConfig, path: Path) -> Any:
    """The tokenizer saved with a model directory, else the run's configured one."""
    return load_tokenizer(path) if (path / "tokenizer_config.json").exists() else tokenizer_for(cfg)


def load_backend(cfg: TrainConfig, path: Path, name: str, batch_size: int = 16) -> TransformersBackend:
    tok = tokenizer_at(cfg, path)
    model = load_model(path, dtype=cfg.model.dtype, device=cfg.model.device)
    model.eval()
    return TransformersBackend(model, tok, name=name, batch_size=batch_size)


def training_arguments(
    cfg: TrainConfig, stage: TrainSettings, output_dir: Path, **extra: Any
) -> dict[str, Any]:
    """Keyword arguments shared by SFTConfig, DPOConfig, GRPOConfig and TrainingArguments."""
    on_gpu = pick_device(cfg.model.device).type == "cuda"
    report_to = ["tensorboard"] if cfg.logging.tensorboard and _has_tensorboard() else []
    args: dict[str, Any] = {
        "output_dir": str(output_dir),
        "max_steps": stage.max_steps,
        "num_train_epochs": stage.epochs,
        "learning_rate": stage.learning_rate,
        "per_device_train_batch_size": stage.batch_size,
        "gradient_accumulation_steps": stage.grad_accum,
        "save_steps": stage.save_steps,
        "save_total_limit": 2,
        "logging_steps": stage.logging_steps,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "report_to": report_to,  # tensorboard event files go to <output_dir>/runs (transformers' default)
        "bf16": on_gpu and cfg.model.dtype == "bfloat16",
        "fp16": on_gpu and cfg.model.dtype == "float16",
        "use_cpu": not on_gpu,
        "activation_checkpointing": stage.gradient_checkpointing,
        "disable_tqdm": not cfg.logging.progress,
        "dataloader_num_workers": 0,
        "remove_unused_columns": True,
    }
    args.update(extra)
    return {k: v for k, v in args.items() if v is not None}


def _has_tensorboard() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


def peft_config(stage: TrainSettings) -> Any:
    if stage.lora_r <= 0:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=stage.lora_r, lora_alpha=stage.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
    )


def metrics_callback(run: RunDir, stage: str, round_: int | None) -> Any:
    from transformers import TrainerCallback

    writer = run.metrics(stage, round_)

    class _Metrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001 - transformers' signature
            if logs:
                writer.log(
                    {k: v for k, v in logs.items() if isinstance(v, int | float)}, step=state.global_step
                )

    return _Metrics()


def last_checkpoint(output_dir: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    if not output_dir.is_dir():
        return None
    return get_last_checkpoint(str(output_dir))


def train_and_save(trainer: Any, output_dir: Path, model_dir: Path, tokenizer: Any) -> dict[str, Any]:
    """Train (resuming from the last checkpoint if any), merge LoRA adapters, save model + tokenizer."""
    result = trainer.train(resume_from_checkpoint=last_checkpoint(output_dir))
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    metrics = dict(result.metrics) if result is not None else {}
    metrics["global_step"] = trainer.state.global_step
    return metrics


def require(path: Path, what: str, stage: str) -> Path:
    if not path.exists():
        raise StageError(f"{what} is missing ({path}): run `o1coder-train {stage} --config run.toml` first")
    return path


def sft_row(
    text_backend: Any, prompt: str | list[int], completion: str | list[int], max_length: int
) -> dict | None:
    """A pre-tokenized SFT row: the prompt tokenized alone (as at inference), then the completion.

    Tokenizing the two parts separately reproduces what the engine feeds the model: its prompt
    tokens, then the tokens the model itself produced. Rows over `max_length` are dropped (None).
    """
    p = prompt if isinstance(prompt, list) else text_backend.tokenize(prompt)
    c = completion if isinstance(completion, list) else text_backend.tokenize(completion)
    if not c or len(p) + len(c) > max_length:
        return None
    return {"input_ids": p + c, "completion_mask": [0] * len(p) + [1] * len(c)}


def run_sft(
    cfg: TrainConfig,
    run: RunDir,
    stage: TrainSettings,
    rows: list[dict],
    *,
    init: Path,
    out_name: str,
    stage_name: str,
    round_: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """SFT with trl's SFTTrainer on pre-tokenized rows; the trained model is saved to models/<out_name>."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not rows:
        raise StageError(f"{stage_name}: no training examples (see the stage's log for why)")
    output_dir = run.stage_dir(stage_name, round_) / "trainer"
    tokenizer = tokenizer_at(cfg, init)
    model = load_model(init, dtype=cfg.model.dtype, device=cfg.model.device)
    args = SFTConfig(
        **training_arguments(cfg, stage, output_dir),
        max_length=stage.max_length,
        completion_only_loss=True,
        packing=False,
        dataset_num_proc=None,
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(stage),
        callbacks=[metrics_callback(run, stage_name, round_)],
    )
    model_dir = run.model_dir(out_name)
    metrics = train_and_save(trainer, output_dir, model_dir, tokenizer)
    metrics["examples"] = len(rows)
    return model_dir, metrics
