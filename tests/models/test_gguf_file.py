"""The GGUF header check (`o1coder.models.gguf_file`) and `o1coder models verify` using it.

Files are built by the small writer in model_fakes (FAKE tensors of filler bytes); one test
reads the real default model's header.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from model_fakes import CliResult, FakeModel, fake_gguf, gguf_bytes, gguf_string, touch_keep_mtime

import o1coder
from o1coder.models import gguf_file
from o1coder.models.errors import ModelCorruptError
from o1coder.models.files import sidecar_path
from o1coder.models.gguf_file import GGUFError, read_gguf
from o1coder.models.install import install
from o1coder.models.manifest import write_manifest
from o1coder.models.registry import add_manifest

Cli = Callable[..., CliResult]

F32, Q4_K, Q8_0, I8 = 0, 12, 8, 24
METADATA: list[tuple[str, int, Any]] = [
    ("general.architecture", 8, "fakearch"),
    ("general.alignment", 4, 64),
    ("fake.u8", 0, 200),
    ("fake.i8", 1, -5),
    ("fake.u16", 2, 60000),
    ("fake.i16", 3, -300),
    ("fake.i32", 5, -70000),
    ("fake.f32", 6, 0.5),
    ("fake.bool", 7, 1),
    ("fake.u64", 10, 1 << 40),
    ("fake.i64", 11, -(1 << 40)),
    ("fake.f64", 12, 0.25),
    ("fake.tokens", 9, (8, ["<s>", "héllo", ""])),
    ("fake.scores", 9, (6, [0.0, -1.5, 2.0])),
    ("fake.nested", 9, (9, [(4, [1, 2]), (8, ["x"])])),
]
TENSORS: list[tuple[str, tuple[int, ...], int, bytes]] = [
    ("token_embd.weight", (256, 2), Q4_K, b"\1" * 288),  # 2 blocks of 144 bytes
    ("blk.0.attn_norm.weight", (8,), F32, b"\2" * 32),
    ("blk.0.ffn_down.weight", (64, 3), Q8_0, b"\3" * 204),  # 6 blocks of 34 bytes
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _valid(tmp_path: Path, name: str = "ok.gguf") -> Path:
    return _write(tmp_path / name, gguf_bytes(METADATA, TENSORS, alignment=64))


def _error(path: Path) -> str:
    with pytest.raises(GGUFError) as info:
        read_gguf(path)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- the parser


def test_reads_every_value_type_and_tensor(tmp_path: Path) -> None:
    path = _valid(tmp_path)
    summary = read_gguf(path)
    assert (summary.version, summary.tensor_count, summary.kv_count) == (3, 3, len(METADATA))
    assert summary.architecture == "fakearch" and summary.alignment == 64
    assert summary.data_start % 64 == 0 and summary.data_end == summary.file_size == path.stat().st_size
    meta = summary.metadata
    assert (meta["fake.u8"], meta["fake.i8"], meta["fake.u16"], meta["fake.i16"]) == (200, -5, 60000, -300)
    assert (meta["fake.i32"], meta["fake.u64"], meta["fake.i64"]) == (-70000, 1 << 40, -(1 << 40))
    assert (meta["fake.f32"], meta["fake.f64"], meta["fake.bool"]) == (0.5, 0.25, True)
    assert "fake.tokens" not in meta  # arrays are walked, not kept
    tensors = {t.name: t for t in summary.tensors}
    assert tensors["token_embd.weight"].ggml_type == "Q4_K" and tensors["token_embd.weight"].nbytes == 288
    assert tensors["blk.0.attn_norm.weight"].nbytes == 32 and tensors["blk.0.attn_norm.weight"].offset == 320
    assert tensors["blk.0.ffn_down.weight"].dims == (64, 3) and tensors["blk.0.ffn_down.weight"].nbytes == 204
    assert summary.describe() == "GGUF v3, fakearch, 3 tensors, 15 metadata keys"


def test_version_2_and_no_tensors(tmp_path: Path) -> None:
    summary = read_gguf(_write(tmp_path / "v2.gguf", gguf_bytes(METADATA[:1], [], version=2)))
    assert summary.version == 2 and summary.tensor_count == 0 and summary.alignment == 32


def test_fake_gguf_helper_is_well_formed(tmp_path: Path) -> None:
    summary = read_gguf(fake_gguf(tmp_path / "f.gguf", 3000, "seed"))
    assert summary.file_size == summary.data_end == 3000 and summary.architecture == "fake"


def test_reads_only_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 MiB tensor behind a small header: only the first window of bytes is read."""
    big = 64 << 20
    header = gguf_bytes(METADATA[:1], [("big", (big,), I8, b"")])
    path = tmp_path / "big.gguf"
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + big)  # sparse where the filesystem allows
    read: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, handle: Any):
            self.handle = handle

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def read(self, n: int = -1) -> bytes:
            data = self.handle.read(n)
            read.append(len(data))
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self.handle, name)

    monkeypatch.setattr(gguf_file, "open", lambda *a, **k: Counting(real_open(*a, **k)), raising=False)
    assert read_gguf(path).data_end == len(header) + big
    assert sum(read) <= gguf_file.READ_CHUNK + 4


def test_truncated_data_names_the_tensor(tmp_path: Path) -> None:
    data = gguf_bytes(METADATA, TENSORS, alignment=64)
    message = _error(_write(tmp_path / "cut.gguf", data[:-100]))
    assert message == (
        f"truncated: tensor blk.0.ffn_down.weight ends at byte {len(data):,} "
        f"but the file has {len(data) - 100:,} bytes"
    )
    message = _error(_write(tmp_path / "cut2.gguf", data[: read_gguf(_valid(tmp_path)).data_start + 10]))
    assert message.startswith("truncated: tensor token_embd.weight ends at byte ")
    assert message.endswith("(and 2 more of the 3 tensors)")


def test_truncated_header(tmp_path: Path) -> None:
    data = gguf_bytes(METADATA, TENSORS, alignment=64)
    cut = data.index(b"blk.0.ffn_down.weight") + 5
    message = _error(_write(tmp_path / "cut.gguf", data[:cut]))
    assert message.startswith(f"truncated: the file ends at byte {cut:,} inside the name of tensor #2 ")
    message = _error(_write(tmp_path / "cut2.gguf", data[:200]))
    assert message.startswith("truncated or damaged: the metadata key count at byte 16 claims 15 items")
    assert _error(_write(tmp_path / "tiny.gguf", b"GGUF\3\0")).startswith(
        "truncated: the file ends at byte 6 inside the version"
    )


def counted_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the parser's steps (bounds-checked reads and skips): one slot per `read_gguf` call."""
    steps: list[int] = []
    window, skip = gguf_file._Parser._window, gguf_file._Parser.skip
    parse = gguf_file._Parser.parse

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        def step(self: Any, *args: Any) -> Any:
            steps[-1] += 1
            return method(self, *args)

        return step

    def parse_counted(self: Any) -> Any:
        steps.append(0)
        return parse(self)

    monkeypatch.setattr(gguf_file._Parser, "_window", counting(window))
    monkeypatch.setattr(gguf_file._Parser, "skip", counting(skip))
    monkeypatch.setattr(gguf_file._Parser, "parse", parse_counted)
    return steps


def test_random_bytes_behind_the_magic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the bytes claim, the parser's work is bounded by the file, not by a clock: its
    steps advance through the file (the densest record, a key/value pair with an empty key and
    a uint8 value, takes 4 steps for 13 bytes), so a file of `size` bytes takes under size / 3 + 2."""
    steps = counted_steps(monkeypatch)
    rng = random.Random(13)
    for n in range(40):
        body = rng.randbytes(rng.choice([100, 10_000, 1 << 20]))
        if n % 2:  # a plausible version so the parser goes further
            body = struct.pack("<I", 3) + body[4:]
        _error(_write(tmp_path / f"r{n}.gguf", b"GGUF" + body))
        assert steps[-1] <= (4 + len(body)) // 3 + 2
    assert _error(_write(tmp_path / "elf.gguf", b"\x7fELF" + bytes(100))).startswith("not a GGUF file")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (struct.pack("<IQQ", 3, 1 << 60, 0), "the tensor count at byte 8 claims 1,152,921,504,606,846,976"),
        (struct.pack("<IQQ", 3, 0, 1 << 40), "the metadata key count at byte 16 claims"),
        (
            struct.pack("<IQQ", 3, 0, 1) + gguf_string("k") + struct.pack("<IQ", 8, 1 << 62),
            "the value of metadata key 'k' at byte 37 claims a length of 4,611,686,018,427,387,904",
        ),
        (
            struct.pack("<IQQ", 3, 0, 1) + gguf_string("k") + struct.pack("<IIQ", 9, 8, 1 << 50),
            "array 'k' at byte 37 claims 1,125,899,906,842,624 items",
        ),
        (
            struct.pack("<IQQ", 3, 0, 1) + gguf_string("k") + struct.pack("<IIQ", 9, 4, 1 << 61),
            "array 'k' at byte 37 claims",
        ),
        (
            struct.pack("<IQQ", 3, 0, 1) + gguf_string("k") + struct.pack("<IIQQ", 9, 8, 3, 1 << 40),
            "string #0 of array 'k' at byte 49 claims a length of 1,099,511,627,776",
        ),
        (struct.pack("<IQQQ", 3, 0, 1, 1 << 63), "metadata key #0 at byte 24 claims a length"),
    ],
)
def test_huge_claims_fail_without_allocating(tmp_path: Path, body: bytes, expected: str) -> None:
    path = _write(tmp_path / "huge.gguf", b"GGUF" + body + bytes(4096))
    tracemalloc.start()
    try:
        message = _error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert expected in message
    assert peak < 8 << 20


def test_versions(tmp_path: Path) -> None:
    def with_version(version: int) -> Path:
        return _write(tmp_path / f"v{version}.gguf", gguf_bytes(METADATA[:1], [], version=version))

    assert _error(with_version(4)) == "unsupported GGUF version 4 at byte 4 (expected 2 or 3)"
    assert "GGUF v1 is no longer supported" in _error(with_version(1))
    assert "big-endian" in _error(with_version(0x03000000))


def test_tensor_problems(tmp_path: Path) -> None:
    def message(tensors: list[tuple[str, tuple[int, ...], int, bytes]], metadata: list | None = None) -> str:
        return _error(_write(tmp_path / "t.gguf", gguf_bytes(metadata or METADATA[:1], tensors)))

    assert "tensor odd at byte 72 has unknown ggml type 77" in message([("odd", (4,), 77, b"\0" * 4)])
    assert "has 5 dimensions (at most 4)" in message([("t", (1, 1, 1, 1, 1), F32, b"\0" * 4)])
    assert "rows of 100 elements, not a multiple of the Q4_K block size 256" in message(
        [("t", (100,), Q4_K, b"\0" * 144)]
    )
    assert "duplicate tensor name 'a'" in message([("a", (1,), F32, b"\0" * 4), ("a", (1,), F32, b"\0" * 4)])
    assert "llama.cpp allows 63" in message([("x" * 64, (1,), F32, b"\0" * 4)])
    assert "general.alignment at byte 24 must be a uint32 power of two" in message(
        [], [("general.alignment", 4, 48)]
    )


def _patch_offset(data: bytes, name: str, offset: int) -> bytes:
    """Rewrite tensor `name`'s data offset (the u64 after its type) in a built file."""
    at = data.index(gguf_string(name)) + 8 + len(name)
    n_dims = struct.unpack_from("<I", data, at)[0]
    at += 4 + 8 * n_dims + 4
    return data[:at] + struct.pack("<Q", offset) + data[at + 8 :]


def test_misaligned_and_overlapping_tensors(tmp_path: Path) -> None:
    data = gguf_bytes(METADATA[:1], [("a", (16,), F32, b"\0" * 64), ("b", (16,), F32, b"\0" * 64)])
    assert "tensor b at byte" in _error(_write(tmp_path / "m.gguf", _patch_offset(data, "b", 40)))
    assert "not a multiple of the alignment 32" in _error(tmp_path / "m.gguf")
    message = _error(_write(tmp_path / "o.gguf", _patch_offset(data, "b", 32)))
    assert message.startswith("tensor b (data at byte ") and "overlaps tensor a" in message


def test_metadata_problems(tmp_path: Path) -> None:
    def message(metadata: list[tuple[str, int, Any]]) -> str:
        return _error(_write(tmp_path / "k.gguf", gguf_bytes(metadata, [])))

    assert "duplicate metadata key 'a'" in message([("a", 4, 1), ("a", 4, 2)])
    assert "is a bool of value 2, not 0 or 1" in message([("b", 7, 2)])
    body = struct.pack("<IQQ", 3, 0, 1) + gguf_string("k") + struct.pack("<I", 13) + bytes(16)
    assert "metadata key 'k' has unknown value type 13 at byte 33" in _error(
        _write(tmp_path / "u.gguf", b"GGUF" + body)
    )
    deep: Any = (4, [1])
    for _ in range(5):
        deep = (9, [deep])
    assert "nests arrays deeper than 4" in message([("deep", 9, deep)])


@pytest.mark.model
def test_real_default_model_header(default_model_path: Path) -> None:
    start = time.perf_counter()
    summary = read_gguf(default_model_path)
    seconds = time.perf_counter() - start
    assert summary.architecture == "qwen2" and summary.version == 3
    assert summary.tensor_count > 0 and len(summary.tensors) == summary.tensor_count
    assert summary.data_end <= summary.file_size == default_model_path.stat().st_size
    print(f"{summary.describe()}: header read in {seconds * 1000:.0f} ms")


# ---------------------------------------------------------------- `o1coder models verify`


def test_verify_path_valid(data_dir: Path, cli: Cli, tmp_path: Path) -> None:
    path = fake_gguf(tmp_path / "mine.gguf")
    result = cli("verify", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith(
        f"{path}: a well-formed GGUF file (no sha256 to compare) [GGUF v3, fake, 1 tensor"
    )
    row = json.loads(cli("verify", str(path), "--json").out)[0]
    assert row["status"] == "present" and row["gguf"] == "GGUF v3, fake, 1 tensor, 2 metadata keys"


def test_verify_path_truncated_or_random(data_dir: Path, cli: Cli, tmp_path: Path) -> None:
    path = fake_gguf(tmp_path / "cut.gguf", 4096)
    with open(path, "r+b") as handle:
        handle.truncate(3000)
    result = cli("verify", str(path))
    assert result.code == 1 and result.out == ""
    assert result.err == (
        f"error: {path} is not a usable GGUF file: truncated: tensor filler ends at byte 4,096 "
        "but the file has 3,000 bytes; re-download or re-export the model\n"
    )
    noise = _write(tmp_path / "noise.gguf", b"GGUF" + random.Random(1).randbytes(5000))
    result = cli("verify", str(noise), "--json")
    assert result.code == 1 and json.loads(result.out)[0]["status"] == "corrupt"
    assert f"{noise} is not a usable GGUF file: unsupported GGUF version" in result.err


def test_verify_catalog_model_checks_the_header_even_with_quick(fake_model: FakeModel, cli: Cli) -> None:
    path = install("fake-tiny", pip=False)
    ok = cli("verify", "fake-tiny", "--quick")
    assert ok.code == 0 and "verified (sidecar, unchanged) [GGUF v3, fake, 1 tensor" in ok.out
    # Damage the tensor count but keep size and mtime: the sidecar still "matches".
    touch_keep_mtime(path, lambda data: data.__setitem__(15, 0x40))
    result = cli("verify", "fake-tiny", "--quick")
    assert result.code == 1
    assert "error: fake-tiny is corrupt (the tensor count at byte 8 claims" in result.err
    assert result.err.strip().endswith("run `o1coder models install fake-tiny --force`")
    assert not sidecar_path(path).exists()


def test_verify_added_model_checks_each_file(data_dir: Path, cli: Cli, tmp_path: Path) -> None:
    export = tmp_path / "export"
    fake_gguf(export / "policy.gguf", 4000, "p")
    prm = fake_gguf(export / "prm.gguf", 3000, "r")
    manifest = export / "manifest.json"
    write_manifest(
        manifest, name="run1", roles={"policy": "policy.gguf", "prm": "prm.gguf"}, prompt_version="v1"
    )
    assert cli("add", "--manifest", str(manifest)).code == 0
    ok = cli("verify", "run1")
    assert ok.code == 0 and "policy: GGUF v3, fake, 1 tensor, 2 metadata keys; prm: GGUF v3" in ok.out
    touch_keep_mtime(prm, lambda data: data.__setitem__(4, 9))  # version 9
    result = cli("verify", "run1", "--quick")
    assert result.code == 1
    assert f"prm file {prm.resolve()}: corrupt unsupported GGUF version 9 at byte 4" in result.err


def test_add_rejects_a_malformed_gguf(data_dir: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    policy = fake_gguf(export / "policy.gguf", 4000, "p")
    policy.write_bytes(policy.read_bytes()[:3000])  # truncated before the manifest was written
    manifest = export / "manifest.json"
    write_manifest(manifest, name="run1", roles={"policy": "policy.gguf"}, prompt_version="v1")
    with pytest.raises(ModelCorruptError) as info:
        add_manifest(manifest)
    assert (
        "policy.gguf is not a usable GGUF file: truncated: tensor filler ends at byte 4,000 but the file has 3,000 bytes"
        in (info.value.message)
    )


def test_verify_subprocess_exit_codes(tmp_path: Path) -> None:
    """The real entry point: `python -m o1coder models verify PATH`."""
    good = fake_gguf(tmp_path / "good.gguf")
    bad = _write(tmp_path / "bad.gguf", good.read_bytes()[:2000])
    env = {
        **os.environ,
        "O1CODER_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(o1coder.__file__).parent.parent),
    }

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "o1coder", "models", "verify", str(path)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )

    assert run(good).returncode == 0
    result = run(bad)
    assert result.returncode == 1
    assert "truncated: tensor filler ends at byte 4,096 but the file has 2,000 bytes" in result.stderr
