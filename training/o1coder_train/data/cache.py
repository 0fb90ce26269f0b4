"""What `data build` already ran, kept across runs: an interrupted or repeated build resumes.

One JSON line per checked problem, keyed by a hash of everything its result depends on (the
candidate as mined and the settings it was run with), appended as soon as it is known. A
changed candidate or setting has another key, so it is run again; a half-written last line
(the build was killed while writing) is ignored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from o1coder_train.data.records import stable_hash


class CheckCache:
    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("key"), str):
                    self.entries[row["key"]] = row["value"]
        self.hits = 0

    @staticmethod
    def key(*parts: Any) -> str:
        return stable_hash(json.dumps(parts, sort_keys=True, default=repr))

    def get(self, key: str) -> dict[str, Any] | None:
        found = self.entries.get(key)
        self.hits += found is not None
        return found

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.entries[key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "value": value}) + "\n")
