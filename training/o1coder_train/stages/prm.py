"""Stage 4, the process reward model: a causal LM that judges a step with a yes/no token.

Input: exactly what the engine's `StepRunner.value` feeds the PRM: the node's tokens (chat
prompt + steps through the judged one) followed by `prompts.judge_suffix(PRM_QUESTION)`. The
score is P(yes)/(P(yes)+P(no)) over the first tokens of `prompts.YES` / `prompts.NO` at the
last position, so the exported GGUF scores steps in llama.cpp as it was trained.

Losses (`[prm].loss`):
- pointwise-mse: (P(yes) - v_k)^2, v_k the ReST-MCTS* value target of the step;
- pointwise-ce:  cross-entropy of P(yes) against the soft label v_k;
- pairwise:      Bradley-Terry -log sigmoid(r_win - r_lose) over sibling steps whose targets differ
                 by more than `[prm].pair_margin`, r = log P(yes) - log P(no).
Held-out trees (split by problem) give step-level accuracy (|P(yes) - v_k| <= tolerance) and
the AUC of P(yes) for steps on a correct path versus off it, before and after training.
"""

from __future__ import annotations

from typing import Any

import torch

from o1coder.engine import prompts
from o1coder.models.backend import judgement_ids
from o1coder_train.backends import TextBackend, TransformersBackend, yes_margin
from o1coder_train.config import TrainConfig
from o1coder_train.data.records import stable_hash
from o1coder_train.run import RunDir, StageError
from o1coder_train.stages.common import (
    base_model_dir,
    load_backend,
    load_model,
    metrics_callback,
    model_path,
    peft_config,
    tokenizer_at,
    train_and_save,
    training_arguments,
)
from o1coder_train.stages.policy_sft import tree_rows
from o1coder_train.trees import TreeView

STAGE = "prm"


def suffix_tokens(text: Any) -> list[int]:
    return text.tokenize(prompts.judge_suffix(text, prompts.PRM_QUESTION))


def split_trees(rows: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Held-out trees by problem id (a problem's trees never straddle the split)."""
    ids = sorted({str(r.get("problem_id")) for r in rows}, key=lambda i: stable_hash(f"{seed}:{i}"))
    n_held = min(len(ids) - 1, max(1, round(fraction * len(ids)))) if len(ids) > 1 else 0
    held = set(ids[:n_held])
    return [r for r in rows if str(r.get("problem_id")) not in held], [
        r for r in rows if str(r.get("problem_id")) in held
    ]


def pointwise_examples(rows: list[dict[str, Any]], text: Any, max_length: int) -> list[dict[str, Any]]:
    suffix = suffix_tokens(text)
    out = []
    for row in rows:
        view = TreeView(row)
        for node in view.targeted():
            ids = view.tokens(text, node["id"]) + suffix
            if len(ids) <= max_length:
                t = node["targets"]
                out.append({"input_ids": ids, "target": float(t["v"]), "correct": float(t["s"] > 0)})
    return out


def pairwise_examples(
    rows: list[dict[str, Any]], text: Any, margin: float, max_length: int
) -> list[dict[str, Any]]:
    suffix = suffix_tokens(text)
    out = []
    for row in rows:
        view = TreeView(row)
        for win, lose in view.sibling_pairs(margin):
            a = view.tokens(text, win["id"]) + suffix
            b = view.tokens(text, lose["id"]) + suffix
            if max(len(a), len(b)) <= max_length:
                out.append({"win_ids": a, "lose_ids": b})
    return out


def left_pad(seqs: list[list[int]], pad: int) -> dict[str, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[i, width - len(s) :] = 1
    return {"input_ids": ids, "attention_mask": mask}


class PrmCollator:
    def __init__(self, pad_id: int, pairwise: bool):
        self.pad_id = pad_id
        self.pairwise = pairwise

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if self.pairwise:
            batch = left_pad([r["win_ids"] for r in rows] + [r["lose_ids"] for r in rows], self.pad_id)
            return batch
        batch = left_pad([r["input_ids"] for r in rows], self.pad_id)
        batch["target"] = torch.tensor([r["target"] for r in rows], dtype=torch.float32)
        return batch


def prm_loss(margin: torch.Tensor, loss: str, target: torch.Tensor | None = None) -> torch.Tensor:
    """The PRM losses on r = log P(yes) - log P(no) (P(yes) of the judgement is sigmoid(r)).

    >>> r = torch.tensor([0.0, 0.0])
    >>> float(prm_loss(r, "pointwise-mse", torch.tensor([0.5, 0.5])))
    0.0
    >>> round(float(prm_loss(torch.tensor([2.0, -2.0]), "pairwise")), 4)  # win (first half) vs lose
    0.0181
    """
    if loss == "pairwise":
        half = margin.shape[0] // 2
        return -torch.nn.functional.logsigmoid(margin[:half] - margin[half:]).mean()
    assert target is not None
    if loss == "pointwise-mse":
        return ((torch.sigmoid(margin) - target) ** 2).mean()
    return torch.nn.functional.binary_cross_entropy_with_logits(margin, target)


def make_trainer_class(loss: str, yes_ids: list[int], no_ids: list[int]) -> type:
    from transformers import Trainer

    class PrmTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001
            target = inputs.pop("target", None)
            ids, mask = inputs["input_ids"], inputs["attention_mask"]
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1)
            margin = yes_margin(out.logits[:, -1, :].float(), yes_ids, no_ids)
            value = prm_loss(margin, loss, target)
            return (value, out) if return_outputs else value

    return PrmTrainer


def auc(scores: list[float], labels: list[float]) -> float | None:
    """Area under the ROC curve (Mann-Whitney, ties count half); None with a single class.

    >>> auc([0.9, 0.8, 0.2], [1, 1, 0])
    1.0
    >>> auc([0.5, 0.5], [1, 0])
    0.5
    """
    pos = [s for s, y in zip(scores, labels, strict=True) if y > 0.5]
    neg = [s for s, y in zip(scores, labels, strict=True) if y <= 0.5]
    if not pos or not neg:
        return None
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def evaluate(backend: TransformersBackend, rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Step-level accuracy and AUC of the PRM on held-out trees, through the backend's `judge`."""
    suffix = suffix_tokens(backend)
    prefixes, targets, labels = [], [], []
    for row in rows:
        view = TreeView(row)
        for node in view.targeted():
            prefixes.append(view.tokens(backend, node["id"]) + suffix)
            targets.append(node["targets"]["v"])
            labels.append(float(node["targets"]["s"] > 0))
    if not prefixes:
        return {"prm_steps": 0, "prm_accuracy": None, "prm_auc": None}
    scores = backend.judge(prefixes, prompts.YES, prompts.NO)
    hits = sum(abs(p - t) <= tolerance for p, t in zip(scores, targets, strict=True))
    return {"prm_steps": len(prefixes), "prm_accuracy": hits / len(prefixes), "prm_auc": auc(scores, labels)}


def init_path(cfg: TrainConfig, rd: RunDir) -> Any:
    if rd.model("prm") is not None:
        return rd.model("prm")
    return model_path(cfg, rd, "policy") if cfg.prm.init == "policy" else base_model_dir(cfg, rd)


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    from datasets import Dataset

    stage = cfg.prm
    rows = tree_rows(rd, round_)
    if not rows:
        raise StageError("no search trees: run `o1coder-train synthesize --config run.toml` first")
    train_rows, held_rows = split_trees(rows, stage.heldout_fraction, cfg.seed)
    init = init_path(cfg, rd)
    tokenizer = tokenizer_at(cfg, init)
    text = TextBackend(tokenizer)
    pairwise = stage.loss == "pairwise"
    if pairwise:
        examples = pairwise_examples(train_rows, text, stage.pair_margin, stage.max_length)
    else:
        examples = pointwise_examples(train_rows, text, stage.max_length)
    if not examples:
        raise StageError(
            f"prm: no {'sibling pairs' if pairwise else 'value targets'} in {len(train_rows)} training trees "
            "(trees without a verified-correct leaf give none): synthesize more problems, raise the search "
            "budget, or set [synthesize].rationalize = true"
        )
    before = evaluate(load_backend(cfg, init, "prm"), held_rows, stage.accuracy_tolerance)
    rd.metrics(STAGE, round_).log({**before, "after": "init"})

    yes_ids, no_ids = judgement_ids(text.tokenize, prompts.YES, prompts.NO)
    output_dir = rd.stage_dir(STAGE, round_) / "trainer"
    from transformers import TrainingArguments

    args = TrainingArguments(
        **training_arguments(
            cfg,
            stage,
            output_dir,
            remove_unused_columns=False,
            include_num_input_tokens_seen="non_padding",  # logged as num_input_tokens_seen
        )
    )
    model = load_model(init, dtype=cfg.model.dtype, device=cfg.model.device)
    lora = peft_config(stage)
    if lora is not None:
        from peft import get_peft_model

        model = get_peft_model(model, lora)
    trainer = make_trainer_class(stage.loss, yes_ids, no_ids)(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(examples),
        data_collator=PrmCollator(tokenizer.pad_token_id, pairwise),
        callbacks=[metrics_callback(rd, STAGE, round_)],
    )
    model_dir = rd.model_dir("prm" if round_ is None else f"prm-r{round_}")
    metrics = train_and_save(trainer, output_dir, model_dir, tokenizer)
    rd.set_model("prm", model_dir)
    after = evaluate(load_backend(cfg, model_dir, "prm"), held_rows, stage.accuracy_tolerance)
    rd.metrics(STAGE, round_).log({**after, "after": "train"})
    return {
        **metrics,
        "loss": stage.loss,
        "examples": len(examples),
        "train_trees": len(train_rows),
        "heldout_trees": len(held_rows),
        **{f"before_{k}": v for k, v in before.items()},
        **after,
    }
