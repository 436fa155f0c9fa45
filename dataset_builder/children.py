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
from typing import Any

_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill PID, a job scheduler's stop), answered as Ctrl-C is: what the build
    started is stopped (cargo's process group too, which would outlive a plain exit), and it
    says how to resume."""


# How soon a stop signal whose Terminated Python dropped is sent again.
REDELIVER_S = 0.05

_stop_signal: int | None = None  # the signal last answered with Terminated
_exiting = False  # the work is done: nothing is sent again


def _stopping() -> bool:
    """Whether this thread is already handling a Terminated (cleaning up after one)."""
    exc = sys.exception()
    while exc is not None:
        if isinstance(exc, Terminated):
            return True
        exc = exc.__context__
    return False


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """Raise Terminated, unless one is already being handled: a second SIGTERM would cut
    the cleanup short."""
    global _stop_signal
    if _stopping():
        return
    _stop_signal = signum
    raise Terminated


def _send_again(signum: int) -> None:
    if not _exiting:
        os.kill(os.getpid(), signum)


def _unraisable(args: Any) -> None:
    """sys.unraisablehook. A Terminated raised where Python cannot raise it, in a finalizer
    (ParquetWriter.__del__, the `finally` of a generator being collected, a weakref.finalize
    callback), was printed and dropped, and the build carried on as if never asked to stop:
    the signal is sent again instead, to arrive wherever the main thread is by then."""
    if isinstance(args.exc_value, Terminated) and _stop_signal is not None:
        again = threading.Timer(REDELIVER_S, _send_again, (_stop_signal,))
        again.daemon = True
        again.start()
        return
    sys.__unraisablehook__(args)


def answer_stop_signal(signum: int) -> None:
    """In this process, `signum` raises Terminated in the main thread, and is never lost."""
    global _exiting
    _exiting = False
    sys.unraisablehook = _unraisable
    signal.signal(signum, raise_terminated)


def answer_sigterm() -> None:
    """In the build process: SIGTERM raises Terminated in its main thread."""
    answer_stop_signal(signal.SIGTERM)


def done_answering() -> None:
    """The work is done: a signal is not sent again, and SIGTERM ends the process as usual."""
    global _exiting
    _exiting = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
