"""Self-generated problems (OSS-Instruct style) and the difficulty sample of `data build`.

The model is a FAKE (`fake_model.ScriptedModel`) whose replies the tests script, except in the
tests marked `model`, which run the real default GGUF through llama.cpp and check only the
plumbing and the report's structure (what the model writes may change with its greedy tokens).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_model import ScriptedModel

from o1coder_train.config import ConfigError, from_dict, load_config, validate
from o1coder_train.data.build import build
from o1coder_train.data.cache import CheckCache
from o1coder_train.data.dedup import Deduper, EvalIndex
from o1coder_train.data.difficulty import BINS, DifficultySettings, bin_of, measure
from o1coder_train.data.generator import Generator
from o1coder_train.data.loaders import load_humaneval
from o1coder_train.data.modules import ModuleFile
from o1coder_train.data.records import ProblemRecord, read_records
from o1coder_train.data.selfgen import (
    EXAMPLE_REPLY,
    SOURCE,
    Seed,
    SelfGenSettings,
    Unparsed,
    Written,
    messages,
    parse,
    seeds,
    self_generated_problems,
)
from o1coder_train.run import RunDir

GOOD = '''Here is the exercise:

```python
import math

SCALE = 2


def _half(x):
    return x / 2


def scaled_hypot(a: float, b: float) -> float:
    """The length of the hypotenuse of a right triangle with legs a and b, times SCALE."""
    return SCALE * math.hypot(a, b)


assert scaled_hypot(3, 4) == 10.0
assert scaled_hypot(0, 0) == 0.0
assert scaled_hypot(5, 12) == 26.0
assert scaled_hypot(6, 8) == 20.0
assert scaled_hypot(8, 15) == 34.0
assert scaled_hypot(1, 0) == 2.0
assert scaled_hypot(3, 4) == 10.0
print(scaled_hypot(3, 4))
```
'''

# the reference is right on two of its asserts only
WRONG_TESTS = '''```python
def count_even(values: list[int]) -> int:
    """How many of values are even."""
    return sum(1 for v in values if v % 2 == 0)


assert count_even([1, 2, 3, 4]) == 2
assert count_even([]) == 0
assert count_even([2, 4, 6]) == 2
assert count_even([1, 3]) == 1
assert count_even([0]) == 0
assert count_even([5, 6, 7, 8]) == 3
```'''

# every test passes, but they only check the type (None allowed): no mutant of the reference is killed
WEAK_TESTS = '''```python
def add_tax(price: int, rate: int) -> int:
    """The price with rate percent of tax added, rounded down."""
    return price + price * rate // 100


assert isinstance(add_tax(100, 10), (int, type(None)))
assert isinstance(add_tax(0, 10), (int, type(None)))
assert isinstance(add_tax(50, 5), (int, type(None)))
assert isinstance(add_tax(7, 3), (int, type(None)))
assert isinstance(add_tax(1, 99), (int, type(None)))
```'''

PROSE = "I am sorry, I cannot write that exercise. It would need a function and some tests."


def humaneval_copy() -> str:
    """HumanEval/0 as the model might write it: its prompt, a reference and asserts."""
    he = load_humaneval()[0]
    reference = he.text + "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])\n"
    asserts = [
        "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False",
        "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True",
        "assert has_close_elements([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True",
        "assert has_close_elements([1.0, 2.0, 5.9, 4.0, 5.0], 0.8) == False",
        "assert has_close_elements([1.1, 2.2, 3.1, 4.1, 5.1], 1.0) == True",
    ]
    return "```python\n" + reference + "\n\n" + "\n".join(asserts) + "\n```"


def seed(name: str) -> Seed:
    return Seed("fakemod", name, f"{name}(x)", f"Something {name} does to x, in a few words.")


def scripted(replies: dict[str, str]) -> ScriptedModel:
    """FAKE model: the reply for the seed named in the prompt's last turn."""

    def reply(last_user: str, _params) -> str:
        for name, text in replies.items():
            if f"fakemod.{name}(" in last_user:
                return text
        raise AssertionError(f"no scripted reply for {last_user[:200]!r}")

    return ScriptedModel(reply)


# ------------------------------------------------------------------------------- parsing


def test_parse_takes_the_documented_function_its_asserts_call() -> None:
    written = parse(GOOD)
    assert isinstance(written, Written) and written.function == "scaled_hypot"
    assert written.text.startswith("import math\n\n\nSCALE = 2\n\n\ndef _half(x):")
    assert written.text.rstrip().endswith('"""') and "math.hypot" not in written.text  # statement only
    assert written.program.rstrip().endswith("return SCALE * math.hypot(a, b)")
    assert written.tests[0] == "assert scaled_hypot(3, 4) == 10.0\n"
    assert len(written.tests) == 6  # the repeated assert once; the print is no test


def test_parse_reads_a_reply_cut_off_by_the_token_cap() -> None:
    cut = GOOD.split("assert scaled_hypot(5, 12)")[0] + "assert scaled_hypot(5, 1"
    written = parse(cut.replace("Here is the exercise:\n\n", ""))
    assert isinstance(written, Written) and len(written.tests) == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (PROSE, "no code in the reply"),
        ("```python\ndef f(x) return x\n```", "the code does not parse"),
        ("```python\ndef f(x):\n    return x\n\nassert f(1) == 1\n```", "no function with a docstring"),
        ('```python\ndef f(x):\n    """Twice x."""\n    return 2 * x\n```', "no assert calls the function"),
        ('```python\n@cache\ndef f(x):\n    """Twice x."""\n    return 2 * x\nassert f(1) == 2\n```', "the function is decorated"),
    ],
)
def test_parse_gives_a_reason_for_what_cannot_become_a_problem(reply: str, reason: str) -> None:
    assert parse(reply) == Unparsed(reason)


def test_the_prompt_shows_the_seed_and_one_worked_example() -> None:
    chat = messages(seed("rotate"))
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[2]["content"] == EXAMPLE_REPLY and "fakemod.rotate(x)" in chat[3]["content"]
    assert isinstance(parse(EXAMPLE_REPLY), Written)


def test_seeds_take_turns_over_modules(tmp_path: Path) -> None:
    files = []
    for name in ("alpha", "beta"):
        path = tmp_path / f"{name}.py"
        body = "\n\n".join(
            f'def {name}_{i}(x):\n    """Return x changed in the {i}th way, as documented here."""\n    return x\n'
            for i in range(3)
        )
        path.write_text(body + '\n\ndef _private(x):\n    """A private helper that is never a seed."""\n')
        files.append(ModuleFile(name, path, stdlib=False))
    (tmp_path / "string.py").write_text('def capwords(s):\n    """The prompt\'s own example: never a seed."""\n')
    files.append(ModuleFile("string", tmp_path / "string.py", stdlib=True))
    got = seeds(files, 4, seed=0)
    assert len(got) == 4 and {s.module for s in got[:2]} == {"alpha", "beta"}
    assert not any(s.function in ("_private", "capwords") for s in got)
    assert seeds(files, 4, seed=0) == got  # deterministic
    assert len(seeds(files, 100, seed=0)) == 6


# ------------------------------------------------------------------------------- keep / drop


def run_selfgen(tmp_path: Path, model: ScriptedModel, names: list[str]):
    evals = EvalIndex(load_humaneval(), 0.6)
    settings = SelfGenSettings(len(names), max_tokens=4000, min_tests=5, max_tests=8, max_mutants=6, batch=3)  # 1 char = 1 token
    cache = CheckCache(tmp_path / "selfgen-cache.jsonl")
    return self_generated_problems([seed(n) for n in names], model, "fake", settings, evals, Deduper(), cache)


REPLIES = {
    "good": GOOD,
    "wrong": WRONG_TESTS,
    "weak": WEAK_TESTS,
    "humaneval": humaneval_copy(),
    "prose": PROSE,
    "example": EXAMPLE_REPLY,
    "again": GOOD.replace("scaled_hypot", "scaled_hypotenuse"),
}


def test_self_generated_problems_are_kept_only_when_checked(tmp_path: Path) -> None:
    model = scripted(REPLIES)
    made = run_selfgen(tmp_path, model, list(REPLIES))
    report = made.report
    assert report.mined == 7 and model.counters.calls == 3  # batches of 3
    assert [r.id for r in report.kept] == [f"{SOURCE}/fakemod.good"]
    kept = report.kept[0]
    assert kept.source == SOURCE and kept.tests[0] == "assert scaled_hypot(3, 4) == 10.0\n"
    assert 5 <= len(kept.tests) <= 6 and kept.meta["mutants_killed"] >= 1  # 6 (5 when one times out under load)
    assert kept.meta["seed"] == "fakemod.good"
    assert dict(report.failed) == {
        "fewer than 5 tests pass on the reference": 1,
        "its tests kill no mutant": 1,
        "resembles an evaluation problem": 1,
        "no code in the reply": 1,
        "copies the prompt's example": 1,
        "a near-copy of an earlier problem": 1,
    }
    assert [leak.eval_id for leak in made.leaks] == ["humaneval/HumanEval/0"]
    stats = made.stats
    assert stats["attempted"] == 7 and stats["generated_now"] == 7 and stats["reply_cache_hits"] == 0
    out = report.to_dict()
    assert out["mined"] == out["kept"] + sum(out["failed"].values())

    def refuse(last_user: str, _params) -> str:
        raise AssertionError("a rebuild must not ask the model again")

    again = run_selfgen(tmp_path, ScriptedModel(refuse), list(REPLIES))  # everything from the cache
    assert again.stats["reply_cache_hits"] == 7 and again.stats["verdict_cache_hits"] == 3  # the sandboxed ones
    assert [r.to_dict() for r in again.report.kept] == [kept.to_dict()] and again.report.failed == report.failed


def test_an_interrupted_run_continues_with_the_seeds_not_yet_answered(tmp_path: Path) -> None:
    run_selfgen(tmp_path, scripted(REPLIES), ["good", "wrong"])
    model = scripted(REPLIES)
    made = run_selfgen(tmp_path, model, ["good", "wrong", "weak"])
    assert made.stats["reply_cache_hits"] == 2 and made.stats["generated_now"] == 1
    assert len(model.prompts) == 1 and "fakemod.weak(" in model.prompts[0]


# ------------------------------------------------------------------------------- difficulty


def test_difficulty_bins() -> None:
    assert [bin_of(f) for f in (0.0, 0.2, 0.5, 0.9, 1.0)] == ["0", "(0, 0.5)", "[0.5, 1)", "[0.5, 1)", "1"]


def _problem(name: str, body: str) -> ProblemRecord:
    text = f'def {name}(x: int) -> int:\n    """Twice x."""\n'
    tests = [f"assert {name}({i}) == {2 * i}\n" for i in range(4)]
    return ProblemRecord(f"t/{name}", "t", text, [text + f"    return {body}\n"], tests, name)


def test_difficulty_runs_the_engines_greedy_answer_on_the_problems_tests(tmp_path: Path) -> None:
    records = [_problem("twice", "2 * x"), _problem("double", "x + x"), _problem("dup", "x * 2")]
    answers = {"twice": "return 2 * x", "double": "return x * x", "dup": "return x +"}  # right, 2 of 4, broken

    def answer(last_user: str, _params) -> str:
        name = next(n for n in answers if f"def {n}(" in last_user)
        return f'```python\ndef {name}(x: int) -> int:\n    """Twice x."""\n    {answers[name]}\n```'

    model = ScriptedModel(answer)
    cache = CheckCache(tmp_path / "difficulty.jsonl")
    got = measure(records, model, "fake", DifficultySettings(sample=3, max_tokens=200), cache)
    assert got["sampled"] == 3 and got["strategy"] == "greedy" and list(got["histogram"]) == list(BINS)
    assert got["histogram"] == {"0": 1, "(0, 0.5)": 0, "[0.5, 1)": 1, "1": 1}
    assert got["pass_rate"] == round(1 / 3, 4) and got["mean_fraction_passed"] == 0.5
    assert all("Twice x." in p for p in model.prompts) and len(model.prompts) == 3  # no TCG call
    again = measure(records, ScriptedModel(lambda *_: "unused"), "fake", DifficultySettings(3, 200), cache)
    assert again["cache_hits"] == 3 and again["histogram"] == got["histogram"]
    assert measure(records, model, "fake", DifficultySettings(2, 200), cache)["sampled"] == 2


# ------------------------------------------------------------------------------- data build


HELPERS = '''
def running_max(values: list[int]) -> list[int]:
    """The largest value seen so far, at each position of values, as a new list."""
    out = []
    for v in values:
        out.append(v if not out or v > out[-1] else out[-1])
    return out


def clamp(x: int, lo: int, hi: int) -> int:
    """Clamp x into the range from lo to hi (both included).

    >>> clamp(5, 0, 3)
    3
    >>> clamp(-2, 0, 3)
    0
    >>> clamp(2, 0, 3)
    2
    """
    return max(lo, min(hi, x))
'''


def _build_config(tmp_path: Path, **data: object):
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "fakemod.py").write_text(HELPERS)
    return from_dict(
        {
            "run_dir": str(tmp_path / "run"),
            "model": {"base": str(tmp_path / "no-model")},
            "data": {
                "doctest_modules": [str(folder)],
                "max_tests_per_problem": 8,
                "min_tests_per_problem": 5,
                "max_mutants": 6,
                "eval_sets": ["humaneval"],
                "min_heldout": 1,
                **data,
            },
            "logging": {"progress": False},
        }
    )


def _answers(last_user: str, _params) -> str:
    """FAKE model replies: a problem for each seed; a greedy answer for each problem."""
    if "A library function:" in last_user:
        return GOOD if "running_max" in last_user else WRONG_TESTS
    name = last_user.rsplit("def ", 1)[1].split("(", 1)[0]
    return f"```python\ndef {name}(*args):\n    return None\n```"


def test_data_build_reports_self_generated_problems_and_difficulty(tmp_path: Path, monkeypatch) -> None:
    model = ScriptedModel(_answers)
    monkeypatch.setattr("o1coder_train.data.build.open_generator", lambda cfg, run: Generator(model, "fake", "fake"))
    cfg = _build_config(tmp_path, self_generated=2, difficulty_sample=2)
    rd = RunDir(cfg)
    summary = build(cfg, rd)
    report = json.loads((rd.data_dir / "build.json").read_text())
    made = report["sources"][SOURCE]
    assert made["mined"] == 2 and made["kept"] == 1
    assert made["failed"] == {"fewer than 5 tests pass on the reference": 1}
    assert made["tests_per_problem"]["min"] >= 5 and made["mutant_kill_rate"]["mean"] > 0
    assert report["self_generation"]["attempted"] == 2 and report["self_generation"]["seeds"]["found"] == 2
    built = read_records(rd.data_dir / "train.jsonl") + read_records(rd.data_dir / "heldout.jsonl")
    assert sum(r.source == SOURCE for r in built) == 1 and summary["problems"] == len(built)
    for name, source in report["sources"].items():
        difficulty = source["difficulty"]
        assert difficulty["sampled"] == min(2, source["kept"]), name
        assert list(difficulty["histogram"]) == list(BINS) and difficulty["pass_rate"] == 0.0
    assert model.closed


def test_config_keys_of_self_generation_are_checked(tmp_path: Path) -> None:
    base = {"model": {"base": "m"}}
    for data, key in [
        ({"self_generated": -1}, r"\[data\].self_generated"),
        ({"self_generated": 3}, r"\[data\].seed_modules"),
        ({"generator_backend": "vllm"}, r"\[data\].generator_backend"),
        ({"difficulty_sample": -2}, r"\[data\].difficulty_sample"),
        ({"generator_max_tokens": 4}, r"\[data\].generator_max_tokens"),
    ]:
        with pytest.raises(ConfigError, match=key):
            validate(from_dict({**base, "data": data}))
    gpu = load_config(Path(__file__).parents[2] / "training/configs/gpu-0.5b.toml")
    tiny = load_config(Path(__file__).parents[2] / "training/configs/tiny-cpu.toml")
    assert gpu.data.self_generated > 0 and gpu.data.difficulty_sample > 0
    assert tiny.data.self_generated == 0 and tiny.data.difficulty_sample == 0


# ------------------------------------------------------------------------------- the real model


@pytest.mark.model
@pytest.mark.slow
def test_data_build_with_the_real_model_reports_its_structure(tmp_path: Path, default_model_path: Path) -> None:
    """Three seeds through the default GGUF in llama.cpp, small caps: plumbing and report only."""
    cfg = _build_config(
        tmp_path,
        self_generated=3,
        seed_modules=["heapq"],
        generator=str(default_model_path),
        generator_max_tokens=160,
        generator_threads=1,
        difficulty_sample=1,
        difficulty_max_tokens=96,
    )
    rd = RunDir(cfg)
    build(cfg, rd)
    report = json.loads((rd.data_dir / "build.json").read_text())
    made = report["sources"][SOURCE]
    assert made["mined"] == 3 and made["kept"] + sum(made["failed"].values()) == 3
    stats = report["self_generation"]
    assert stats["attempted"] == 3 and stats["generated_now"] == 3 and stats["model"].startswith("llama:")
    assert stats["seconds_per_problem"] > 0 and 0 < stats["tokens_per_problem"] <= 160
    for name, source in report["sources"].items():
        if source["kept"]:
            difficulty = source["difficulty"]
            assert difficulty["sampled"] == 1 and sum(difficulty["histogram"].values()) == 1, name
            assert difficulty["model"] == stats["model"]
    cached = CheckCache(rd.data_dir / "selfgen-cache.jsonl")
    assert len(cached.entries) >= 3


@pytest.mark.model  # the tiny model's tokenizer comes from the default GGUF
def test_the_transformers_backend_serves_the_data_build(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The GPU path on a CPU: [data].generator a transformers directory (the tiny random model)."""
    cfg = _build_config(
        tmp_path,
        self_generated=2,
        generator=str(tiny_model_dir),
        generator_backend="transformers",
        generator_max_tokens=16,
        difficulty_sample=1,
        difficulty_max_tokens=16,
    )
    cfg.model.device = "cpu"
    rd = RunDir(cfg)
    build(cfg, rd)
    report = json.loads((rd.data_dir / "build.json").read_text())
    made = report["sources"][SOURCE]
    assert made["mined"] == 2 and made["kept"] + sum(made["failed"].values()) == 2
    assert report["self_generation"]["model"] == f"transformers:{tiny_model_dir.name}"
    assert report["self_generation"]["tokens_per_problem"] <= 16
    for source in report["sources"].values():
        if source["kept"]:
            assert source["difficulty"]["sampled"] == 1
