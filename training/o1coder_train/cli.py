"""`o1coder-train STAGE --config run.toml`: run one stage of the training pipeline.

Stages: base, data build, tcg-sft, tcg-dpo, synthesize, policy-sft, prm, rl, loop, export, report
(and tiny-model, which writes the tiny random model the CPU config and the tests use; and smoke,
which runs every stage once and measures each).
A finished stage is skipped when run again (its done.json marker); `--force` reruns it.
An interrupted stage resumes: trainers from their last checkpoint, synthesis and pair
building from the last finished problem.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from o1coder_train.config import ConfigError, TrainConfig, load_config, merge, parse_override

STAGES: dict[str, str] = {
    "base": "o1coder_train.stages.base",
    "tcg-sft": "o1coder_train.stages.tcg_sft",
    "tcg-dpo": "o1coder_train.stages.tcg_dpo",
    "synthesize": "o1coder_train.stages.synthesize",
    "policy-sft": "o1coder_train.stages.policy_sft",
    "prm": "o1coder_train.stages.prm",
    "rl": "o1coder_train.stages.rl",
    "loop": "o1coder_train.stages.loop",
    "export": "o1coder_train.export",
    "report": "o1coder_train.stages.report",
}
ALWAYS_RERUN = ("report",)
HELP = {
    "base": "dequantize the [model] GGUF into <run_dir>/models/base (other stages run it when needed)",
    "tcg-sft": "SFT the test-case generator on (problem, reference tests)",
    "tcg-dpo": "DPO the TCG on test sets judged by execution against mutants",
    "synthesize": "MCTS over training problems; store trees with value targets",
    "policy-sft": "SFT the policy on verified reasoning paths",
    "prm": "train the yes/no process reward model (point-wise or pair-wise)",
    "rl": "GRPO with outcome (tests) and process (PRM) rewards",
    "loop": "rounds of synthesize -> prm -> rl, evaluated each round",
    "export": "merge, convert to GGUF, quantize, write the manifest, check in llama.cpp",
    "report": "plots (PNG) and a summary of the run's metrics",
}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o1coder-train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", required=True, type=Path, help="run.toml (see training/configs/)")
        p.add_argument("--run-dir", type=Path, help="override run_dir of the config")
        p.add_argument("--force", action="store_true", help="rerun even if the stage finished before")
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="SECTION.KEY=VALUE",
            help="override one config value (TOML syntax), e.g. --set model.base=/tmp/m/model.gguf",
        )

    data = sub.add_parser("data", help="training data: `data build`")
    data.add_argument("action", choices=["build"])
    common(data)
    for name in STAGES:
        p = sub.add_parser(name, help=HELP[name])
        common(p)
        if name == "loop":
            p.add_argument("--rounds", type=int, help="override [loop].rounds")
    smoke = sub.add_parser(
        "smoke",
        help="every stage once, each measured (seconds, tokens/s, peak GPU memory) — the GPU smoke run",
    )
    common(smoke)
    tiny = sub.add_parser(
        "tiny-model", help="write a tiny random Qwen2 model with the default model's tokenizer"
    )
    tiny.add_argument("--out", required=True, type=Path)
    tiny.add_argument(
        "--gguf", type=Path, help="GGUF to read the tokenizer from (default: the catalog default)"
    )
    tiny.add_argument("--tokenizer", type=Path, help="a saved tokenizer directory instead of --gguf")
    tiny.add_argument("--seed", type=int, default=0)
    return parser


def _load(args: argparse.Namespace) -> TrainConfig:
    overrides: dict[str, Any] = {}
    for text in args.set:
        merge(overrides, parse_override(text))
    cfg = load_config(args.config, overrides)
    if args.run_dir:
        cfg.run_dir = str(args.run_dir.expanduser().resolve())
    if getattr(args, "rounds", None):
        cfg.loop.rounds = args.rounds
    return cfg


def run_stage(
    cfg: TrainConfig, stage: str, *, force: bool = False, round_: int | None = None
) -> dict[str, Any]:
    """Run one stage in cfg's run directory: skip if done (unless forced), record, mark done."""
    from o1coder_train.run import RunDir

    rd = RunDir(cfg)
    if force:
        rd.clear_done(stage, round_)
    if rd.is_done(stage, round_) and stage not in ALWAYS_RERUN:
        summary = rd.done_summary(stage, round_)
        print(
            f"o1coder-train: {stage} already done ({summary.get('finished')}); --force to rerun",
            file=sys.stderr,
        )
        return summary
    fn = stage_function(stage)
    _seed(cfg.seed)
    with rd.recording(stage, round_) as outcome:
        result = fn(cfg, rd, round_)
        outcome.update(result)
    rd.mark_done(stage, result, round_)
    return result


def stage_function(stage: str) -> Callable[..., dict[str, Any]]:
    if stage == "data":
        from o1coder_train.data.build import build

        return lambda cfg, rd, round_=None: build(cfg, rd)
    module = importlib.import_module(STAGES[stage])
    return module.run


def _seed(seed: int) -> None:
    from transformers import set_seed

    set_seed(seed)


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        if args.stage == "tiny-model":
            from o1coder_train.tiny import make_tiny_model

            out = make_tiny_model(args.out, args.tokenizer, gguf=args.gguf, seed=args.seed)
            print(out)
            return 0
        cfg = _load(args)
        if args.stage == "smoke":
            from o1coder_train.smoke import run_smoke

            summary = run_smoke(cfg, force=args.force)
            print((Path(summary["run_dir"]) / "smoke.md").read_text())
            return 0 if summary["ok"] else 1
        result = run_stage(cfg, args.stage, force=args.force)
    except ConfigError as exc:
        print(f"o1coder-train: config error: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        print(f"o1coder-train {args.stage}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
