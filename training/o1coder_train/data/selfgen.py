"""Self-generated problems, OSS-Instruct style: the model writes a problem, its reference and tests.

Each problem is seeded by a real function (`Seed`): a documented top-level function of
`[data].seed_modules` (default: the mined `doctest_modules`; read, never imported, and it may
import any installed package: only the idea is used). The prompt (`messages`, versioned by
`PROMPT_VERSION`) shows the seed as its signature and the first paragraph of its docstring,
not its body (a 0.5B model shown a body copies it), with one worked example as an earlier chat
turn (shown as the instruction's example, the same model copied the example instead).

The reply is parsed (`parse`): the code fences joined (an unclosed one is taken to the end: a
reply cut off by the token cap), trailing lines dropped until the code parses, the documented
function the asserts call most is the problem, the module's imports and other definitions its
preamble, the top-level `assert` lines calling it the tests. What cannot become a problem is a
counted reason (no code, does not parse, no documented function, no tests, ...).

A parsed problem is dropped when it copies the prompt's example, resembles an evaluation
problem (HumanEval, MBPP when given) or nearly repeats an earlier problem of any source; then
its reference runs on its tests in the sandbox (`o1coder.sandbox.run_tests`, through the build's
`validate_record`): failing tests are dropped, and it is kept only with at least
`[data].min_tests_per_problem` passing tests (at most `max_tests_per_problem` are kept) that kill
at least one of the reference's AST mutants (more than `min_mutant_kill_rate` of them).

Model replies and sandbox verdicts are cached in the run's data/selfgen-cache.jsonl, keyed by
the seed, the prompt version, the model and the sampling settings (replies) and by the reply
and the check settings (verdicts): an interrupted build continues where it stopped and a
rebuild reruns nothing.
"""

from __future__ import annotations

import ast
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from o1coder.config import SandboxSettings
from o1coder.models.backend import SampleParams
from o1coder_train.data.cache import CheckCache
from o1coder_train.data.dedup import Deduper, EvalIndex, Leak
from o1coder_train.data.loaders import docstring_function, signature_of
from o1coder_train.data.modules import ModuleFile
from o1coder_train.data.records import ProblemRecord, stable_hash
from o1coder_train.data.report import SourceReport

SOURCE = "self-generated"
PROMPT_VERSION = 1  # part of every cached reply's key: bump when the prompt changes
CHECK_VERSION = 1  # part of every cached verdict's key: bump when parsing or checking changes
MIN_SUMMARY_CHARS = 20  # a seed's docstring summary shorter than this says too little
MAX_SUMMARY_CHARS = 300
POOL_FACTOR = 4  # seeds are drawn round-robin over files until this many times the cap are found

SYSTEM = "You write short, correct Python programming exercises."
INSTRUCTION = (
    "Write a new, different exercise on a related idea: one small Python function with a new name, "
    "a docstring that states the task, and its complete implementation (standard library only), "
    "then 8 lines `assert name(...) == value` that test it. Reply with one ```python block."
)
EXAMPLE_SEED = (
    "string.capwords(s, sep=None)\n"
    "    Split the argument into words using split, capitalize each word using capitalize, and join "
    "the capitalized words using join."
)
EXAMPLE_SEED_ID = "string.capwords"  # never a seed: the example's own
EXAMPLE_REPLY = '''```python
def title_long_words(text: str, min_len: int) -> str:
    """Capitalize every word of text that has at least min_len letters and keep the other words as they are. Words are separated by single spaces."""
    return " ".join(w.capitalize() if len(w) >= min_len else w for w in text.split(" "))


assert title_long_words("the quick brown fox", 4) == "the Quick Brown fox"
assert title_long_words("", 3) == ""
assert title_long_words("a bb ccc", 1) == "A Bb Ccc"
assert title_long_words("hello world", 6) == "hello world"
assert title_long_words("one two three", 5) == "one two Three"
assert title_long_words("python", 6) == "Python"
assert title_long_words("go to sea", 2) == "Go To Sea"
assert title_long_words("x yy", 3) == "x yy"
```'''


@dataclass(frozen=True)
class Seed:
    """A real function the model takes its idea from: where it is, its signature, what it does."""

    module: str
    function: str
    signature: str  # "name(args) -> ret"
    summary: str  # the first paragraph of its docstring, on one line

    @property
    def id(self) -> str:
        return f"{self.module}.{self.function}"

    def brief(self) -> str:
        return f"{self.module}.{self.signature}\n    {self.summary}"


def messages(seed: Seed) -> list[dict[str, str]]:
    """The chat asking for one problem seeded by `seed` (the worked example as an earlier turn)."""

    def ask(brief: str) -> str:
        return f"A library function:\n\n{brief}\n\n{INSTRUCTION}"

    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ask(EXAMPLE_SEED)},
        {"role": "assistant", "content": EXAMPLE_REPLY},
        {"role": "user", "content": ask(seed.brief())},
    ]


# ---------------------------------------------------------------------------------------- seeds


def seeds(files: Sequence[ModuleFile], limit: int, seed: int = 0) -> list[Seed]:
    """Up to `limit` seeds, spread over modules: files in a seeded order, one function of each
    file in turn (its functions in a seeded order too), until `POOL_FACTOR * limit` are found."""
    ordered = sorted(files, key=lambda f: stable_hash(f"{seed}:{f.name}"))
    per_file: list[list[Seed]] = []
    found = 0
    for file in ordered:
        if found >= POOL_FACTOR * limit:
            break
        got = sorted(_file_seeds(file), key=lambda s: stable_hash(f"{seed}:{s.id}"))
        if got:
            per_file.append(got)
            found += len(got)
    out: list[Seed] = []
    seen: set[str] = set()
    depth = 0
    while len(out) < limit and any(depth < len(g) for g in per_file):
        for got in per_file:
            if depth < len(got) and len(out) < limit and got[depth].function not in seen:
                seen.add(got[depth].function)  # one seed per function name (vendored copies)
                out.append(got[depth])
        depth += 1
    return out


def _file_seeds(file: ModuleFile) -> list[Seed]:
    try:
        tree = ast.parse(file.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node) or ""
        summary = " ".join(doc.strip().split("\n\n")[0].split())
        if len(summary) < MIN_SUMMARY_CHARS or ">>>" in summary or f"{file.name}.{node.name}" == EXAMPLE_SEED_ID:
            continue
        if len(summary) > MAX_SUMMARY_CHARS:
            summary = summary[:MAX_SUMMARY_CHARS].rsplit(" ", 1)[0] + " ..."
        returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
        out.append(Seed(file.name, node.name, f"{node.name}({ast.unparse(node.args)}){returns}", summary))
    return out


# ---------------------------------------------------------------------------------------- parsing


@dataclass
class Written:
    """A problem as the model wrote it: statement, reference program, tests (assert lines)."""

    function: str
    text: str  # the preamble, then the signature with the docstring
    program: str  # the preamble, then the function
    tests: list[str]

    def record(self, seed: Seed) -> ProblemRecord:
        return ProblemRecord(
            id=f"{SOURCE}/{seed.id}",
            source=SOURCE,
            text=self.text,
            solutions=[self.program],
            tests=list(self.tests),
            entry_point=self.function,
            meta={"seed": seed.id},
        )


@dataclass(frozen=True)
class Unparsed:
    reason: str


_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def code_of(reply: str) -> str:
    """The code of a reply: its fenced blocks joined (an unclosed fence runs to the end), else all of it."""
    blocks = [body for lang, body in _FENCE.findall(reply) if lang.lower() in ("", "python", "py", "python3")]
    return "\n\n".join(b.strip("\n") for b in blocks) if blocks else reply


def _parse_prefix(code: str) -> ast.Module | None:
    """The module of `code`, or of its longest prefix of whole lines that parses (a cut-off reply)."""
    lines = code.rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        try:
            return ast.parse("\n".join(lines[:end]) + "\n")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def parse(reply: str) -> Written | Unparsed:
    code = code_of(reply)
    if not code.strip() or ("```" not in reply and "def " not in reply):
        return Unparsed("no code in the reply")
    tree = _parse_prefix(code)
    if tree is None:
        return Unparsed("the code does not parse")
    source = ast.unparse(tree)  # one canonical text: segments below come from it
    tree = ast.parse(source)
    body = list(tree.body)
    for stmt in tree.body:  # tests under `if __name__ == "__main__":` count too
        if isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test):
            body += stmt.body
    documented = [s for s in body if isinstance(s, ast.FunctionDef) and ast.get_docstring(s)]
    if not documented:
        return Unparsed("no function with a docstring")
    asserts = [s for s in body if isinstance(s, ast.Assert)]
    calls: Counter[str] = Counter()
    for stmt in asserts:
        calls.update({n.func.id for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)})
    target = max(documented, key=lambda f: (calls[f.name], -documented.index(f)))
    if target.decorator_list:
        return Unparsed("the function is decorated")
    tests = list(dict.fromkeys(ast.unparse(a) + "\n" for a in asserts if target.name in _called(a)))
    if not tests:
        return Unparsed("no assert calls the function")
    preamble = [
        ast.unparse(s)
        for s in tree.body
        if s is not target
        and (
            isinstance(s, ast.Import | ast.ImportFrom | ast.ClassDef)
            or (isinstance(s, ast.FunctionDef) and not s.name.startswith("test"))
            or (isinstance(s, ast.Assign) and _is_constant(s))
        )
    ]
    function = ast.unparse(target)
    signature = signature_of(function, target.name)
    if signature is None:
        return Unparsed("the signature is not on its own lines")
    head = "\n\n\n".join(preamble) + "\n\n\n" if preamble else ""
    statement = docstring_function(signature, ast.get_docstring(target) or "")
    return Written(target.name, head + statement, head + function + "\n", tests)


def _called(stmt: ast.AST) -> set[str]:
    return {n.func.id for n in ast.walk(stmt) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _is_constant(stmt: ast.Assign) -> bool:
    """A module constant (`LIMIT = 10`, `VOWELS = "aeiou"`): literal values, no calls."""
    try:
        ast.literal_eval(stmt.value)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False
    return True


def _calls_seed(written: Written, seed: Seed) -> bool:
    """Whether the reference calls the seed function itself (the exercise would be a wrapper)."""
    tree = ast.parse(written.program)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == seed.function and name != written.function:
                return True
    return False


# ---------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class SelfGenSettings:
    count: int  # seeds to attempt
    temperature: float = 0.7
    max_tokens: int = 450
    min_tests: int = 5
    max_tests: int = 8
    max_mutants: int = 8
    min_kill_rate: float = 0.0
    max_text_chars: int = 4000
    seed: int = 0
    batch: int = 4


def check_written(written: Written, seed: Seed, settings: SelfGenSettings) -> tuple[ProblemRecord | None, str]:
    """(the record with the tests its reference passes, "") or (None, why it is dropped)."""
    from o1coder_train.data.build import validate_record

    sandbox = SandboxSettings()
    record = written.record(seed)
    passed, why = validate_record(record, sandbox, 0)  # the reference on every test: failing ones dropped
    if passed is None:
        return None, why
    if len(passed.tests) < settings.min_tests:
        return None, f"fewer than {settings.min_tests} tests pass on the reference"
    passed.tests = passed.tests[: settings.max_tests]
    checked, why = validate_record(passed, sandbox, settings.max_mutants)
    if checked is None:  # passed just before: only a test that is not deterministic gets here
        return None, why
    if not checked.meta["mutants"]:
        return None, "the reference has no mutant to kill"
    if not checked.meta["mutants_killed"]:
        return None, "its tests kill no mutant"
    if checked.meta["mutant_kill_rate"] <= settings.min_kill_rate:
        return None, "its tests kill too few mutants"
    return checked, ""


@dataclass
class SelfGenerated:
    report: SourceReport
    leaks: list[Leak]
    stats: dict[str, Any] = field(default_factory=dict)


def _example_index() -> EvalIndex:
    written = parse(EXAMPLE_REPLY)
    assert isinstance(written, Written), "the prompt's example must parse"
    return EvalIndex([written.record(Seed("string", "capwords", "", ""))], 0.6)


def self_generated_problems(
    seed_list: Sequence[Seed],
    backend: Any,
    model_name: str,
    settings: SelfGenSettings,
    evals: EvalIndex,
    seen: Deduper,
    cache: CheckCache,
    progress: Callable[[Iterable[Any], str], Iterable[Any]] = lambda items, desc: items,
) -> SelfGenerated:
    """Ask `backend` (an engine Backend) for a problem per seed, in batches; check and keep them."""
    started = time.monotonic()
    report = SourceReport()
    leaks: list[Leak] = []
    example = _example_index()
    generated = gen_seconds = tokens = 0.0
    replies: list[dict[str, Any]] = []
    todo = list(seed_list[: settings.count])
    batches = [todo[i : i + settings.batch] for i in range(0, len(todo), settings.batch)]
    reply_hits = verdict_hits = 0
    for batch in progress(batches, "self-generated problems"):
        keys = [_reply_key(s, model_name, settings) for s in batch]
        found = [cache.get(k) for k in keys]
        reply_hits += sum(f is not None for f in found)
        missing = [i for i, f in enumerate(found) if f is None]
        if missing:
            t0 = time.monotonic()
            prefixes = [backend.tokenize(backend.render_chat(messages(batch[i]))) for i in missing]
            params = [
                SampleParams(
                    max_tokens=settings.max_tokens,
                    temperature=settings.temperature,
                    seed=settings.seed + int(stable_hash(batch[i].id)[:6], 16),
                )
                for i in missing
            ]
            outs = backend.generate(prefixes, params)
            each = (time.monotonic() - t0) / len(missing)
            for i, out in zip(missing, outs, strict=True):
                value = {"text": out.text, "finish": out.finish_reason, "tokens": len(out.tokens), "seconds": round(each, 2)}
                cache.put(keys[i], value)
                found[i] = value
            generated += len(missing)
        for s, reply in zip(batch, found, strict=True):
            assert reply is not None
            replies.append(reply)
            gen_seconds += reply.get("seconds", 0.0)
            tokens += reply.get("tokens", 0)
            report.mined += 1
            record, why, hit = _judge(s, reply["text"], settings, evals, example, seen, cache, leaks)
            verdict_hits += hit
            if record is None:
                report.fail(why)
            else:
                report.kept.append(record)
    n = len(replies)
    stats = {
        "model": model_name,
        "prompt_version": PROMPT_VERSION,
        "attempted": n,
        "generated_now": int(generated),
        "reply_cache_hits": reply_hits,
        "verdict_cache_hits": verdict_hits,
        "seconds_per_problem": round(gen_seconds / n, 2) if n else 0.0,  # generation, as first measured
        "tokens_per_problem": round(tokens / n, 1) if n else 0.0,
        "cut_off_by_max_tokens": sum(r.get("finish") == "length" for r in replies),
        "seconds": round(time.monotonic() - started, 1),
    }
    return SelfGenerated(report, leaks, stats)


def _reply_key(seed: Seed, model_name: str, settings: SelfGenSettings) -> str:
    return CheckCache.key("selfgen-reply", PROMPT_VERSION, asdict(seed), model_name, settings.temperature, settings.max_tokens, settings.seed)


def _judge(
    seed: Seed,
    reply: str,
    settings: SelfGenSettings,
    evals: EvalIndex,
    example: EvalIndex,
    seen: Deduper,
    cache: CheckCache,
    leaks: list[Leak],
) -> tuple[ProblemRecord | None, str, bool]:
    """(record or None, why not, whether the sandbox verdict came from the cache)."""
    written = parse(reply)
    if isinstance(written, Unparsed):
        return None, written.reason, False
    draft = written.record(seed)
    if len(written.text) > settings.max_text_chars:
        return None, "statement longer than [data].max_text_chars", False
    if example.leak(draft) is not None:
        return None, "copies the prompt's example", False
    if _calls_seed(written, seed):
        return None, "the reference calls its seed function", False
    if (leak := evals.leak(draft)) is not None:
        leaks.append(leak)
        return None, "resembles an evaluation problem", False
    if seen.repeats(draft):
        return None, "a near-copy of an earlier problem", False
    key = CheckCache.key(
        "selfgen-check", CHECK_VERSION, reply, asdict(seed),
        settings.min_tests, settings.max_tests, settings.max_mutants, settings.min_kill_rate,
    )  # fmt: skip
    found = cache.get(key)
    if found is not None:
        record = ProblemRecord.from_dict(found["record"]) if found.get("record") else None
        return record, found.get("reason", ""), True
    record, why = check_written(written, seed, settings)
    cache.put(key, {"record": record.to_dict() if record else None, "reason": why})
    return record, why, False
