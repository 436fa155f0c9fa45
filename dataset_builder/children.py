"""What every process the build forks does first, and how the build answers SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill PID, a job scheduler's stop), answered as Ctrl-C is: what the build
    started is stopped (cargo's process group too, which would outlive a plain exit), and it
    says how to resume."""


# How soon a stop signal whose Terminated Python dropped is answered again, and the signal
# that brings it back: the process's interval timer (setitimer), so that nothing has to
# start a thread inside a finalizer, which may run while the main thread holds threading's
# own locks.
REDELIVER_S = 0.05
_AGAIN = signal.SIGALRM

_stop_signal: int | None = None  # the signal this process answers with Terminated
_exiting = False  # the work is done: nothing raises Terminated any more
_previous_hook: Callable[[Any], object] | None = None  # sys.unraisablehook before ours


def _holds_terminated(exc: BaseException | None) -> bool:
    """Whether `exc` is a Terminated or was raised while one was being handled."""
    while exc is not None:
        if isinstance(exc, Terminated):
            return True
        exc = exc.__context__
    return False


def _stopping() -> bool:
    """Whether this thread is already handling a Terminated (cleaning up after one)."""
    return _holds_terminated(sys.exception())


def _in_unraisable_hook(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code is _unraisable.__code__:
            return True
        frame = frame.f_back
    return False


def _answer_again() -> None:
    signal.setitimer(signal.ITIMER_REAL, REDELIVER_S)


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """Raise Terminated, unless the work is done, or one is already being handled (a second
    signal would cut the cleanup short). Arriving while Python reports an exception that it
    dropped, where a Terminated would be dropped too, it is answered again a moment later."""
    if _exiting or _stopping():
        return
    if _in_unraisable_hook(frame):
        _answer_again()
        return
    raise Terminated


def _again(signum: int, frame: FrameType | None) -> None:
    if _stop_signal is not None:
        raise_terminated(_stop_signal, frame)


def _unraisable(args: Any) -> None:
    """sys.unraisablehook. A Terminated raised where Python cannot raise it, in a finalizer
    (ParquetWriter.__del__, the `finally` of a generator being collected, a weakref.finalize
    callback), also one that the finalizer's own cleanup then replaced with another error,
    was printed and dropped, and the build carried on as if never asked to stop: it is
    answered again instead, wherever the main thread is by then. Other exceptions go to the
    hook that was there before."""
    if not _exiting and _holds_terminated(args.exc_value):
        _answer_again()
        return
    (_previous_hook or sys.__unraisablehook__)(args)


def answer_stop_signal(signum: int) -> None:
    """In this process, `signum` raises Terminated in the main thread, and is never lost."""
    global _exiting, _stop_signal, _previous_hook
    _exiting = False
    _stop_signal = signum
    if sys.unraisablehook is not _unraisable:
        _previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable
    signal.signal(_AGAIN, _again)
    signal.signal(signum, raise_terminated)


def answer_sigterm() -> None:
    """In the build process: SIGTERM raises Terminated in its main thread."""
    answer_stop_signal(signal.SIGTERM)


def done_answering() -> None:
    """The work is done: nothing is answered again (a signal already on its way is passed
    over), the stop signal ends the process as usual, and the previous hook is back."""
    global _exiting
    _exiting = True  # first: a handler that runs from here on does nothing
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(_AGAIN, signal.SIG_IGN)
    if _stop_signal is not None:
        signal.signal(_stop_signal, signal.SIG_DFL)
    if sys.unraisablehook is _unraisable:
        sys.unraisablehook = _previous_hook or sys.__unraisablehook__


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


def one_line(exc: BaseException) -> str:
    """An unexpected error as the CLIs print it: its type and the first line of its message,
    with " ..." when there is more (a state_dict size mismatch listed a page)."""
    lines = str(exc).splitlines() or [""]
    return f"{type(exc).__name__}: {lines[0]}{' ...' if len(lines) > 1 else ''}"
