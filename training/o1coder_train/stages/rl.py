"""Stage 5, RL: trl's GRPOTrainer with an outcome and a process reward, weighted by config.

Prompt: the engine's pseudocode-first chat prompt followed by the first step header (what the
engine writes before the policy's first token). Outcome reward: the answer's code run in the
sandbox on the problem's tests (the dataset's, plus TCG-written tests that the reference
solution passes; cached in rl-data.jsonl). Process reward: the trained PRM's step scores.
"""

from __future__ import annotations

from typing import Any

from o1coder.config import SearchSettings
from o1coder.engine import prompts
from o1coder.engine.tcg import generate_tests
from o1coder.engine.tests_format import dedupe_key
from o1coder.engine.types import STRUCTURE
from o1coder_train.backends import TextBackend
from o1coder_train.config import TrainConfig
from o1coder_train.data.build import train_records
from o1coder_train.rewards import OutcomeReward, ProcessReward
from o1coder_train.run import RunDir, StageError, read_jsonl, write_jsonl
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
from o1coder_train.tcg import reference_program

STAGE = "rl"


def policy_prompt(text: Any, problem_text: str) -> str:
    from o1coder.engine.problem import Problem

    problem = Problem.from_source(problem_text)
    return prompts.chat_prefix(text, problem) + prompts.step_header(STRUCTURE, 1)


def rl_rows(cfg: TrainConfig, rd: RunDir, text: Any, round_: int | None) -> list[dict[str, Any]]:
    """Prompt, problem and tests per training problem; TCG tests kept only if the reference passes them."""
    from o1coder.sandbox import run_tests

    path = rd.stage_dir(STAGE, round_) / "rl-data.jsonl"
    cached = read_jsonl(path)
    if cached:
        return cached
    stage = cfg.rl
    records = train_records(rd, stage.max_problems, cfg.seed)
    tcg = load_backend(cfg, rd.model("tcg"), "tcg") if stage.tcg_tests > 0 and rd.model("tcg") else None
    sandbox = sandbox_settings()
    rows = []
    for record in rd.progress(records, "RL prompts and tests"):
        problem = record.problem()
        tests = record.test_cases()
        added = 0
        if tcg is not None:
            generated = generate_tests(problem, tcg, SearchSettings(num_tests=stage.tcg_tests, seed=cfg.seed))
            seen = {dedupe_key(t) for t in tests}
            fresh = [t for t in generated if dedupe_key(t) not in seen]
            if fresh:
                report = run_tests(reference_program(record, problem), fresh, sandbox)
                passing = {o.name for o in report.outcomes if o.passed}
                kept = [t for t in fresh if t.name in passing]
                tests += kept
                added = len(kept)
        rows.append(
            {
                "prompt": policy_prompt(text, record.text),
                "problem": record.text,
                "tests": [t.source for t in tests],
                "tcg_tests": added,
            }
        )
    write_jsonl(path, rows)
    return rows


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    stage = cfg.rl
    init = model_path(cfg, rd, "policy")
    tokenizer = tokenizer_at(cfg, init)
    rows = rl_rows(cfg, rd, TextBackend(tokenizer), round_)
    if not rows:
        raise StageError("rl: no training problems; run `o1coder-train data build --config run.toml`")
    funcs: list[Any] = [OutcomeReward(compile_weight=stage.compile_weight, sandbox=sandbox_settings())]
    weights = [stage.outcome_weight]
    if stage.process_weight > 0:
        if rd.model("prm") is None:
            raise StageError(
                "rl: [rl].process_weight > 0 needs a trained PRM: run `o1coder-train prm --config run.toml` "
                "first, or set process_weight = 0"
            )
        funcs.append(ProcessReward(load_backend(cfg, rd.model("prm"), "prm"), gamma=stage.process_gamma))
        weights.append(stage.process_weight)
    output_dir = rd.stage_dir(STAGE, round_) / "trainer"
    args = GRPOConfig(
        **training_arguments(cfg, stage, output_dir, remove_unused_columns=False),
        num_generations=stage.num_generations,
        max_completion_length=stage.max_completion_length,
        temperature=stage.temperature,
        beta=stage.beta,
        reward_weights=weights,
        use_vllm=stage.use_vllm,
        **({"vllm_mode": "colocate"} if stage.use_vllm else {}),
        log_completions=False,
    )
    trainer = GRPOTrainer(
        model=load_model(init, dtype=cfg.model.dtype, device=cfg.model.device),
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(stage),
        callbacks=[metrics_callback(rd, STAGE, round_)],
    )
    model_dir = rd.model_dir("policy-rl" if round_ is None else f"policy-rl-r{round_}")
    metrics = train_and_save(trainer, output_dir, model_dir, tokenizer)
    rd.set_model("policy", model_dir)
    return {
        **metrics,
        "problems": len(rows),
        "reward_weights": weights,
        "tcg_tests": sum(r["tcg_tests"] for r in rows),
    }
