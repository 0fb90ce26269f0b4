"""Stage 1b, TCG DPO: preference pairs built by execution, no hand labels.

For each training problem the SFT'd TCG samples test sets; each set, and the record's own
tests, is judged by running it (`o1coder_train.tcg.judge_completion`): chosen sets parse, pass
the reference solution and reject at least one mutant of it; rejected sets do not parse, fail
on the reference or accept every mutant. Pairs (pairs.jsonl, reused on resume) train the TCG
with trl's DPOTrainer; `tcg_pass_rate` is measured again (after: "dpo").
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from o1coder_train.config import TrainConfig
from o1coder_train.data.build import train_records
from o1coder_train.run import RunDir, StageError, append_jsonl, read_jsonl
from o1coder_train.stages.common import (
    load_backend,
    load_model,
    metrics_callback,
    model_path,
    peft_config,
    sandbox_settings,
    tokenizer_at,
    train_and_save,
    training_arguments,
)
from o1coder_train.stages.tcg_sft import evaluate
from o1coder_train.tcg import (
    judge_completion,
    mutant_programs,
    preference_pairs,
    reference_program,
    sample_completions,
    tcg_prompt,
    tcg_target,
)

STAGE = "tcg-dpo"


def build_pairs(cfg: TrainConfig, rd: RunDir) -> list[dict[str, str]]:
    """Judge sampled test sets by execution and pair them; one line per problem in pairs.jsonl."""
    stage = cfg.tcg_dpo
    out = rd.stage_dir(STAGE) / "pairs.jsonl"
    done = {row["id"] for row in read_jsonl(out)}
    backend = load_backend(cfg, model_path(cfg, rd, "tcg"), "tcg")
    sandbox = sandbox_settings()
    records = train_records(rd, stage.max_problems, cfg.seed)
    for record in rd.progress(records, "TCG preference pairs"):
        if record.id in done:
            continue
        problem = record.problem()
        prompt = tcg_prompt(backend, problem, stage.num_tests)
        reference = reference_program(record, problem)
        wrong = mutant_programs(record, problem, stage.max_mutants, cfg.seed)
        completions = [("dataset", t) for t in [tcg_target(problem, record.tests, stage.num_tests)] if t]
        completions += [
            ("sample", c)
            for c in sample_completions(
                backend,
                problem,
                stage.samples_per_problem,
                stage.sample_temperature,
                stage.sample_max_tokens,
                cfg.seed,
            )
        ]
        judged = [
            judge_completion(problem, c, reference, wrong, sandbox, origin) for origin, c in completions
        ]
        pairs = preference_pairs(prompt, judged, stage.max_pairs_per_problem)
        append_jsonl(out, {"id": record.id, "pairs": pairs, "judged": [asdict(j) for j in judged]})
    return [pair for row in read_jsonl(out) for pair in row["pairs"]]


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    if rd.model("tcg") is None:
        raise StageError("no TCG model yet: run `o1coder-train tcg-sft --config run.toml` first")
    stage = cfg.tcg_dpo
    pairs = build_pairs(cfg, rd)
    if not pairs:
        raise StageError(
            "tcg-dpo: no preference pairs (no problem had both a chosen and a rejected test set); "
            "raise [tcg_dpo].samples_per_problem or add problems"
        )
    init = model_path(cfg, rd, "tcg")
    tokenizer = tokenizer_at(cfg, init)
    output_dir = rd.stage_dir(STAGE) / "trainer"
    args = DPOConfig(
        **training_arguments(cfg, stage, output_dir), beta=stage.beta, max_length=stage.max_length
    )
    trainer = DPOTrainer(
        model=load_model(init, dtype=cfg.model.dtype, device=cfg.model.device),
        args=args,
        train_dataset=Dataset.from_list(pairs),
        processing_class=tokenizer,
        peft_config=peft_config(stage),
        callbacks=[metrics_callback(rd, STAGE, round_)],
    )
    model_dir = rd.model_dir("tcg")
    metrics = train_and_save(trainer, output_dir, model_dir, tokenizer)
    rd.set_model("tcg", model_dir)
    evaluation = evaluate(cfg, rd, model_dir, stage.eval_problems, stage.num_tests)
    rd.metrics(STAGE).log({**evaluation, "after": "dpo"})
    return {**metrics, "pairs": len(pairs), **evaluation}
