"""Run settings: frozen dataclasses with documented defaults."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from hone.exceptions import ConfigError

Objective = Literal["maximize", "minimize"]
STRATEGIES = ("top-k", "weighted", "power-law", "islands", "map-elites", "pareto")


@dataclass(frozen=True)
class Budget:
    """When to stop. `None` means no limit of that kind."""

    max_rounds: int | None = None
    max_llm_calls: int | None = 20
    max_tokens: int | None = None
    max_seconds: float | None = None
    patience: int | None = 10  # rounds without improvement
    target: float | None = None  # stop once the best score reaches it

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "target":
                if value is not None and not math.isfinite(value):
                    raise ConfigError(f"target must be a finite number, got {value!r}")
                continue
            if value is not None and value < 0:
                raise ConfigError(f"{f.name} must be at least 0, got {value!r}")
        if self.patience == 0:
            raise ConfigError("patience must be at least 1 (or omitted for no limit)")

    def merged(self, **overrides: Any) -> Budget:
        """A copy with every override that is not None applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class SearchConfig:
    """How many hypotheses a round asks for and how many parents go back to the model."""

    hypotheses_per_round: int = 4
    top_k: int = 2  # candidates shown to the model
    failures_shown: int = 2  # recent failed hypotheses shown (chat prompts)
    strategy: str = "top-k"  # top-k | weighted | power-law | islands | map-elites | pareto
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
    # map-elites: {metric: [low, high, bins]} for each feature dimension
    features: dict[str, list[float]] = field(default_factory=dict)
    # pareto: {metric: "maximize" | "minimize"} for each objective
    objectives: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"unknown strategy {self.strategy!r}; use one of: {', '.join(STRATEGIES)}"
            )
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
        for name, direction in self.objectives.items():
            if direction not in ("maximize", "minimize"):
                raise ConfigError(f"objective {name!r} must be 'maximize' or 'minimize'")
        for name, spec in self.features.items():
            if (
                not isinstance(spec, list | tuple)
                or len(spec) != 3
                or not spec[0] < spec[1]
                or int(spec[2]) < 1
            ):
                raise ConfigError(f"feature {name!r} must be [low, high, bins] with low < high")
        if self.hypotheses_per_round < 1:
            raise ConfigError("hypotheses_per_round must be at least 1")
        if self.top_k < 1:
            raise ConfigError("top_k must be at least 1")
        if self.failures_shown < 0:
            raise ConfigError("failures_shown must be at least 0")


@dataclass(frozen=True)
class EvaluationConfig:
    """How candidates are verified."""

    timeout: float = 60.0  # wall-clock seconds per candidate; the process tree is killed after
    workers: int = 0  # parallel evaluation processes; 0 means one per CPU core
    max_output_bytes: int = 64_000  # captured stdout/stderr kept per candidate
    cpu_seconds: float = 0.0  # CPU time per candidate; 0 means the wall-clock timeout
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
    # more folders (relative to the task folder) the evaluator may read in the sandbox
    read_paths: tuple[str, ...] = ()
    executor: str = "local"  # "local": worker processes here; "ray": actors on a Ray cluster
    ray_address: str = ""  # "": start a Ray instance on this machine; "auto" or ray://...: join

    def __post_init__(self) -> None:
        paths = self.read_paths
        if not isinstance(paths, list | tuple) or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError(f"read_paths must be a list of paths, got {paths!r}")
        object.__setattr__(self, "read_paths", tuple(paths))
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if not self.timeout > 0:
            raise ConfigError(f"timeout must be greater than 0, got {self.timeout!r}")
        for name in ("workers", "cpu_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be at least 0, got {getattr(self, name)!r}")
        thresholds = self.cascade_thresholds
        if not isinstance(thresholds, list | tuple) or not all(
            isinstance(t, int | float) and not isinstance(t, bool) for t in thresholds
        ):
            raise ConfigError(f"cascade_thresholds must be a list of numbers, got {thresholds!r}")
        object.__setattr__(self, "cascade_thresholds", tuple(float(t) for t in thresholds))
        for name in ("memory_mb", "max_processes", "max_open_files", "max_file_mb", "tmp_mb"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}")

    @property
    def worker_count(self) -> int:
        """The number of evaluation processes to run."""
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class ModelConfig:
    """Which model answers and how it samples."""

    spec: str = (
        "embedded"  # embedded | embedded:<path.gguf> | openai:<m> | anthropic:<m> | scripted:<f>
    )
    base_url: str | None = None  # for openai-compatible servers
    temperature: float = 0.8
    max_completion_tokens: int = 768
    timeout: float = 300.0  # seconds per model call

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"temperature must be at least 0, got {self.temperature!r}")
        if self.max_completion_tokens < 1:
            raise ConfigError("max_completion_tokens must be at least 1")
        if not self.timeout > 0:
            raise ConfigError("model timeout must be greater than 0")
