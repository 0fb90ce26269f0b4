"""FAKE models for the model store tests: made-up bytes, never loadable, named as fakes."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from o1coder.models import store
from o1coder.models.catalog import CatalogModel

FAKE_CHUNK_SIZES = (70_001, 65_536, 123_457)  # not block-aligned, so block edges get exercised


@dataclass
class FakeModel:
    model: CatalogModel
    chunks: list[Path]  # the chunk data files, in order
    content: bytes  # their concatenation: the correct "GGUF"


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
    rng = hashlib.sha256(base.encode())
    content = b""
    chunks = []
    for n, size in enumerate(sizes, start=1):
        package = root / f"{base}_part{n}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text('"""FAKE chunk package for tests."""\n')
        data = bytearray()
        while len(data) < size:
            rng.update(b"x")
            data += rng.digest()
        chunk_bytes = bytes(data[:size])
        if n == 1:
            chunk_bytes = store.GGUF_MAGIC + chunk_bytes[4:]
        chunk = package / "data" / f"part{n:02d}.bin"
        chunk.write_bytes(chunk_bytes)
        chunks.append(chunk)
        content += chunk_bytes
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
    """A FAKE 'GGUF' file: the magic then deterministic filler (not loadable by llama.cpp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    filler = hashlib.sha256((seed or path.name).encode()).digest()
    path.write_bytes((store.GGUF_MAGIC + filler * (size // len(filler) + 1))[:size])
    return path


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
