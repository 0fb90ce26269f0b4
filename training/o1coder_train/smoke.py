"""`o1coder-train smoke --config run.toml`: every stage once, in order, each one measured.

For a GPU session that lasts minutes: one command runs base, data build, a held-out pass@1 of
the base model, tcg-sft, tcg-dpo, synthesize, policy-sft, prm, rl, one loop round, export (when
llama-cpp-python is there to quantize) and report, and prints one table — per stage: wall
seconds, generated tokens/s, training tokens/s, peak GPU memory — and the numbers the run is
for: TCG pass rate on reference code (base, after SFT, after DPO), PRM step accuracy and AUC
(before and after training), held-out pass@1 (base model, before and after the loop round),
and synthesis's generation rate against plain batched `generate` of the same model.

The same command on a CPU with `training/configs/tiny-cpu.toml` is what the tests run, so the
script cannot rot between GPU sessions. Results: `<run_dir>/smoke.json` and `<run_dir>/smoke.md`.
A stage that fails stops the run (the later ones need its output); the table says which.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from o1coder_train.config import TrainConfig
from o1coder_train.measure import StageCost, measuring
from o1coder_train.run import RunDir

BASE_EVAL = "eval-base"  # held-out pass@1 of the base model, before any training
PLAIN_GENERATE = "plain-generate"  # the reference rate for synthesis: transformers' batched generate
STEPS: tuple[str, ...] = (
    "base",
    "data",
    BASE_EVAL,
    "tcg-sft",
    "tcg-dpo",
    "synthesize",
    PLAIN_GENERATE,
    "policy-sft",
    "prm",
    "rl",
    "loop",
    "export",
    "report",
)


def export_unavailable() -> str:
    """Why `export` cannot run in this environment ('' when it can)."""
    missing = [m for m in ("llama_cpp", "gguf") if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"needs {', '.join(missing)} (pip install -e '.[train]'); run `o1coder-train export` where it is"
        )
    return ""


def _eval_base(cfg: TrainConfig, rd: RunDir) -> dict[str, Any]:
    from o1coder_train.stages.loop import pass_at_1

    if rd.is_done(BASE_EVAL):
        return rd.done_summary(BASE_EVAL)
    row = pass_at_1(cfg, rd)
    rd.metrics("smoke").log({**row, "after": "base"})
    rd.mark_done(BASE_EVAL, row)
    return row


def plain_generate(cfg: TrainConfig, rd: RunDir) -> dict[str, Any]:
    """What the same model generates per second without the search around it.

    transformers' `generate` on the policy synthesis used, over the first step's prompts of
    the problems synthesis searched, `[synthesize].batch_size` rows a call, sampling
    `maxStepTokens` tokens each (no early stop: every row decodes the whole length).
    """
    import torch

    from o1coder.engine import prompts
    from o1coder.engine.types import STRUCTURE
    from o1coder_train.data.build import train_records
    from o1coder_train.stages.common import load_backend, model_path

    backend = load_backend(cfg, model_path(cfg, rd, "policy"), "policy")
    records = train_records(rd, cfg.synthesize.max_problems, cfg.seed)
    rows = max(1, min(cfg.synthesize.batch_size, 4 * max(1, cfg.synthesize.concurrent)))
    texts = [
        prompts.chat_prefix(backend, r.problem()) + prompts.step_prompt(STRUCTURE, 1) for r in records
    ]
    texts = (texts * rows)[:rows] if texts else []
    tokens = cfg.synthesize.search.max_step_tokens
    produced = 0
    for start in range(0, len(texts), rows):
        ids, mask = backend._batch([backend.tokenize(t) for t in texts[start : start + rows]])
        with torch.no_grad():
            out = backend.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                do_sample=True,
                temperature=cfg.synthesize.search.temperature,
                top_k=cfg.synthesize.search.top_k,
                top_p=cfg.synthesize.search.top_p,
                pad_token_id=backend.pad_id,
            )
        produced += int(out.shape[0] * (out.shape[1] - ids.shape[1]))
    return {"rows": len(texts), "tokens": produced}


def run_step(cfg: TrainConfig, rd: RunDir, step: str, force: bool) -> dict[str, Any]:
    from o1coder_train.cli import run_stage

    if step == BASE_EVAL:
        return _eval_base(cfg, rd)
    if step == PLAIN_GENERATE:
        return plain_generate(cfg, rd)
    return run_stage(cfg, step, force=force)


def run_smoke(
    cfg: TrainConfig,
    steps: Sequence[str] = STEPS,
    *,
    force: bool = False,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Run `steps` in order, measuring each; write smoke.json and smoke.md; return the summary."""
    cfg = dataclasses.replace(cfg, loop=dataclasses.replace(cfg.loop, rounds=1))
    rd = RunDir(cfg)
    costs: list[StageCost] = []
    started = time.monotonic()
    for step in steps:
        cost = StageCost(step)
        costs.append(cost)
        why = export_unavailable() if step == "export" else ""
        if why:
            cost.status, cost.note = "skipped", why
            say(f"smoke: {step} skipped: {why}")
            continue
        say(f"smoke: {step} ...")
        try:
            with measuring(cost, rd.metric_rows):
                run_step(cfg, rd, step, force)
        except Exception as exc:  # a failed stage ends the run; the table says which and why
            cost.status, cost.note = "failed", f"{type(exc).__name__}: {exc}"
            say(f"smoke: {step} failed after {cost.seconds:.1f} s:\n{traceback.format_exc()}")
            break
        say(f"smoke: {step} done in {cost.seconds:.1f} s")
    summary = {
        "config": cfg.source,
        "run_dir": str(rd.path),
        "device": device_name(),
        "seconds": time.monotonic() - started,
        "ok": all(c.status != "failed" for c in costs) and len(costs) == len(steps),
        "stages": [c.to_dict() for c in costs],
        "metrics": key_metrics(rd.metric_rows(), rd),
        "synthesis_vs_plain": generation_ratio(costs),
    }
    (rd.path / "smoke.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (rd.path / "smoke.md").write_text(render(summary))
    return summary


def generation_ratio(costs: Sequence[StageCost]) -> dict[str, float | None]:
    """Synthesis's generated tokens/s against plain batched generate of the same model."""
    by = {c.stage: c for c in costs}
    search = by["synthesize"].generated_per_second if "synthesize" in by else None
    plain = by[PLAIN_GENERATE].generated_per_second if PLAIN_GENERATE in by else None
    slower = plain / search if search and plain else None
    return {"synthesis": search, "plain_generate": plain, "plain_over_synthesis": slower}


def device_name() -> str:
    try:
        import torch
    except ImportError:
        return "cpu"
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({torch.get_num_threads()} threads)"


def _latest(rows: list[dict[str, Any]], key: str, **match: Any) -> Any:
    found = [r[key] for r in rows if key in r and all(r.get(k) == v for k, v in match.items())]
    return found[-1] if found else None


def key_metrics(rows: list[dict[str, Any]], rd: RunDir) -> dict[str, Any]:
    """The numbers the run is for, from metrics.jsonl (None where a stage did not get that far)."""
    rewards = [
        r["reward"] for r in rows if r.get("stage") == "rl" and isinstance(r.get("reward"), int | float)
    ]
    synthesis = rd.done_summary("synthesize") if rd.is_done("synthesize") else {}
    return {
        "tcg_pass_rate": {
            "base": _latest(rows, "tcg_pass_rate", stage="tcg-sft", after="base"),
            "sft": _latest(rows, "tcg_pass_rate", stage="tcg-sft", after="sft"),
            "dpo": _latest(rows, "tcg_pass_rate", stage="tcg-dpo", after="dpo"),
        },
        "prm_accuracy": {
            "init": _latest(rows, "prm_accuracy", stage="prm", round=None, after="init"),
            "train": _latest(rows, "prm_accuracy", stage="prm", round=None, after="train"),
        },
        "prm_auc": {
            "init": _latest(rows, "prm_auc", stage="prm", round=None, after="init"),
            "train": _latest(rows, "prm_auc", stage="prm", round=None, after="train"),
        },
        "pass_at_1": {
            "base": _latest(rows, "pass_at_1", stage="smoke", after="base"),
            "loop_r0": _latest(rows, "pass_at_1", stage="loop", step=0),
            "loop_r1": _latest(rows, "pass_at_1", stage="loop", step=1),
        },
        "synthesis_solved_fraction": synthesis.get("solved_fraction"),
        "rl_reward": {"first": rewards[0] if rewards else None, "last": rewards[-1] if rewards else None},
    }


def _num(value: Any, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def render(summary: dict[str, Any]) -> str:
    """The run as Markdown: one row per stage, then the metrics."""
    lines = [
        f"# smoke run: {summary['config']}",
        "",
        f"device: {summary['device']} · total {summary['seconds']:.0f} s · "
        f"{'all stages ran' if summary['ok'] else 'STOPPED EARLY'}",
        "",
        "| stage | status | seconds | generated tok/s | training tok/s | peak GPU MiB | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for s in summary["stages"]:
        gen = s["generated_per_second"]
        gen_text = f"{gen:.0f} ({s['generated_tokens']} tok)" if gen is not None else "—"
        train = s["training_per_second"]
        train_text = f"{train:.0f} ({s['training_tokens']} tok)" if train is not None else "—"
        lines.append(
            f"| {s['stage']} | {s['status']} | {s['seconds']:.1f} | {gen_text} | {train_text} | "
            f"{_num(s['peak_gpu_mib'], '.0f')} | {s['note'].splitlines()[0] if s['note'] else ''} |"
        )
    m = summary["metrics"]
    r = summary["synthesis_vs_plain"]
    pct = lambda v: _num(None if v is None else 100 * v, ".1f") + ("%" if v is not None else "")  # noqa: E731
    lines += [
        "",
        "| metric | values |",
        "|---|---|",
        "| TCG pass rate on reference code | base {} → SFT {} → DPO {} |".format(
            *(pct(m["tcg_pass_rate"][k]) for k in ("base", "sft", "dpo"))
        ),
        "| PRM step accuracy | init {} → trained {} |".format(
            *(pct(m["prm_accuracy"][k]) for k in ("init", "train"))
        ),
        "| PRM AUC | init {} → trained {} |".format(
            *(_num(m["prm_auc"][k], ".3f") for k in ("init", "train"))
        ),
        "| held-out pass@1 | base {} · before the loop round {} → after {} |".format(
            *(pct(m["pass_at_1"][k]) for k in ("base", "loop_r0", "loop_r1"))
        ),
        f"| synthesis: problems solved by the search | {pct(m['synthesis_solved_fraction'])} |",
        "| generation: synthesis vs plain batched generate | {} vs {} tok/s: synthesis at {} of plain "
        "(target ≥ 50%) |".format(
            _num(r["synthesis"], ".0f"),
            _num(r["plain_generate"], ".0f"),
            pct(1 / r["plain_over_synthesis"] if r["plain_over_synthesis"] else None),
        ),
        "| GRPO reward | first step {} → last step {} |".format(
            _num(m["rl_reward"]["first"], ".3f"), _num(m["rl_reward"]["last"], ".3f")
        ),
        "",
        "Generated tok/s: tokens sampled per second of generating calls (synthesis, DPO sampling, "
        "evaluation, GRPO sampling). Training tok/s: the trainers' token count over their "
        "train_runtime. Peak GPU MiB: torch.cuda.max_memory_allocated within the stage.",
        "",
    ]
    return "\n".join(lines)
