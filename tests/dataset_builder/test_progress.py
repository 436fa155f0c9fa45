"""The build's progress bars: processes that draw at the same time draw on lines of their own."""

from __future__ import annotations

import multiprocessing
import re
from collections import defaultdict
from pathlib import Path

import pytest

from dataset_builder.cli import default_demo_dir, main
from dataset_builder.demo import materialise

FAILING_CARGO = "#!/bin/sh\nexit 1\n"
# One draw of a tqdm bar at `position` n: n line feeds down, the bar after a carriage
# return, n cursor-ups back. A bar cleared when closed draws no description.
DRAW = re.compile(r"(\n*)\r(mining|module graphs|rustdoc \w+|samples \w+): ([^\r\n\x1b]*)"
                  r"((?:\x1b\[A)*)")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
@pytest.mark.parametrize(("cpus", "scale_lines"), [(2, {0, 1}), (4, {0, 1, 3, 4})])
def test_bars_drawn_at_the_same_time_are_on_lines_of_their_own(
        cpus: int, scale_lines: set[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """rustdoc's runs (their own process, beside the walk and the scales) draw two lines
    below the walk's bar, and the two scale processes on lines 0 and 1: on one line, bars
    of different processes took turns erasing each other."""
    import dataset_builder.progress as progress
    import dataset_builder.samples as samples
    from tests.dataset_builder.test_rustdoc import fake_cargo

    fake_cargo(tmp_path, monkeypatch, FAILING_CARGO)
    monkeypatch.setattr(samples, "_usable_cpus", lambda: cpus)  # scale processes
    monkeypatch.setattr(progress, "on_terminal", lambda: True)  # captured, as if a terminal
    demo = materialise(default_demo_dir())
    assert main(["--repo", str(demo), "--out", str(tmp_path / "demo")]) == 0
    lines: dict[str, set[int]] = defaultdict(set)
    for down, name, _, up in DRAW.findall(capfd.readouterr().err):
        assert len(down) == len(up) // len("\x1b[A"), name  # back where it started
        lines[name.split()[0]].add(len(down))
    assert lines["mining"] == {0}
    assert lines["rustdoc"] == {2}
    assert lines["samples"] == scale_lines  # never rustdoc's line


def test_bars_written_to_a_file_stay_on_line_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capfd: pytest.CaptureFixture[str]) -> None:
    """A log gets no line feeds or cursor-up codes from bars drawn lines apart, and keeps
    each bar's last state on a line of its own (cleared, a log lost the final counts)."""
    import dataset_builder.samples as samples
    from tests.dataset_builder.test_rustdoc import fake_cargo

    fake_cargo(tmp_path, monkeypatch, FAILING_CARGO)
    monkeypatch.setattr(samples, "_usable_cpus", lambda: 2)
    demo = materialise(default_demo_dir())
    assert main(["--repo", str(demo), "--out", str(tmp_path / "demo")]) == 0
    err = capfd.readouterr().err
    draws = DRAW.findall(err)
    assert {name.split()[0] for _, name, _, _ in draws} >= {"mining", "rustdoc", "samples"}
    # A line feed before a draw only ends the bar left before it.
    assert all(len(down) <= 1 and not up for down, _, _, up in draws)
    assert "\x1b[A" not in err
    assert re.search(r"\rmining: 100%\|[^\r\n]*\n", err)
    assert re.search(r"\rsamples micro: \d+sample [^\r\n]*\n", err)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_process_killed_while_drawing_does_not_hang_the_others(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed holding the shared write lock never gives it back: the others wait
    LOCK_WAIT_S for it, then draw without it, instead of waiting for ever."""
    import os
    import signal
    import threading
    import time

    from tqdm import tqdm

    import dataset_builder.progress as progress

    monkeypatch.setattr(progress, "LOCK_WAIT_S", 0.2)
    before = tqdm.__dict__.get("_lock")
    progress.share_lock()
    try:
        lock = tqdm.get_lock()  # type: ignore[no-untyped-call]

        def die_holding_it() -> None:
            lock.acquire()
            os.kill(os.getpid(), signal.SIGKILL)

        killed = multiprocessing.get_context("fork").Process(target=die_holding_it)
        killed.start()
        killed.join()
        assert killed.exitcode == -signal.SIGKILL
        drawn = threading.Event()

        def draw() -> None:
            with open(os.devnull, "w") as sink, \
                    progress.bar(range(3), disable=False, file=sink) as bars:
                for _ in bars:
                    bars.refresh()
            drawn.set()

        drawer = threading.Thread(target=draw, daemon=True)
        drawer.start()
        drawer.join(timeout=10)
        assert drawn.is_set(), "a bar waited for ever on the dead process's lock"
        assert lock.acquire(False) is False  # still held: the dead process has it
        # Drawing without the shared lock, this process's threads are still kept apart.
        inside, overlaps = [0], [0]

        def hold_it() -> None:
            for _ in range(500):
                with lock:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                    time.sleep(0)
                    inside[0] -= 1

        threads = [threading.Thread(target=hold_it) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert overlaps[0] == 0
    finally:
        if before is None:
            delattr(tqdm, "_lock")
        else:
            tqdm.set_lock(before)


def test_a_callers_own_timeout_is_kept() -> None:
    """tqdm's refresh(lock_args=(True, t)) draws only if the lock is had within t: a wait
    that runs out says False, and does not turn waiting off for later bars."""
    import threading

    from dataset_builder.progress import SharedWriteLock

    lock = SharedWriteLock()
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            done.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    try:
        assert lock.acquire(True, 0.05) is False
        assert lock.acquire(False) is False
    finally:
        done.set()
        holder.join()
    assert lock.acquire(True, 0.05) is True
    lock.release()


class _Interrupted(Exception):
    pass


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_waits_on_another_process_keep_timeouts_signals_and_resume(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Against another process drawing: a caller's timeout counts for the thread lock and
    the processes' lock together and gives False; a signal that interrupts the wait leaves
    the thread lock free; after a give-up the lock is taken again once it is free."""
    import os
    import signal
    import threading
    import time

    import dataset_builder.progress as progress
    from dataset_builder.progress import SharedWriteLock

    lock = SharedWriteLock()
    context = multiprocessing.get_context("fork")
    held, let_go = context.Event(), context.Event()

    def other_process() -> None:
        with lock:
            held.set()
            let_go.wait(30)

    holder = context.Process(target=other_process)
    holder.start()
    try:
        assert held.wait(10)
        # 0.6 s on this process's thread lock, then the processes' lock: 1.2 s in all.
        drawing = threading.Event()

        def this_process_draws() -> None:
            with lock._threads:
                drawing.set()
                time.sleep(0.6)

        thread = threading.Thread(target=this_process_draws)
        thread.start()
        drawing.wait()
        started = time.monotonic()
        assert lock.acquire(True, 1.2) is False
        took = time.monotonic() - started
        thread.join()
        assert 1.0 < took < 1.7, took  # one wait of 1.2 s, not 0.6 + 1.2
        assert not lock._given_up
        # A signal in the wait on the processes' lock.
        def interrupt(signum: int, frame: object) -> None:
            raise _Interrupted

        previous = signal.signal(signal.SIGUSR2, interrupt)
        try:
            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR2)).start()
            with pytest.raises(_Interrupted):
                lock.acquire()
        finally:
            signal.signal(signal.SIGUSR2, previous)
        assert not lock._threads._is_owned()  # type: ignore[attr-defined]
        got: list[bool] = []
        other = threading.Thread(target=lambda: got.append(lock.acquire(True, 0.1)))
        other.start()
        other.join()
        assert got == [False]  # the processes' lock, not this process's threads, held it
        # Give up on it, draw without it, and take it again once it is free.
        monkeypatch.setattr(progress, "LOCK_WAIT_S", 0.2)
        assert lock.acquire() is True
        assert lock._given_up and lock._taken.stack == [False]
        lock.release()
        let_go.set()
        holder.join(10)
        assert lock.acquire() is True
        assert not lock._given_up and lock._taken.stack == [True]
        lock.release()
    finally:
        let_go.set()
        holder.join(10)
