"""Broken task folders, settings and command lines: each is exit code 2 and one line that
names the file or key and says how to fix it (docs/errors.md lists them)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from hone.cli import main
from tests.conftest import EVALUATOR, PROGRAM


@dataclass(frozen=True)
class Broken:
    name: str
    message: str  # a regular expression the one line must match
    toml: str = ""  # added to task.toml
    change: Callable[[Path], None] | None = None  # what else breaks the folder
    args: tuple[str, ...] = ()  # more command-line arguments
    scripted: bool = True  # run with a scripted model (else the task's own)


def write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")

    return change


def remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


PROGRAM_LATIN1 = PROGRAM.replace("a number", "ein Größe").encode("latin-1")
NO_END = PROGRAM.replace("# EVOLVE-BLOCK-END\n", "")
TWO_STARTS = PROGRAM.replace("def run", "# EVOLVE-BLOCK-START\ndef run")
END_FIRST = "# EVOLVE-BLOCK-END\n" + PROGRAM.replace("# EVOLVE-BLOCK-END\n", "")

CASES = [
    Broken("task.toml missing", r"task\.toml' is missing; create it", change=remove("task.toml")),
    Broken("invalid TOML", r"task\.toml' is not valid TOML", toml="[budget\n"),
    Broken("task.toml not UTF-8", r"task\.toml' is not UTF-8 text.*save it as UTF-8",
           change=write("task.toml", 'instruction = "caf\xe9"\n'.encode("latin-1"))),
    Broken("unknown top-level key", r"unknown key\(s\) \['instructions'\]", toml="instructions = 'x'\n"),
    Broken("no instruction", r"needs an 'instruction' string",
           change=write("task.toml", "objective = 'maximize'\n")),
    Broken("empty instruction", r"needs an 'instruction' string",
           change=write("task.toml", "instruction = '  '\n")),
    Broken("instruction a number", r"needs an 'instruction' string",
           change=write("task.toml", "instruction = 3\n")),
    Broken("objective", r"objective must be 'maximize' or 'minimize', got 'best'", toml="objective = 'best'\n"),
    Broken("target a string", r"target must be a number", toml="target = 'high'\n"),
    Broken("target a boolean", r"target must be a number", toml="target = true\n"),
    Broken("program missing", r"nope\.py' is missing; create it or set 'program'", toml="program = 'nope.py'\n"),
    Broken("program not a string", r"'program' must be a non-empty string", toml="program = 5\n"),
    Broken("program not UTF-8", r"starting program .*initial\.py' is not UTF-8 text",
           change=write("initial.py", PROGRAM_LATIN1)),
    Broken("program does not parse", r"initial\.py' does not parse \(line 1",
           change=write("initial.py", "def f(:\n")),
    Broken("start marker without end", r"initial\.py'.*1 start and 0 end marker.*EVOLVE-BLOCK-START",
           change=write("initial.py", NO_END)),
    Broken("two start markers", r"initial\.py'.*2 start and 1 end marker",
           change=write("initial.py", TWO_STARTS)),
    Broken("end marker first", r"initial\.py'.*one EVOLVE-BLOCK-START line followed by one",
           change=write("initial.py", END_FIRST)),
    Broken("evaluator missing", r"evaluate\.py' is missing; create it with a function",
           change=remove("evaluate.py")),
    Broken("evaluator not UTF-8", r"evaluator .*evaluate\.py' is not UTF-8 text",
           change=write("evaluate.py", b"# \xff\ndef evaluate(p):\n    return 1\n")),
    Broken("evaluator does not parse", r"evaluate\.py' does not parse",
           change=write("evaluate.py", "def evaluate(p)\n")),
    Broken("evaluator without evaluate", r"defines no top-level 'evaluate'; add",
           change=write("evaluate.py", "def score(p):\n    return 1\n")),
    Broken("trusted evaluator with stages", r"cascade stages .* go with evaluate\(program_path\)",
           change=write("evaluate.py", "def evaluate_program(p):\n    return 1\n\n"
                        "def evaluate_stage1(p):\n    return 1\n")),
    Broken("evaluator fails to import", r"importing .*evaluate\.py' failed: .*ZeroDivisionError.*fix the evaluator",
           change=write("evaluate.py", "1 / 0\n" + EVALUATOR)),
    Broken("archive not a list", r"archive must be a list of file names", toml="archive = 'a.py'\n"),
    Broken("archive file missing", r"archive program .*b\.py' is missing", toml="archive = ['b.py']\n"),
    Broken("archive does not parse", r"starting program .*a\.py' does not parse",
           toml="archive = ['a.py']\n", change=write("a.py", "def (\n")),
    Broken("table not a table", r"\[search\] must be a table", toml="search = 3\n"),
    Broken("unknown budget key", r"unknown key\(s\) \['max_calls'\] in \[budget\]", toml="[budget]\nmax_calls = 3\n"),
    Broken("negative calls", r"max_llm_calls must be at least 0", toml="[budget]\nmax_llm_calls = -1\n"),
    Broken("calls a boolean", r"invalid \[budget\]: max_llm_calls must be an integer", toml="[budget]\nmax_llm_calls = true\n"),
    Broken("patience a word", r"patience must be an integer", toml="[budget]\npatience = 'never'\n"),
    Broken("seconds a string", r"max_seconds must be a number", toml="[budget]\nmax_seconds = '10'\n"),
    Broken("unknown strategy", r"strategy must be one of 'top-k', .*, got 'best'", toml="[search]\nstrategy = 'best'\n"),
    Broken("fractional width", r"hypotheses_per_round must be an integer, got 2\.5", toml="[search]\nhypotheses_per_round = 2.5\n"),
    Broken("zero width", r"hypotheses_per_round must be at least 1", toml="[search]\nhypotheses_per_round = 0\n"),
    Broken("deterministic a string", r"deterministic must be true or false, got 'false'", toml="[search]\ndeterministic = 'false'\n"),
    Broken("novelty above 1", r"novelty must be between 0 and 1", toml="[search]\nnovelty = 2\n"),
    Broken("map-elites without features", r"map-elites needs \[search\] features", toml="[search]\nstrategy = 'map-elites'\n"),
    Broken("pareto with one objective", r"pareto needs two or more \[search\] objectives",
           toml="[search]\nstrategy = 'pareto'\nobjectives = {a = 'maximize'}\n"),
    Broken("bad feature", r"feature 'size' must be \[low, high, bins\]", toml="[search]\nfeatures = {size = [5, 1, 3]}\n"),
    Broken("network a string", r"network must be true or false, got 'false'", toml="[evaluation]\nnetwork = 'false'\n"),
    Broken("zero timeout", r"timeout must be greater than 0", toml="[evaluation]\ntimeout = 0\n"),
    Broken("unknown executor", r"executor must be one of 'local', 'ray', got 'slurm'", toml="[evaluation]\nexecutor = 'slurm'\n"),
    Broken("read-only path missing", r"read_only path '.*/task/nowhere' does not exist; correct it in \[evaluation\] read_only \(relative to the task folder\) or --read-only",
           toml="[evaluation]\nread_only = ['nowhere']\n"),
    Broken("read-only path missing (old name)", r"read_only path '.*/task/nowhere' does not exist", toml="[evaluation]\nread_paths = ['nowhere']\n"),
    Broken("read-only the root", r"read_only path '/' would show /root, a home directory, where keys and credentials live; declare only the folder",
           args=("--read-only", "/")),
    Broken("read-only /tmp", r"read_only path '/tmp' would cover the private /tmp the sandbox gives each evaluation", args=("--read-only", "/tmp")),
    Broken("read-only keys", r"read_only path '.*/keys/\.ssh' is or lies in \.ssh, a place for keys and credentials",
           toml="[evaluation]\nread_only = ['keys/.ssh']\n", change=write("keys/.ssh/id_ed25519", "secret")),
    Broken("read-only a folder holding keys", r"read_only path '.*/someone' holds \.aws, a place for keys",
           toml="[evaluation]\nread_only = ['someone']\n", change=write("someone/.aws/credentials", "secret")),
    Broken("read-only the run folder's parent", r"read_only path '.*' would show the run's own folder '.*/r' to evaluations",
           toml="[evaluation]\nread_only = ['..']\n"),
    Broken("thresholds not numbers", r"cascade_thresholds must be a list of numbers", toml="[evaluation]\ncascade_thresholds = ['a']\n"),
    Broken("negative temperature", r"temperature must be at least 0", toml="[model]\ntemperature = -1\n"),
    Broken("unknown model in task.toml", r"unknown model 'gpt5'; use one of: embedded", toml="[model]\nname = 'gpt5'\n", args=("--max-llm-calls", "1"), scripted=False),
    Broken("zero model timeout", r"model timeout must be greater than 0", toml="[model]\ntimeout = 0\n"),
    Broken("cli zero width", r"hypotheses_per_round must be at least 1", args=("--hypotheses", "0")),
    Broken("cli negative timeout", r"timeout must be greater than 0", args=("--timeout", "-1")),
    Broken("cli missing answers file", r"scripted answers file '/nope\.jsonl' does not exist", args=("--model", "scripted:/nope.jsonl", "--max-llm-calls", "1")),
    Broken("cli ensemble of one", r"an ensemble lists two or more models", args=("--model", "ensemble:openai:a", "--max-llm-calls", "1")),
    Broken("instruction of 10 MB", r"the instruction in '.*task\.toml' is 10,485,760 characters; hone takes at most 200,000 \(about 50,000 tokens\), as every prompt carries it whole: shorten it",
           change=write("task.toml", 'instruction = "' + "x" * (10 << 20) + '"\n')),
    Broken("cli instruction too long", r"the instruction given with --instruction is 200,001 characters; hone takes at most 200,000",
           args=("--instruction", "x" * 200_001)),
    Broken("cli base url not a url", r"base_url 'not a url' is not an http:// or https:// URL; give the server's address, e\.g\. --base-url http://127\.0\.0\.1:8080/v1",
           args=("--base-url", "not a url")),
    Broken("cli infinite timeout", r"timeout must be a number, got inf", args=("--timeout", "inf")),
    Broken("cli timeout past any clock", r"timeout must be at most 31,622,400 seconds \(a year\), got 1e\+300", args=("--timeout", "1e300")),
    Broken("cli seconds nan", r"max_seconds must be a number \(or omitted\), got nan", args=("--max-seconds", "nan")),
    Broken("start fails", r"starting program 'initial\.py' failed to evaluate \(error: .*fix it or the evaluator",
           change=write("initial.py", PROGRAM.replace("return f()", "return f() / 0")), args=("--max-llm-calls", "1")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_broken_folder_is_one_line_and_exit_code_2(
    make_task, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Broken
) -> None:
    root = make_task(case.toml)
    if case.change is not None:
        case.change(root)
    arguments = ["run", str(root), "--run-dir", str(tmp_path / "r"), "--max-llm-calls", "0"]
    answers = tmp_path / "answers.jsonl"
    answers.write_text('"no code"\n')
    if case.scripted and "--model" not in case.args:
        arguments += ["--model", f"scripted:{answers}"]
    code = main([*arguments, *case.args])
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("hone: error: "), lines[0]
    assert re.search(case.message, lines[0]), lines[0]
    assert "Traceback" not in captured.out + captured.err


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda t: ["run", str(t / "nowhere")], r"task folder .*nowhere' does not exist"),
        (lambda t: ["run", str(t / "f.txt")], r"f\.txt' is a file; pass a task folder"),
        (lambda t: ["show", str(t)], r"is not a hone run \(no hone\.db\); pass the folder"),
        (lambda t: ["resume", str(t)], r"is not a hone run"),
        (lambda t: ["replay", str(t)], r"is not a hone run"),
        (lambda t: ["show", str(t / "f.txt")], r"is not a hone run"),
    ],
)
def test_bad_paths_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make_args, message: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err


@pytest.mark.parametrize("where", ["file", "under a file"])
def test_a_run_folder_that_is_a_file_is_one_line(
    make_task, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    (tmp_path / "taken").write_text("x")
    run_dir = tmp_path / "taken" if where == "file" else tmp_path / "taken" / "run"
    code = main(["run", str(make_task()), "--run-dir", str(run_dir), "--max-llm-calls", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert re.search(
        r"cannot make the run folder .*taken.*is a file; pick another run_dir \(--run-dir\)", err
    )


def test_a_bad_base_url_is_refused_before_the_run_folder_is_made(
    make_task, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    args = ["run", str(make_task()), "--model", "openai:m", "--run-dir", str(run_dir)]
    assert main([*args, "--base-url", "not a url"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not an http:// or https:// URL" in err, err
    assert not run_dir.exists()  # nothing made, nothing asked of a model


def test_a_long_instruction_is_a_warning_and_the_run_goes_on(
    make_task, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_task()
    (root / "task.toml").write_text('instruction = "' + "y" * 60_000 + '"\n')
    args = ["run", str(root), "--run-dir", str(tmp_path / "r"), "--max-llm-calls", "0"]
    answers = tmp_path / "answers.jsonl"
    answers.write_text('"no code"\n')
    assert main([*args, "--model", f"scripted:{answers}"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"hone: warning: the instruction in {str(root / 'task.toml')!r} is 60,000 characters "
        "(about 15,000 tokens), and every prompt carries it whole: more than a small model's "
        "context holds"
    ]
