"""Stage 1a, TCG SFT: (problem, reference tests) -> the tests, in the engine's TCG format.

Prompt: the engine's TCG prompt for the problem (chat template + `tcg_answer_start`); target:
the record's validated tests as `assert` lines closing the code block. Afterwards the pass rate
of the tests the model generates (through the engine's `generate_tests`) on the reference code
of held-out problems is measured and logged as `tcg_pass_rate`, for the base model before
training (after: "base") and for the trained one (after: "sft").
"""

from __future__ import annotations

from typing import Any

from o1coder_train.backends import TextBackend
from o1coder_train.config import TrainConfig
from o1coder_train.data.build import heldout_records, train_records
from o1coder_train.run import RunDir
from o1coder_train.stages.common import (
    base_model_dir,
    load_backend,
    run_sft,
    sandbox_settings,
    sft_row,
    tokenizer_at,
)
from o1coder_train.tcg import tcg_pass_rate, tcg_prompt, tcg_target

STAGE = "tcg-sft"


def build_rows(cfg: TrainConfig, run: RunDir, text: TextBackend) -> tuple[list[dict], int]:
    stage = cfg.tcg_sft
    rows: list[dict] = []
    skipped = 0
    for record in train_records(run, stage.max_problems, cfg.seed):
        problem = record.problem()
        target = tcg_target(problem, record.tests, stage.num_tests)
        row = (
            sft_row(text, tcg_prompt(text, problem, stage.num_tests), target, stage.max_length)
            if target
            else None
        )
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    return rows, skipped


def evaluate(cfg: TrainConfig, run: RunDir, path: Any, problems: int, num_tests: int) -> dict[str, float]:
    backend = load_backend(cfg, path, "tcg")
    return tcg_pass_rate(
        backend, heldout_records(run, problems), sandbox_settings(), num_tests, cfg.seed, run.progress
    )


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    init = base_model_dir(cfg, rd)
    text = TextBackend(tokenizer_at(cfg, init))
    rows, skipped = build_rows(cfg, rd, text)
    before = evaluate(cfg, rd, init, cfg.tcg_sft.eval_problems, cfg.tcg_sft.num_tests)
    rd.metrics(STAGE).log({**before, "after": "base"})
    out, metrics = run_sft(cfg, rd, cfg.tcg_sft, rows, init=init, out_name="tcg-sft", stage_name=STAGE)
    rd.set_model("tcg", out)
    metrics["skipped_problems"] = skipped
    evaluation = evaluate(cfg, rd, out, cfg.tcg_sft.eval_problems, cfg.tcg_sft.num_tests)
    rd.metrics(STAGE).log({**evaluation, "after": "sft"})
    return {**metrics, **evaluation, "tcg_pass_rate_base": before["tcg_pass_rate"]}
