"""Training manifests and models added from them (FAKE GGUF files: see model_fakes)."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from model_fakes import fake_gguf, touch_keep_mtime

from o1coder.models.errors import ModelCorruptError, ModelError, ModelNotFoundError, UnknownModelError
from o1coder.models.manifest import FORMAT, ManifestError, guess_quant, load_manifest, write_manifest
from o1coder.models.registry import add_manifest, load_registry, registry_path, remove
from o1coder.models.resolve import resolve, roles_for


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """A FAKE training export: three small 'GGUF' files."""
    out = tmp_path / "export"
    fake_gguf(out / "policy-q4_k_m.gguf", 5000, "policy")
    fake_gguf(out / "prm-q8_0.gguf", 3000, "prm")
    fake_gguf(out / "sub" / "tcg-Q4_K_M.gguf", 2000, "tcg")
    return out


def _write(export_dir: Path, roles: dict[str, str] | None = None) -> Path:
    path = export_dir / "manifest.json"
    write_manifest(
        path,
        name="my-run",
        roles=roles or {"policy": "policy-q4_k_m.gguf", "prm": "prm-q8_0.gguf", "tcg": "sub/tcg-Q4_K_M.gguf"},
        prompt_version="v3",
        created="2025-01-31T12:00:00+00:00",
    )
    return path


def test_write_then_load_round_trip(export_dir: Path) -> None:
    path = _write(export_dir)
    raw = json.loads(path.read_text())
    assert raw["format"] == FORMAT
    assert raw["roles"] == {
        "policy": "policy-q4_k_m.gguf",
        "prm": "prm-q8_0.gguf",
        "tcg": "sub/tcg-Q4_K_M.gguf",
    }
    policy = export_dir / "policy-q4_k_m.gguf"
    assert raw["files"]["policy-q4_k_m.gguf"] == {
        "sha256": hashlib.sha256(policy.read_bytes()).hexdigest(),
        "size": 5000,
        "quant": "Q4_K_M",
    }
    manifest = load_manifest(path)
    assert manifest.name == "my-run" and manifest.prompt_version == "v3"
    assert manifest.role_path("tcg") == (export_dir / "sub" / "tcg-Q4_K_M.gguf").resolve()
    assert manifest.role_file("prm").quant == "Q8_0"
    assert manifest.to_dict() == raw


def test_write_accepts_absolute_paths_inside_the_directory_and_shared_files(export_dir: Path) -> None:
    policy = str(export_dir / "policy-q4_k_m.gguf")
    path = _write(export_dir, {"policy": policy, "prm": policy})
    manifest = load_manifest(path)
    assert manifest.roles == {"policy": "policy-q4_k_m.gguf", "prm": "policy-q4_k_m.gguf"}
    assert list(manifest.files) == ["policy-q4_k_m.gguf"]


def test_write_rejects_files_outside_the_directory_and_non_gguf(export_dir: Path, tmp_path: Path) -> None:
    outside = fake_gguf(tmp_path / "elsewhere.gguf")
    with pytest.raises(ManifestError) as info:
        _write(export_dir, {"policy": str(outside)})
    assert info.value.field == "roles.policy" and "must be inside" in str(info.value)
    (export_dir / "readme.gguf").write_text("text")
    with pytest.raises(ManifestError) as bad:
        _write(export_dir, {"policy": "readme.gguf"})
    assert "not a GGUF file" in str(bad.value)
    with pytest.raises(ManifestError) as missing:
        _write(export_dir, {"policy": "nope.gguf"})
    assert "does not exist" in str(missing.value)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.update(format="o1coder-manifest/0"), "format"),
        (lambda m: m.update(name="my:run"), "name"),
        (lambda m: m.pop("prompt_version"), "prompt_version"),
        (lambda m: m.update(created="yesterday"), "created"),
        (lambda m: m["roles"].pop("policy"), "roles.policy"),
        (lambda m: m["roles"].update(critic="prm-q8_0.gguf"), "roles.critic"),
        (lambda m: m["roles"].update(prm="other.gguf"), "roles.prm"),
        (lambda m: m["files"]["prm-q8_0.gguf"].update(sha256="ABC"), "files['prm-q8_0.gguf'].sha256"),
        (lambda m: m["files"]["prm-q8_0.gguf"].update(size=-1), "files['prm-q8_0.gguf'].size"),
        (lambda m: m["files"]["prm-q8_0.gguf"].update(quant=8), "files['prm-q8_0.gguf'].quant"),
        (lambda m: m["files"].update({"/abs.gguf": m["files"]["prm-q8_0.gguf"]}), "files['/abs.gguf']"),
        (lambda m: m.update(files={}), "files"),
    ],
)
def test_validation_names_the_field(
    export_dir: Path, mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    path = _write(export_dir)
    data = copy.deepcopy(json.loads(path.read_text()))
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert info.value.field == field
    assert f"field {field}:" in str(info.value)


def test_unreadable_manifests(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(broken)


def test_extra_keys_are_kept(export_dir: Path) -> None:
    path = _write(export_dir)
    data = json.loads(path.read_text())
    data["training"] = {"steps": 10}
    path.write_text(json.dumps(data))
    assert load_manifest(path).extra == {"training": {"steps": 10}}


@pytest.mark.parametrize(
    ("filename", "quant"),
    [("policy-q4_k_m.gguf", "Q4_K_M"), ("prm-Q8_0.gguf", "Q8_0"), ("x.f16.gguf", "F16"), ("model.gguf", "")],
)
def test_guess_quant(filename: str, quant: str) -> None:
    assert guess_quant(filename) == quant


def test_add_resolve_roles_remove(export_dir: Path, data_dir: Path) -> None:
    entry = add_manifest(_write(export_dir))
    assert entry.name == "my-run"
    assert resolve("my-run") == (export_dir / "policy-q4_k_m.gguf").resolve()
    assert resolve("my-run:prm") == (export_dir / "prm-q8_0.gguf").resolve()
    assert resolve("my-run:tcg") == (export_dir / "sub" / "tcg-Q4_K_M.gguf").resolve()
    assert roles_for("my-run") == {
        "policy": (export_dir / "policy-q4_k_m.gguf").resolve(),
        "prm": (export_dir / "prm-q8_0.gguf").resolve(),
        "tcg": (export_dir / "sub" / "tcg-Q4_K_M.gguf").resolve(),
    }
    registry = json.loads(registry_path().read_text())
    assert registry["models"]["my-run"]["roles"]["prm"]["size"] == 3000
    assert remove("my-run").name == "my-run"
    with pytest.raises(UnknownModelError):
        resolve("my-run")
    assert (export_dir / "policy-q4_k_m.gguf").exists()  # files are left alone


def test_add_under_another_name_and_missing_role(export_dir: Path, data_dir: Path) -> None:
    add_manifest(_write(export_dir, {"policy": "policy-q4_k_m.gguf"}), name="policy-only")
    assert resolve("policy-only").name == "policy-q4_k_m.gguf"
    with pytest.raises(ModelNotFoundError) as info:
        resolve("policy-only:prm")
    assert "has no prm model" in info.value.message and "o1coder.models.prm" in info.value.message


def test_add_rejects_catalog_names_and_bad_names(export_dir: Path, data_dir: Path) -> None:
    path = _write(export_dir)
    with pytest.raises(ModelError, match="is a catalog model name"):
        add_manifest(path, name="qwen2.5-coder-0.5b")
    with pytest.raises(ModelError, match="must match"):
        add_manifest(path, name="a/b")


def test_add_verifies_every_file(export_dir: Path, data_dir: Path) -> None:
    path = _write(export_dir)
    touch_keep_mtime(export_dir / "prm-q8_0.gguf", lambda data: data.__setitem__(-10, data[-10] ^ 1))
    with pytest.raises(ModelCorruptError) as info:
        add_manifest(path)
    assert "prm-q8_0.gguf does not match" in info.value.message and "sha256" in info.value.message
    (export_dir / "prm-q8_0.gguf").unlink()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        add_manifest(path)
    assert not registry_path().exists()


def test_add_rejects_a_non_gguf_file_listed_with_its_true_hash(export_dir: Path, data_dir: Path) -> None:
    path = _write(export_dir)
    data = json.loads(path.read_text())
    text = export_dir / "notes.gguf"
    text.write_bytes(b"just some notes")
    data["files"]["notes.gguf"] = {"sha256": hashlib.sha256(text.read_bytes()).hexdigest(), "size": 15}
    path.write_text(json.dumps(data))
    with pytest.raises(ModelCorruptError, match="is not a GGUF file"):
        add_manifest(path)


def test_changed_file_after_add_tells_to_readd(export_dir: Path, data_dir: Path) -> None:
    path = _write(export_dir)
    add_manifest(path)
    fake_gguf(export_dir / "prm-q8_0.gguf", 3000, "retrained")
    with pytest.raises(ModelCorruptError) as info:
        resolve("my-run:prm")
    assert f"`o1coder models add --manifest {path.resolve()} --name my-run`" in info.value.message
    (export_dir / "prm-q8_0.gguf").unlink()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve("my-run:prm")


def test_malformed_registry_says_how_to_recover(data_dir: Path) -> None:
    registry_path().parent.mkdir(parents=True)
    registry_path().write_text("{not json")
    with pytest.raises(ModelError, match="delete it and re-add"):
        load_registry()
