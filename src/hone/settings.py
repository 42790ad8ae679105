"""Run settings: the [search], [evaluation] and [model] tables (the [budget] is in `budget.py`),
frozen dataclasses with documented defaults, and the one way values are checked and overridden.

Every table checks the type of each value against its annotation when it is built, so a value
from task.toml, the command line or Python is refused with its key named (``network = "false"``
is an error, not a truthy string), and `Task.configured` is the one way to override settings.

The names a task.toml may use are declared here, as `Literal` types: the registries that map
them to modules (`hone.strategies.STRATEGIES`, `hone.executors.EXECUTORS`,
`hone.compat.CONTRACTS`, `hone.models.BACKENDS`) are typed by them, and this module imports
none of them (configuration never imports its consumers).
"""

from __future__ import annotations

import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Literal, Self, TypeAlias
from urllib.parse import urlsplit

from hone.exceptions import ConfigError
from hone.objective import Objective

StrategyName: TypeAlias = Literal[
    "top-k", "weighted", "power-law", "islands", "map-elites", "pareto"
]  # hone.strategies.STRATEGIES
ExecutorName: TypeAlias = Literal["local", "ray"]  # hone.executors.EXECUTORS
ContractName: TypeAlias = Literal["hone", "openevolve", "shinka"]  # hone.compat.CONTRACTS
BackendKind: TypeAlias = Literal[
    "embedded", "openai", "anthropic", "scripted", "ensemble"
]  # hone.models.BACKENDS: a [model] spec is <kind> or <kind>:<argument>
Edits: TypeAlias = Literal["either", "diff", "full"]  # what chat prompts ask for
Style: TypeAlias = Literal["completion", "chat"]  # the form of a model's prompts
Selection: TypeAlias = Literal["search", "holdout"]  # which score picks a run's final answer


@dataclass(frozen=True)
class Table:
    """Base of the settings tables: values are type-checked (and ints widened to floats, lists
    to tuples) as the table is built."""

    # other names a key may be given by (task.toml, a stored run's settings): {alias: key}
    ALIASES: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        for name, kind in _hints(type(self)).items():
            value = getattr(self, name)
            checked = _check(kind, value)
            if checked is _BAD:
                raise ConfigError(f"{name} must be {_describe(kind)}, got {value!r}")
            if checked is not value:
                object.__setattr__(self, name, checked)

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Self:
        """The table `values` give, a key also by one of its `ALIASES`."""
        return cls(**cls._named(values))

    @classmethod
    def _named(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` with each alias replaced by its key (both given: an error)."""
        named = dict(values)
        for alias, key in cls.ALIASES.items():
            if alias in named:
                if key in named:
                    raise ConfigError(f"{alias} and {key} name one setting; give one of them")
                named[key] = named.pop(alias)
        return named

    def _merged(self, overrides: dict[str, Any]) -> Self:
        overrides = self._named(overrides)
        unknown = set(overrides) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {sorted(unknown)}; allowed: {sorted(f.name for f in fields(self))}"
            )
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class SearchConfig(Table):
    """How many hypotheses a round asks for and how many parents go back to the model."""

    hypotheses_per_round: int = 4
    top_k: int = 2  # candidates shown to the model
    failures_shown: int = 2  # recent failed hypotheses shown (chat prompts)
    strategy: StrategyName = "top-k"
    fix_attempts: int = 1  # chat models: a failed edit goes back once with its error
    reflection: bool = False  # chat models: after each round the model analyses it (a call)
    insights_every: int = 5  # rounds between condensing the analyses into an insights memory
    novelty: float = 0.0  # reject hypotheses this similar (0-1) to an evaluated program; 0: off
    novelty_model: str = ""  # "openai:<model>": compare embeddings instead of token shingles
    novelty_base_url: str = ""  # the embedding server (default: the model's base_url)
    crossover: float = 0.0  # chat models: share of hypotheses that combine two programs
    deterministic: bool = False  # rounds with a barrier: same seed + same answers = same run
    islands: int = 4  # islands: how many
    reset_every: int = 40  # islands: hypotheses between resets of the weaker half
    # map-elites: {metric: [low, high, bins]} for each feature dimension, or {metric: [bins]}
    # for a range that follows the values seen so far; complexity, diversity and score are
    # built in (computed from the program when the evaluator does not report them)
    features: dict[str, list[float]] = field(default_factory=dict)
    # chat prompts ask for "diff" (SEARCH/REPLACE blocks), "full" (the whole program) or
    # "either"; any answer that applies is taken
    edits: Edits = "either"
    # pareto: {metric: "maximize" | "minimize"} for each objective
    objectives: dict[str, Objective] = field(default_factory=dict)
    # parameter tuning (hone.tuning): the float constants of the most promising programs are
    # tuned by Optuna, tune_trials evaluations each, no model call, within [budget] max_evaluations
    tune: bool = False
    tune_trials: int = 20
    tune_spread: float = 0.1  # each constant is searched within ± this share of its value
    # numbers inside strings (formulas) are tuned too, exponents excepted (else only those on
    # a line with a "# tune" comment)
    tune_strings: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.crossover <= 1.0:
            raise ConfigError(f"crossover must be between 0 and 1, got {self.crossover!r}")
        if not 0.0 <= self.novelty <= 1.0:
            raise ConfigError(f"novelty must be between 0 and 1, got {self.novelty!r}")
        if self.insights_every < 1:
            raise ConfigError("insights_every must be at least 1")
        if self.fix_attempts < 0:
            raise ConfigError("fix_attempts must be at least 0")
        if self.islands < 1 or self.reset_every < 1:
            raise ConfigError("islands and reset_every must be at least 1")
        if self.strategy == "map-elites" and not self.features:
            raise ConfigError(
                'map-elites needs [search] features, e.g. features = {"size" = [0, 100, 10]}'
            )
        if self.strategy == "pareto" and len(self.objectives) < 2:
            raise ConfigError(
                "pareto needs two or more [search] objectives, e.g. objectives = "
                '{speed = "maximize", size = "minimize"}'
            )
        for name, spec in self.features.items():
            if len(spec) == 1 and int(spec[0]) >= 1:
                continue
            if len(spec) != 3 or not spec[0] < spec[1] or int(spec[2]) < 1:
                raise ConfigError(
                    f"feature {name!r} must be [low, high, bins] with low < high, or [bins]"
                )
        if self.hypotheses_per_round < 1:
            raise ConfigError("hypotheses_per_round must be at least 1")
        if self.top_k < 1:
            raise ConfigError("top_k must be at least 1")
        if self.tune_trials < 1:
            raise ConfigError("tune_trials must be at least 1")
        if not 0 < self.tune_spread < 1:
            raise ConfigError(f"tune_spread must be between 0 and 1, got {self.tune_spread!r}")
        if self.failures_shown < 0:
            raise ConfigError("failures_shown must be at least 0")

    def merged(self, **overrides: Any) -> SearchConfig:
        """A copy with every override that is not None applied."""
        return self._merged(overrides)


@dataclass(frozen=True)
class EvaluationConfig(Table):
    """How candidates are verified."""

    timeout: float = 60.0  # wall-clock seconds per candidate; the process tree is killed after
    workers: int = 0  # parallel evaluation processes; 0 means one per CPU core
    max_output_bytes: int = 64_000  # captured stdout/stderr kept per candidate
    # CPU time per candidate; 0: the timeout times the cores a worker may use (threads run
    # on several at once; the wall-clock timeout bounds the evaluation anyway)
    cpu_seconds: float = 0.0
    memory_mb: int = 4096  # address space per candidate process
    max_processes: int = 64  # processes and threads a candidate may run at once
    max_open_files: int = 256
    max_file_mb: int = 64  # largest file a candidate may write
    tmp_mb: int = 512  # size of the private /tmp a worker's candidates share
    network: bool = False  # True lets candidates reach the network (no network namespace)
    cache: bool = True  # reuse the outcome of an identical program instead of evaluating again
    # evaluate_stage1, evaluate_stage2, ...: a candidate goes on to the next stage only when
    # its score at stage i reaches cascade_thresholds[i] (in the objective's direction)
    cascade_thresholds: tuple[float, ...] = ()
    # files and folders of this machine the evaluator and the candidate may read in the
    # sandbox, at the same paths, read-only (hone.sandbox.visible: ~ is the user's home, a
    # relative path is read from the task folder); read_paths is the same key's old name
    read_only: tuple[str, ...] = ()
    executor: ExecutorName = "local"
    ray_address: str = ""  # "": start a Ray instance on this machine; "auto" or ray://...: join
    # ray: what each evaluation slot (a Ray actor) asks of its node: CPU, GPU (a share, e.g.
    # 0.25), memory (bytes, or "2 GiB") and the node's custom resources by name; CPU = 1 unless
    # given. The local executor ignores them (and says so).
    resources: dict[str, float | str] = field(default_factory=dict)
    # ray: times an evaluation whose node died (or stopped answering) is tried again elsewhere
    retries: int = 1
    # how the evaluator is run and its results read: "hone" (docs/tasks.md), "openevolve"
    # (OpenEvolve's rules for what evaluate returns) or "shinka" (evaluate.py run as a command
    # that writes metrics.json and correct.json)
    contract: ContractName = "hone"
    # a shell command that scores each candidate in its tree's root, in place of evaluate.py
    # (hone.compat.command: its exit status, the JSON object line it prints, a pytest run's
    # counts); "": the evaluator scores
    command: str = ""
    cascade: bool = True  # run evaluate_stage1, 2, ... when the evaluator defines them
    stage_timeout: float = 0.0  # openevolve: seconds per stage (or evaluate call); 0: no limit
    # openevolve: metrics that are MAP-Elites features, left out of the score's average
    feature_dimensions: tuple[str, ...] = ()
    # held-out validation (docs/tasks.md#held-out-validation): the file that defines
    # validate(program_path); "": the evaluator's own validate, when it defines one
    validator: str = ""
    # held-out validation of a task scored by `command`: a shell command run as that one is
    # (hone.compat.command), on the checks' runs only, with the held-out data in view; None: none
    validate_command: str | None = None
    # files and folders (relative to the task folder, or anywhere) the validator reads:
    # hidden from every evaluation of the search, shown read-only only to validation runs
    holdout: tuple[str, ...] = ()
    validate_top: int = 5  # at the end, the best this many programs are validated too
    # the run's final answer: the best search score ("search") or, of the validated
    # programs, the best held-out score ("holdout"; --select holdout)
    select: Selection = "search"
    # exploit probes of each new best (hone.trust): how far two evaluations of one program may
    # differ; declared (0 for an exact evaluator), each new best is evaluated again in a fresh
    # sandbox and must score within it
    noise: float | None = None
    # [low, high]: a new best scoring outside is an exploit of the evaluator, not a record
    score_range: tuple[float, ...] = ()
    # evaluations get HONE_EVAL_SEED (0 in the search); each new best is evaluated again with
    # another and must score within the noise (an instance seed the program cannot know)
    perturb: bool = False

    ALIASES: ClassVar[dict[str, str]] = {"read_paths": "read_only"}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.command and self.contract != "hone":
            raise ConfigError(
                f"command runs in place of an evaluator, so it takes no contract; remove "
                f"contract = {self.contract!r} or the command"
            )
        if self.validate_command is not None:
            self._check_validate_command()
        if self.stage_timeout < 0:
            raise ConfigError(f"stage_timeout must be at least 0, got {self.stage_timeout!r}")
        if not all(self.read_only):
            raise ConfigError(f"read_only must be a list of paths, got {self.read_only!r}")
        if not all(self.holdout):
            raise ConfigError(f"holdout must be a list of paths, got {self.holdout!r}")
        if self.noise is not None and self.noise < 0:
            raise ConfigError(f"noise must be at least 0, got {self.noise!r}")
        if self.score_range and (
            len(self.score_range) != 2 or not self.score_range[0] <= self.score_range[1]
        ):
            raise ConfigError(
                f"score_range must be [low, high] with low <= high, got {list(self.score_range)!r}"
            )
        if self.validate_top < 0:
            raise ConfigError(f"validate_top must be at least 0, got {self.validate_top!r}")
        if not self.timeout > 0:
            raise ConfigError(f"timeout must be greater than 0, got {self.timeout!r}")
        for name in ("timeout", "cpu_seconds", "stage_timeout"):  # (what a timer can hold)
            if getattr(self, name) > _YEAR:
                raise ConfigError(
                    f"{name} must be at most {_YEAR:,} seconds (a year), got {getattr(self, name)!r}"
                )
        for name in ("workers", "cpu_seconds", "retries"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be at least 0, got {getattr(self, name)!r}")
        for name in ("memory_mb", "max_processes", "max_open_files", "max_file_mb", "tmp_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        self.resource_request  # noqa: B018 (checks every amount, naming the key of a bad one)

    def _check_validate_command(self) -> None:
        """validate_command: not empty, beside a command, in place of a validator file."""
        if not (self.validate_command or "").strip():
            raise ConfigError(
                "validate_command is empty; give the shell command that scores a candidate on "
                "the held-out data, or remove the key"
            )
        if not self.command:
            raise ConfigError(
                "validate_command is the held-out validation of a task scored by [evaluation] "
                "command, and this task has none; set command too, or define "
                'validate(program_path) in the evaluator (or in validator = "validate.py")'
            )
        if self.validator:
            raise ConfigError(
                f"validate_command and validator = {self.validator!r} both define the held-out "
                "validation; keep one of them"
            )

    def merged(self, **overrides: Any) -> EvaluationConfig:
        """A copy with every override that is not None applied."""
        return self._merged(overrides)

    @property
    def resource_request(self) -> dict[str, float]:
        """`resources` as amounts, memory in bytes (a bad amount: a ConfigError naming it)."""
        return {name: _amount(name, value) for name, value in self.resources.items()}

    @property
    def worker_count(self) -> int:
        """The number of evaluation processes to run."""
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Server:
    """One model server of a run: its URL and how many requests it takes at once (0: as many
    as it says it serves, else no limit)."""

    url: str
    max_in_flight: int = 0


@dataclass(frozen=True)
class ModelConfig(Table):
    """Which model answers and how it samples."""

    spec: str = "embedded"  # a spec hone.models.BACKENDS knows: embedded, openai:<m>, ...
    base_url: str | None = None  # the server of openai:/anthropic: models (--base-url)
    # several servers of the same model, one pool (docs/models.md#several-servers): each a URL
    # or a table {url = "...", max_in_flight = N}; base_url is the pool of one (give either)
    base_urls: tuple[str | dict[str, str | int], ...] = ()
    temperature: float = 0.8
    max_completion_tokens: int = 768
    # seconds per model call; None: the backend's default (hone.models.call_timeout)
    timeout: float | None = None
    prices: str = ""  # a TOML file of USD per million tokens per model (docs/models.md#costs)
    # embedded models: chat answers follow a grammar (SEARCH lines copied from the program;
    # hone.edits.answer_grammar); off by default: it lowered the share of answers that apply
    grammar: bool = False
    # "chat" or "completion" prompts (openai: models: /v1/completions); "": the model's own
    # (packaged.MODELS; an openai: server's packaged model, by its /props; else chat)
    style: Style | Literal[""] = ""
    # requests sent at once, at most; 0: as many as the server says it serves (llama.cpp's
    # total_slots, the embedded model's 4), else no limit. A request past it waits in hone,
    # not in the server's queue, so its deadline starts when it is sent.
    max_in_flight: int = 0

    ALIASES: ClassVar[dict[str, str]] = {"name": "spec"}  # task.toml's [model] name

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.temperature < 0:
            raise ConfigError(f"temperature must be at least 0, got {self.temperature!r}")
        if self.max_completion_tokens < 1:
            raise ConfigError("max_completion_tokens must be at least 1")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigError("model timeout must be greater than 0")
        if self.max_in_flight < 0:
            raise ConfigError(f"max_in_flight must be at least 0, got {self.max_in_flight!r}")
        if self.base_url is not None and not _is_url(self.base_url):
            raise ConfigError(
                f"base_url {self.base_url!r} is not an http:// or https:// URL; give the "
                "server's address, e.g. --base-url http://127.0.0.1:8080/v1"
            )
        if self.base_url is not None and self.base_urls:
            raise ConfigError(
                "give base_url (one server) or base_urls (several), not both; a single "
                "server is base_urls = [URL] too"
            )
        urls = [server.url for server in self.servers]
        for url in urls:
            if urls.count(url) > 1:
                raise ConfigError(f"base_urls lists {url!r} twice; give each server once")

    @property
    def servers(self) -> tuple[Server, ...]:
        """The model's servers, base_url's or base_urls' (none: the backend's own service)."""
        if self.base_url is not None:
            return (Server(self.base_url, self.max_in_flight),)
        return tuple(_server(entry, self.max_in_flight) for entry in self.base_urls)

    def merged(self, **overrides: Any) -> ModelConfig:
        """A copy with every override that is not None applied."""
        return self._merged(overrides)

    def _merged(self, overrides: dict[str, Any]) -> ModelConfig:
        """Servers given replace the table's, base_url's or base_urls' alike (a resumed run's
        server moved)."""
        base = self
        if overrides.get("base_url") is not None:
            base = replace(self, base_urls=())
        elif overrides.get("base_urls") is not None:
            base = replace(self, base_url=None)
        return Table._merged(base, overrides)


def _server(entry: str | dict[str, str | int], max_in_flight: int) -> Server:
    """A `base_urls` entry as a `Server` (its own max_in_flight, else the table's); a
    ConfigError naming the entry when it is neither a URL nor {url, max_in_flight}."""
    url: object = entry
    if isinstance(entry, dict):
        url, limit = entry.get("url"), entry.get("max_in_flight", max_in_flight)
        if (
            set(entry) - {"url", "max_in_flight"}
            or not isinstance(url, str)
            or not isinstance(limit, int)
            or limit < 0
        ):
            raise ConfigError(
                f"base_urls entry {entry!r} must be a URL or a table "
                '{url = "http://...", max_in_flight = N} (N at least 0)'
            )
        max_in_flight = limit
    if not isinstance(url, str) or not _is_url(url):
        raise ConfigError(
            f"base_urls entry {url!r} is not an http:// or https:// URL; give each server's "
            "address, e.g. --base-url http://127.0.0.1:8080/v1 --base-url http://127.0.0.1:8081/v1"
        )
    return Server(url, max_in_flight)


def _is_url(text: str) -> bool:
    """True for an http(s) URL with a host (what the model SDKs can send requests to)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*")
_RAY_NAMES = {"cpu": "CPU", "gpu": "GPU", "memory": "memory"}  # Ray's spelling of its own


def byte_size(text: str) -> int | None:
    """Bytes that "2 GiB", "512MiB", "1.5 GB" or "4096" say (None: not a size)."""
    match = _SIZE.fullmatch(text)
    if match is None or match[2].lower() not in _UNITS:
        return None
    return int(float(match[1]) * _UNITS[match[2].lower()])


def _amount(name: str, value: float | str) -> float:
    """One `[evaluation] resources` amount as Ray takes it; a ConfigError naming a bad one."""
    spelled = _RAY_NAMES.get(name.lower(), name)
    if spelled != name:
        raise ConfigError(f"resources key {name!r} is written {spelled!r} (Ray's name for it)")
    if name == "memory":
        size = byte_size(value) if isinstance(value, str) else value
        if size is None or not size > 0:
            raise ConfigError(
                f'resources memory must be a size such as "2 GiB" or a number of bytes, got {value!r}'
            )
        return float(int(size))
    if isinstance(value, str) or not value >= 0:
        raise ConfigError(f"resources {name} must be a number at least 0, got {value!r}")
    if value > 1 and not float(value).is_integer():  # (Ray's rule: a share of one, or whole)
        raise ConfigError(f"resources {name} above 1 must be a whole number, got {value!r}")
    return float(value)


_YEAR = 366 * 24 * 3600  # seconds: the longest evaluation limit (a CPU limit and select() hold it)
_BAD = object()


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Each field's type, resolved once per class."""
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: hints[f.name] for f in fields(cls)}
    return _HINTS[cls]


def _check(kind: Any, value: Any) -> Any:
    """`value` as a `kind` (an int widened to float, a list to a tuple), or _BAD."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        for arm in args:
            checked = _check(arm, value)
            if checked is not _BAD:
                return checked
        return _BAD
    if kind is type(None):
        return value if value is None else _BAD
    if origin is Literal:
        return value if isinstance(value, str) and value in args else _BAD
    if kind is bool:
        return value if isinstance(value, bool) else _BAD
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _BAD
    if kind is float:  # (inf and nan too are refused: no setting means either)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _BAD
        try:
            number = float(value)
        except OverflowError:
            return _BAD
        return number if math.isfinite(number) else _BAD
    if kind is str:
        return value if isinstance(value, str) else _BAD
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            return _BAD
        items = [_check(args[0], item) for item in value]
        if any(item is _BAD for item in items):
            return _BAD
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            return _BAD
        checked = {k: _check(args[1], v) for k, v in value.items()}
        if not all(isinstance(k, str) for k in checked) or _BAD in checked.values():
            return _BAD
        return checked
    raise TypeError(f"no check for settings of type {kind!r}")  # a field hone added


def _describe(kind: Any, plural: bool = False) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if all(typing.get_origin(a) is Literal for a in args):  # Literal["a"] | Literal["b"]
            return _describe(Literal[sum((typing.get_args(a) for a in args), ())], plural)
        named = [_describe(a, plural) for a in args if a is not type(None)]
        return " or ".join(named) + (" (or omitted)" if type(None) in args else "")
    if origin is Literal:
        if plural:
            return " or ".join(map(repr, args))
        return f"one of {', '.join(map(repr, args))}"
    if origin in (tuple, list):
        return ("lists" if plural else "a list") + f" of {_describe(args[0], True)}"
    if origin is dict:
        return ("tables" if plural else "a table") + f" of {_describe(args[1], True)}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if plural:
        names = {bool: "true or false values", int: "integers", float: "numbers", str: "strings"}
    return names.get(kind, str(kind))
