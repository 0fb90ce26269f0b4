"""Run configuration (TOML) and the run directory: records, markers, metrics, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from o1coder.config import DEFAULT_MODEL
from o1coder_train.cli import main, run_stage
from o1coder_train.config import ConfigError, load_config
from o1coder_train.run import StageError

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO / "training" / "configs" / "tiny-cpu.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_shipped_configs_load() -> None:
    tiny = load_config(TINY_CONFIG)
    assert tiny.prm.loss == "pointwise-mse" and tiny.synthesize.rationalize
    assert Path(tiny.run_dir).is_absolute() and Path(tiny.model.base).is_absolute()
    gpu = load_config(REPO / "training" / "configs" / "gpu-0.5b.toml")
    assert gpu.model.base == DEFAULT_MODEL and not gpu.model.gguf_file and gpu.model.dtype == "bfloat16"


def test_synthesis_search_is_the_engines_search_settings(tmp_path: Path) -> None:
    from o1coder_train.stages.common import search_settings

    text = 'seed = 7\n[model]\nbase = "m"\n[synthesize.search]\nbudgetTokens = 500\nmax_step_tokens = 32\n'
    cfg = load_config(_write(tmp_path, text))
    settings = search_settings(cfg, strategy="greedy")
    assert (settings.budget_tokens, settings.max_step_tokens, settings.seed) == (500, 32, 7)
    assert settings.strategy == "greedy" and cfg.synthesize.search.strategy == "mcts"
    # unset keys keep synthesis' defaults: pseudocode-first trees without repairs
    assert settings.budget_seconds == 600.0 and not settings.direct_answer_first and settings.max_repairs == 0
    tiny = load_config(TINY_CONFIG).synthesize.search
    assert (tiny.budget_tokens, tiny.budget_nodes, tiny.branching, tiny.max_refine_steps) == (160, 5, 2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[model]\nbase = "m"\n[prm]\nloss = "hinge"\n', r"\[prm\].loss: one of"),
        ('[model]\nbase = "m"\n[prm]\nlr = 1\n', r"\[prm\].lr: unknown key; valid keys:"),
        ('[model]\nbase = "m"\n[rl]\nnum_generations = "4"\n', r"\[rl\].num_generations: expected int"),
        (
            '[model]\nbase = "m"\n[data]\nsources = [{kind = "hf", path = "x"}]\n',
            r"\[data\].sources\[0\].kind",
        ),
        ('[model]\nbase = "m"\n[export]\nrole_quant = {policy = "Q5_0"}\n', r"role_quant.policy"),
        ("seed = 1\n", r"\[model\].base: set it"),
        (
            '[model]\nbase = "m"\n[synthesize.search]\nbudgetTokens = 8\n',
            r"\[synthesize.search\].budgetTokens: must be at least 16",
        ),
        (
            '[model]\nbase = "m"\n[synthesize.search]\nbranchFactor = 2\n',
            r"\[synthesize.search\].branchFactor: unknown setting",
        ),
        ('[model]\nbase = "m"\n[synthesize.search]\nseed = 3\n', r"\[synthesize.search\].seed: .*top-level seed"),
        ('[model]\nbase = "m"\n[synthesize]\nbudget_tokens = 100\n', r"\[synthesize\].budget_tokens: unknown key"),
        ('[model]\nbase = "m"\n[loop]\neval_strategy = "beam"\n', r"\[loop\].eval_strategy: one of"),
    ],
)
def test_invalid_configs_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_cli_reports_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(_write(tmp_path, '[prm]\nloss = "x"\n'))]) == 2
    assert "config error" in capsys.readouterr().err
    assert main(["report", "--config", str(tmp_path / "missing.toml")]) == 2


def test_stage_records_marks_done_and_skips_when_rerun(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, f'run_dir = "{tmp_path / "run"}"\n[model]\nbase = "m"\n'))
    from o1coder_train.run import RunDir

    rd = RunDir(cfg)
    rd.metrics("loop").log({"round": 0, "pass_at_1": 0.25, "tcg_pass_rate": 0.5, "prm_accuracy": 0.1}, step=0)
    rd.metrics("loop").log({"round": 1, "pass_at_1": 0.5, "tcg_pass_rate": 0.6, "prm_accuracy": 0.2}, step=1)
    rd.metrics("prm").log({"loss": 0.3}, step=1)
    result = run_stage(cfg, "report")
    assert (rd.path / "report" / "loop.png").read_bytes()[:4] == b"\x89PNG"
    assert (rd.path / "report" / "training.png").exists() and result["metric_rows"] == 3
    [record] = rd.records()
    assert record["stage"] == "report" and record["status"] == "ok"
    assert record["prompt_version"] and record["versions"]["torch"] and record["seeds"]["seed"] == 0
    assert record["config"]["model"]["base"] == "m"
    summary = json.loads((rd.path / "report" / "summary.json").read_text())
    assert summary["loop-round1"]["pass_at_1"] == 0.5

    rd.mark_done("tcg-sft", {"tcg_pass_rate": 0.4})
    assert run_stage(cfg, "tcg-sft")["tcg_pass_rate"] == 0.4  # done: skipped, nothing ran
    assert len(rd.records()) == 1


def test_failed_stage_is_recorded_and_not_marked_done(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, f'run_dir = "{tmp_path / "run"}"\n[model]\nbase = "{tmp_path}"\n'))
    with pytest.raises(StageError, match="config.json"):
        run_stage(cfg, "tcg-sft")
    from o1coder_train.run import RunDir

    rd = RunDir(cfg)
    assert rd.records()[-1]["status"] == "failed" and not rd.is_done("tcg-sft")
