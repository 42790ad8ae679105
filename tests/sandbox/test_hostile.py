"""Hostile and broken candidates: each is contained, the pool goes on, the right status is kept.

Every case is planted under every evaluator contract (`hone.compat.CONTRACTS`; hone's in both
its forms, the plain `evaluate` and the trusted `evaluate_program`), each form with one pool
that runs the cases one after another, so each case also shows that the pool survives the one
before it. After each case the test checks from outside the sandbox that nothing changed: no
process the candidate started is alive, no file appeared outside its directory, the secret in
hone's environment did not reach its output, hone's process is alive.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import signal
import socket
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hone.compat import CONTRACTS
from hone.executors import Verified
from hone.executors.local import ProcessPool
from hone.settings import ContractName, EvaluationConfig

SECRET = "hone-test-secret-4bd1c0"
SANDBOX_UID_MIN = 0x100000

# The candidate's result() must return the list it is given, sorted. The trusted evaluator
# computes the score itself, so the best a candidate can get is 1.0.
TRUSTED = """\
def evaluate_program(program):
    data = [5, 3, 9, 1, 7]
    got = program.call("result", data)
    if not isinstance(got, list) or len(got) != len(data):
        return {"score": 0.0, "feedback": "result() must return a list of the same length"}
    right = sum(a == b for a, b in zip(got, sorted(data)))
    return {"score": right / len(data), "right": right}
"""

# The plain form: the evaluator imports the candidate in the sandboxed process.
PLAIN = """\
import importlib.util


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    got = module.result([5, 3, 9, 1, 7])
    return float(got == [1, 3, 5, 7, 9]) if isinstance(got, list) else got
"""

# OpenEvolve's contract: the same, returning an EvaluationResult.
OPENEVOLVE = """\
import importlib.util

from openevolve.evaluation_result import EvaluationResult


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    got = module.result([5, 3, 9, 1, 7])
    return EvaluationResult({"combined_score": float(got == [1, 3, 5, 7, 9])}, {"got": repr(got)})
"""

# ShinkaEvolve's contract: a script run per candidate, writing metrics.json and correct.json.
SHINKA = """\
import argparse
import importlib.util
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--program_path")
parser.add_argument("--results_dir")
args = parser.parse_args()
spec = importlib.util.spec_from_file_location("candidate", args.program_path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
got = module.result([5, 3, 9, 1, 7])
with open(os.path.join(args.results_dir, "metrics.json"), "w") as f:
    json.dump({"combined_score": float(got == [1, 3, 5, 7, 9])}, f)
with open(os.path.join(args.results_dir, "correct.json"), "w") as f:
    json.dump({"correct": True}, f)
"""


@dataclass(frozen=True)
class Planted:
    """An evaluator of one contract, in one of its forms."""

    contract: ContractName
    source: str
    trusted: bool  # the candidate runs in a process of its own (it cannot forge the result)


FORMS = {
    "hone": Planted("hone", PLAIN, trusted=False),
    "hone-trusted": Planted("hone", TRUSTED, trusted=True),
    "openevolve": Planted("openevolve", OPENEVOLVE, trusted=False),
    "shinka": Planted("shinka", SHINKA, trusted=False),
}
# Forging cases run against trusted evaluators only: an untrusted one shares its process with
# the candidate, which can therefore forge its result (docs/security.md says so).
TRUSTED_FORMS = tuple(name for name, form in FORMS.items() if form.trusted)


@dataclass
class World:
    """What the candidates may aim at, outside their sandbox."""

    root: Path
    outside: Path  # a world-writable directory outside the sandbox
    task: Path  # the evaluator's folder (world-writable: only the sandbox protects it)
    declared: Path  # a folder the task declares read-only (world-writable, as the task's)
    declared_hash: str  # its names, modes, times and contents, before any case
    port: int
    listener: socket.socket
    pools: dict[str, ProcessPool] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    workers: set[int] = field(default_factory=set)  # pids of every worker the pools ran

    def verify(self, form: str, program: str) -> Verified:
        self._note_workers()
        try:
            return self.loop.run_until_complete(self.pools[form].verify(program))
        finally:
            self._note_workers()  # a worker replaced during the evaluation counts too

    def _note_workers(self) -> None:
        self.workers |= {w.proc.pid for pool in self.pools.values() for w in pool._all}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    outside = root / "outside"
    outside.mkdir()
    outside.chmod(0o777)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    declared = root / "declared"
    (declared / "sub").mkdir(parents=True)
    (declared / "data.txt").write_text("reference data")
    (declared / "sub" / "more.txt").write_text("more")
    for path in (declared, declared / "sub"):
        path.chmod(0o777)
    for path in (declared / "data.txt", declared / "sub" / "more.txt"):
        path.chmod(0o666)
    w = World(
        root,
        outside,
        root / "tasks",
        declared,
        tree_hash(declared),
        listener.getsockname()[1],
        listener,
    )
    os.environ["HONE_TEST_KEY"] = SECRET
    try:
        for name, form in FORMS.items():
            folder = w.task / name
            folder.mkdir(parents=True)
            folder.chmod(0o777)
            (folder / "evaluate.py").write_text(form.source)
            config = EvaluationConfig(
                timeout=1.5,
                workers=1,
                memory_mb=384,
                max_processes=32,
                tmp_mb=96,  # (a small private /tmp fills fast, also on a loaded machine)
                contract=form.contract,
                read_only=(str(declared),),
            )
            w.pools[name] = ProcessPool(folder / "evaluate.py", "program.py", config)
        yield w
    finally:
        del os.environ["HONE_TEST_KEY"]
        for pool in w.pools.values():
            w.loop.run_until_complete(pool.close())
        w.loop.close()
        listener.close()


def tree_hash(folder: Path) -> str:
    """What a change to `folder` would change: every entry's name, mode, size, mtime, content."""
    digest = hashlib.sha256()
    for path in sorted([folder, *folder.rglob("*")]):
        st = path.lstat()
        digest.update(
            f"{path.relative_to(folder)} {st.st_mode} {st.st_size} {st.st_mtime_ns}".encode()
        )
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def program(body: str) -> str:
    return "import os, sys, time, signal, socket, threading\n\n" + textwrap.dedent(body)


GOOD = program("def result(xs):\n    return sorted(xs)\n")


@dataclass(frozen=True)
class Case:
    name: str
    body: str
    statuses: tuple[str, ...]
    reason: str = ""  # a regular expression the reason must match
    check: Callable[[World, Verified], None] | None = None
    forms: tuple[str, ...] = tuple(FORMS)
    # where a contract reports the same containment otherwise: {form: (statuses, reason)}
    differs: Mapping[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)


def pids_in(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"PID (\d+)", output)]


def no_survivors(world: World, verified: Verified) -> None:
    pids = pids_in(verified.output)
    assert pids, "the candidate should have reported the processes it started"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} survived its candidate"


def nothing_outside(world: World, verified: Verified) -> None:
    assert list(world.outside.iterdir()) == []
    assert not list(Path("/tmp").glob("hone-escape-*"))
    for folder in world.task.iterdir():
        assert [p.name for p in folder.iterdir()] == ["evaluate.py"]


def declared_intact(world: World, verified: Verified) -> None:
    assert tree_hash(world.declared) == world.declared_hash


def declared_read_not_changed(world: World, verified: Verified) -> None:
    assert "READ reference data" in verified.output, verified.output
    assert "CHANGED" not in verified.output, verified.output
    assert verified.output.count("blocked") == 9, verified.output
    declared_intact(world, verified)


def no_secret(world: World, verified: Verified) -> None:
    assert SECRET not in verified.output
    assert SECRET not in verified.evaluation.reason + verified.evaluation.feedback


def no_connection(world: World, verified: Verified) -> None:
    with pytest.raises(BlockingIOError):
        world.listener.accept()


def score_not_forged(world: World, verified: Verified) -> None:
    assert verified.evaluation.score is None or verified.evaluation.score <= 1.0


CASES = [
    Case("infinite loop", "def result(xs):\n    while True:\n        pass\n", ("timeout",)),
    Case(
        "sleeps forever",
        "def result(xs):\n    time.sleep(10**6)\n",
        ("timeout",),
        r"1\.5 s",
        differs={"shinka": (("timeout",), r"evaluate\.py did not finish within 1\.35 s")},
    ),
    Case(
        "ignores SIGTERM and SIGINT",
        """
        def result(xs):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                pass
        """,
        ("timeout",),
    ),
    Case(
        "fork bomb",
        """
        def result(xs):
            print("PID", os.readlink("/proc/self"), flush=True)  # as the host sees it
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
        """,
        ("timeout", "error", "killed"),
        check=no_survivors,
    ),
    Case(
        "thread bomb",
        """
        def result(xs):
            while True:
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        """,
        ("error", "timeout", "memory"),
        r"thread|Resource|memory|did not finish",
    ),
    Case(
        "memory bomb at once",
        "def result(xs):\n    return bytearray(50 * 2**30)\n",
        ("memory",),
        "memory",
        differs={"shinka": (("error",), "MemoryError")},  # evaluate.py exits with it
    ),
    Case(
        "memory bomb bit by bit",
        """
        def result(xs):
            hoard = []
            while True:
                hoard.append(bytearray(64 * 2**20))
        """,
        ("memory",),
        "memory",
        differs={"shinka": (("error",), "MemoryError")},
    ),
    Case(
        "raises its own memory limit first",
        """
        import resource
        def result(xs):
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
            return bytearray(50 * 2**30)
        """,
        ("error", "memory"),
        r"not allowed|Operation|memory|ValueError",
    ),
    Case(
        "one huge file",
        """
        def result(xs):  # (beside the program: evaluate.py may run in the read-only task folder)
            with open(os.path.join(os.path.dirname(__file__), "big"), "wb") as f:
                while True:
                    f.write(b"x" * 2**20)
        """,
        ("error",),
        "File too large",
    ),
    Case(
        "fills the disk with many files",
        """
        def result(xs):
            for i in range(10**6):
                with open(f"/tmp/hone-escape-{{i}}", "wb") as f:
                    f.write(b"x" * 32 * 2**20)
        """,
        ("error",),
        r"No space left|File too large",
        check=nothing_outside,
    ),
    Case(
        "prints without end",
        """
        def result(xs):
            for _ in range(2000):
                print("y" * 10000)
            return sorted(xs)
        """,
        ("ok",),
        check=lambda w, v: (len(v.output) <= 64_000 + 100 and "truncated" in v.output) or None,
    ),
    Case(
        "connects to hone's model server on loopback",
        """
        PORT = {port}
        def result(xs):
            socket.create_connection(("127.0.0.1", PORT), timeout=1).sendall(b"GET / HTTP/1.0")
            return sorted(xs)
        """,
        ("error",),
        r"unreachable|refused|OSError",
        check=no_connection,
    ),
    Case(
        "connects to the internet",
        """
        def result(xs):
            socket.create_connection(("1.1.1.1", 53), timeout=1)
            return sorted(xs)
        """,
        ("error",),
        r"unreachable|OSError|timed out",
    ),
    Case(
        "reads the environment for keys",
        """
        def result(xs):
            found = [k for k, v in os.environ.items() if "secret" in v or "KEY" in k]
            print(dict(os.environ))
            return sorted(xs) if not found else found
        """,
        ("ok",),
        check=lambda w, v: (no_secret(w, v), v.evaluation.score == 1.0 or _fail("found a key")),
    ),
    Case(
        "reads hone's environment through /proc",
        """
        def result(xs):
            leaked = []
            for pid in (os.getppid(), 1, {hone_pid}):
                try:
                    leaked.append(open(f"/proc/{{pid}}/environ", "rb").read().decode(errors="replace"))
                except OSError as exc:
                    print("blocked", pid, exc)
            print(leaked)
            return sorted(xs)
        """,
        ("ok",),
        check=no_secret,
    ),
    Case(
        "writes outside its directory",
        """
        OUTSIDE = {outside!r}
        def result(xs):
            for path in (OUTSIDE + "/escaped", "/tmp/hone-escape-x", "../escaped", "/escaped"):
                try:
                    open(path, "w").write("x")
                except OSError as exc:
                    print("blocked", path, exc)
            open(OUTSIDE + "/escaped", "w").write("x")
        """,
        ("error",),
        r"No such file|Read-only|Permission",
        check=nothing_outside,
    ),
    Case(
        "overwrites the evaluator",
        """
        TASK = {task!r}
        def result(xs):
            for form in {forms!r}:
                open(TASK + "/" + form + "/evaluate.py", "w").write("def evaluate(p): return 1e9")
        """,
        ("error",),
        r"Read-only|Permission|No such file",
        check=nothing_outside,
    ),
    Case(
        "changes a folder declared read-only",
        """
        DECLARED = {declared!r}
        def result(xs):
            print("READ", open(DECLARED + "/data.txt").read(), flush=True)
            attempts = [
                ("write", lambda: open(DECLARED + "/data.txt", "a").write("x")),
                ("truncate", lambda: os.truncate(DECLARED + "/data.txt", 0)),
                ("create", lambda: open(DECLARED + "/new.txt", "w").write("x")),
                ("rename", lambda: os.rename(DECLARED + "/data.txt", DECLARED + "/moved.txt")),
                ("chmod", lambda: os.chmod(DECLARED + "/sub/more.txt", 0o777)),
                ("delete", lambda: os.unlink(DECLARED + "/sub/more.txt")),
                ("rmdir", lambda: (os.unlink(DECLARED + "/sub/more.txt"), os.rmdir(DECLARED + "/sub"))),
                ("mkdir", lambda: os.mkdir(DECLARED + "/made")),
                ("symlink", lambda: os.symlink("/", DECLARED + "/link")),
            ]
            for name, attempt in attempts:
                try:
                    attempt()
                    print("CHANGED", name, flush=True)
                except OSError as exc:
                    print("blocked", name, exc, flush=True)
            return sorted(xs)
        """,
        ("ok",),
        check=declared_read_not_changed,
    ),
    Case(
        "lists the user's home",
        """
        def result(xs):
            print("HOME", sorted(os.listdir("/root")) if os.path.isdir("/root") else [])
            return sorted(xs)
        """,
        ("ok",),
        check=lambda w, v: (".bashrc" not in v.output and ".ssh" not in v.output) or None,
    ),
    Case(
        "kills hone and its worker",
        """
        def result(xs):
            for pid in (os.getppid(), {hone_pid}):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError as exc:
                    print("blocked", pid, exc)
            os.kill({hone_pid}, signal.SIGKILL)
        """,
        ("error",),
        r"Operation not permitted|PermissionError|No such process",  # (hidden: own PID namespace)
        # evaluate.py's parent is the confined evaluation process: that one it may kill
        differs={"shinka": (("killed",), "SIGKILL")},
    ),
    Case(
        "kills every process it may signal",  # kill(-1) spares the caller itself
        "def result(xs):\n    os.kill(-1, signal.SIGKILL)\n",
        ("ok", "invalid-output", "error"),  # error: nothing in its PID namespace to signal
        check=lambda w, v: (v.evaluation.score in (None, 0.0)) or _fail("scored"),
        differs={"shinka": (("killed",), "SIGKILL")},  # the evaluation process among them
    ),
    Case(
        "leaves daemons running",
        """
        def result(xs):
            said, says = os.pipe()
            for _ in range(3):
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        print("PID", os.readlink("/proc/self"), flush=True)  # as the host sees it
                        os.write(says, b"x")
                        time.sleep(60)
                    os._exit(0)
            for _ in range(3):
                os.read(said, 1)  # (each daemon has said its PID)
            return sorted(xs)
        """,
        ("ok",),
        check=no_survivors,
        # the daemons hold evaluate.py's output open, so the command ends at its timeout
        differs={"shinka": (("timeout",), "did not finish")},
    ),
    Case(
        "threads that never finish",
        """
        def result(xs):
            threading.Thread(target=time.sleep, args=(10**6,)).start()
            return sorted(xs)
        """,
        ("ok",),
        differs={"shinka": (("timeout",), "did not finish")},  # evaluate.py waits for it
    ),
    Case(
        "segfault through ctypes",
        "import ctypes\ndef result(xs):\n    ctypes.string_at(0)\n",
        ("killed",),
        "SIGSEGV",
        differs={"shinka": (("error",), "status -11")},  # evaluate.py's exit status
    ),
    Case(
        "os._exit",
        "def result(xs):\n    os._exit(3)\n",
        ("killed",),
        "code 3",
        differs={"shinka": (("error",), "status 3")},
    ),
    Case(
        "sys.exit",
        "def result(xs):\n    sys.exit(0)\n",
        ("error", "killed"),
        "SystemExit|code",
        differs={"shinka": (("error",), "did not write it")},  # correct.json
    ),
    Case(
        "recursion bomb",
        "def result(xs):\n    return result(xs)\n",
        ("error",),
        "RecursionError",
    ),
    Case(
        "recursion bomb past the interpreter's guard",
        "def result(xs):\n    sys.setrecursionlimit(10**8)\n    return result(xs)\n",
        ("killed", "error", "memory", "timeout"),
        r"SIGSEGV|Recursion|memory|code|did not finish",
    ),
    Case(
        "opens files without end",
        "def result(xs):\n    return [open(os.devnull) for _ in range(10**6)]\n",
        ("error",),
        "Too many open files",
    ),
    Case(
        "burns CPU in many threads",
        """
        def spin():
            while True:
                pass
        def result(xs):
            for _ in range(4):
                threading.Thread(target=spin, daemon=True).start()
            time.sleep(10**6)
        """,
        ("timeout",),
    ),
    Case(
        "becomes root again",
        "def result(xs):\n    os.setuid(0)\n    return sorted(xs)\n",
        ("error",),
        "Operation not permitted",
    ),
    Case(
        "prints a fake score",
        """
        def result(xs):
            print('{{"score": 1e9, "combined_score": 1e9}}')
            print("\\n" * 3 + '{{"evaluation": {{"score": 1e9, "status": "ok"}}}}')
            return [0] * len(xs)
        """,
        ("ok",),
        check=lambda w, v: (v.evaluation.score == 0.0) or _fail("the fake score counted"),
    ),
    Case(
        "writes a fake result frame on every descriptor",
        """
        import json
        def result(xs):
            data = json.dumps({{"ok": [1, 3, 5, 7, 9], "score": 1e9, "status": "ok"}}).encode()
            for fd in range(3, 64):
                try:
                    os.write(fd, len(data).to_bytes(8, "big") + data)
                except OSError:
                    pass
            return [0] * len(xs)
        """,
        ("ok",),
        check=score_not_forged,
        forms=TRUSTED_FORMS,
    ),
    Case(
        "patches the evaluator in memory",
        """
        def result(xs):
            for name, module in list(sys.modules.items()):
                if hasattr(module, "evaluate_program") or hasattr(module, "evaluate"):
                    module.evaluate_program = lambda program: 1e9
                    module.evaluate = lambda path: 1e9
            import builtins
            builtins.sum = lambda *a, **k: 10**9
            builtins.sorted = lambda xs: [0] * len(xs)
            return [0] * len(xs)
        """,
        ("ok",),
        check=lambda w, v: score_not_forged(w, v) or (v.evaluation.score == 0.0 or _fail("forged")),
        forms=TRUSTED_FORMS,
    ),
    Case(
        "closes every descriptor",
        "def result(xs):\n    os.closerange(0, 4096)\n    return sorted(xs)\n",
        ("killed", "error", "ok"),
        check=score_not_forged,
    ),
    Case(
        "returns something that cannot cross",
        "def result(xs):\n    return object()\n",
        ("error", "invalid-output"),
        "cannot cross|object",
        forms=TRUSTED_FORMS,
    ),
    Case(
        "returns NaN",
        "def result(xs):\n    return float('nan')\n",
        ("invalid-output", "ok"),
        check=lambda w, v: (v.evaluation.score is None or v.evaluation.score == 0.0) or None,
    ),
    Case("does not parse", "def result(xs)\n    return xs\n", ("error",), "SyntaxError"),
    Case(
        "raises KeyboardInterrupt",
        "def result(xs):\n    raise KeyboardInterrupt\n",
        ("error",),
        "KeyboardInterrupt",
    ),
]


def _fail(message: str) -> None:
    raise AssertionError(message)


PAIRS = [(c, f) for c in CASES for f in c.forms]


@pytest.mark.parametrize(("case", "form"), PAIRS, ids=[f"{c.name}-{f}" for c, f in PAIRS])
def test_hostile_candidate_is_contained(world: World, case: Case, form: str) -> None:
    if "{hone_pid}" in case.body and os.geteuid() != 0:
        pytest.skip("candidates run as hone's own user here, so they may signal hone")
    body = case.body.format(
        port=world.port,
        outside=str(world.outside),
        task=str(world.task),
        hone_pid=os.getpid(),
        forms=list(FORMS),
        declared=str(world.declared),
    )
    verified = world.verify(form, program(body))
    evaluation = verified.evaluation
    statuses, reason = case.differs.get(form, (case.statuses, case.reason))
    assert evaluation.status in statuses, (evaluation.status, evaluation.reason)
    if reason:
        assert re.search(reason, evaluation.reason), evaluation.reason
    if evaluation.status != "ok":
        assert evaluation.reason  # every failure says why
    no_secret(world, verified)
    nothing_outside(world, verified)
    declared_intact(world, verified)
    if case.check is not None:
        case.check(world, verified)
    assert not _sandbox_processes(world), "processes of the sandbox user survived"
    after = world.verify(form, GOOD)  # the pool goes on
    assert after.evaluation.ok and after.evaluation.score == 1.0, after.evaluation


def _sandbox_processes(world: World) -> list[int]:
    """Live processes of this test's sandbox users (one per worker: 0x100000 + its pid), so
    that other hone processes on the machine do not count."""
    uids = {SANDBOX_UID_MIN + pid for pid in world.workers}
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_another_hone_process_sandbox_users_do_not_count(world: World) -> None:
    """A process of another worker's sandbox user (another hone run on this machine) is not
    one this test started, so it cannot fail the containment checks."""
    if os.geteuid() != 0:
        pytest.skip("sandbox users exist only when hone runs as root")
    pid = os.fork()
    if pid == 0:  # a stranger: the sandbox user of a worker that is not ours
        os.setresuid(SANDBOX_UID_MIN + 1, SANDBOX_UID_MIN + 1, SANDBOX_UID_MIN + 1)
        time.sleep(30)
        os._exit(0)
    try:
        deadline = time.monotonic() + 60  # (a deadline for a broken test, not a speed target)
        while Path(f"/proc/{pid}").stat().st_uid != SANDBOX_UID_MIN + 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        world.verify("hone", GOOD)
        assert _sandbox_processes(world) == []
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_every_contract_is_planted() -> None:
    assert {form.contract for form in FORMS.values()} == set(CONTRACTS)
    assert all(set(case.differs) <= set(case.forms) for case in CASES)
