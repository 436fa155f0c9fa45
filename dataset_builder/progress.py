"""Progress bars of a build whose processes draw on one terminal at the same time: the walk
(main process), rustdoc's runs beside it (their own process) and two scale processes. Each
process's bars go on a line of their own, drawn under one lock that forked processes share,
and are cleared when done: with all on line 0, two bars took turns on it, each erasing the
other, and the walk's finished bar was drawn over."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import weakref
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
    """tqdm's write lock for bars drawn by forked processes: a thread lock that keeps this
    process's threads apart (made anew in a forked child, where a thread that held it at
    the fork, tqdm's monitor thread, does not exist to release it), then a multiprocessing
    lock shared with the other processes, waited on for at most LOCK_WAIT_S. After a wait
    that long this process draws without it (lines may mix; nothing hangs), and its later
    bars only try it, until they get it again. A caller's own timeout counts for both waits
    together: if it runs out before LOCK_WAIT_S has passed, acquire says False; a longer one
    ends in drawing without the lock after LOCK_WAIT_S, as a wait without a timeout does."""

    def __init__(self) -> None:
        self._processes = mp.RLock()
        self._threads = threading.RLock()
        self._taken = threading.local()  # per thread: whether each nested acquire got it
        self._given_up = False
        _LOCKS.add(self)

    def _forked(self) -> None:
        self._threads = threading.RLock()
        self._taken = threading.local()

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        wait = timeout if block and timeout is not None and timeout >= 0 else None
        deadline = None if wait is None else time.monotonic() + wait  # for both waits
        if not self._threads.acquire(block, -1 if wait is None else wait):
            return False
        try:
            got = self._processes_lock(block, deadline)
        except BaseException:  # a signal in the wait (Terminated, Ctrl-C): the thread lock
            self._threads.release()  # would otherwise stay held, and the process's bars hang
            raise
        if got is None:
            self._threads.release()
            return False
        self._taken.__dict__.setdefault("stack", []).append(got)
        return True

    def _processes_lock(self, block: bool, deadline: float | None) -> bool | None:
        """True: had; False: drawing without it; None: not drawing (a caller that would
        not wait, or whose own wait ran out first)."""
        if not block:
            got = self._processes.acquire(False)
            if not got:
                return None
        elif self._given_up:
            got = self._processes.acquire(False)
        else:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            got = self._processes.acquire(True, LOCK_WAIT_S if left is None
                                          else min(left, LOCK_WAIT_S))
            if not got and left is not None and left < LOCK_WAIT_S:
                return None
            if not got:
                self._given_up = True  # the holder is gone, or stopped: draw anyway
        if got:
            self._given_up = False
        return got

    def release(self) -> None:
        if self._taken.stack.pop():
            self._processes.release()
        self._threads.release()

    def __enter__(self) -> SharedWriteLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()


_LOCKS: weakref.WeakSet[SharedWriteLock] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for lock in list(_LOCKS):
        lock._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def share_lock() -> None:
    """Give tqdm a fresh shared write lock now, before the build forks, so that every
    process's bars draw under the same one."""
    tqdm.set_lock(SharedWriteLock())


def on_terminal() -> bool:
    """Whether the bars are drawn on a terminal (stderr), where lines apart mean something."""
    return sys.stderr.isatty()


def bar(iterable: Iterable[Any] | None = None, line: int | None = None, **kwargs: Any
        ) -> tqdm[Any]:
    """A tqdm bar on `line` (default this process's), cleared when closed on a terminal (the
    build prints its summary at the end). Written to a file, every bar stays on line 0 (a
    line apart is drawn with line feeds and cursor-up codes, which a log would only show as
    noise) and its last state is left on a line of its own: cleared, a log lost each bar's
    final count and rate."""
    terminal = on_terminal()
    position = (_line if line is None else line) if terminal else 0
    return tqdm(iterable, position=position, leave=not terminal, **kwargs)
