"""Check a GGUF file's structure from its header alone (standard library only).

`read_gguf(path)` parses what llama.cpp parses before it maps the weights: the magic, the
version (2 or 3, little-endian), every metadata key/value (all 13 value types, arrays
included), `general.alignment`, and every tensor info (name, dims, ggml type, offset). It then
checks that each tensor's data lies inside the file, so a truncated download, a damaged header
or random bytes behind the magic are caught in milliseconds, without hashing or loading the
model. Only the header is read (a few MB for a model with a 150k-token vocabulary); the tensor
data is never touched, so flipped bits inside the weights are left to the sha256 check.

Every count and length the file claims is checked against the bytes that are left (and a
hard cap) before it is used, so hostile input cannot make this allocate gigabytes or loop for
long. Problems raise `GGUFError` with one line that says what is wrong and at which byte.

Layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md, versions 2 and 3):

    "GGUF" | u32 version | u64 tensor_count | u64 kv_count
    kv_count x  (string key, u32 value_type, value)
    tensor_count x  (string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset)
    padding to `general.alignment` (default 32), then the tensor data; each tensor's data is
    at data_start + offset, a multiple of the alignment.
    string = u64 length + UTF-8 bytes; array = u32 element type + u64 count + elements.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NAME_BYTES = 63  # GGML_MAX_NAME is 64, including the terminating NUL

# Caps on what a header may claim, far above any real model (Qwen2.5: 290 tensors, 26 keys,
# 151,936-token vocabulary); each is also checked against the bytes left in the file.
MAX_TENSORS = 1 << 20
MAX_KVS = 1 << 20
MAX_KEY_BYTES = 1 << 16  # the spec limits keys to 2^16 - 1 bytes
MAX_STRING_BYTES = 64 << 20  # one metadata string (chat templates are a few KB)
MAX_ARRAY_ITEMS = 1 << 26  # fixed-size elements: skipped in one step
MAX_WALKED_ITEMS = 1 << 23  # strings and nested arrays walked one by one, in the whole header
MAX_ARRAY_DEPTH = 4
READ_CHUNK = 1 << 20

# Metadata value types: id -> (name, struct format of a scalar); strings and arrays have none.
VALUE_TYPES: dict[int, tuple[str, str]] = {
    0: ("uint8", "<B"),
    1: ("int8", "<b"),
    2: ("uint16", "<H"),
    3: ("int16", "<h"),
    4: ("uint32", "<I"),
    5: ("int32", "<i"),
    6: ("float32", "<f"),
    7: ("bool", "<B"),
    8: ("string", ""),
    9: ("array", ""),
    10: ("uint64", "<Q"),
    11: ("int64", "<q"),
    12: ("float64", "<d"),
}
_STRING, _ARRAY, _BOOL = 8, 9, 7
_SCALARS = {vtype: struct.Struct(fmt) for vtype, (_, fmt) in VALUE_TYPES.items() if fmt}

# ggml tensor types: id -> (name, elements per block, bytes per block), as in gguf-py's
# GGML_QUANT_SIZES (QK_K = 256). 31-33 are the Q4_0_x_x repacks, stored like Q4_0.
_QK_K = 256
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 2 + 16),
    3: ("Q4_1", 32, 2 + 2 + 16),
    6: ("Q5_0", 32, 2 + 4 + 16),
    7: ("Q5_1", 32, 2 + 2 + 4 + 16),
    8: ("Q8_0", 32, 2 + 32),
    9: ("Q8_1", 32, 4 + 4 + 32),
    10: ("Q2_K", _QK_K, 2 + 2 + _QK_K // 16 + _QK_K // 4),
    11: ("Q3_K", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + 12),
    12: ("Q4_K", _QK_K, 2 + 2 + _QK_K // 2 + 12),
    13: ("Q5_K", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 8 + 12),
    14: ("Q6_K", _QK_K, 2 + _QK_K // 2 + _QK_K // 4 + _QK_K // 16),
    15: ("Q8_K", _QK_K, 4 + _QK_K + _QK_K // 8),
    16: ("IQ2_XXS", _QK_K, 2 + _QK_K // 4),
    17: ("IQ2_XS", _QK_K, 2 + _QK_K // 4 + _QK_K // 32),
    18: ("IQ3_XXS", _QK_K, 2 + _QK_K // 4 + _QK_K // 8),
    19: ("IQ1_S", _QK_K, 2 + _QK_K // 8 + _QK_K // 16),
    20: ("IQ4_NL", 32, 2 + 16),
    21: ("IQ3_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + _QK_K // 32 + 4),
    22: ("IQ2_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 16),
    23: ("IQ4_XS", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 64),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", _QK_K, _QK_K // 8 + _QK_K // 16 + _QK_K // 32),
    30: ("BF16", 1, 2),
    31: ("Q4_0_4_4", 32, 2 + 16),
    32: ("Q4_0_4_8", 32, 2 + 16),
    33: ("Q4_0_8_8", 32, 2 + 16),
    34: ("TQ1_0", _QK_K, 2 + 4 * 13),
    35: ("TQ2_0", _QK_K, 2 + 64),
    39: ("MXFP4", 32, 1 + 16),
}

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_HEADER = struct.Struct("<4sIQQ")

Scalar = int | float | bool | str


class GGUFError(ValueError):
    """The file is not a well-formed GGUF; the message says what is wrong and at which byte."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    ggml_type: str
    offset: int  # relative to the start of the data section
    nbytes: int
    info_at: int  # byte where this tensor's info starts in the header


@dataclass(frozen=True)
class GGUFSummary:
    """What `read_gguf` found. `data_end` is the smallest file size that holds every tensor."""

    version: int
    tensor_count: int
    kv_count: int
    architecture: str | None
    alignment: int
    data_start: int
    data_end: int
    file_size: int
    metadata: dict[str, Scalar] = field(repr=False)  # keys with non-array values
    tensors: tuple[TensorInfo, ...] = field(repr=False)

    def describe(self) -> str:
        """One short line, e.g. "GGUF v3, qwen2, 290 tensors, 26 metadata keys"."""
        parts = [f"GGUF v{self.version}"]
        if self.architecture:
            parts.append(self.architecture)
        parts.append(f"{self.tensor_count} tensor{'s' if self.tensor_count != 1 else ''}")
        parts.append(f"{self.kv_count} metadata key{'s' if self.kv_count != 1 else ''}")
        return ", ".join(parts)


def read_gguf(path: Path | str) -> GGUFSummary:
    """Parse and check the header of the GGUF at `path`; raises `GGUFError` (or `OSError`)."""
    with open(path, "rb") as handle:
        return _Parser(handle, os.fstat(handle.fileno()).st_size).parse()


class _Parser:
    """A forward reader over the header with a 1 MiB window; every read is bounds-checked."""

    def __init__(self, handle: BinaryIO, size: int):
        self.handle = handle
        self.size = size
        self.pos = 0
        self.buf = b""
        self.buf_at = 0
        self.walked = 0  # strings and arrays inside arrays, against MAX_WALKED_ITEMS

    # ------------------------------------------------------------ reading

    def _window(self, n: int, what: str) -> int:
        """Make bytes [pos, pos + n) available; returns their index in `self.buf`."""
        if self.pos + n > self.size:
            raise GGUFError(
                f"truncated: the file ends at byte {self.size:,} inside {what} "
                f"(which needs bytes {self.pos:,} to {self.pos + n:,})"
            )
        rel = self.pos - self.buf_at
        if rel < 0 or rel + n > len(self.buf):
            self.handle.seek(self.pos)
            self.buf = self.handle.read(max(n, READ_CHUNK))
            self.buf_at, rel = self.pos, 0
            if len(self.buf) < n:  # the file shrank while we read it
                raise GGUFError(f"truncated: could not read {what} at byte {self.pos:,}")
        return rel

    def _unpack(self, fmt: struct.Struct, what: str) -> int | float:
        rel = self._window(fmt.size, what)
        self.pos += fmt.size
        value: int | float = fmt.unpack_from(self.buf, rel)[0]
        return value

    def u32(self, what: str) -> int:
        return int(self._unpack(_U32, what))

    def u64(self, what: str) -> int:
        return int(self._unpack(_U64, what))

    def skip(self, n: int, what: str) -> None:
        if self.pos + n > self.size:
            raise GGUFError(
                f"truncated: the file ends at byte {self.size:,} inside {what} "
                f"(which needs bytes {self.pos:,} to {self.pos + n:,})"
            )
        self.pos += n

    def string(self, what: str, limit: int) -> str:
        at = self.pos
        n = self.u64(f"the length of {what}")
        if n > limit:
            raise GGUFError(f"{what} at byte {at:,} claims a length of {n:,} bytes (limit {limit:,})")
        rel = self._window(n, what)  # raises "truncated" when the file ends first
        self.pos += n
        return self.buf[rel : rel + n].decode("utf-8", errors="replace")

    def _count(self, what: str, at: int, count: int, cap: int, min_item: int, walk: bool = False) -> None:
        """Reject a claimed count above `cap` or needing more bytes than are left; `walk`: the
        items are visited one by one, so they also count against the header's MAX_WALKED_ITEMS."""
        if walk:
            self.walked += count
            cap = min(cap, MAX_WALKED_ITEMS - self.walked + count)
        if count > cap:
            raise GGUFError(
                f"{what} at byte {at:,} claims {count:,} items (limit {cap:,}); the header is damaged"
            )
        left = self.size - self.pos
        if count * min_item > left:
            raise GGUFError(
                f"truncated or damaged: {what} at byte {at:,} claims {count:,} items, which need at "
                f"least {count * min_item:,} bytes, but the file ends {left:,} bytes later"
            )

    # ------------------------------------------------------------ the file

    def parse(self) -> GGUFSummary:
        if self.size < 4:
            raise GGUFError(f"not a GGUF file: it has only {self.size} bytes")
        magic = self.handle.read(4)
        if magic != MAGIC:
            raise GGUFError(f"not a GGUF file: it starts with {magic!r}, not {MAGIC!r}")
        self.pos = 4
        version = self.u32("the version")
        if version not in SUPPORTED_VERSIONS:
            swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
            hint = (
                "; this is a big-endian GGUF, which llama.cpp on this machine cannot load"
                if swapped in SUPPORTED_VERSIONS
                else "; GGUF v1 is no longer supported by llama.cpp"
                if version == 1
                else ""
            )
            raise GGUFError(f"unsupported GGUF version {version:,} at byte 4 (expected 2 or 3){hint}")
        tensor_count = self.u64("the tensor count")
        kv_count = self.u64("the metadata key count")
        self._count("the tensor count", 8, tensor_count, MAX_TENSORS, 8 + 4 + 4 + 8)
        self._count("the metadata key count", 16, kv_count, MAX_KVS, 8 + 4 + 1)

        metadata: dict[str, Scalar] = {}
        seen: set[str] = set()
        alignment = DEFAULT_ALIGNMENT
        for index in range(kv_count):
            at = self.pos
            key = self.string(f"metadata key #{index}", MAX_KEY_BYTES)
            if key in seen:
                raise GGUFError(f"duplicate metadata key {key!r} at byte {at:,}")
            seen.add(key)
            vtype = self.u32(f"the value type of metadata key {key!r}")
            value = self._value(vtype, key, depth=0)
            if value is not None:
                metadata[key] = value
            if key == "general.alignment":
                if vtype != 4 or not isinstance(value, int) or value <= 0 or value & (value - 1):
                    raise GGUFError(
                        f"general.alignment at byte {at:,} must be a uint32 power of two, "
                        f"not {VALUE_TYPES[vtype][0]} {value!r}"
                    )
                alignment = value
        architecture = metadata.get("general.architecture")

        infos: list[tuple[str, tuple[int, ...], int, int, int]] = []
        names: set[str] = set()
        for index in range(tensor_count):
            at = self.pos
            name = self.string(f"the name of tensor #{index}", MAX_KEY_BYTES)
            if len(name.encode()) > MAX_NAME_BYTES:
                raise GGUFError(
                    f"tensor #{index} at byte {at:,} has a {len(name.encode())}-byte name "
                    f"(llama.cpp allows {MAX_NAME_BYTES}): {name[:80]!r}"
                )
            if name in names:
                raise GGUFError(f"duplicate tensor name {name!r} at byte {at:,}")
            names.add(name)
            n_dims = self.u32(f"the dimension count of tensor {name}")
            if n_dims > MAX_DIMS:
                raise GGUFError(
                    f"tensor {name} at byte {at:,} has {n_dims:,} dimensions (at most {MAX_DIMS})"
                )
            dims = tuple(self.u64(f"the dimensions of tensor {name}") for _ in range(n_dims))
            ggml_type = self.u32(f"the type of tensor {name}")
            offset = self.u64(f"the data offset of tensor {name}")
            infos.append((name, dims, ggml_type, offset, at))

        data_start = -(-self.pos // alignment) * alignment
        tensors: list[TensorInfo] = []
        for name, dims, ggml_type, offset, at in infos:
            tensors.append(_tensor(name, dims, ggml_type, offset, at, alignment))
        data_end = data_start
        if tensors:
            data_end = max(data_start + t.offset + t.nbytes for t in tensors)
            _check_placement(tensors, data_start, self.size)
        return GGUFSummary(
            version=version,
            tensor_count=tensor_count,
            kv_count=kv_count,
            architecture=architecture if isinstance(architecture, str) else None,
            alignment=alignment,
            data_start=data_start,
            data_end=data_end,
            file_size=self.size,
            metadata=metadata,
            tensors=tuple(tensors),
        )

    def _value(self, vtype: int, key: str, depth: int) -> Scalar | None:
        """Read one value of type `vtype`; arrays are walked (or skipped) and give None."""
        at = self.pos
        if vtype not in VALUE_TYPES:
            raise GGUFError(f"metadata key {key!r} has unknown value type {vtype:,} at byte {at - 4:,}")
        if vtype == _STRING:
            return self.string(f"the value of metadata key {key!r}", MAX_STRING_BYTES)
        if vtype != _ARRAY:
            value = self._unpack(_SCALARS[vtype], f"the value of metadata key {key!r}")
            if vtype == _BOOL:
                if value not in (0, 1):
                    raise GGUFError(
                        f"metadata key {key!r} at byte {at:,} is a bool of value {value}, not 0 or 1"
                    )
                return bool(value)
            return value
        if depth >= MAX_ARRAY_DEPTH:
            raise GGUFError(f"metadata key {key!r} nests arrays deeper than {MAX_ARRAY_DEPTH} at byte {at:,}")
        item_type = self.u32(f"the element type of array {key!r}")
        count = self.u64(f"the length of array {key!r}")
        if item_type not in VALUE_TYPES:
            raise GGUFError(f"array {key!r} at byte {at:,} has unknown element type {item_type:,}")
        if item_type in _SCALARS:
            item = _SCALARS[item_type].size
            self._count(f"array {key!r}", at, count, MAX_ARRAY_ITEMS, item)
            self.skip(count * item, f"array {key!r}")
        elif item_type == _STRING:
            self._count(f"array {key!r}", at, count, MAX_ARRAY_ITEMS, 8, walk=True)
            self._skip_strings(count, key)
        else:
            self._count(f"array {key!r}", at, count, MAX_ARRAY_ITEMS, 4 + 8, walk=True)
            for _ in range(count):
                self._value(_ARRAY, key, depth + 1)
        return None

    def _skip_strings(self, count: int, key: str) -> None:
        """Walk `count` length-prefixed strings (the vocabulary: ~150k of them) without decoding."""
        what = f"array {key!r}"
        for index in range(count):
            at = self.pos
            rel = self._window(8, what)
            n = _U64.unpack_from(self.buf, rel)[0]
            self.pos += 8
            if n > MAX_STRING_BYTES:
                raise GGUFError(
                    f"string #{index:,} of {what} at byte {at:,} claims a length of {n:,} bytes "
                    f"(limit {MAX_STRING_BYTES:,})"
                )
            self.skip(n, f"string #{index:,} of {what}")


def _tensor(
    name: str, dims: tuple[int, ...], ggml_type: int, offset: int, at: int, alignment: int
) -> TensorInfo:
    if ggml_type not in GGML_TYPES:
        raise GGUFError(
            f"tensor {name} at byte {at:,} has unknown ggml type {ggml_type:,}; the file is damaged "
            "or needs a newer llama.cpp"
        )
    type_name, block, type_size = GGML_TYPES[ggml_type]
    if dims and dims[0] % block:
        raise GGUFError(
            f"tensor {name} at byte {at:,} has rows of {dims[0]:,} elements, not a multiple of "
            f"the {type_name} block size {block}"
        )
    elements = 1
    for dim in dims:
        elements *= dim
    if elements >= 1 << 62:
        raise GGUFError(f"tensor {name} at byte {at:,} claims {elements:,} elements (dims {dims})")
    if offset % alignment:
        raise GGUFError(
            f"tensor {name} at byte {at:,} has data offset {offset:,}, not a multiple of the alignment {alignment}"
        )
    return TensorInfo(name, dims, type_name, offset, elements // block * type_size, at)


def _check_placement(tensors: list[TensorInfo], data_start: int, size: int) -> None:
    """Every tensor's data inside the file, none overlapping another."""
    ordered = sorted(tensors, key=lambda t: t.offset)
    cut = [t for t in ordered if data_start + t.offset + t.nbytes > size]
    if cut:
        first = cut[0]
        end = data_start + first.offset + first.nbytes
        more = f" (and {len(cut) - 1} more of the {len(tensors)} tensors)" if len(cut) > 1 else ""
        raise GGUFError(
            f"truncated: tensor {first.name} ends at byte {end:,} but the file has {size:,} bytes{more}"
        )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.offset + before.nbytes > after.offset:
            raise GGUFError(
                f"tensor {after.name} (data at byte {data_start + after.offset:,}) overlaps tensor "
                f"{before.name} (bytes {data_start + before.offset:,} to "
                f"{data_start + before.offset + before.nbytes:,})"
            )
