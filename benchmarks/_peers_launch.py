"""What `benchmarks/peers_real_model.py` runs inside each framework's own venv (stdlib only at the
top: each subcommand imports its framework when it runs).

    python _peers_launch.py hone FOLDER --config C --run-dir D --base-url U ...
    python _peers_launch.py shinka FOLDER --config C --results-dir D --base-url U ...
    python _peers_launch.py rescore-openevolve FOLDER --config C --program P --repeats R
    python _peers_launch.py rescore-shinka FOLDER --program P --repeats R

`hone`: reads the folder as `hone run FOLDER --config C` does, puts the benchmark's common
settings on top (call budget, workers, requests at once, temperature, answer length, model
timeout) and runs it with `hone.run`. `shinka`: what ShinkaEvolve's own `run_evo.py` does with
the folder's YAML (EvolutionConfig, DatabaseConfig, LocalJobConfig, ShinkaEvolveRunner), with the
model pointed at the benchmark's server, seeded, and the same common settings. `rescore-*`: the
folder's own evaluator, by the peer's own rules, on one program, `--repeats` times; one JSON
line: the scores (None for a program the evaluator rejects) and their mean.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def common(parser: argparse.ArgumentParser) -> None:
    """The settings every framework gets alike."""
    parser.add_argument("folder", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--base-url", required=True, help="http://127.0.0.1:PORT/v1")
    parser.add_argument("--model", default="local")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--parallel", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--temperature", type=float, required=True)
    parser.add_argument("--max-tokens", type=int, required=True)
    parser.add_argument("--model-timeout", type=float, required=True)


def run_hone(args: argparse.Namespace) -> int:
    """One hone run on the folder, through the API `hone run` uses."""
    import hone
    from hone.formats import Options, read_task

    read = read_task(args.folder, Options(config=args.config))
    print(read.note, flush=True)
    for warning in read.warnings:
        print(f"warning: {warning}", flush=True)
    task = read.task.configured(
        # the peers stop on their call budget only
        budget={"max_llm_calls": args.calls, "patience": 0},
        search={"hypotheses_per_round": args.parallel},
        evaluation={"workers": args.parallel},
        model={
            "temperature": args.temperature,
            "max_completion_tokens": args.max_tokens,
            "timeout": args.model_timeout,
            "max_in_flight": args.parallel,
        },
    )
    result = hone.run(
        task,
        model=f"openai:{args.model}",
        base_url=args.base_url,
        run_dir=args.run_dir,
        seed=args.seed,
    )
    print(f"hone: best {result.best_score} after {result.usage.calls} calls", flush=True)
    return 0


def task_message(run_evo: Path) -> str | None:
    """The `*task_sys_msg` string run_evo.py assigns (read, not run)."""
    tree = ast.parse(run_evo.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n.endswith("task_sys_msg") for n in names) and isinstance(node.value.value, str):
                return node.value.value
    return None


def run_shinka(args: argparse.Namespace) -> int:
    """One ShinkaEvolve run on the folder, as its run_evo.py starts one."""
    import numpy as np
    import yaml
    from shinka.core import EvolutionConfig, ShinkaEvolveRunner
    from shinka.database import DatabaseConfig
    from shinka.launch import LocalJobConfig

    # ShinkaEvolve has no seed option: its random choices use `random` and numpy's global state
    random.seed(args.seed)
    np.random.seed(args.seed)
    folder = args.folder.resolve()
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    evo = dict(config["evo_config"])
    message = task_message(folder / "run_evo.py")
    if message is not None:
        evo["task_sys_msg"] = message  # what run_evo.py sets
    evo.update(
        # generation 0 is the starting program; each later one asks the model at least once
        num_generations=args.calls + 1,
        llm_models=[f"local/{args.model}@{args.base_url}"],
        llm_dynamic_selection=None,  # one model: no bandit over models
        llm_kwargs={"temperatures": [args.temperature], "max_tokens": args.max_tokens},
        # no second model, no embedding server: no novelty judge, meta notes or embeddings
        meta_rec_interval=None,
        meta_llm_models=None,
        novelty_llm_models=None,
        embedding_model=None,
        init_program_path=str(folder / evo.get("init_program_path", "initial.py")),
        results_dir=str(args.results_dir),
    )
    job = LocalJobConfig(eval_program_path=str(folder / "evaluate.py"), time="00:05:00")

    class Runner(ShinkaEvolveRunner):  # type: ignore[misc]
        # ShinkaEvolve scales its workers down to os.cpu_count() (on 2 cores: 1 evaluation, 1
        # proposal); the benchmark gives every framework the same number of requests at once
        def _validate_concurrency_settings(
            self, evaluations: int, proposals: int, db_workers: int, cpu_count: int
        ) -> tuple[int, int, int]:
            return evaluations, proposals, db_workers

    runner = Runner(
        evo_config=EvolutionConfig(**evo),
        job_config=job,
        db_config=DatabaseConfig(**config["db_config"]),
        max_evaluation_jobs=args.parallel,
        max_proposal_jobs=args.parallel,
        max_db_workers=1,  # what ShinkaEvolve itself allows on 2 cores
        debug=False,
        verbose=True,
    )
    runner.run()
    return 0


def rescore_openevolve(args: argparse.Namespace) -> int:
    """OpenEvolve's own Evaluator (cascade and all) and score rule on one program."""
    import asyncio

    from openevolve.config import load_config
    from openevolve.evaluator import Evaluator
    from openevolve.utils.metrics_utils import get_fitness_score

    config = load_config(str(args.config))
    code = args.program.read_text(encoding="utf-8")
    evaluator = Evaluator(config.evaluator, str(args.folder / "evaluator.py"))
    scores: list[float | None] = []
    for i in range(args.repeats):
        metrics = asyncio.run(evaluator.evaluate_program(code, f"rescore-{i}"))
        score = get_fitness_score(metrics, config.database.feature_dimensions)
        failed = "error" in metrics or "timeout" in metrics or not score > 0
        scores.append(None if failed else float(score))
    print(json.dumps(summary(scores)), flush=True)
    return 0


def rescore_shinka(args: argparse.Namespace) -> int:
    """ShinkaEvolve's contract on one program: evaluate.py's metrics.json and correct.json."""
    scores: list[float | None] = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            results = Path(scratch) / "results"
            subprocess.run(
                [sys.executable, str(args.folder / "evaluate.py"), "--program_path",
                 str(args.program), "--results_dir", str(results)],
                cwd=scratch, capture_output=True, timeout=300, check=False,
            )  # fmt: skip
            try:
                correct = json.loads((results / "correct.json").read_text()).get("correct")
                metrics = json.loads((results / "metrics.json").read_text())
                scores.append(float(metrics["combined_score"]) if correct else None)
            except (OSError, ValueError, KeyError, TypeError):
                scores.append(None)
    print(json.dumps(summary(scores)), flush=True)
    return 0


def summary(scores: list[float | None]) -> dict[str, Any]:
    """The scores and their mean (None when any evaluation rejected the program)."""
    ok = [s for s in scores if s is not None]
    mean = statistics.fmean(ok) if ok and len(ok) == len(scores) else None
    return {"scores": scores, "score": mean}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    hone = sub.add_parser("hone")
    common(hone)
    hone.add_argument("--run-dir", type=Path, required=True)
    shinka = sub.add_parser("shinka")
    common(shinka)
    shinka.add_argument("--results-dir", type=Path, required=True)
    for name in ("rescore-openevolve", "rescore-shinka"):
        rescore = sub.add_parser(name)
        rescore.add_argument("folder", type=Path)
        rescore.add_argument("--config", type=Path)
        rescore.add_argument("--program", type=Path, required=True)
        rescore.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    commands = {
        "hone": run_hone,
        "shinka": run_shinka,
        "rescore-openevolve": rescore_openevolve,
        "rescore-shinka": rescore_shinka,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
