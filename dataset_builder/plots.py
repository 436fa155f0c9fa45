"""The report's plots, and the child process that draws them beside the build.

Kept apart from report.py so that the plot child can start before the build imports anything
heavy: this module needs only the standard library until a plot is drawn (matplotlib and numpy
are imported inside the drawing functions), and a child unpickling a drawing function imports
just this module.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pickle
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from dataset_builder.atomic import atomic_write
from dataset_builder.children import exit_with_parent

PLOT = "history.png"
SAMPLES_PLOT = "samples.png"


class Drawer:
    """Draws the report's plots in a forked child while the build goes on. The child starts
    at idle CPU priority (SCHED_IDLE) and imports matplotlib at once: that second of import
    then runs on a core nothing else wants, and a plot is drawn as soon as its data is sent.
    `python -m dataset_builder` starts one before it imports the build (`start_early`), so
    the import overlaps the build's own imports, the one time a core is sure to be spare.
    The child gets plain Python/numpy data only (no pyarrow objects, whose thread pools do
    not survive a fork). An idle-priority child can starve on a machine busy with other
    work: a plot not drawn within FALLBACK_SECONDS of `wait`, or a child that died, is drawn
    in this process instead (so is every plot where fork does not exist). `wait(what)`
    re-raises a failure to draw as a one-line RuntimeError."""

    FALLBACK_SECONDS = 10.0

    def __init__(self) -> None:
        import multiprocessing as mp

        self.proc: BaseProcess | None = None
        self.pending: dict[str, tuple[Callable[[dict[str, Any], Path], None],
                                      dict[str, Any], Path]] = {}
        self.errors: dict[str, str | None] = {}  # what -> None (drawn) or the failure
        self.pushers: list[threading.Thread] = []
        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_drawer_main, args=(child_conn, self.conn, os.getpid()),
                                daemon=True, name="ferric-plots")
        self.proc.start()
        child_conn.close()

    @classmethod
    def start_early(cls) -> None:
        """Start a drawer now for the next `take()` in this process."""
        global _early
        if _early is None:
            _early = (os.getpid(), cls())

    @classmethod
    def take(cls) -> Drawer:
        """The drawer started early in this process (once), or a new one. A forked child
        (the several-repositories pool) inherits the early one but must not use it."""
        global _early
        early, _early = _early, None
        if early is not None and early[0] == os.getpid():
            drawer = early[1]
            if drawer.proc is not None and drawer.proc.is_alive():
                return drawer
            drawer.close()
        return cls()

    def send(self, what: str, draw: Callable[[dict[str, Any], Path], None],
             data: dict[str, Any], dest: Path) -> None:
        """Have `draw(data, dest)` (a module-level function) run in the child. The data go
        out from a thread: the child reads them only once its import is done."""
        self.pending[what] = (draw, data, dest)
        if self.proc is None:
            return
        message = pickle.dumps((what, draw, data, dest))
        conn = self.conn

        def push() -> None:
            with contextlib.suppress(OSError):  # the child is gone: wait() draws here
                conn.send_bytes(message)

        pusher = threading.Thread(target=push, daemon=True, name="ferric-plot-data")
        pusher.start()
        self.pushers = [p for p in self.pushers if p.is_alive()] + [pusher]

    def wait(self, what: str) -> None:
        deadline = time.monotonic() + self.FALLBACK_SECONDS
        while what not in self.errors and self.proc is not None:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self.conn.poll(left):
                    break
                done, error = self.conn.recv()
            except (EOFError, OSError):
                break
            self.errors[done] = error
        if what not in self.errors:
            self.close()  # too slow or gone: this and later plots are drawn here
            draw, data, dest = self.pending[what]
            try:
                draw(data, dest)
                self.errors[what] = None
            except Exception as exc:
                self.errors[what] = f"{type(exc).__name__}: {exc}"
        if self.errors[what] is not None:
            raise RuntimeError(f"drawing {what} failed: {self.errors[what]}")

    def close(self) -> None:
        """Stop the child. Plots that were waited for are complete; one still being drawn
        (an error path) is abandoned, its atomic write never renamed into place."""
        if self.proc is None:
            return
        # Kill first, close after: a pusher still writing then fails at once (EPIPE). Closing
        # the pipe under it would free its descriptor number for the next open(), a plot's
        # own file, and the pusher would write the pickled data into that file.
        self.proc.kill()
        self.proc.join()
        self.proc = None
        # A plot it was writing leaves its atomic write's temporary file: removed, as the
        # build holds the folder (2 of 5 resumed mdBook builds ended with one).
        for what, (_, _, dest) in self.pending.items():
            if what not in self.errors:
                for stale in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
                    stale.unlink(missing_ok=True)
        for pusher in self.pushers:
            pusher.join(timeout=5.0)
        if any(pusher.is_alive() for pusher in self.pushers):
            return  # never seen: leave the descriptor open rather than risk that write
        self.pushers = []
        self.conn.close()

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_early: tuple[int, Drawer] | None = None  # (pid that started it, drawer): see start_early


def _drawer_main(conn: Any, parent_end: Any, parent_pid: int) -> None:
    import signal

    # Ctrl-C reaches the whole process group: the build process answers it and stops this
    # child itself (close(), or exit_with_parent below), without a traceback from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_end.close()  # so that recv() sees the end when the build process goes
    exit_with_parent(parent_pid)  # go when the build process does
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        with contextlib.suppress(OSError):
            os.nice(19)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # the slow import, done before any data comes

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the build ended (or was killed)
            return
        what, draw, data, dest = message
        try:
            draw(data, dest)
            conn.send((what, None))
        except Exception as exc:
            conn.send((what, f"{type(exc).__name__}: {exc}"))


def _stairs(ax: Any, values: Any, edges: Any, baseline: Any = 0, color: str | None = None,
            label: str | None = None) -> None:
    """A filled `Axes.stairs` (no outline, limits sticky at the baseline), whose data limits
    come from its edges and values at once: stairs() walked every vertex in Python."""
    import numpy as np
    from matplotlib.patches import StepPatch

    patch = StepPatch(values, edges, baseline=baseline, fill=True, linewidth=0,
                      facecolor=color, label=label)
    ax.add_artist(patch)
    patch.sticky_edges.y.append(np.min(baseline))
    # The patch's vertices combine an edge with a value or the baseline: these points give
    # the same limits, and a log axis its smallest positive value.
    ys = np.concatenate([np.ravel(values), np.ravel(np.broadcast_to(baseline, np.shape(values)))])
    ax.update_datalim(np.column_stack([np.concatenate([edges, np.full(len(ys), edges[0])]),
                                       np.concatenate([np.full(len(edges), ys[0]), ys])]))
    ax.autoscale_view()


def render_plot(data: dict[str, Any], dest: Path) -> None:
    """Two panels: item versions per commit over history (with the growth of lineages), and
    how many later commits depend on each commit (the DAG's out-degrees)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series = [np.asarray(values, dtype=float) for values in data["series"]]
    # At most ~300 steps: one filled `stairs` artist per series draws in milliseconds where
    # thousands of bars took seconds.
    n = len(series[0])
    edges = np.unique(np.linspace(0, n, min(n, 300) + 1).astype(int))
    added, modified, removed = (np.add.reduceat(v, edges[:-1]) if n else v for v in series)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5))
    if n:
        _stairs(top, added + modified, edges, baseline=added, label="modified",
                color="#e9c46a")
        _stairs(top, added, edges, label="added", color="#2a9d8f")
        _stairs(top, -removed, edges, label="removed", color="#e76f51")
        top.legend(loc="upper left", fontsize=8)
    top.set_xlabel("commit (history order)")
    top.set_ylabel("item versions")
    # y given: matplotlib's automatic title placement measured every tick label.
    top.set_title("Item versions per commit" + (f" (summed over {n // (len(edges) - 1)}-commit "
                                                 "windows)" if n > 300 else ""), y=1.0)
    degrees = data["degrees"]
    if degrees:
        # One `stairs` artist, not a bar patch per out-degree (hubs reach thousands).
        counts = np.bincount(np.asarray(degrees, dtype=np.int64))
        _stairs(bottom, counts, np.arange(len(counts) + 1), color="#264653")
        bottom.set_yscale("log")
        bottom.set_ylim(bottom=0.8)
        bottom.minorticks_off()  # a log axis's minor ticks were a third of the drawing
    bottom.set_xlabel("commits that depend on a commit (DAG out-degree)")
    bottom.set_ylabel("commits (log)")
    bottom.set_title("Commit dependency DAG", y=1.0)
    # Fixed margins: tight_layout measured every tick label and took half the drawing time.
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.95, hspace=0.38)

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    atomic_write(dest, write)
    plt.close(fig)


def render_samples_plot(data: dict[str, Any], dest: Path) -> None:
    """Histogram of target tokens per scale (log-spaced bins)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scales, tokens = data["scales"], data["tokens"]
    fig, ax = plt.subplots(figsize=(8, 4))
    top = max(tokens, default=1)
    bins = [float(b) for b in np.logspace(0, np.log10(max(top, 10)) + 0.1, 40)]
    for scale in ("micro", "small", "medium", "large", "full"):
        values = [t for s, t in zip(scales, tokens, strict=True) if s == scale]
        if values:  # one `stairs` artist per scale: what hist(histtype="step") draws
            counts, edges = np.histogram(values, bins=bins)
            ax.stairs(counts, edges, linewidth=1.5, label=f"{scale} ({len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("target tokens (StarCoder2 tokenizer)")
    ax.set_ylabel("samples")
    ax.set_title("Target size per scale")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.13, top=0.92)  # tight_layout measured
    # every tick label

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    atomic_write(dest, write)
    plt.close(fig)
