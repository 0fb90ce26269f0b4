"""Export pieces: LoRA adapters merged before conversion; manifest names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from o1coder_train.config import from_dict
from o1coder_train.export import manifest_name, merged_dir
from o1coder_train.run import RunDir


@pytest.mark.model  # the tiny model's tokenizer comes from the default GGUF
def test_adapter_directories_are_merged_before_conversion(tmp_path: Path, tiny_model_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    peft = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
    )
    adapter = tmp_path / "adapter"
    peft.save_pretrained(adapter)
    assert (adapter / "adapter_config.json").exists() and not (adapter / "config.json").exists()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        expected = peft(ids).logits

    out = merged_dir(adapter, tmp_path / "work")
    assert out != adapter and (out / "config.json").exists() and (out / "tokenizer.json").exists()
    with torch.no_grad():
        got = AutoModelForCausalLM.from_pretrained(str(out))(ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    assert merged_dir(tiny_model_dir, tmp_path / "work") == tiny_model_dir  # plain models pass through


def test_manifest_name_is_sanitised(tmp_path: Path) -> None:
    cfg = from_dict({"run_dir": str(tmp_path / "my run:2"), "model": {"base": "m"}})
    assert manifest_name(cfg, RunDir(cfg)) == "my-run-2"
