"""What every process the build forks does first, and how the build answers SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
import threading
from types import FrameType

_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill PID, a job scheduler's stop), answered as Ctrl-C is: what the build
    started is stopped (cargo's process group too, which would outlive a plain exit), and it
    says how to resume."""


# How soon a signal that arrived inside a finalizer is sent again.
REDELIVER_S = 0.05


def _in_finalizer(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _stopping() -> bool:
    """Whether this thread is already handling a Terminated (cleaning up after one)."""
    exc = sys.exception()
    while exc is not None:
        if isinstance(exc, Terminated):
            return True
        exc = exc.__context__
    return False


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """Raise Terminated, unless one is already being handled (a second SIGTERM would cut
    the cleanup short) or the signal arrived inside a `__del__`: Python prints an exception
    raised there and drops it ("Exception ignored in: ParquetWriter.__del__"), and the
    build carried on as if never asked to stop. The signal is then sent again shortly, to
    arrive wherever the main thread is by then."""
    if _stopping():
        return
    if _in_finalizer(frame):
        again = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    raise Terminated


def answer_sigterm() -> None:
    """In the build process: SIGTERM raises Terminated in its main thread."""
    signal.signal(signal.SIGTERM, raise_terminated)


def exit_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this forked process when the process that forked it dies.

    A build killed with kill -9 runs no cleanup: without this, its parse workers wait on their
    inboxes forever (each holds the write end of its own pipe) and its scale processes go on
    computing samples nobody collects, beside the resumed run. `parent_pid` is the parent's
    pid taken before the fork: a parent that died before the request was made is caught by
    the check after it."""
    # A child ends at SIGTERM, as processes do: the build process cleans up after it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):  # not Linux: nothing to ask for
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def picklable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling (to be raised again in the process that forked this
    one), else a RuntimeError with its line."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
