"""Stage 3, policy SFT on verified reasoning paths: pseudocode steps, then the code.

From every stored tree, each root-to-leaf path whose code step compiled and passed at least
`[policy_sft].min_pass_rate` of its tests becomes one example: the prompt is the engine's chat
prompt, the completion every step of the path with the headers the engine writes (each header
and body tokenized as the engine tokenizes them), so the model learns the step format, when to
stop a step (the next header starts with a stop string) and the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from o1coder_train.backends import TextBackend
from o1coder_train.config import TrainConfig
from o1coder_train.run import RunDir, read_jsonl
from o1coder_train.stages.common import model_path, run_sft, sft_row, tokenizer_at
from o1coder_train.trees import TreeView

STAGE = "policy-sft"


def tree_files(rd: RunDir, upto_round: int | None) -> list[Path]:
    """trees.jsonl of the stand-alone synthesis and of loop rounds up to `upto_round`."""
    root = rd.path / "stages"
    files = [root / "synthesize" / "trees.jsonl"]
    if upto_round is not None:
        files += [root / f"synthesize-r{r}" / "trees.jsonl" for r in range(1, upto_round + 1)]
    return [f for f in files if f.exists()]


def tree_rows(rd: RunDir, upto_round: int | None) -> list[dict[str, Any]]:
    return [row for f in tree_files(rd, upto_round) for row in read_jsonl(f)]


def path_rows(
    rows: list[dict[str, Any]], text: Any, min_pass_rate: float, use_rationalized: bool, max_length: int
):
    examples, seen = [], set()
    for row in rows:
        view = TreeView(row)
        prompt = view.prompt_tokens(text)
        for leaf in view.verified_leaves(min_pass_rate):
            if not use_rationalized and leaf["id"] == row.get("rationalized_node"):
                continue
            steps = view.path(leaf["id"])
            key = (view.problem_id, tuple(n["content"] for n in steps))
            if key in seen:
                continue
            seen.add(key)
            completion = [t for n in steps for t in view.step_tokens(text, n)]
            example = sft_row(text, prompt, completion, max_length)
            if example is not None:
                examples.append(example)
    return examples


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    stage = cfg.policy_sft
    rows = tree_rows(rd, round_)
    init = model_path(cfg, rd, "policy")
    text = TextBackend(tokenizer_at(cfg, init))
    examples = path_rows(rows, text, stage.min_pass_rate, stage.use_rationalized, stage.max_length)
    if stage.max_problems:
        examples = examples[: stage.max_problems]
    name = "policy-sft" if round_ is None else f"policy-sft-r{round_}"
    out, metrics = run_sft(
        cfg, rd, stage, examples, init=init, out_name=name, stage_name=STAGE, round_=round_
    )
    rd.set_model("policy", out)
    return {**metrics, "trees": len(rows), "verified_paths": len(examples)}
