"""Run configuration: one dataclass per stage, loaded from a TOML file (`--config run.toml`).

Every section of the TOML file maps onto one dataclass below; unknown keys and values of the
wrong type are errors that name the key (`[prm].loss: ...`). Paths are resolved relative to
the TOML file's directory. See training/configs/*.toml for complete examples.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o1coder.config import ROLES, STRATEGIES, SearchSettings, Settings, SettingsError

PRM_LOSSES = ("pointwise-mse", "pointwise-ce", "pairwise")
SOURCE_KINDS = ("taco", "apps", "mbpp", "codecontests", "jsonl")
QUANTS = ("Q8_0", "Q4_K_M", "F16")
GENERATOR_BACKENDS = ("auto", "llama", "transformers")


class ConfigError(ValueError):
    """A run configuration is invalid; the message names the TOML key and what to write instead."""


@dataclass
class ModelConfig:
    """The base model every stage starts from (unless a stage's output already exists)."""

    # A Hugging Face model directory, or a GGUF: a catalog name ("qwen2.5-coder-0.5b"), a name
    # added with `o1coder models add` ("NAME", "NAME:prm", "NAME:tcg"), a .gguf path, or the
    # directory holding `gguf_file`. A GGUF is dequantized once into <run_dir>/models/base
    # (`o1coder-train base`; the stages that need it run it).
    base: str = ""
    gguf_file: str = ""  # a GGUF file name inside the directory `base`
    tokenizer: str = ""  # directory of the tokenizer; defaults to the base's (a GGUF's own)
    dtype: str = "float32"  # float32 | bfloat16 | float16 (also the dequantized base's dtype)
    device: str = "auto"  # auto | cpu | cuda | cuda:N


@dataclass
class SourceConfig:
    """One source of training problems."""

    kind: str = "jsonl"  # taco | apps | mbpp | codecontests | jsonl
    path: str = ""  # a hub id (e.g. "BAAI/TACO") or a local file/directory in the hub's schema
    split: str = "train"
    name: str = ""  # the hub dataset's configuration name (e.g. "full" for MBPP)
    limit: int = 0  # 0 = all


@dataclass
class DataConfig:
    sources: list[SourceConfig] = field(default_factory=list)
    # mined by `data build`: module or package names, "stdlib", "site-packages", or paths of
    # .py files / folders (documented functions become problems; see data/corpus.py)
    doctest_modules: list[str] = field(default_factory=list)
    exclude_modules: list[str] = field(default_factory=list)  # never mined (names and their submodules)
    max_doctest_problems: int = 200  # mining stops once this many mined problems are kept; 0 = no limit
    max_tests_per_problem: int = 8
    min_tests_per_problem: int = 5  # mined problems with fewer tests are dropped (loaded ones keep theirs)
    max_mutants: int = 8  # AST mutants per reference, for the kill rate of its tests
    min_mutant_kill_rate: float = 0.0  # mined problems whose tests kill no more than this are dropped
    workers: int = 2  # mined problems checked in the sandbox at once
    max_text_chars: int = 4000  # problems with longer statements are dropped (prompt length)
    heldout_fraction: float = 0.2
    min_heldout: int = 1
    eval_sets: list[str] = field(default_factory=lambda: ["humaneval", "mbpp"])  # kept out of training
    mbpp_path: str = ""  # local MBPP copy for dedup; when empty, MBPP dedup is skipped with a warning
    dedup_threshold: float = 0.6  # Jaccard similarity of word 5-grams above which a problem is a leak
    validate: bool = True  # run each reference solution on its tests in the sandbox
    # Self-generated problems (OSS-Instruct style, data/selfgen.py): the model writes a problem, a
    # reference and tests, seeded by a documented function of `seed_modules`; kept only when the
    # sandbox passes the reference on at least min_tests_per_problem of its tests and they kill a mutant.
    self_generated: int = 0  # seeds the model writes a problem for (problems attempted); 0 = off
    seed_modules: list[str] = field(default_factory=list)  # as doctest_modules; default: doctest_modules
    # The model `data build` runs (self-generated problems, the difficulty sample): a catalog name, a
    # name added with `o1coder models add`, a .gguf path or a transformers directory; "" = [model].base
    generator: str = ""
    generator_backend: str = "auto"  # auto (llama.cpp for a GGUF, else transformers) | llama | transformers
    # llama.cpp threads; 0 = every core (up to 16). On a CPU shared with other work, fewer threads than
    # cores decode faster (llama.cpp's threads wait for each other at every step)
    generator_threads: int = 0
    generator_temperature: float = 0.7
    generator_max_tokens: int = 450  # per self-generated problem (statement, reference and tests)
    # per source, this many kept problems are solved by the model with the engine's greedy strategy:
    # its pass rate and a histogram of the fraction of tests passed go into data/build.json; 0 = off
    difficulty_sample: int = 0
    difficulty_max_tokens: int = 512  # the greedy answer's token cap


@dataclass
class TrainSettings:
    """What every trainer-backed stage shares (fields of trl's / transformers' TrainingArguments)."""

    max_steps: int = -1  # -1: run `epochs`
    epochs: float = 1.0
    learning_rate: float = 1e-5
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 2048
    lora_r: int = 0  # 0 = full fine-tune; > 0 = LoRA adapters (merged when the stage ends)
    lora_alpha: int = 32
    save_steps: int = 200  # checkpoints (resume after an interruption)
    logging_steps: int = 10
    gradient_checkpointing: bool = False
    max_problems: int = 0  # 0 = every training problem


@dataclass
class TcgSftConfig(TrainSettings):
    eval_problems: int = 50  # held-out problems for the pass-rate-on-reference metric
    num_tests: int = 6  # tests asked of the TCG per problem in its prompt (the engine default)


@dataclass
class TcgDpoConfig(TrainSettings):
    samples_per_problem: int = 4
    sample_temperature: float = 0.8
    sample_max_tokens: int = 256
    max_mutants: int = 8
    max_pairs_per_problem: int = 4
    beta: float = 0.1
    eval_problems: int = 50
    num_tests: int = 6  # tests asked of the TCG per problem in its prompt (the engine default)


def synthesis_search() -> SearchSettings:
    """The engine's search settings as synthesis starts from; `[synthesize.search]` is laid over them."""
    return SearchSettings(
        budget_seconds=600.0,
        # pseudocode-first trees: a direct answer that passes would end the search
        direct_answer_first=False,
        max_repairs=0,  # and plans: a repair step has no place in the O1-CODER step format it learns
    )


@dataclass
class SynthesizeConfig:
    max_problems: int = 0
    # `[synthesize.search]`: the engine's search settings (`o1coder.config.SearchSettings`, keys
    # in camelCase or snake_case, checked by the engine); the run's top-level `seed` seeds it
    search: SearchSettings = field(default_factory=synthesis_search)
    backend: str = "transformers"  # transformers | vllm (when installed)
    use_dataset_tests: bool = True  # search against the dataset's tests (plus the TCG's)
    prm: str = "base"  # which PRM scores steps during search: "base" or "trained" (once `prm` ran)
    rationalize: bool = False  # attach the reference as a code step to trees without a correct leaf
    # problems searched at once over one loaded model, their model calls merged into one batch
    # (`o1coder_train.batching`); 1 = one search at a time
    concurrent: int = 1
    batch_size: int = 16  # rows per forward pass of a transformers backend (merged calls are split by it)
    batch_wait_seconds: float = 0.02  # how long a waiting call waits for others before its batch goes


@dataclass
class PolicySftConfig(TrainSettings):
    min_pass_rate: float = 1.0  # a path is verified when its leaf passes this fraction of tests
    use_rationalized: bool = True  # also train on paths ending in a rationalized reference step


@dataclass
class PrmConfig(TrainSettings):
    loss: str = "pointwise-mse"  # pointwise-mse | pointwise-ce | pairwise
    pair_margin: float = 0.1  # sibling values must differ by more than this to form a pair
    heldout_fraction: float = 0.2  # of trees, for step-level accuracy and AUC
    accuracy_tolerance: float = 0.1
    init: str = "base"  # base | policy (start the PRM from the latest policy)


@dataclass
class RlConfig(TrainSettings):
    num_generations: int = 4
    max_completion_length: int = 512
    temperature: float = 0.8
    outcome_weight: float = 1.0
    process_weight: float = 0.5
    compile_weight: float = 0.1
    process_gamma: float = 0.9
    beta: float = 0.0  # KL coefficient
    use_vllm: bool = False
    tcg_tests: int = 6  # tests the TCG writes per problem for the outcome reward (plus dataset tests)


@dataclass
class LoopConfig:
    rounds: int = 2
    eval_problems: int = 50  # held-out problems for pass@1
    eval_budget_tokens: int = 512
    eval_strategy: str = "greedy"
    eval_num_tests: int = 6  # tests the TCG writes per held-out problem (as `o1coder solve` would)


@dataclass
class ExportConfig:
    name: str = ""  # manifest name; defaults to the run directory's name
    quants: list[str] = field(default_factory=lambda: ["Q8_0", "Q4_K_M"])
    role_quant: dict[str, str] = field(
        default_factory=lambda: {"policy": "Q4_K_M", "prm": "Q8_0", "tcg": "Q4_K_M"}
    )
    check_tokens: int = 8  # tokens each exported file must generate in llama.cpp
    keep_f16: bool = False


@dataclass
class LoggingConfig:
    tensorboard: bool = False
    progress: bool = True


@dataclass
class TrainConfig:
    run_dir: str = "runs/default"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tcg_sft: TcgSftConfig = field(default_factory=TcgSftConfig)
    tcg_dpo: TcgDpoConfig = field(default_factory=TcgDpoConfig)
    synthesize: SynthesizeConfig = field(default_factory=SynthesizeConfig)
    policy_sft: PolicySftConfig = field(default_factory=PolicySftConfig)
    prm: PrmConfig = field(default_factory=PrmConfig)
    rl: RlConfig = field(default_factory=RlConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: str = ""  # the TOML file this was read from ("" when built in code)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: Path | str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate `path` (TOML). Relative paths inside are resolved against its directory."""
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file; pass --config with a run.toml (see training/configs/)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    merge(data, overrides or {})
    cfg = from_dict(data)
    cfg.source = str(path.resolve())
    resolve_paths(cfg, path.resolve().parent)
    validate(cfg)
    return cfg


def merge(into: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Nested update: tables are merged key by key, other values replaced."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value
    return into


def parse_override(text: str) -> dict[str, Any]:
    """`section.key=value` (value in TOML, or a bare string) as a nested dict.

    >>> parse_override("model.base=/tmp/m/model.gguf")
    {'model': {'base': '/tmp/m/model.gguf'}}
    >>> parse_override("synthesize.search.budgetTokens=800")
    {'synthesize': {'search': {'budgetTokens': 800}}}
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: write SECTION.KEY=VALUE, e.g. --set model.device=cuda")
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    out: dict[str, Any] = {}
    node = out
    *tables, last = [part.strip() for part in key.split(".")]
    for table in tables:
        node = node.setdefault(table, {})
    node[last] = value
    return out


def from_dict(data: dict[str, Any]) -> TrainConfig:
    return _build(TrainConfig, data, "")


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or '(top level)'}: expected a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{_key(where, key)}: unknown key; valid keys: {', '.join(sorted(names))}")
        kwargs[key] = _coerce(hints[key], value, _key(where, key))
    return cls(**kwargs)


def _key(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is SearchSettings:
        return _search_settings(value, where)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where if where.startswith("[") else f"[{where}]")
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(kind)
        return [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        _, item = typing.get_args(kind)
        return {str(k): _coerce(item, v, f"{where}.{k}") for k, v in value.items()}
    if origin in (types.UnionType, typing.Union):
        raise ConfigError(f"{where}: union types are not supported in configs")
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise ConfigError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _search_settings(value: Any, where: str) -> SearchSettings:
    """A search table parsed and validated by the engine's `Settings`, over `synthesis_search()`."""
    table = "[" + where.replace("[", "").replace("]", "") + "]"  # "[synthesize].search" -> "[synthesize.search]"
    if not isinstance(value, dict):
        raise ConfigError(f"{table}: expected a table, got {value!r}")
    if "seed" in value:
        raise ConfigError(f"{table}.seed: the search is seeded from the run's top-level seed; set that")
    try:
        return Settings.from_dict({"search": value}, base=Settings(search=synthesis_search())).search
    except SettingsError as exc:
        raise ConfigError(f"{table}.{exc.setting.removeprefix('search.')}: {exc.message}") from None


def _resolve(base: Path, value: str) -> str:
    if not value:
        return value
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    candidate = base / p
    # Hub ids ("BAAI/TACO") look like relative paths: keep them unless such a local path exists.
    return str(candidate) if candidate.exists() or value.startswith(".") else value


def resolve_paths(cfg: TrainConfig, base: Path) -> None:
    run_dir = Path(cfg.run_dir).expanduser()
    cfg.run_dir = str(run_dir if run_dir.is_absolute() else base / run_dir)
    cfg.model.base = _resolve(base, cfg.model.base)
    cfg.model.tokenizer = _resolve(base, cfg.model.tokenizer)
    cfg.data.mbpp_path = _resolve(base, cfg.data.mbpp_path)
    cfg.data.doctest_modules = [_resolve(base, m) if m.startswith(".") else m for m in cfg.data.doctest_modules]
    cfg.data.seed_modules = [_resolve(base, m) if m.startswith(".") else m for m in cfg.data.seed_modules]
    if cfg.data.generator.startswith("."):
        cfg.data.generator = _resolve(base, cfg.data.generator)
    for src in cfg.data.sources:
        src.path = _resolve(base, src.path)


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def validate(cfg: TrainConfig) -> None:
    _check(
        bool(cfg.model.base),
        "[model].base",
        "set it to a model directory or a GGUF (a catalog name such as qwen2.5-coder-0.5b, a name "
        "added with `o1coder models add`, a .gguf path)",
    )
    _check(
        cfg.model.dtype in ("float32", "bfloat16", "float16"), "[model].dtype", "float32, bfloat16 or float16"
    )
    for i, src in enumerate(cfg.data.sources):
        _check(src.kind in SOURCE_KINDS, f"[data].sources[{i}].kind", f"one of {', '.join(SOURCE_KINDS)}")
        _check(bool(src.path), f"[data].sources[{i}].path", "a hub id or a local file in the hub's schema")
    _check(0.0 < cfg.data.heldout_fraction < 1.0, "[data].heldout_fraction", "between 0 and 1 (exclusive)")
    _check(cfg.data.min_tests_per_problem >= 1, "[data].min_tests_per_problem", "at least 1")
    _check(
        cfg.data.max_tests_per_problem >= cfg.data.min_tests_per_problem,
        "[data].max_tests_per_problem",
        f"at least [data].min_tests_per_problem ({cfg.data.min_tests_per_problem})",
    )
    _check(0.0 <= cfg.data.min_mutant_kill_rate < 1.0, "[data].min_mutant_kill_rate", "between 0 and 1 (1 excluded)")
    _check(cfg.data.workers >= 1, "[data].workers", "at least 1")
    data = cfg.data
    _check(data.self_generated >= 0, "[data].self_generated", "0 (off) or the number of problems to attempt")
    _check(
        not data.self_generated or bool(data.seed_modules or data.doctest_modules),
        "[data].seed_modules",
        "self-generated problems need seeds: name modules here or in [data].doctest_modules (e.g. [\"stdlib\"])",
    )
    _check(data.difficulty_sample >= 0, "[data].difficulty_sample", "0 (off) or problems per source")
    _check(
        data.generator_backend in GENERATOR_BACKENDS,
        "[data].generator_backend",
        f"one of {', '.join(GENERATOR_BACKENDS)}",
    )
    _check(data.generator_threads >= 0, "[data].generator_threads", "0 (every core) or a number of threads")
    _check(data.generator_temperature >= 0, "[data].generator_temperature", "0 (greedy) or more")
    _check(data.generator_max_tokens >= 16, "[data].generator_max_tokens", "at least 16")
    _check(data.difficulty_max_tokens >= 16, "[data].difficulty_max_tokens", "at least 16")
    for name in cfg.data.eval_sets:
        _check(name in ("humaneval", "mbpp"), "[data].eval_sets", f"{name!r}: known sets are humaneval, mbpp")
    _check(cfg.prm.loss in PRM_LOSSES, "[prm].loss", f"one of {', '.join(PRM_LOSSES)}")
    _check(cfg.prm.init in ("base", "policy"), "[prm].init", "base or policy")
    _check(cfg.synthesize.backend in ("transformers", "vllm"), "[synthesize].backend", "transformers or vllm")
    _check(cfg.synthesize.prm in ("base", "trained"), "[synthesize].prm", "base or trained")
    _check(
        cfg.rl.num_generations >= 2, "[rl].num_generations", "GRPO needs at least 2 generations per prompt"
    )
    _check(cfg.rl.outcome_weight >= 0 and cfg.rl.process_weight >= 0, "[rl]", "reward weights must be >= 0")
    _check(cfg.loop.rounds >= 1, "[loop].rounds", "at least 1")
    _check(cfg.synthesize.concurrent >= 1, "[synthesize].concurrent", "at least 1 (problems searched at once)")
    _check(cfg.synthesize.batch_size >= 1, "[synthesize].batch_size", "at least 1")
    _check(cfg.synthesize.batch_wait_seconds >= 0, "[synthesize].batch_wait_seconds", "0 or more")
    _check(cfg.loop.eval_strategy in STRATEGIES, "[loop].eval_strategy", f"one of {', '.join(STRATEGIES)}")
    _check(cfg.loop.eval_num_tests >= 1, "[loop].eval_num_tests", "at least 1")
    for q in cfg.export.quants:
        _check(q in QUANTS, "[export].quants", f"{q!r}: supported are {', '.join(QUANTS)}")
    for role, q in cfg.export.role_quant.items():
        _check(role in ROLES, f"[export].role_quant.{role}", f"roles are {', '.join(ROLES)}")
        _check(q in cfg.export.quants, f"[export].role_quant.{role}", f"{q!r} is not in [export].quants")
    for name in ("tcg_sft", "tcg_dpo", "policy_sft", "prm", "rl"):
        stage: TrainSettings = getattr(cfg, name)
        _check(stage.batch_size >= 1, f"[{name}].batch_size", "at least 1")
        _check(stage.max_steps != 0, f"[{name}].max_steps", "-1 (use epochs) or a positive number of steps")
        _check(stage.learning_rate > 0, f"[{name}].learning_rate", "must be positive")
