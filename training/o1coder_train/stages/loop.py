"""Stage 6, the self-play loop: synthesize with the current policy, retrain the PRM, RL; N rounds.

Round r runs synthesize-rR (the latest policy; the trained PRM scores steps during search),
prm-rR (from the previous PRM, on every tree so far) and rl-rR, each skipped when already done
(so an interrupted loop resumes at the sub-stage it was in). Before round 1 and after every
round the run is evaluated on held-out problems and one `loop` metrics row is logged:
- pass_at_1: the engine's `solve` (`[loop].eval_strategy`, `[loop].eval_budget_tokens`) with the
  TCG writing the tests as at inference; the answer is checked on the problem's own tests;
- tcg_pass_rate: generated tests passing on the reference code;
- prm_accuracy / prm_auc: on held-out trees (the prm sub-stage's numbers).
`o1coder-train report` plots them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from o1coder.engine.problem import assemble_program
from o1coder.engine.strategies import solve
from o1coder.engine.types import Budget
from o1coder_train.config import TrainConfig
from o1coder_train.data.build import heldout_records
from o1coder_train.run import RunDir
from o1coder_train.stages.common import sandbox_settings, search_settings
from o1coder_train.stages.synthesize import role_backends
from o1coder_train.tcg import tcg_pass_rate

STAGE = "loop"
SUBSTAGES = ("synthesize", "prm", "rl")


def pass_at_1(cfg: TrainConfig, rd: RunDir) -> dict[str, float]:
    from o1coder.sandbox import run_tests

    backends = role_backends(
        dataclasses.replace(cfg, synthesize=dataclasses.replace(cfg.synthesize, prm="trained")), rd
    )
    settings = search_settings(
        cfg, strategy=cfg.loop.eval_strategy, seed=cfg.seed, num_tests=cfg.loop.eval_num_tests
    )
    sandbox = sandbox_settings()
    records = heldout_records(rd, cfg.loop.eval_problems)
    solved = 0
    for record in rd.progress(records, "held-out pass@1"):
        problem = record.problem()
        result = solve(
            problem,
            policy=backends["policy"],
            prm=backends["prm"],
            tcg=backends["tcg"],
            verifier=lambda program, tests: run_tests(program, tests, sandbox),
            settings=settings,
            budget=Budget(
                tokens=cfg.loop.eval_budget_tokens, nodes=settings.budget_nodes, seconds=600.0
            ),
        )
        if result.code:
            report = run_tests(assemble_program(problem, result.code), record.test_cases(), sandbox)
            solved += int(report.compiled and report.total > 0 and report.passed == report.total)
    return {"pass_at_1": solved / len(records) if records else 0.0, "eval_problems": float(len(records))}


def evaluate_round(cfg: TrainConfig, rd: RunDir, round_: int) -> dict[str, Any]:
    from o1coder_train.stages.common import load_backend

    row: dict[str, Any] = {"round": round_}
    row.update(pass_at_1(cfg, rd))
    tcg_path = rd.model("tcg")
    if tcg_path is not None:
        tcg = load_backend(cfg, tcg_path, "tcg")
        row.update(
            tcg_pass_rate(
                tcg,
                heldout_records(rd, cfg.tcg_sft.eval_problems),
                sandbox_settings(),
                cfg.tcg_sft.num_tests,
                cfg.seed,
            )
        )
    prm = rd.done_summary("prm", round_) if round_ > 0 else rd.done_summary("prm")
    row["prm_accuracy"] = prm.get("prm_accuracy")
    row["prm_auc"] = prm.get("prm_auc")
    return row


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    from o1coder_train.cli import run_stage

    writer = rd.metrics(STAGE)
    rows = []
    if not rd.is_done("loop-eval", 0):
        row = evaluate_round(cfg, rd, 0)
        writer.log(row, step=0)
        rd.mark_done("loop-eval", row, 0)
    rows.append(rd.done_summary("loop-eval", 0))
    loop_cfg = dataclasses.replace(cfg, synthesize=dataclasses.replace(cfg.synthesize, prm="trained"))
    for r in range(1, cfg.loop.rounds + 1):
        for stage in SUBSTAGES:
            run_stage(loop_cfg, stage, round_=r)
        if not rd.is_done("loop-eval", r):
            row = evaluate_round(cfg, rd, r)
            writer.log(row, step=r)
            rd.mark_done("loop-eval", row, r)
        rows.append(rd.done_summary("loop-eval", r))
    return {"rounds": cfg.loop.rounds, "per_round": rows}
