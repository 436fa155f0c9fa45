"""The samples stage in a process forked before the history walk.

The scale processes are forks of the process that runs the samples stage, and a fork's RSS
counts every page of its parent's that it shares. Forked from the build process after the
walk, they started with what the walk left behind: memory it freed that Python's allocator
keeps in partly used arenas (diesel at the fork: 595 MiB, against 381 in a samples-only run).
Forked before the walk, this process holds only the imports; it starts rustdoc's runs (a
process of their own) for the snapshots, known before the walk from the selected commits
(else once the walk has written modules.parquet), and builds the samples when the history
is complete. bevy (12,036 commits): the full build's peak 1,449 -> 1,355 MiB, the build
process's 1,148 -> 936 MiB.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dataset_builder.children import answer_stop_signal, exit_with_parent, picklable
from dataset_builder.gitio import RepoInfo
from dataset_builder.samples import (
    RustdocAhead,
    SampleConfig,
    TokenCounter,
    build_samples,
    default_tokenizer_path,
)

# What SamplesChild.close() sends a building child to stop it cleanly.
STOP_SIGNAL = signal.SIGUSR1


class SamplesChild:
    """A forked child that runs build_samples when told to (`build`), its rustdoc runs
    started earlier (`start_rustdoc`). Its failure is raised here as the exception it raised
    there (one line: the CLI's usual handling), or as a RuntimeError when it died. `close`
    stops it, and with it the rustdoc runs and scale processes it started."""

    CLOSE_WAIT_S = 15.0

    def __init__(self, info: RepoInfo, out: Path, label: str, config: SampleConfig,
                 max_file_bytes: int, progress: bool) -> None:
        ctx = mp.get_context("fork")
        self.conn, child_conn = ctx.Pipe()
        # Not a daemon: daemonic processes may not start the scale processes.
        self.proc = ctx.Process(
            target=_child_main, name="ferric-samples-stage",
            args=(child_conn, self.conn, os.getpid(), info, out, label, config,
                  max_file_bytes, progress))
        self.proc.start()
        child_conn.close()
        self.building = False

    @staticmethod
    def available() -> bool:
        return "fork" in mp.get_all_start_methods()

    def start_rustdoc(self, chosen: list[tuple[int, str]] | None = None) -> None:
        """Have rustdoc document the crates of the `chosen` snapshots ((commit index, sha)),
        or when None, of those modules.parquet (written by now) names; once: a later call
        does nothing. build_samples closes runs for other snapshots than its own."""
        with contextlib.suppress(OSError):  # the child is gone: build() says so
            self.conn.send(("rustdoc", chosen))

    def start_build(self, mine_hash: str) -> None:
        """The history's tables are written: start the samples (`build` waits for them).
        Sent before the build process renders its report and waits for its plot, which the
        samples do not read (lsd: 0.5 s the samples stage had waited)."""
        if self.building:
            return
        self.building = True
        with contextlib.suppress(OSError):  # the child is gone: build() says so
            self.conn.send(("build", mine_hash))

    def build(self, mine_hash: str) -> dict[str, Any]:
        """The history is complete: build the samples (started by `start_build` or now);
        their manifest section."""
        self.start_build(mine_hash)
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            self.proc.join()
            raise RuntimeError("the samples stage's process died "
                               f"(exit code {self.proc.exitcode})") from None
        self.proc.join()
        if kind == "error":
            raise value
        section: dict[str, Any] = value
        return section

    def close(self) -> None:
        """The child stops its rustdoc runs, which remove their folders (cargo's target
        folders can hold hundreds of MB), and ends; it is killed if it has not within
        CLOSE_WAIT_S. Before `start_build` (the history failed, or Ctrl-C) it is told through
        its pipe; once building (Ctrl-C or SIGTERM while the samples are made) by STOP_SIGNAL,
        which raises Terminated in it (SIGINT may be ignored: a background job's is), and
        its scale processes end with it."""
        if not self.building:
            self.conn.close()
            self.proc.join(self.CLOSE_WAIT_S)
        elif self.proc.is_alive() and self.proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, STOP_SIGNAL)
            self.proc.join(self.CLOSE_WAIT_S)
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def _child_main(conn: Connection, parent_end: Connection, parent_pid: int, info: RepoInfo,
                out: Path, label: str, config: SampleConfig, max_file_bytes: int,
                progress: bool) -> None:
    # Ctrl-C reaches the whole process group: the build process stops this one through its
    # pipe or STOP_SIGNAL, and a SIGINT here, outside the loop below, printed a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)
    parent_end.close()  # the fork's copy: the parent's close must reach this end as EOF
    answer_stop_signal(STOP_SIGNAL)
    ahead: RustdocAhead | None = None
    # The tokenizer is loaded while the history is mined rather than after it (0.1 s of the
    # build's serial part); where that fails, build_samples loads it again and says why.
    counter = None
    with contextlib.suppress(Exception):
        counter = TokenCounter(default_tokenizer_path())
    # pyarrow imports its dataset module at the first pq.read_table (0.3 s), which came
    # after the history, on the stage's serial path: imported while the history is mined.
    with contextlib.suppress(ImportError):
        import pyarrow.dataset  # noqa: F401
    try:
        while True:
            message = conn.recv()
            if message[0] == "rustdoc" and ahead is None:
                ahead = RustdocAhead(info, out, config, message[1], progress=progress)
            elif message[0] == "build":
                section = build_samples(out, info, label, message[1], config, max_file_bytes,
                                        progress, rustdoc_ahead=ahead, counter=counter)
                ahead = None  # build_samples closed it
                conn.send(("section", section))
                return
    except EOFError:  # the build process stopped without asking for samples
        return
    except BaseException as exc:  # Ctrl-C too: the build process reports it, in one line
        if os.environ.get("FERRIC_DEBUG"):
            traceback.print_exc()
        with contextlib.suppress(OSError):  # the build process is gone
            conn.send(("error", picklable(exc)))
    finally:
        if ahead is not None:
            ahead.close()
