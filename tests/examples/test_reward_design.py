"""The reward-design example: a reward and its domain randomisation as one hypothesis (DrEureka's
form, two files of a tree), the RAPP prior, and the randomisation stage alone."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import hone
from hone.evaluation import load_program
from hone.task import Task
from hone.testing import ScriptedModel

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reward_design"
STAGE2 = EXAMPLE / "randomisation"


@pytest.fixture(scope="module")
def stage1() -> ModuleType:
    return load_program(EXAMPLE / "evaluate.py")


@pytest.fixture(scope="module")
def stage2() -> ModuleType:
    return load_program(STAGE2 / "evaluate.py")


@pytest.fixture(scope="module")
def mc(stage1: ModuleType) -> ModuleType:
    """The environment and trainer module, as the evaluators import it."""
    return stage1.mc


@pytest.fixture(scope="module")
def rapp(stage1: ModuleType) -> ModuleType:
    return load_program(EXAMPLE / "rapp.py")


@pytest.fixture(scope="module")
def policies(rapp: ModuleType) -> list[np.ndarray]:
    """Q-tables trained on the nominal car with the hand-written reward."""
    return rapp.trained_policies()


def reward_program(tmp_path: Path, body: str, randomisation: str = "") -> str:
    """A hypothesis's tree: reward.py with this body, and randomisation.toml."""
    source = "import numpy as np\n\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
    source += textwrap.indent(textwrap.dedent(body), "    ")
    return hypothesis(tmp_path, source, randomisation)


def hypothesis(tmp_path: Path, reward: str, randomisation: str = "") -> str:
    root = tmp_path / "tree"
    root.mkdir(exist_ok=True)
    (root / "reward.py").write_text(reward, encoding="utf-8")
    (root / "randomisation.toml").write_text(randomisation, encoding="utf-8")
    return str(root)


def ranges_program(tmp_path: Path, ranges: str) -> str:
    path = tmp_path / "candidate.py"
    path.write_text(f"def randomisation():\n    return {ranges}\n", encoding="utf-8")
    return str(path)


def test_task_folders_are_complete() -> None:
    for folder, program in ((EXAMPLE, "hypothesis/reward.py"), (STAGE2, "initial.py")):
        for name in ("task.toml", program, "evaluate.py"):
            assert (folder / name).is_file(), folder / name
        source = (folder / program).read_text(encoding="utf-8").splitlines()
        assert "# EVOLVE-BLOCK-START" in source
        assert "# EVOLVE-BLOCK-END" in source
    assert (EXAMPLE / "README.md").is_file()
    task = Task.from_dir(EXAMPLE)
    assert task.tree.paths == ("randomisation.toml", "reward.py")  # one hypothesis, two files


@pytest.mark.parametrize(
    "physics",
    [
        {"force": 0.001, "gravity": 0.0025, "max_speed": 0.07},
        {"force": 0.0006, "gravity": 0.004, "max_speed": 0.05},
    ],
)
def test_vectorised_dynamics_match_gymnasium(mc: ModuleType, physics: dict) -> None:
    """The trainer's numpy copy of the dynamics steps exactly like Gymnasium's env."""
    rng = np.random.default_rng(0)
    env = mc.make_env({**physics, "action_noise": 0.0})
    hit_wall = False
    for episode in range(5):
        env.reset(seed=episode)
        if episode == 4:  # rolling fast into the left wall
            env.unwrapped.state = np.array([-1.1, -0.05])
        pos, vel = (np.array([x]) for x in env.unwrapped.state)
        for _ in range(mc.MAX_STEPS):
            action = int(rng.integers(3)) if episode < 2 else (2 if vel[0] > 0 else 0)
            _, _, terminated, truncated, _ = env.step(action)
            pos, vel, done = mc.step(pos, vel, np.array([action]), **physics)
            assert (pos[0], vel[0]) == tuple(env.unwrapped.state)
            assert bool(done[0]) == terminated
            hit_wall |= pos[0] == mc.MIN_POSITION
            if terminated or truncated:
                break
    assert hit_wall  # the wall's special case was exercised


def test_real_car_differs_from_training(mc: ModuleType, policies: list[np.ndarray]) -> None:
    assert mc.REAL != mc.NOMINAL
    env = mc.make_env(mc.REAL, seed=0)
    assert env.unwrapped.force == mc.REAL["force"] != mc.NOMINAL["force"]
    assert env.unwrapped.gravity == mc.REAL["gravity"] != mc.NOMINAL["gravity"]
    assert isinstance(env, mc.ActionNoise)
    nominal = np.mean([mc.rollout(q, mc.NOMINAL)[0] for q in policies])
    real = np.mean([mc.rollout(q, mc.REAL)[0] for q in policies])
    assert nominal >= 0.95
    assert real < nominal - 0.2


@pytest.mark.slow
def test_hand_written_reward_beats_zero_and_env_reward(stage1: ModuleType, mc: ModuleType) -> None:
    hand = stage1.evaluate_reward(mc.energy_reward)
    env = stage1.evaluate_reward(mc.env_reward)
    zero = stage1.evaluate_reward(lambda o, a, n, t: (np.zeros(len(a)), {}))
    for result in (hand, env, zero):
        assert "error" not in result
    assert hand["success_rate"] >= 0.95
    assert zero["success_rate"] == 0.0
    assert env["success_rate"] < 0.6
    assert hand["combined_score"] > env["combined_score"] + 0.3
    assert set(hand["components"]) >= {"time", "energy_gain", "goal", "total", "task_success"}
    assert hand["components"]["task_success"]["end"] > hand["components"]["task_success"]["start"]
    assert hand["combined_score"] == pytest.approx(
        mc.score(hand["success_rate"], hand["mean_steps"])
    )


def test_starting_hypothesis_evaluates(stage1: ModuleType) -> None:
    result = stage1.evaluate(str(EXAMPLE / "hypothesis"))
    assert "error" not in result
    assert result["combined_score"] < 0.2  # trained on the nominal car only: fails the real one
    assert 0.2 < result["nominal_success"] < 0.9  # reasonable there, and room to improve
    assert "randomised: none." in result["feedback"]
    assert set(result["components"]) == {
        "time_penalty",
        "progress",
        "goal",
        "total",
        "task_success",
        "episode_length",
    }
    stats = result["components"]["goal"]
    assert set(stats) == {"mean", "min", "max", "start", "end"}
    assert stats["min"] <= stats["mean"] <= stats["max"]


@pytest.mark.slow
def test_score_is_the_true_metric_not_the_candidates_return(
    stage1: ModuleType, tmp_path: Path
) -> None:
    """A reward paying hugely for pushing left earns a high return and a policy that fails."""
    program = reward_program(
        tmp_path,
        """
        push_left = 100.0 * (action == 0)
        return push_left, {"push_left": push_left}
        """,
    )
    result = stage1.evaluate(program)
    assert "error" not in result
    assert result["components"]["total"]["mean"] > 10_000
    assert result["real_success"] == 0.0 and result["nominal_success"] == 0.0
    assert result["combined_score"] == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("raise ValueError('boom')", "ValueError('boom')"),
        ("return np.full(len(action), np.nan), {}", "NaN or infinite"),
        ("return 'high', {}", "not numbers"),
        ("return np.zeros(3), {}", "expected (32,)"),
        ("return np.zeros(len(action)), {'a': np.full(len(action), np.inf)}", "component 'a'"),
        ("return [1.0, 2.0, 3.0]", "return (total, components)"),
        ("return -1.0 if obs[0, 0] > next_obs[:, 0] else 0.0", "ambiguous"),
    ],
)
def test_broken_reward_is_rejected_with_a_reason(
    stage1: ModuleType, tmp_path: Path, body: str, fragment: str
) -> None:
    result = stage1.evaluate(reward_program(tmp_path, body))
    assert result["combined_score"] == 0.0
    assert fragment in result["error"]


def test_raising_reward_names_the_candidates_line(stage1: ModuleType, tmp_path: Path) -> None:
    program = reward_program(tmp_path, "x = 1 / 0\nreturn x, {}\n")
    result = stage1.evaluate(program)
    assert "ZeroDivisionError" in result["error"]
    assert "line 5: x = 1 / 0" in result["error"]


def test_missing_function_is_rejected(stage1: ModuleType, tmp_path: Path) -> None:
    tree = hypothesis(tmp_path, "def reward(obs):\n    return 0.0\n")
    assert "compute_reward" in stage1.evaluate(tree)["error"]


@pytest.mark.parametrize(
    ("randomisation", "error"),
    [
        ("force = [0.0007", "randomisation.toml: "),  # (tomllib's words vary by version)
        ("friction = [0.1, 0.2]", "randomisation.toml: unknown parameter 'friction'"),
        ("force = [0.002, 0.001]", "randomisation.toml: 'force': (0.002, 0.001) needs finite low"),
        ("gravity = 0.003", "randomisation.toml: 'gravity': 0.003 is not a (low, high) pair"),
    ],
)
def test_a_bad_randomisation_file_is_rejected_before_training(
    stage1: ModuleType, tmp_path: Path, randomisation: str, error: str
) -> None:
    tree = reward_program(tmp_path, "return np.zeros(len(action)), {}", randomisation)
    result = stage1.evaluate(tree)
    assert result["combined_score"] == 0.0 and result["error"].startswith(error)


def test_feasible_range_takes_the_run_around_nominal(rapp: ModuleType) -> None:
    rows = [(0.1, 0.9), (0.2, 0.1), (0.3, 0.9), (0.4, 1.0), (0.5, 0.85), (0.6, 0.2)]
    assert rapp.feasible_range(rows, 0.4) == (0.3, 0.5)
    assert rapp.feasible_range(rows, 0.6) is None


@pytest.mark.slow
def test_rapp_ranges_are_sensible(rapp: ModuleType, mc: ModuleType, policies: list) -> None:
    ranges = rapp.rapp_ranges(policies)
    assert set(ranges) == set(mc.NOMINAL)
    for name, pair in ranges.items():
        assert pair is not None, name
        low, high = pair
        assert mc.SWEEP[name][0] <= low <= mc.NOMINAL[name] <= high <= mc.SWEEP[name][1], name
    # A weaker motor matters: the weakest forces of the sweep fail. A higher speed limit never
    # matters: the range reaches the top of the sweep.
    assert ranges["force"][0] > mc.SWEEP["force"][0]
    assert ranges["max_speed"][1] == mc.SWEEP["max_speed"][1]
    relative = {n: (hi - lo) / (mc.SWEEP[n][1] - mc.SWEEP[n][0]) for n, (lo, hi) in ranges.items()}
    assert relative["force"] < relative["gravity"]
    # The starting program of the randomisation stage carries these very ranges.
    initial = load_program(STAGE2 / "initial.py")
    for name, (low, high) in ranges.items():
        assert initial.RAPP_RANGES[name] == pytest.approx((low, high))


def test_rapp_of_a_policy_that_never_succeeds_is_empty(rapp: ModuleType, mc: ModuleType) -> None:
    push_right = np.zeros((mc.BINS[0] * mc.BINS[1], 3))
    push_right[:, 2] = 1.0
    assert rapp.feasible_range(rapp.sweep([push_right])["force"], mc.NOMINAL["force"]) is None


@pytest.mark.slow
def test_randomisation_with_rapp_ranges_helps_on_the_real_car(
    stage2: ModuleType, tmp_path: Path
) -> None:
    start = stage2.evaluate(str(STAGE2 / "initial.py"))
    initial = load_program(STAGE2 / "initial.py")
    with_rapp = stage2.evaluate_ranges(dict(initial.RAPP_RANGES))
    for result in (start, with_rapp):
        assert "error" not in result
        assert result["nominal_success"] >= 0.95
    assert start["real_success"] < 0.6
    assert with_rapp["real_success"] > start["real_success"] + 0.1
    assert "randomised: none" in start["feedback"]


@pytest.mark.parametrize(
    ("ranges", "fragment"),
    [
        ("[(0.1, 0.2)]", "not a dict"),
        ("{'friction': (0.1, 0.2)}", "unknown parameter 'friction'"),
        ("{'force': (0.002, 0.001)}", "low <= high"),
        ("{'force': (0.0, 0.001)}", "outside the allowed"),
        ("{'gravity': 0.003}", "not a (low, high) pair"),
        ("{'action_noise': (0.0, float('nan'))}", "finite"),
    ],
)
def test_invalid_randomisation_is_rejected(
    stage2: ModuleType, tmp_path: Path, ranges: str, fragment: str
) -> None:
    result = stage2.evaluate(ranges_program(tmp_path, ranges))
    assert result["combined_score"] == 0.0
    assert fragment in result["error"]


@pytest.mark.slow
def test_stage_one_reward_carries_into_rapp_and_stage_two(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "reward_design"
    shutil.copytree(EXAMPLE, copy)
    zero = tmp_path / "best.py"
    zero.write_text(
        "import numpy as np\n\n\ndef compute_reward(obs, action, next_obs, terminated):\n"
        "    return np.zeros(len(action)), {}\n"
    )
    rapp = [sys.executable, str(copy / "rapp.py"), "--write"]
    done = subprocess.run([*rapp, "--reward", str(zero)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (copy / "randomisation" / "reward.py").read_text() == zero.read_text()
    assert '"force": None' in (copy / "randomisation" / "initial.py").read_text()  # never succeeds
    score = [
        sys.executable,
        "-c",
        "import sys; sys.path.insert(0, sys.argv[1]); import evaluate; "
        "print(evaluate.evaluate(sys.argv[1] + '/initial.py')['combined_score'])",
        str(copy / "randomisation"),
    ]
    carried = float(subprocess.run(score, capture_output=True, text=True, check=True).stdout)
    assert carried == 0.0  # policies trained with the zero reward never reach the flag
    subprocess.run(rapp, capture_output=True, text=True, check=True)  # back to the hand-written
    assert not (copy / "randomisation" / "reward.py").exists()
    own = float(subprocess.run(score, capture_output=True, text=True, check=True).stdout)
    assert own > 0.3


ENERGY_REWARD = """\
    position, velocity = next_obs[:, 0], next_obs[:, 1]
    before = 0.5 * obs[:, 1] ** 2 + 0.0025 / 3 * np.sin(3 * obs[:, 0])
    after = 0.5 * velocity**2 + 0.0025 / 3 * np.sin(3 * position)
    time = -np.ones(len(action))
    energy_gain = 1e5 * (0.99 * after - before)
    goal = 10.0 * terminated
    total = time + energy_gain + goal
    return total, {"time": time, "energy_gain": energy_gain, "goal": goal}
"""
RAPP_SUBSET = "force = [0.0007, 0.0015]\ngravity = [0.00125, 0.0035]\naction_noise = [0.0, 0.3]\n"


@pytest.mark.slow
def test_one_answer_changes_the_reward_and_its_randomisation_and_works_on_the_real_car(
    mc: ModuleType, tmp_path: Path
) -> None:
    """DrEureka's hypothesis in one answer: the energy-shaping reward (a SEARCH/REPLACE in
    reward.py's block) and RAPP ranges (randomisation.toml rewritten whole)."""
    start_reward = (EXAMPLE / "hypothesis" / "reward.py").read_text(encoding="utf-8")
    body = start_reward.split("    position = next_obs[:, 0]\n", 1)[1].split("\n\n# EVOLVE")[0]
    search = "    position = next_obs[:, 0]\n" + body
    answer = (
        "Energy shaping, trained under the physics prior.\n\nreward.py\n<<<<<<< SEARCH\n"
        f"{search}\n=======\n{ENERGY_REWARD.rstrip()}\n>>>>>>> REPLACE\n\n"
        f"```toml randomisation.toml\n{RAPP_SUBSET}```\n"
    )
    task = Task.from_dir(EXAMPLE)
    result = hone.run(
        task.configured(evaluation={"workers": 1, "timeout": 600}),
        model=ScriptedModel([answer]),
        run_dir=tmp_path / "run",
        budget=task.budget.merged(max_llm_calls=1),
    )
    start, pair = result.history
    assert start.score is not None and start.score < 0.1
    assert pair.tree is not None and set(pair.tree.changed(start.tree or {})) == {
        "reward.py",
        "randomisation.toml",
    }
    assert pair.score is not None and pair.score > 0.6  # 0.669: 66 % on the real car
    assert pair.evaluation.metrics["nominal_success"] == 1.0
    assert "randomised: force 0.0007-0.0015, gravity 0.00125-0.0035" in pair.evaluation.feedback
    assert (tmp_path / "run" / "best" / "randomisation.toml").read_text() == RAPP_SUBSET
