"""`o1coder-train report`: plots (PNG) and a summary of a run, from metrics.jsonl.

- report/loop.png: held-out pass@1, TCG pass rate and PRM accuracy per loop round;
- report/training.png: the training loss of every trainer stage against its step;
- report/summary.json: the latest value of every metric per stage (and per round).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from o1coder_train.config import TrainConfig
from o1coder_train.run import RunDir

LOOP_METRICS = (
    ("pass_at_1", "held-out pass@1"),
    ("tcg_pass_rate", "TCG pass rate"),
    ("prm_accuracy", "PRM accuracy"),
)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loop(rows: list[dict[str, Any]], out: Path) -> Path | None:
    loop = sorted(
        (r for r in rows if r.get("stage") == "loop" and "round" in r), key=lambda r: r["round"] or 0
    )
    if not loop:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(LOOP_METRICS), figsize=(4 * len(LOOP_METRICS), 3.2))
    for ax, (key, title) in zip(axes, LOOP_METRICS, strict=True):
        points = [(r["round"], r[key]) for r in loop if r.get(key) is not None]
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_title(title)
        ax.set_xlabel("round")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_training(rows: list[dict[str, Any]], out: Path) -> Path | None:
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for r in rows:
        if "loss" in r and r.get("step") is not None:
            label = r["stage"] if r.get("round") is None else f"{r['stage']} r{r['round']}"
            series[label].append((r["step"], r["loss"]))
    if not series:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, points in sorted(series.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    latest: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        key = r["stage"] if r.get("round") is None else f"{r['stage']}-r{r['round']}"
        if r["stage"] == "loop":
            key = f"loop-round{r.get('round', r.get('step'))}"
        for k, v in r.items():
            if k not in ("stage", "time") and v is not None:
                latest[key][k] = v
    return dict(latest)


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    rows = rd.metric_rows()
    out = rd.path / "report"
    out.mkdir(parents=True, exist_ok=True)
    plots = [p for p in (plot_loop(rows, out / "loop.png"), plot_training(rows, out / "training.png")) if p]
    summary = summarize(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return {"plots": [str(p) for p in plots], "summary": str(out / "summary.json"), "metric_rows": len(rows)}
