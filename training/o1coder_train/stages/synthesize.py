"""Stage 2, synthesis: the engine's MCTS over training problems; trees stored with targets.

Each problem is solved by `o1coder.engine.strategies.solve` (the same search the server runs)
with transformers backends for the policy, PRM and TCG roles (vLLM for the policy when
`[synthesize].backend = "vllm"`), verified against the dataset's tests. The tree is stored by
the engine's `targets.tree_to_dict`: every node's value, visits, PRM value, verified outcome
(compiled, pass rate) and the ReST-MCTS* targets v_k / w_k / m_k. One line per problem in
stages/synthesize[-rN]/trees.jsonl, appended as it finishes (an interrupted run resumes).

With `[synthesize].rationalize`, a tree whose search reached no verified-correct code gets the
reference solution as a code step under its best pseudocode node (`trees.rationalize`, STaR
style), so a weak policy still yields value targets; such nodes are marked in the row.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from o1coder.engine.strategies import solve
from o1coder.engine.targets import tree_to_dict
from o1coder.engine.types import Budget
from o1coder_train.backends import TransformersBackend, VLLMBackend
from o1coder_train.batching import Batcher
from o1coder_train.config import TrainConfig
from o1coder_train.data.build import train_records
from o1coder_train.data.records import ProblemRecord
from o1coder_train.run import RunDir, append_jsonl, read_jsonl
from o1coder_train.stages.common import load_backend, model_path, sandbox_settings, search_settings
from o1coder_train.trees import rationalize

STAGE = "synthesize"


def trees_path(rd: RunDir, round_: int | None) -> Path:
    return rd.stage_dir(STAGE, round_) / "trees.jsonl"


def role_backends(cfg: TrainConfig, rd: RunDir) -> dict[str, TransformersBackend]:
    """policy / prm / tcg backends; roles served by the same checkpoint share one loaded model."""
    paths = {
        "policy": model_path(cfg, rd, "policy"),
        "prm": rd.model("prm") if cfg.synthesize.prm == "trained" and rd.model("prm") else None,
        "tcg": rd.model("tcg"),
    }
    paths = {role: p or paths["policy"] for role, p in paths.items()}
    batch = cfg.synthesize.batch_size
    loaded: dict[Path, TransformersBackend] = {}
    out: dict[str, TransformersBackend] = {}
    for role, path in paths.items():
        if path not in loaded:
            if role == "policy" and cfg.synthesize.backend == "vllm":
                base = load_backend(cfg, path, role, batch_size=batch)
                loaded[path] = VLLMBackend(base.model, base.tokenizer, path, name=role)
            else:
                loaded[path] = load_backend(cfg, path, role, batch_size=batch)
        out[role] = loaded[path]
    return out


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    s = cfg.synthesize
    out = trees_path(rd, round_)
    done = {row["problem_id"] for row in read_jsonl(out)}
    backends = role_backends(cfg, rd)
    records = train_records(rd, s.max_problems, cfg.seed + (round_ or 0))
    todo = [(i, record) for i, record in enumerate(records) if record.id not in done]
    label = f"synthesize{'' if round_ is None else f' r{round_}'}"
    written = threading.Lock()

    def finish(row: dict[str, Any]) -> None:
        with written:
            append_jsonl(out, row)  # one line per problem as it finishes: an interrupted run resumes

    if s.concurrent <= 1:
        for i, record in rd.progress(todo, label):
            finish(solve_record(cfg, record, cfg.seed + 1000 * (round_ or 0) + i, round_, backends))
    else:
        batchers = {id(b): Batcher(b, s.batch_wait_seconds) for b in backends.values()}

        def in_lanes(i: int, record: ProblemRecord) -> dict[str, Any]:
            with contextlib.ExitStack() as lanes:
                lane = {key: lanes.enter_context(b.lane()) for key, b in batchers.items()}
                roles = {role: lane[id(b)] for role, b in backends.items()}
                return solve_record(cfg, record, cfg.seed + 1000 * (round_ or 0) + i, round_, roles)

        with ThreadPoolExecutor(s.concurrent, thread_name_prefix="synthesize") as pool:
            futures = [pool.submit(in_lanes, i, record) for i, record in todo]
            for future in rd.progress(as_completed(futures), label, total=len(futures)):
                finish(future.result())
        batched = [b.stats for b in batchers.values()]
        rd.metrics(STAGE, round_).log(
            {
                "concurrent": s.concurrent,
                "merged_calls": sum(b.calls for b in batched),
                "rows_per_call": sum(b.rows for b in batched) / max(1, sum(b.calls for b in batched)),
            }
        )
    return summarize(read_jsonl(out))


def solve_record(
    cfg: TrainConfig, record: ProblemRecord, seed: int, round_: int | None, backends: dict[str, Any]
) -> dict[str, Any]:
    """One problem's search, its tree with value targets, as one trees.jsonl row."""
    from o1coder.sandbox import run_tests

    s = cfg.synthesize
    settings = search_settings(cfg, seed=seed)
    sandbox = sandbox_settings()
    verifier = lambda program, tests: run_tests(program, tests, sandbox)  # noqa: E731
    problem = record.problem()
    started = time.monotonic()
    result = solve(
        problem,
        policy=backends["policy"],
        prm=backends["prm"],
        tcg=backends["tcg"],
        verifier=verifier,
        settings=settings,
        budget=Budget(
            tokens=settings.budget_tokens, nodes=settings.budget_nodes, seconds=settings.budget_seconds
        ),
        tests=record.test_cases() if s.use_dataset_tests else None,
    )
    if result.tree is None:
        raise ValueError(
            f"[synthesize.search].strategy = {settings.strategy!r} builds no tree: use mcts or pseudocode"
        )
    added = None
    if s.rationalize and record.solutions:
        added = rationalize(
            result.tree, problem, record.solutions[0], record.test_cases(), verifier, settings.compile_weight
        )
    return {
        "problem_id": record.id,
        "problem": record.text,
        "round": round_,
        "value": result.value,
        "stats": result.to_json()["stats"],
        "seconds": time.monotonic() - started,
        "rationalized_node": added.id if added is not None else None,
        "tree": tree_to_dict(result.tree),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    with_targets = [r for r in rows if any(n["targets"] for n in r["tree"]["nodes"])]
    asprs = [r["tree"]["aspr"] for r in rows if r["tree"]["aspr"] is not None]
    return {
        "problems": len(rows),
        "trees_with_correct_leaf": len(with_targets),
        "solved_fraction": sum(r["value"] >= 1.0 for r in rows) / len(rows) if rows else 0.0,
        "nodes": sum(len(r["tree"]["nodes"]) for r in rows),
        "tokens_generated": sum(r["stats"]["tokens_generated"] for r in rows),
        "aspr": sum(asprs) / len(asprs) if asprs else None,
        "rationalized": sum(r.get("rationalized_node") is not None for r in rows),
    }
