"""FAKE models for the model store tests: made-up bytes, never loadable, named as fakes."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from o1coder.models.catalog import CatalogModel

FAKE_CHUNK_SIZES = (70_001, 65_536, 123_457)  # not block-aligned, so block edges get exercised


@dataclass
class FakeModel:
    model: CatalogModel
    chunks: list[Path]  # the chunk data files, in order
    content: bytes  # their concatenation: the correct (FAKE but well-formed) GGUF


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def make_fake_model(root: Path, sizes: tuple[int, ...] = FAKE_CHUNK_SIZES) -> FakeModel:
    """A FAKE catalog entry `fake-tiny` whose chunk packages are real packages under `root`.

    Put `root` on sys.path so the import system finds them like installed PyPI chunk wheels.
    """
    base = f"o1fake_{uuid.uuid4().hex[:10]}"
    content = fake_gguf_bytes(sum(sizes), base)  # a well-formed FAKE GGUF, cut into the chunks
    chunks = []
    start = 0
    for n, size in enumerate(sizes, start=1):
        package = root / f"{base}_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text('"""FAKE chunk package for tests."""\n')
        chunk = package / "data" / f"part{n:02d}.bin"
        chunk.write_bytes(content[start : start + size])
        chunks.append(chunk)
        start += size
    model = CatalogModel(
        name="fake-tiny",
        title="FAKE test model (random bytes, not a model)",
        filename="fake-tiny.gguf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        chunk_packages=tuple(f"{base.replace('_', '-')}-part{n}==0.0.1" for n in range(1, len(sizes) + 1)),
        chunk_paths=tuple(f"{base}_part{n}/data/part{n:02d}.bin" for n in range(1, len(sizes) + 1)),
        hub_repo="nobody/fake",
        hub_file="fake-tiny.gguf",
        license="none",
        notes="FAKE, for tests",
    )
    return FakeModel(model, chunks, content)


def fake_gguf(path: Path, size: int = 4096, seed: str = "") -> Path:
    """A FAKE GGUF file of exactly `size` bytes: a well-formed header (architecture "fake")
    and one I8 tensor of deterministic filler. Structurally valid, not loadable as a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fake_gguf_bytes(size, seed or path.name))
    return path


def fake_gguf_bytes(size: int, seed: str) -> bytes:
    """The bytes of a FAKE, structurally valid GGUF of exactly `size` bytes (see `fake_gguf`)."""
    metadata = [("general.architecture", 8, "fake"), ("general.name", 8, f"FAKE {seed}")]
    header = len(gguf_bytes(metadata, [("filler", (0,), 24, b"")]))
    n = size - (-(-header // 32) * 32)
    if n < 0:
        raise ValueError(f"a fake GGUF needs at least {header} bytes")
    stream = hashlib.sha256(seed.encode())
    filler = bytearray()
    while len(filler) < n:
        stream.update(b"x")
        filler += stream.digest()
    data = gguf_bytes(metadata, [("filler", (n,), 24, bytes(filler[:n]))])
    assert len(data) == size
    return data


# ---------------------------------------------------------------- a minimal GGUF writer

_SCALAR_FORMATS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<B",
    10: "<Q",
    11: "<q",
    12: "<d",
}


def gguf_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(vtype: int, value: Any) -> bytes:
    """One metadata value: scalars by type id, 8 = string, 9 = array given as (item_type, [items])."""
    if vtype == 8:
        return gguf_string(value)
    if vtype == 9:
        item_type, items = value
        return struct.pack("<IQ", item_type, len(items)) + b"".join(gguf_value(item_type, v) for v in items)
    return struct.pack(_SCALAR_FORMATS[vtype], value)


def gguf_bytes(
    metadata: list[tuple[str, int, Any]],
    tensors: list[tuple[str, tuple[int, ...], int, bytes]],
    *,
    version: int = 3,
    alignment: int = 32,
) -> bytes:
    """A GGUF (little-endian): metadata as (key, value type id, value), tensors as
    (name, dims, ggml type id, data). Data is laid out in order, each at an aligned offset;
    pass ("general.alignment", 4, N) in `metadata` to change the alignment (then also `alignment`)."""
    out = bytearray(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata)))
    for key, vtype, value in metadata:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    blobs = bytearray()
    for name, dims, ggml_type, data in tensors:
        blobs += b"\0" * (-len(blobs) % alignment)  # each tensor's data starts aligned
        out += gguf_string(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, len(blobs))
        blobs += data
    if tensors:
        out += b"\0" * (-len(out) % alignment)
    return bytes(out + blobs)


def touch_keep_mtime(path: Path, mutate: Callable[[bytearray], None]) -> None:
    """Change a file's bytes in place but restore its mtime (what a silent disk error looks like)."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    mutate(data)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def build_chunk_wheels(fake: FakeModel, out_dir: Path) -> list[str]:
    """Real (tiny) wheels of the FAKE chunk packages, so pip can install them offline.

    Returns the distribution names.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for requirement, chunk in zip(fake.model.chunk_packages, fake.chunks, strict=True):
        dist, _, version = requirement.partition("==")
        package_dir = chunk.parent.parent
        stem = f"{dist.replace('-', '_')}-{version}"
        files = {
            f"{package_dir.name}/__init__.py": (package_dir / "__init__.py").read_bytes(),
            f"{package_dir.name}/data/{chunk.name}": chunk.read_bytes(),
            f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
            f"{stem}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: o1coder-tests\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        }
        record = [f"{name},sha256={_record_hash(data)},{len(data)}" for name, data in files.items()]
        files[f"{stem}.dist-info/RECORD"] = (
            "\n".join([*record, f"{stem}.dist-info/RECORD,,"]) + "\n"
        ).encode()
        with zipfile.ZipFile(out_dir / f"{stem}-py3-none-any.whl", "w") as wheel:
            for name, data in files.items():
                wheel.writestr(name, data)
        names.append(dist)
    return names


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
