"""Why a model cannot be used: exceptions whose `message` is the fix to run."""

from __future__ import annotations


class ModelError(Exception):
    """A model cannot be used. `message` says what to run to fix it."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


class ModelNotFoundError(ModelError):
    """The model's file is not there (not installed, wrong path, role absent)."""


class UnknownModelError(ModelNotFoundError):
    """The name is neither a catalog model, an added model, nor a path."""


class ModelCorruptError(ModelError):
    """The file exists but is not what it should be (size/sha256 mismatch, not GGUF)."""


class ChunksMissingError(ModelError):
    """Chunk packages are not installed and pip was not allowed to install them."""

    def __init__(self, name: str, message: str, missing: list[str]):
        super().__init__(name, message)
        self.missing = missing
