"""OpenEvolve's task folders: ``initial_program.<ext>``, ``evaluator.py`` and ``config.yaml``
(or the config named with ``--config``), also given as OpenEvolve's two files
(``hone run initial_program.py evaluator.py --config config.yaml``).

The evaluator runs under OpenEvolve's contract (`hone.compat.openevolve`); the config's keys
that have a meaning in hone become the task's settings, and the keys hone does not use are
listed in one warning (docs/migrating.md has the table).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.budget import Budget
from hone.exceptions import ConfigError, TaskError
from hone.formats import Options, Read, read_program, read_yaml, top_level_names
from hone.task import Task

DEFAULT_INSTRUCTION = "Improve the program so that the evaluator gives it a higher score."
DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)  # OpenEvolve's evaluator.cascade_thresholds
DEFAULT_TIMEOUT = 300.0  # OpenEvolve's evaluator.timeout, seconds per call or stage
DEFAULT_FEATURES = ("complexity", "diversity")  # OpenEvolve's database.feature_dimensions
DEFAULT_BINS = 10
DEFAULT_ARCHIVE = 100
DEFAULT_SEED = 42  # OpenEvolve's random_seed
DEFAULT_DIFFS = True  # OpenEvolve's diff_based_evolution
PROVIDERS = (None, "openai")  # llm.provider values whose models hone reaches by openai:
_MARGIN = 5.0  # seconds a candidate gets beyond its stages' time limits
_STAGES = 3

# OpenEvolve 0.4.0's config schema (openevolve/config.py): every key it knows, by section.
_SCHEMA: dict[str, set[str]] = {
    "": {
        "max_iterations", "checkpoint_interval", "log_level", "log_dir", "random_seed",
        "language", "file_suffix", "llm", "prompt", "database", "evaluator", "evolution_trace",
        "diff_based_evolution", "max_code_length", "enforce_evolve_blocks", "diff_pattern",
        "early_stopping_patience", "convergence_threshold", "early_stopping_metric",
        "max_tasks_per_child",
    },
    "llm": {
        "api_base", "api_key", "name", "provider", "init_client", "weight", "system_message",
        "temperature", "top_p", "max_tokens", "timeout", "retries", "retry_delay",
        "random_seed", "reasoning_effort", "max_budget_usd", "max_ai_credits",
        "allow_all_tools", "manual_mode", "models", "evaluator_models", "primary_model",
        "primary_model_weight", "secondary_model", "secondary_model_weight",
    },
    "prompt": {
        "template_dir", "system_message", "evaluator_system_message",
        "programs_as_changes_description", "system_message_changes_description",
        "initial_changes_description", "num_top_programs", "num_diverse_programs",
        "use_template_stochasticity", "template_variations", "use_meta_prompting",
        "meta_prompt_weight", "include_artifacts", "max_artifact_bytes",
        "artifact_security_filter", "suggest_simplification_after_chars",
        "include_changes_under_chars", "concise_implementation_max_lines",
        "comprehensive_implementation_min_lines", "diff_summary_max_line_len",
        "diff_summary_max_lines", "code_length_threshold",
    },
    "database": {
        "db_path", "in_memory", "log_prompts", "population_size", "archive_size",
        "num_islands", "elite_selection_ratio", "exploration_ratio", "exploitation_ratio",
        "diversity_metric", "feature_dimensions", "feature_bins", "diversity_reference_size",
        "migration_interval", "migration_rate", "random_seed", "artifacts_base_path",
        "artifact_size_threshold", "cleanup_old_artifacts", "artifact_retention_days",
        "max_snapshot_artifacts", "novelty_llm", "embedding_model", "embedding_api_base",
        "similarity_threshold",
    },
    "evaluator": {
        "timeout", "max_retries", "memory_limit_mb", "cpu_limit", "cascade_evaluation",
        "cascade_thresholds", "parallel_evaluations", "distributed", "use_llm_feedback",
        "llm_feedback_weight", "enable_artifacts", "max_artifact_storage",
    },
    "evolution_trace": {
        "enabled", "format", "include_code", "include_prompts", "output_path", "buffer_size",
        "compress",
    },
}  # fmt: skip
_MODEL_KEYS = _SCHEMA["llm"] - {
    "models", "evaluator_models", "primary_model", "primary_model_weight", "secondary_model",
    "secondary_model_weight",
}  # fmt: skip


def detect(folder: Path) -> bool:
    """True when the folder holds evaluator.py and an initial_program.<ext>."""
    return (folder / "evaluator.py").is_file() and _program_in(folder) is not None


def load(folder: Path, options: Options | None = None) -> Read:
    """Read an OpenEvolve folder: its starting program, evaluator.py and config."""
    options = options or Options()
    program = _program_in(folder)
    assert program is not None  # detect() said so
    config = options.config if options.config is not None else _config_in(folder)
    return load_files(Options(config, options.instruction, program, folder / "evaluator.py"))


def load_files(options: Options) -> Read:
    """Read OpenEvolve's command form: a starting program, an evaluator file and a config."""
    program, evaluator = options.program, options.evaluator
    if program is None or evaluator is None:
        raise TaskError(
            "OpenEvolve's form takes two files: hone run initial_program.py evaluator.py "
            "[--config config.yaml]"
        )
    if not program.is_file():
        raise TaskError(f"starting program {str(program)!r} does not exist")
    if not evaluator.is_file():
        raise TaskError(
            f"evaluator {str(evaluator)!r} does not exist; give the file that defines "
            "evaluate(program_path)"
        )
    names = top_level_names(evaluator)
    if not names & {"evaluate", "evaluate_stage1"}:
        raise TaskError(
            f"evaluator {str(evaluator)!r} defines no top-level 'evaluate'; add def "
            "evaluate(program_path) returning a dict of metrics or an EvaluationResult"
        )
    config = Config.read(options.config)
    try:
        return _task(program.resolve(), evaluator.resolve(), names, config, options.instruction)
    except ConfigError as exc:
        raise TaskError(f"{config.where}: {exc}") from None


def _program_in(folder: Path) -> Path | None:
    for stem in ("initial_program", "init_program"):
        found = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file() and p.suffix != ".pyc")
        if found:
            python = [p for p in found if p.suffix == ".py"]
            return (python or found)[0]
    return None


def _config_in(folder: Path) -> Path | None:
    for name in ("config.yaml", "config.yml"):
        if (folder / name).is_file():
            return folder / name
    others = sorted(p.name for p in (*folder.glob("*.yaml"), *folder.glob("*.yml")))
    if len(others) == 1:
        return folder / others[0]
    if others:
        raise TaskError(
            f"{str(folder)!r} has no config.yaml but several configs ({', '.join(others)}); "
            "name one with --config FILE"
        )
    return None


@dataclass
class Config:
    """An OpenEvolve config being read: each key looked up is checked and marked used."""

    data: dict[str, Any]
    where: str
    path: Path | None = None
    used: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path | None) -> Config:
        """The config at `path` (None: OpenEvolve's defaults throughout)."""
        if path is None:
            return cls({}, "OpenEvolve's default config")
        data = read_yaml(path)
        return cls(data, str(path), path.resolve())

    def get(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        """The value at a dotted `key` (None when absent), which must be of `kind`."""
        value: Any = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        self.used.add(key)
        if value is None:
            return None
        bad = isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
        if bad or not isinstance(value, kind):
            raise TaskError(f"{self.where}: {key} must be {what}, got {value!r}")
        return value

    def has(self, key: str) -> bool:
        """True when the dotted `key` is set."""
        value: Any = self.data
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
        return True

    def unused(self) -> tuple[list[str], list[str]]:
        """The keys OpenEvolve knows that hone does not use, and the keys it does not know."""
        ignored: list[str] = []
        unknown: list[str] = []
        for key, known in self._walk():
            if key not in self.used:
                (ignored if known else unknown).append(key)
        return ignored, unknown

    def _walk(self) -> Iterator[tuple[str, bool]]:
        for key, value in self.data.items():
            if key not in _SCHEMA[""]:
                yield str(key), False
            elif key in _SCHEMA and isinstance(value, dict):
                for inner, item in value.items():
                    name = f"{key}.{inner}"
                    if inner in ("models", "evaluator_models") and isinstance(item, list):
                        if name in self.used and inner == "models":
                            for i, model in enumerate(item):
                                for part in model if isinstance(model, dict) else ():
                                    sub = f"{name}[{i}].{part}"
                                    yield sub, part in _MODEL_KEYS
                        else:
                            yield name, True
                    else:
                        yield name, inner in _SCHEMA[key]
            else:
                yield str(key), True


def _task(
    program: Path, evaluator: Path, names: set[str], config: Config, instruction: str | None
) -> Read:
    took: list[str] = []
    warnings: list[str] = []
    text = instruction if instruction is not None else _instruction(config, took)
    if not text.strip():
        raise TaskError(f"{config.where}: the instruction (prompt.system_message) is empty")
    budget: dict[str, Any] = {}
    iterations = config.get("max_iterations", int, "a whole number")
    if iterations is not None:
        budget["max_llm_calls"] = iterations
        took.append(f"max_iterations {iterations} → max_llm_calls")
    seed = config.get("random_seed", int, "a whole number")
    if seed is not None:
        took.append(f"random_seed {seed} → seed")
    else:
        seed = DEFAULT_SEED
        took.append(f"random_seed: OpenEvolve's default {seed} → seed")
    evaluation, search = _evaluation(config, names, took, warnings), _search(config, took)
    model = _model(config, took)
    task = Task(
        name=evaluator.parent.name,
        instruction=text.strip(),
        program=read_program(program),
        evaluator=evaluator,
        objective="maximize",
        program_filename=program.name,
        root=evaluator.parent,
        seed=seed,
    ).configured(
        # OpenEvolve has no patience rule by default: its iterations run to the end
        budget=dataclasses.replace(Budget(), patience=None, **budget),
        evaluation=evaluation,
        search=search,
        model=model,
    )
    ignored, unknown = config.unused()
    if ignored or unknown:
        parts = []
        if ignored:
            parts.append(f"OpenEvolve keys hone does not use: {', '.join(ignored)}")
        if unknown:
            parts.append(f"keys OpenEvolve does not know either: {', '.join(unknown)}")
        warnings.append(f"{config.where}: " + "; ".join(parts) + " (see hone docs migrating)")
    where = Path(config.where).name if config.path else "no config"
    note = f"read an OpenEvolve task ({program.name}, {evaluator.name}, {where})"
    return Read(
        task, "openevolve", note + (": " + ", ".join(took) if took else ""), tuple(warnings)
    )


def _instruction(config: Config, took: list[str]) -> str:
    message: str | None = config.get("prompt.system_message", str, "a string")
    if message is None or message.strip() == "system_message":  # OpenEvolve's own default
        took.append("instruction: hone's default (no prompt.system_message)")
        return DEFAULT_INSTRUCTION
    template_dir: str | None = config.get("prompt.template_dir", str, "a folder name")
    if template_dir and config.path is not None and "\n" not in message:
        template = config.path.parent / template_dir / f"{message.strip()}.txt"
        if template.is_file():
            took.append(f"instruction from {template_dir}/{template.name}")
            return template.read_text(encoding="utf-8")
    took.append("instruction from prompt.system_message")
    return message


def _evaluation(
    config: Config, names: set[str], took: list[str], warnings: list[str]
) -> dict[str, Any]:
    number = (int, float)
    per_call = config.get("evaluator.timeout", number, "a number of seconds")
    cascade = config.get("evaluator.cascade_evaluation", bool, "true or false")
    cascade = True if cascade is None else cascade
    thresholds = config.get("evaluator.cascade_thresholds", list, "a list of numbers")
    if thresholds is not None and not all(
        isinstance(t, int | float) and not isinstance(t, bool) for t in thresholds
    ):
        raise TaskError(
            f"{config.where}: evaluator.cascade_thresholds must be a list of numbers, "
            f"got {thresholds!r}"
        )
    thresholds = DEFAULT_THRESHOLDS if thresholds is None else tuple(thresholds)
    stages = 0
    while stages < _STAGES and f"evaluate_stage{stages + 1}" in names:
        stages += 1
    if not cascade:
        stages = 0
    if stages > 1 and len(thresholds) == 1:
        stages = 2  # OpenEvolve runs stage 3 only with a second threshold
    calls = max(stages, 1)
    if stages:
        took.append(
            f"cascade of {stages} stage{'s' * (stages > 1)} (thresholds "
            f"{', '.join(f'{t:g}' for t in thresholds[: stages - 1]) or 'none'})"
        )
        if not thresholds and stages > 1:
            warnings.append(
                f"{config.where}: evaluator.cascade_thresholds is empty: OpenEvolve 0.4.0 fails "
                "every program with it; hone runs every stage"
            )
    seconds = float(per_call) if per_call is not None else DEFAULT_TIMEOUT
    took.append(f"timeout {seconds:g} s per {'stage' if stages else 'evaluation'}")
    evaluation: dict[str, Any] = {
        "contract": "openevolve",
        "cascade": cascade,
        "cascade_thresholds": thresholds,
        "stage_timeout": seconds,
        "timeout": seconds * calls + _MARGIN,
        "feature_dimensions": _dimensions(config),
    }
    workers = config.get("evaluator.parallel_evaluations", int, "a whole number")
    if workers is not None:
        evaluation["workers"] = workers
        took.append(f"parallel_evaluations {workers} → workers")
    return evaluation


def _dimensions(config: Config) -> tuple[str, ...]:
    dimensions = config.get("database.feature_dimensions", list, "a list of metric names")
    if dimensions is None:
        return DEFAULT_FEATURES
    if not all(isinstance(d, str) and d for d in dimensions):
        raise TaskError(
            f"{config.where}: database.feature_dimensions must be a list of metric names, "
            f"got {dimensions!r}"
        )
    return tuple(dimensions)


def _search(config: Config, took: list[str]) -> dict[str, Any]:
    search: dict[str, Any] = {}
    diff = config.get("diff_based_evolution", bool, "true or false")
    default = diff is None
    diff = DEFAULT_DIFFS if diff is None else diff
    search["edits"] = "diff" if diff else "full"
    took.append(
        f"diff_based_evolution{': OpenEvolve default true' if default else ''} → "
        f"{'SEARCH/REPLACE' if diff else 'whole-program'} edits"
    )
    if not config.has("database.feature_dimensions"):
        return search
    dimensions = _dimensions(config)
    bins = config.get("database.feature_bins", (int, dict), "a whole number or a mapping")
    archive = config.get("database.archive_size", int, "a whole number") or DEFAULT_ARCHIVE
    features: dict[str, list[float]] = {}
    for name in dimensions:
        if isinstance(bins, dict):
            count = bins.get(name, DEFAULT_BINS)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise TaskError(
                    f"{config.where}: database.feature_bins.{name} must be a whole number, "
                    f"got {count!r}"
                )
        else:  # OpenEvolve's rule: enough bins for the archive to fill the grid
            given = DEFAULT_BINS if bins is None else bins
            count = max(given, int(archive ** (1 / len(dimensions)) + 0.99))
        features[name] = [float(count)]
    if features:
        search.update(strategy="map-elites", features=features)
        grid = " x ".join(str(int(spec[0])) for spec in features.values())
        took.append(f"feature_dimensions [{', '.join(features)}] → map-elites ({grid} bins)")
    return search


def _model(config: Config, took: list[str]) -> dict[str, Any]:
    model: dict[str, Any] = {}
    entries = config.get("llm.models", list, "a list of models") or []
    names: list[str] = []
    bases: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TaskError(f"{config.where}: llm.models[{i}] needs a 'name', got {entry!r}")
        names.append(entry["name"])
        config.used.update({f"llm.models[{i}].name", f"llm.models[{i}].api_base"})
        if isinstance(entry.get("api_base"), str):
            bases.append(entry["api_base"])
    if not names:
        primary = config.get("llm.primary_model", str, "a model name")
        secondary = config.get("llm.secondary_model", str, "a model name")
        weight = config.get("llm.secondary_model_weight", (int, float), "a number")
        names = [n for n in (primary, secondary if weight != 0 else None) if n]
    base = config.get("llm.api_base", str, "a URL")
    if base is None and bases:
        base = bases[0]
    if len(set(bases)) > 1:
        raise TaskError(
            f"{config.where}: llm.models use different api_base URLs ({', '.join(sorted(set(bases)))}); "
            "hone's ensemble members share one: set llm.api_base"
        )
    provider = config.get("llm.provider", str, "a provider name")
    if names and provider not in PROVIDERS:
        # (e.g. "claude_code": OpenEvolve drives the Claude Code CLI; never sent to OpenAI's
        # endpoint: the spec names the provider, which no backend of hone is, so a run that
        # calls the model is refused at its start unless --model chooses one)
        model["spec"] = f"{provider}:{','.join(dict.fromkeys(names))}"
        took.append(f"llm.provider {provider}: no backend of hone (choose one with --model)")
    elif names:
        unique = list(dict.fromkeys(names))
        spec = (
            f"openai:{unique[0]}"
            if len(unique) == 1
            else "ensemble:" + ",".join(f"openai:{n}" for n in unique)
        )
        model["spec"] = spec
        took.append(f"llm → {spec}" + (f" at {base}" if base else ""))
    if base is not None:
        model["base_url"] = base
    for key, setting, kind in (
        ("llm.temperature", "temperature", (int, float)),
        ("llm.max_tokens", "max_completion_tokens", int),
        ("llm.timeout", "timeout", (int, float)),
    ):
        value = config.get(key, kind, "a number")
        if value is not None:
            model[setting] = value
            took.append(f"{key} → {setting}")
    return model
