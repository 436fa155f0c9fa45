"""dataset_builder.children: the processes a build forks go when the build is killed with -9."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.dataset_builder.conftest import Commit, git, make_repo

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="PR_SET_PDEATHSIG is Linux's")


def _alive(pid: int) -> bool:
    """Running (not gone, and not a zombie waiting for a reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def _kill_and_check(script: str, expected_children: int, *args: str) -> None:
    """Run `script`, which prints the pids of the children it forked (one line per pid or
    all on one line) and then waits; kill it with SIGKILL; its children must go too."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pids: list[int] = []
    try:
        while len(pids) < expected_children:
            line = proc.stdout.readline()
            assert line, "the script ended before its children reported"
            pids += [int(word) for word in line.split()]
        assert all(_alive(pid) for pid in pids)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"children still running after their parent was killed: {left}"


def test_parse_workers_exit_when_the_build_is_killed(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    _kill_and_check("""
        import sys, time
        from pathlib import Path
        from dataset_builder.parsepool import ParsePool
        pool = ParsePool(Path(sys.argv[1]) / ".git", 1 << 20, 2)
        print(" ".join(str(proc.pid) for proc in pool.procs), flush=True)
        time.sleep(60)
        """, 2, str(tmp_path))


def test_scale_processes_exit_when_the_build_is_killed(tmp_path: Path) -> None:
    _kill_and_check("""
        import os, sys, time
        from pathlib import Path
        from dataset_builder.samples import _in_processes

        def run(take):
            take()
            # One write: the two children share stdout.
            os.write(1, f"{os.getpid()}\\n".encode())
            time.sleep(60)  # a long scale
            return {}

        _in_processes(run, ["micro", "full"], Path(sys.argv[1]), processes=2)
        """, 2, str(tmp_path))


SLOW_CARGO = """#!/bin/sh
if [ "$2" = "--version" ]; then echo "cargo 1.0.0-nightly"; exit 0; fi
sleep 60 &
echo $! > "$FAKE_CARGO_PIDS/child"
echo $$ > "$FAKE_CARGO_PIDS/cargo"
wait
"""


def _build_running_slow_cargo(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A build of a small crate's history whose rustdoc run is a fake cargo that would take
    60 s (with a child of its own, as rustc is), once that cargo has started; and the folder
    where cargo and its child wrote their pids."""
    repo = make_repo(tmp_path / "repo", [
        Commit("crate", write={"Cargo.toml": '[package]\nname = "t"\nversion = "0.1.0"\n',
                               "src/lib.rs": "pub fn f() -> u32 { 1 }\n"}),
        Commit("edit", write={"src/lib.rs": "pub fn f() -> u32 { 2 }\n"}),
    ]).path
    bin_dir, pids = tmp_path / "bin", tmp_path / "pids"
    bin_dir.mkdir()
    pids.mkdir()
    (bin_dir / "cargo").write_text(SLOW_CARGO)
    (bin_dir / "cargo").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "FAKE_CARGO_PIDS": str(pids)}
    env.pop("FERRIC_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataset_builder", "--repo", str(repo), "--out",
         str(tmp_path / "out"), "--quiet"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while not ((pids / "child").exists() and (pids / "cargo").exists()) \
            and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not (pids / "child").exists():
        proc.kill()
        proc.wait()
        pytest.fail("the build never started cargo")
    return proc, pids


def _cargo_left(pids: Path) -> list[int]:
    """Fake cargo's processes still alive 5 s after the build ended (then killed)."""
    cargo, child = (int((pids / name).read_text()) for name in ("cargo", "child"))
    deadline = time.monotonic() + 5
    while (_alive(cargo) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in (cargo, child) if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_sigterm_stops_cargo_and_says_how_to_resume(tmp_path: Path) -> None:
    """kill PID (SIGTERM) is answered as Ctrl-C is: the rustdoc run's process group is
    killed (a plain exit would leave cargo and its rustc running) and one line is printed."""
    proc, pids = _build_running_slow_cargo(tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not _cargo_left(pids), "cargo's process group outlived the build"
    assert proc.returncode == 143
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == \
        "terminated: run the same command again to resume"


SIGTERM_IN_A_FINALIZER = """
    import os, signal, sys, time, weakref
    from dataset_builder.children import Terminated, answer_sigterm

    def arrives_here():
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(1000))  # the handler runs here, inside the finalizer

    reported = []

    def previous_hook(args):  # a hook that was there before the build's: still called
        reported.append(repr(args.exc_value))
        if sys.argv[1] == "in the hook":
            arrives_here()  # the signal comes while Python reports a dropped exception

    sys.unraisablehook = previous_hook
    answer_sigterm()

    class Writer:  # as pyarrow's ParquetWriter, whose __del__ closes its file
        def __del__(self):
            arrives_here()

    class ClosingWriter:  # whose cleanup then fails too, replacing the Terminated
        def __del__(self):
            try:
                arrives_here()
            finally:
                raise ValueError("I/O operation on closed file")

    class Broken:  # an unrelated error in a finalizer, for the hook that was there before
        def __del__(self):
            raise ValueError("unrelated")

    def records():  # as gitio's git log records: cleanup in `finally`
        try:
            yield 1
        finally:
            arrives_here()

    class Plain:
        pass

    try:
        if sys.argv[1] == "__del__":
            Writer()
        elif sys.argv[1] == "__del__, then another error":
            ClosingWriter()
        elif sys.argv[1] == "generator":
            gen = records()
            next(gen)
            del gen  # closed as it is collected
        elif sys.argv[1] == "in the hook":
            Broken()
        else:
            weakref.finalize(Plain(), arrives_here)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.01)
        print("carried on")
    except Terminated:
        try:  # cleaning up after it: a second SIGTERM does not cut the cleanup short
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.2)
            print("terminated, cleaned up")
        except Terminated:
            print("cleanup cut short")
    print("reported:", reported, file=sys.stderr)
"""


@pytest.mark.parametrize("finalizer", ["__del__", "__del__, then another error", "generator",
                                       "weakref", "in the hook"])
def test_sigterm_inside_a_finalizer_still_stops_the_build(finalizer: str) -> None:
    """Python prints an exception raised in a finalizer and drops it: SIGTERM arriving in
    one was lost, and the build carried on (a flaky hang of the test above, in
    ParquetWriter.__del__). Also when the finalizer's cleanup replaces it with another
    error, and when it arrives while Python reports another finalizer's error (through the
    hook that was there before the build's, which still gets the other errors)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SIGTERM_IN_A_FINALIZER), finalizer],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.strip() == "terminated, cleaned up", proc.stderr
    assert "Exception ignored" not in proc.stderr
    reported = proc.stderr.strip().splitlines()[-1]
    assert reported == ("reported: [\"ValueError('unrelated')\"]" if finalizer == "in the hook"
                        else "reported: []"), proc.stderr


AFTER_THE_WORK = """
    import os, signal, sys, time
    from dataset_builder.children import Terminated, answer_sigterm, done_answering

    def previous_hook(args):
        pass

    sys.unraisablehook = previous_hook
    answer_sigterm()

    class Writer:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(1000))

    Writer()  # its Terminated is dropped: answered again in REDELIVER_S
    done_answering()  # the work ended first
    os.kill(os.getpid(), signal.SIGALRM)  # what answers it again, late
    time.sleep(0.3)
    print("hook back:", sys.unraisablehook is previous_hook)
    sys.stdout.flush()
    os._exit(7)
"""


def test_nothing_is_answered_after_the_work_is_done() -> None:
    """A stop signal answered again after main() returned must not turn a finished run into
    a traceback or a kill: the exit code is the run's."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(AFTER_THE_WORK)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.strip() == "hook back: True"
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None or not sys.platform.startswith("linux"),
                    reason="needs Linux and util-linux's setpriv")
def test_kill_9_takes_cargo_and_its_children_with_the_build(tmp_path: Path) -> None:
    """kill -9 runs no cleanup in the build: cargo's guard (setpriv's parent-death signal)
    kills its process group."""
    proc, pids = _build_running_slow_cargo(tmp_path)
    proc.kill()
    proc.communicate(timeout=20)
    assert not _cargo_left(pids), "cargo's process group outlived a build killed with kill -9"
