"""User-facing configuration, shared by the CLI and the language server.

One nested set of dataclasses with defaults. The language server receives them as
`initializationOptions` / `workspace/didChangeConfiguration` (section `o1coder`) with
camelCase keys; `Settings.from_dict` accepts camelCase or snake_case and raises one
`SettingsError` naming every offending setting (dotted camelCase path) and what is wrong with
it. `Settings.layer` is the lenient form the language server uses: it applies the good
settings, keeps the previous value of each bad one, and returns the problems.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
STRATEGIES = ("mcts", "best-of-n", "greedy", "pseudocode")
# The model roles, everywhere (settings, pool, manifests, training): ModelSettings has one field each.
ROLES = ("policy", "prm", "tcg")


Problem = tuple[str, str]  # (dotted camelCase setting, what is wrong with its value)


class SettingsError(ValueError):
    """Settings with bad values. `problems` lists every one as (setting, message), setting being
    the dotted camelCase name; `setting` and `message` are the first's."""

    def __init__(self, setting: str, message: str, *, problems: Sequence[Problem] = ()):
        self.problems: list[Problem] = list(problems) or [(setting, message)]
        super().__init__("; ".join(f"o1coder.{name}: {text}" for name, text in self.problems))
        self.setting, self.message = self.problems[0]

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> SettingsError:
        return cls(*problems[0], problems=problems)


@dataclass
class ModelSettings:
    """Which model serves each role: a catalog name (see `o1coder models list`) or a GGUF path.

    Roles naming the same model share one loaded copy.
    """

    policy: str = DEFAULT_MODEL
    prm: str = DEFAULT_MODEL
    tcg: str = DEFAULT_MODEL
    threads: int = 2
    context_size: int = 8192
    parallel_sequences: int = 16  # KV sequences in one context (siblings decoded together)
    # llama.cpp's flash attention; its "auto" turns it on, and on a 2-core CPU that decodes a
    # 650-token context 23% slower in one stream and 33% slower in six (measured, 0.5B Q4_K_M)
    flash_attention: bool = False


@dataclass
class SearchSettings:
    strategy: str = "mcts"
    budget_tokens: int = 3000  # generated tokens, all roles included
    budget_nodes: int = 40
    budget_seconds: float = 300.0
    branching: int = 3  # b: children per expansion
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    max_step_tokens: int = 200  # a pseudocode step
    max_code_tokens: int = 400  # the code step
    max_refine_steps: int = 2  # A2 steps before code is forced
    # root children that write code at once, without a plan: an arm the verified reward can
    # prefer when planning does not help (0: every path starts with A1)
    direct_code_children: int = 0
    # start from the greedy direct answer (decoded with the TCG): verified first, and if it passes
    # every generated test the search ends there; planning is spent only on what it fails
    direct_answer_first: bool = True
    # direct answers before any tree search: the greedy one (written with the tests) and, when it
    # fails a test, the rest sampled at `temperature`; when independent ones agree and pass the
    # tests that are not suspect, no tree search
    direct_samples: int = 3
    # repair steps along one path: a code node that fails checks that are not suspect may get
    # children that rewrite it with the failing checks and the actual output in their prompt
    max_repairs: int = 1
    exploration: float = 0.5  # c in UCB
    unvisited_bonus: float = 0.9  # finite UCB score bonus for an unvisited child
    rollout_alpha: float = 0.5  # V <- (1-a) V + a v_max
    rollout_steps: int = 2
    # proposals sampled per rollout step (one batch), the best by value kept: ReST-MCTS*'s roll_branch
    # (1 there; 3 measured better here: 80.0% vs 77.5% pass@1 and 42 vs 47 s per problem on CPU)
    rollout_branch: int = 3
    # leaves expanded per iteration, their model calls batched (virtual visits keep them apart):
    # wider batches decode more tokens per second on a CPU
    parallel_leaves: int = 2
    value_threshold: float = 0.9
    compile_weight: float = 0.1  # alpha in reward = a*compile + (1-a)*pass_rate
    num_tests: int = 6  # generated tests wanted
    seed: int = 0


@dataclass
class SandboxSettings:
    timeout_seconds: float = 5.0  # wall clock, per test
    cpu_seconds: int = 5
    memory_mb: int = 1024
    max_output_bytes: int = 65536


@dataclass
class EditorSettings:
    keep_pseudocode_comments: bool = True
    completion_budget_tokens: int = 200  # inline completion: a small budget, back in seconds


@dataclass
class Settings:
    models: ModelSettings = field(default_factory=ModelSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    editor: EditorSettings = field(default_factory=EditorSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, base: Settings | None = None) -> Settings:
        """Settings from a (possibly partial) camelCase dict layered over `base` (or defaults);
        raises one SettingsError listing every bad setting."""
        settings, problems = cls.layer(data, base)
        if problems:
            raise SettingsError.of(problems)
        return settings

    @classmethod
    def layer(cls, data: Any, base: Settings | None = None) -> tuple[Settings, list[Problem]]:
        """`data` layered over `base` (or defaults) as far as it is valid, and every problem.

        Each bad setting (unknown, the wrong type, out of range) keeps `base`'s value; the good
        ones apply. When what is left still does not validate (settings checked together, such
        as search.directCodeChildren below search.branching), nothing applies.
        """
        base = base if base is not None else cls()
        problems: list[Problem] = []
        layered = _merge(base, data if data is not None else {}, "", problems)
        range_problems = _validate(layered)
        if range_problems:
            problems += range_problems
            for setting, _ in range_problems:
                layered = _restore(layered, base, setting)
            if _validate(layered):
                layered = base
        return layered, problems

    def to_dict(self) -> dict[str, Any]:
        """camelCase dict, the shape editors send."""
        return _to_camel(dataclasses.asdict(self))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _to_camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(k): _to_camel(v) for k, v in value.items()}
    return value


def _merge(obj: Any, data: Any, prefix: str, problems: list[Problem]) -> Any:
    """`obj` with the valid values of `data`; each invalid one is added to `problems` instead."""
    if not isinstance(data, dict):
        problems.append((prefix.rstrip(".") or "(root)", f"expected an object, got {data!r}"))
        return obj
    fields = {f.name: f for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = snake(key)
        path = prefix + camel(name)
        if name not in fields:
            problems.append((path, "unknown setting"))
            continue
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            changes[name] = _merge(current, value, path + ".", problems)
            continue
        try:
            changes[name] = _coerce(path, value, type(current))
        except SettingsError as exc:
            problems.extend(exc.problems)
    return dataclasses.replace(obj, **changes)


def _restore(settings: Settings, base: Settings, setting: str) -> Settings:
    """`settings` with `base`'s value of one dotted camelCase `setting` (section.key)."""
    section, key = setting.split(".", 1)
    name, attr = snake(section), snake(key)
    restored = dataclasses.replace(getattr(settings, name), **{attr: getattr(getattr(base, name), attr)})
    return dataclasses.replace(settings, **{name: restored})


def _coerce(path: str, value: Any, kind: type) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    raise SettingsError(path, f"expected {kind.__name__}, got {value!r}")


def _validate(s: Settings) -> list[Problem]:
    """Every setting out of its range, as (setting, message)."""
    problems: list[Problem] = []

    def _check(ok: bool, path: str, message: str) -> None:
        if not ok:
            section, key = path.split(".", 1)
            value = getattr(getattr(s, snake(section)), snake(key))
            problems.append((path, f"{message}, got {value!r}"))

    m, q, b = s.models, s.search, s.sandbox
    for role in ("policy", "prm", "tcg"):
        _check(bool(getattr(m, role).strip()), f"models.{role}", "must name a catalog model or a .gguf path")
    _check(1 <= m.threads <= 256, "models.threads", "must be between 1 and 256")
    _check(512 <= m.context_size <= 131072, "models.contextSize", "must be between 512 and 131072")
    _check(1 <= m.parallel_sequences <= 64, "models.parallelSequences", "must be between 1 and 64")
    _check(q.strategy in STRATEGIES, "search.strategy", f"must be one of {', '.join(STRATEGIES)}")
    _check(q.budget_tokens >= 16, "search.budgetTokens", "must be at least 16")
    _check(q.budget_nodes >= 1, "search.budgetNodes", "must be at least 1")
    _check(q.budget_seconds > 0, "search.budgetSeconds", "must be positive")
    branching_ok = 1 <= q.branching <= 16
    _check(branching_ok, "search.branching", "must be between 1 and 16")
    if branching_ok:  # a bad branching is reported alone, not as directCodeChildren's fault too
        _check(
            0 <= q.direct_code_children < q.branching,
            "search.directCodeChildren",
            "must be at least 0 and below search.branching (the root keeps one plan child)",
        )
    _check(0.0 <= q.temperature <= 2.0, "search.temperature", "must be between 0 and 2")
    _check(0.0 < q.top_p <= 1.0, "search.topP", "must be in (0, 1]")
    _check(q.top_k >= 0, "search.topK", "must be >= 0")
    _check(1 <= q.rollout_branch <= 16, "search.rolloutBranch", "must be between 1 and 16")
    _check(1 <= q.parallel_leaves <= 8, "search.parallelLeaves", "must be between 1 and 8")
    _check(1 <= q.direct_samples <= 8, "search.directSamples", "must be between 1 and 8")
    _check(0 <= q.max_repairs <= 4, "search.maxRepairs", "must be between 0 and 4")
    _check(0.0 <= q.rollout_alpha <= 1.0, "search.rolloutAlpha", "must be between 0 and 1")
    _check(0.0 <= q.compile_weight <= 1.0, "search.compileWeight", "must be between 0 and 1")
    _check(0.0 < q.value_threshold <= 1.0, "search.valueThreshold", "must be in (0, 1]")
    _check(q.num_tests >= 1, "search.numTests", "must be at least 1")
    _check(b.timeout_seconds > 0, "sandbox.timeoutSeconds", "must be positive")
    _check(b.cpu_seconds >= 1, "sandbox.cpuSeconds", "must be at least 1")
    _check(b.memory_mb >= 64, "sandbox.memoryMb", "must be at least 64")
    _check(b.max_output_bytes >= 1024, "sandbox.maxOutputBytes", "must be at least 1024")
    return problems
