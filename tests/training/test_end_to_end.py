"""The whole pipeline on a tiny random model: every stage, the loop once, export, then the server.

Output quality is irrelevant here (random weights); what is checked is that every stage runs
through the real trainers, engine, sandbox and llama.cpp, writes what the next one reads, and
that the exported GGUFs serve `o1coder solve`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from o1coder.engine.prompts import PROMPT_VERSION
from o1coder.models.manifest import load_manifest
from o1coder_train.cli import main
from o1coder_train.run import read_jsonl
from o1coder_train.smoke import STEPS

TINY_CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny-cpu.toml"
SMOKE_SCRIPT = Path(__file__).resolve().parents[2] / "training" / "gpu" / "smoke.sh"
PROBLEM = 'def add(a, b):\n    """Return the sum of a and b.\n\n    >>> add(1, 2)\n    3\n    """\n'


def _config(tmp_path: Path, model_dir: Path) -> Path:
    text = TINY_CONFIG.read_text()
    text = re.sub(r"(?m)^run_dir = .*$", f'run_dir = "{tmp_path / "run"}"', text)
    text = re.sub(r"(?m)^base = .*$", f'base = "{model_dir}"', text)
    text = re.sub(r"(?m)^progress = true$", "progress = false", text)
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def _o1coder(*args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    exe = shutil.which("o1coder")
    cmd = [exe] if exe else [sys.executable, "-m", "o1coder"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.model  # the tiny model's tokenizer comes from the default GGUF
@pytest.mark.slow
def test_tiny_pipeline_end_to_end(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = _config(tmp_path, tiny_model_dir)
    run = tmp_path / "run"
    # The GPU smoke script itself, on the tiny config: every stage once, each measured.
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "SMOKE_CONFIG": str(config),
        "SMOKE_RUN": str(run),
        "SMOKE_PIECES": str(tmp_path / "no-pieces"),  # no GGUF pieces: the config's base is used
        "OUT": str(out),
    }
    script = subprocess.run(["bash", str(SMOKE_SCRIPT), "run", "3000"], capture_output=True, text=True, env=env)
    assert script.returncode == 0, script.stdout[-4000:] + script.stderr[-4000:]
    assert {"smoke.md", "smoke.json", "metrics.jsonl", "ran.jsonl", "smoke.log"} <= {p.name for p in out.iterdir()}
    smoke = json.loads((out / "smoke.json").read_text())
    costs = {s["stage"]: s for s in smoke["stages"]}
    assert list(costs) == list(STEPS) and all(s["status"] == "ok" for s in smoke["stages"])
    for stage in ("eval-base", "tcg-sft", "tcg-dpo", "synthesize", "plain-generate", "loop"):
        assert costs[stage]["generated_tokens"] > 0 and costs[stage]["generated_per_second"] > 0, stage
    for stage in ("tcg-sft", "tcg-dpo", "policy-sft", "prm"):
        assert costs[stage]["training_tokens"] > 0 and costs[stage]["training_per_second"] > 0, stage
    assert costs["rl"]["generated_tokens"] > 0  # GRPO's sampling, counted through transformers' generate
    assert all(s["peak_gpu_mib"] is None for s in smoke["stages"])  # no GPU here
    metrics = smoke["metrics"]
    assert {k: v is not None for k, v in metrics["tcg_pass_rate"].items()} == dict.fromkeys(
        ("base", "sft", "dpo"), True
    )
    assert metrics["prm_accuracy"]["train"] is not None and metrics["pass_at_1"]["loop_r1"] is not None
    assert metrics["pass_at_1"]["base"] is not None
    assert smoke["synthesis_vs_plain"]["plain_over_synthesis"] > 0
    synthesized = read_jsonl(run / "metrics.jsonl")
    merged = [r for r in synthesized if r["stage"] == "synthesize" and r.get("concurrent") == 2]
    assert merged and merged[0]["merged_calls"] > 0  # two searches at once over one model (batching.py)
    table = (out / "smoke.md").read_text()
    assert "| tcg-dpo | ok |" in table and "TCG pass rate on reference code | base" in table
    print(table)

    # What ran, with what.
    records = read_jsonl(run / "ran.jsonl")
    ok = {(r["stage"], r["round"]) for r in records if r["status"] == "ok"}
    assert {("tcg-sft", None), ("synthesize", 1), ("prm", 1), ("rl", 1), ("export", None)} <= ok
    assert all(r["prompt_version"] == PROMPT_VERSION and r["versions"]["trl"] for r in records)

    # Data and trees.
    assert read_jsonl(run / "data" / "train.jsonl") and read_jsonl(run / "data" / "heldout.jsonl")
    for trees in (
        run / "stages" / "synthesize" / "trees.jsonl",
        run / "stages" / "synthesize-r1" / "trees.jsonl",
    ):
        rows = read_jsonl(trees)
        assert rows
        targeted = [n["targets"] for r in rows for n in r["tree"]["nodes"] if n["targets"]]
        assert targeted and all(0.0 <= t["v"] <= 1.0 and t["m"] >= 0 for t in targeted)

    # Metrics the stages report.
    metrics = read_jsonl(run / "metrics.jsonl")
    tcg = {r["after"]: r for r in metrics if "tcg_pass_rate" in r and "after" in r}
    assert {"sft", "dpo"} <= tcg.keys() and all(0.0 <= r["tcg_pass_rate"] <= 1.0 for r in tcg.values())
    prm = [r for r in metrics if r["stage"] == "prm" and r.get("after") == "train"]
    assert prm and prm[-1]["prm_steps"] > 0 and 0.0 <= prm[-1]["prm_accuracy"] <= 1.0
    loop = sorted((r for r in metrics if r["stage"] == "loop"), key=lambda r: r["round"])
    assert [r["round"] for r in loop] == [0, 1]
    assert all({"pass_at_1", "tcg_pass_rate", "prm_accuracy"} <= r.keys() for r in loop)
    assert any(r["stage"] == "rl" and "reward" in r for r in metrics)
    print("loop rows:", json.dumps(loop))

    # The latest models, merged (policy-sft trained LoRA adapters).
    models = json.loads((run / "models.json").read_text())
    assert Path(models["policy"]).name == "policy-rl-r1" and Path(models["prm"]).name == "prm-r1"
    assert not (run / "models" / "policy-sft" / "adapter_config.json").exists()

    # Export and report.
    manifest = load_manifest(run / "export" / "manifest.json")
    assert set(manifest.roles) == {"policy", "prm", "tcg"} and manifest.prompt_version == PROMPT_VERSION
    assert manifest.role_file("prm").quant == "Q8_0" and manifest.role_file("policy").quant == "Q4_K_M"
    assert all(manifest.role_path(role).read_bytes()[:4] == b"GGUF" for role in manifest.roles)
    assert (run / "report" / "loop.png").read_bytes()[:4] == b"\x89PNG"

    # Resume: a finished stage is not run again.
    assert main(["prm", "--config", str(config)]) == 0
    assert len(read_jsonl(run / "ran.jsonl")) == len(records)

    # The server takes the export: models add, then solve with it.
    env = {**os.environ, "O1CODER_DATA_DIR": str(tmp_path / "o1coder-data")}
    added = _o1coder(
        "models", "add", "--manifest", str(run / "export" / "manifest.json"), "--name", "tiny-run", env=env
    )
    assert added.returncode == 0, added.stderr
    problem = tmp_path / "problem.py"
    problem.write_text(PROBLEM)
    solved = _o1coder(
        "solve",
        "--model",
        "tiny-run",
        "--budget-tokens",
        "64",
        "--strategy",
        "greedy",
        "--json",
        "--quiet",
        str(problem),
        env=env,
    )
    assert solved.returncode == 0, solved.stderr
    answer = json.loads(solved.stdout)
    assert answer["stats"]["strategy"] == "greedy" and "code" in answer
