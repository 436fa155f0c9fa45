"""report.md of a dataset build (the human-readable side of manifest.json), with a plot."""

from __future__ import annotations

import contextlib
import pickle
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa

from dataset_builder.atomic import atomic_write

PLOT = "history.png"


class Drawer:
    """Draws the report's plots in a forked child while the build goes on. The child starts
    at idle CPU priority (SCHED_IDLE) and imports matplotlib at once: that second of import
    then runs on a core nothing else wants (the walk's last chunk, the single-threaded steps
    after it), and a plot is drawn as soon as its data is sent. The child gets plain
    Python/numpy data only (no pyarrow objects, whose thread pools do not survive a fork).
    An idle-priority child can starve on a machine busy with other work: a plot not drawn
    within FALLBACK_SECONDS of `wait`, or a child that died, is drawn in this process
    instead (so is every plot where fork does not exist). `wait(what)` re-raises a failure
    to draw as a one-line RuntimeError."""

    FALLBACK_SECONDS = 10.0

    def __init__(self) -> None:
        import multiprocessing as mp

        self.proc: BaseProcess | None = None
        self.pending: dict[str, tuple[Callable[[dict[str, Any], Path], None],
                                      dict[str, Any], Path]] = {}
        self.errors: dict[str, str | None] = {}  # what -> None (drawn) or the failure
        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_drawer_main, args=(child_conn, self.conn),
                                daemon=True, name="ferric-plots")
        self.proc.start()
        child_conn.close()

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

        threading.Thread(target=push, daemon=True, name="ferric-plot-data").start()

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
        self.conn.close()
        self.proc.kill()
        self.proc.join()
        self.proc = None

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drawer_main(conn: Any, parent_end: Any) -> None:
    import os
    import signal

    parent_end.close()  # so that recv() sees the end when the build process goes
    with contextlib.suppress(Exception):  # Linux: go when the build process does
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
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


def history_plot_data(commits: pa.Table, out_degrees: list[int]) -> dict[str, Any]:
    """What render_plot draws, as plain lists (cheap to compute, safe to hand to a child):
    per-commit item counts and each commit's out-degree in the commit DAG."""
    cols = commits.select(["items_added", "items_modified", "items_removed"])
    return {"series": [cols.column(c).to_pylist() for c in cols.column_names],
            "degrees": out_degrees}


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
        top.stairs(added + modified, edges, baseline=added, fill=True, label="modified",
                   color="#e9c46a")
        top.stairs(added, edges, fill=True, label="added", color="#2a9d8f")
        top.stairs(-removed, edges, fill=True, label="removed", color="#e76f51")
        top.legend(loc="upper left", fontsize=8)
    top.set_xlabel("commit (history order)")
    top.set_ylabel("item versions")
    top.set_title("Item versions per commit" + (f" (summed over {n // (len(edges) - 1)}-commit "
                                                 "windows)" if n > 300 else ""))
    degrees = data["degrees"]
    if degrees:
        # One `stairs` artist, not a bar patch per out-degree (hubs reach thousands).
        counts = np.bincount(np.asarray(degrees, dtype=np.int64))
        bottom.stairs(counts, np.arange(len(counts) + 1), fill=True, color="#264653")
        bottom.set_yscale("log")
        bottom.set_ylim(bottom=0.8)
    bottom.set_xlabel("commits that depend on a commit (DAG out-degree)")
    bottom.set_ylabel("commits (log)")
    bottom.set_title("Commit dependency DAG")
    # Fixed margins: tight_layout measured every tick label and took half the drawing time.
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.95, hspace=0.38)

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    atomic_write(dest, write)
    plt.close(fig)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_report(manifest: dict[str, Any], dag: nx.DiGraph, commits: pa.Table) -> str:
    counts = manifest["counts"]
    repo = manifest["repo"]
    cfg = manifest["config"]
    parts = [
        f"# Dataset build: {repo['label']}",
        "",
        f"Reproduce: `python -m dataset_builder --repo {cfg['repo']} --out {cfg['out']}"
        + (f" --rev {cfg['rev']}" if cfg["rev"] != "HEAD" else "")
        + (f" --since {cfg['since']}" if cfg["since"] else "")
        + (f" --until {cfg['until']}" if cfg["until"] else "")
        + (f" --max-commits {cfg['max_commits']}" if cfg["max_commits"] else "") + "`",
        "",
        f"Revision `{repo['rev']}` = `{repo['head'][:12]}`; bare: {repo['bare']}; "
        f"shallow: {repo['shallow']}; config hash `{manifest['config_hash']}`; "
        f"{manifest['elapsed_seconds']} s.",
        "",
        "## History",
        "",
        _table(["what", "count"], [
            ["commits", counts["commits"]],
            ["merge commits (diffed against first parent)", counts["merges"]],
            [".rs file changes", counts["rs_file_changes"]],
            ["item versions (rows of items.parquet)", counts["item_rows"]],
            ["item lineages", counts["lineages"]],
            ["file versions with parse errors (kept)", counts["file_versions_with_parse_errors"]],
            ["references resolved to crate symbols",
             f"{counts['references_resolved']} / {counts['references']}"],
        ]),
        "",
        "### Item versions by change and kind",
        "",
        _table(["change", "rows"], [[k, v] for k, v in counts["items_by_change"].items()]),
        "",
        _table(["kind", "rows"], [[k, v] for k, v in counts["items_by_kind"].items()]),
        "",
        "### Skipped .rs file versions, by reason",
        "",
        _table(["reason", "count"], [[k, v] for k, v in manifest["skips"].items()])
        if manifest["skips"] else "None.",
        "",
        f"![item versions per commit and DAG out-degrees]({PLOT})",
        "",
        "## Commit dependency DAG (dag.graphml)",
        "",
        "Edge A→B: B adds or changes an item that references a symbol whose latest definition "
        "came from A.",
        "",
        _table(["stat", "value"], [[k, v] for k, v in manifest["dag"].items()]),
        "",
    ]
    top = _top_hubs(dag, commits)
    if top:
        parts += ["Commits most depended on:", "",
                  _table(["commit", "dependents", "subject"], top), ""]
    mg = manifest["module_graph"]
    parts += [
        f"## Module graph (last snapshot `{mg['last_snapshot'][:12]}`, "
        f"{mg['snapshots']} snapshots in modules.parquet)",
        "",
        _table(["stat", "value"], [[k, v] for k, v in mg.items()
                                   if k not in ("order", "last_snapshot", "snapshots")]),
        "",
        "Dependency order (definitions first): " + ", ".join(f"`{m}`" for m in mg["order"][:60])
        + (" …" if len(mg["order"]) > 60 else ""),
        "",
        "## Sanity checks",
        "",
        _table(["check", "result"],
               [[k, "pass" if v else "**FAIL**"] for k, v in manifest["sanity"].items()]),
        "",
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in manifest["versions"].items()),
        "",
    ]
    return "\n".join(parts)


def _top_hubs(dag: nx.DiGraph, commits: pa.Table, n: int = 5) -> list[list[Any]]:
    subjects = dict(zip(commits.column("sha").to_pylist(), commits.column("subject").to_pylist(),
                        strict=True))
    ranked = sorted(dag.nodes, key=lambda v: (-dag.out_degree(v), v))[:n]
    return [[f"`{v[:10]}`", dag.out_degree(v), subjects.get(v, "")[:60]]
            for v in ranked if dag.out_degree(v) > 0]


SAMPLES_PLOT = "samples.png"
SAMPLES_HEADING = "## Samples"


def _quantiles(values: list[int]) -> list[Any]:
    if not values:
        return ["–"] * 4
    ordered = sorted(values)

    def q(p: float) -> int:
        return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]

    return [q(0.0), q(0.5), q(0.9), ordered[-1]]


def render_samples_section(section: dict[str, Any], samples: pa.Table) -> str:
    """The samples part of report.md: per scale counts, LOC and token distributions, drops,
    dedup, leakage and type facts."""
    scales = section["scales"]
    by_scale: dict[str, dict[str, list[int]]] = {}
    for scale, loc, tokens in zip(samples.column("scale").to_pylist(),
                                  samples.column("target_loc").to_pylist(),
                                  samples.column("target_tokens").to_pylist(), strict=True):
        entry = by_scale.setdefault(scale, {"loc": [], "tokens": []})
        entry["loc"].append(loc)
        entry["tokens"].append(tokens)
    rows = []
    for scale, st in scales.items():
        dist = by_scale.get(scale, {"loc": [], "tokens": []})
        loc_q, tok_q = _quantiles(dist["loc"]), _quantiles(dist["tokens"])
        rows.append([scale, st["produced"], st["kept"], st["splits"].get("train", 0),
                     st["splits"].get("valid", 0), st["splits"].get("test", 0),
                     f"{loc_q[1]} / {loc_q[2]} / {loc_q[3]}",
                     f"{tok_q[1]} / {tok_q[2]} / {tok_q[3]}", st["split_targets"],
                     st["over_budget"]])
    reasons = sorted({r for st in scales.values() for r in st["dropped"]})
    drop_rows = [[r, *[scales[s]["dropped"].get(r, 0) for s in scales]] for r in reasons]
    leak_rows = [[s, st["leakage"].get("test_dropped", 0), st["leakage"].get("valid_dropped", 0),
                  st["leakage"].get("test_near_duplicates_of_train_after", 0)]
                 for s, st in scales.items()]
    rd = section["rustdoc"]
    cfg = section["config"]
    parts = [
        SAMPLES_HEADING,
        "",
        f"Type facts: `{cfg['type_facts']}`; budgets (tokens, micro→full): "
        f"{', '.join(str(b) for b in cfg['budgets'])}; splits by time (test "
        f"{cfg['test_fraction']}, valid {cfg['valid_fraction']} of commits"
        + (f"; held-out repositories: {', '.join(cfg['holdout_repos'])}"
           if cfg["holdout_repos"] else "") + "); config hash "
        f"`{section['config_hash']}`.",
        "",
        _table(["scale", "produced", "kept", "train", "valid", "test",
                "target LOC median / p90 / max", "target tokens median / p90 / max",
                "targets split into parts", "over budget"], rows),
        "",
        f"![target tokens per scale]({SAMPLES_PLOT})",
        "",
        "### Dropped, by reason and scale (produced = kept + dropped)",
        "",
        _table(["reason", *scales.keys()], drop_rows) if drop_rows else "Nothing dropped.",
        "",
        "### Leakage check (near-duplicates, Jaccard ≥ "
        f"{cfg['near_threshold']}, of train targets)",
        "",
        _table(["scale", "test dropped", "valid dropped", "test near-duplicates left"],
               leak_rows),
        "",
        "### Type facts",
        "",
        f"rustdoc JSON (`{rd['mode']}`): "
        + ("; ".join(f"`{r['snapshot'][:10]}` crate `{r['crate']}`: {r['result']}"
                     f" ({r['matched']} functions matched)" for r in rd.get("runs", []))
           or "not run")
        + ". Samples with rustdoc facts: "
        + ", ".join(f"{s} {st['samples_with_rustdoc_facts']}" for s, st in scales.items())
        + f". Redactions: {section['redactions'] or 'none'}. Inline type tokens: "
        f"{section['type_tokens']}.",
        "",
        "### Sample sanity checks",
        "",
        _table(["check", "result"],
               [[k, "pass" if v else "**FAIL**"] for k, v in section["sanity"].items()]),
        "",
    ]
    return "\n".join(parts)


def samples_plot_data(samples: pa.Table) -> dict[str, Any]:
    return {"scales": samples.column("scale").to_pylist(),
            "tokens": samples.column("target_tokens").to_pylist()}


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
        if values:
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5,
                    label=f"{scale} ({len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("target tokens (StarCoder2 tokenizer)")
    ax.set_ylabel("samples")
    ax.set_title("Target size per scale")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    atomic_write(dest, write)
    plt.close(fig)
