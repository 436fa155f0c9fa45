"""Progress bars of a build whose processes draw on one terminal at the same time: the walk
(main process), rustdoc's runs beside it (their own process) and two scale processes. Each
process's bars go on a line of their own, drawn under one lock that forked processes share,
and are cleared when done: with all on line 0, two bars took turns on it, each erasing the
other, and the walk's finished bar was drawn over."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from tqdm import tqdm

# Lines counted down from the first bar's: the walk and then the first scale process on 0,
# the second scale process on 1, rustdoc's runs (beside either) on 2.
RUSTDOC_LINE = 2

# The longest a bar waits for the shared write lock: a process killed while it held the
# lock (SIGKILL, the OOM killer) never gives it back, and every other one would wait for
# ever. Drawing takes microseconds, so a wait this long means the holder is gone.
LOCK_WAIT_S = 5.0

_line = 0


def scale_line(k: int) -> int:
    """The line of scale process k: the lines in order, skipping rustdoc's (a machine with
    three CPUs or more runs a third scale process beside rustdoc's runs)."""
    return k + (k >= RUSTDOC_LINE)


def draw_on_line(line: int) -> None:
    """This process's bars go on `line` from now on."""
    global _line
    _line = line


class SharedWriteLock:
    """tqdm's write lock for bars drawn by forked processes: one multiprocessing RLock (it
    also keeps this process's threads apart), waited on for at most LOCK_WAIT_S. After a
    wait that long this process draws without waiting for it (lines may mix; nothing
    hangs). tqdm's own lock pairs it with a thread lock, which a process forked while
    another of its threads held it (tqdm's monitor thread) would never see released."""

    def __init__(self) -> None:
        self._lock = mp.RLock()
        self._taken = threading.local()  # per thread: whether each nested acquire got it
        self._given_up = False

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        wait = LOCK_WAIT_S if timeout is None or timeout < 0 else min(timeout, LOCK_WAIT_S)
        got = self._lock.acquire(block and not self._given_up, wait)
        if not got:
            if not block:
                return False  # the caller does not draw, and does not release
            self._given_up = True
        taken: list[bool] = self._taken.__dict__.setdefault("stack", [])
        taken.append(got)
        return True  # got it, or waited too long: draw anyway

    def release(self) -> None:
        if self._taken.stack.pop():
            self._lock.release()

    def __enter__(self) -> SharedWriteLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()


def share_lock() -> None:
    """Give tqdm a fresh shared write lock now, before the build forks, so that every
    process's bars draw under the same one."""
    tqdm.set_lock(SharedWriteLock())


def on_terminal() -> bool:
    """Whether the bars are drawn on a terminal (stderr), where lines apart mean something."""
    return sys.stderr.isatty()


def bar(iterable: Iterable[Any] | None = None, line: int | None = None, **kwargs: Any
        ) -> tqdm[Any]:
    """A tqdm bar on `line` (default this process's), cleared when closed (the build prints
    its summary at the end). Written to a file, every bar stays on line 0: a line apart is
    drawn with line feeds and cursor-up codes, which a log would only show as noise."""
    position = (_line if line is None else line) if on_terminal() else 0
    return tqdm(iterable, position=position, leave=False, **kwargs)
