"""Launches this task with ShinkaEvolve (hone reads the settings below without running it)."""

from shinka.core import EvolutionConfig, ShinkaEvolveRunner
from shinka.database import DatabaseConfig
from shinka.launch import LocalJobConfig

task_sys_msg = (
    "You place points in the unit square. Make the smallest distance between any two of "
    "the 8 points as large as possible; every point must stay inside the square."
)

if __name__ == "__main__":
    evo_config = EvolutionConfig(
        task_sys_msg=task_sys_msg,
        num_generations=4,
        patch_types=["diff", "full"],
        language="python",
        init_program_path="initial.py",
    )
    job_config = LocalJobConfig(eval_program_path="evaluate.py", time="00:00:30")
    ShinkaEvolveRunner(
        evo_config=evo_config, job_config=job_config, db_config=DatabaseConfig()
    ).run()
