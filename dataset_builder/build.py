"""One dataset build: mine the history, then assemble the output folder.

Outputs in OUT: commits.parquet, files.parquet, items.parquet, modules.parquet, dag.graphml,
module_graph.graphml (the last snapshot), manifest.json and report.md. Every file is written
atomically and manifest.json last: a folder whose manifest says "complete" with the same config
hash is up to date and a re-run returns at once.
"""

from __future__ import annotations

import contextlib
import json
import platform
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dataset_builder import __version__, schema
from dataset_builder.atomic import atomic_write, atomic_write_json, atomic_write_text
from dataset_builder.config import MineConfig
from dataset_builder.gitio import (
    COPIED_CRATE_SPECS,
    BlobReader,
    MissingObjectError,
    PathRules,
    RepoError,
    RepoInfo,
    copied_crate_roots,
    count_commits,
    git_version,
    paths_in_history,
    selected_commits,
)
from dataset_builder.graphs import dependency_order, graph_stats, write_graphml
from dataset_builder.memory import return_memory
from dataset_builder.mine import (
    BlobCache,
    MinerState,
    WorkDir,
    mine_history,
    rules_at_head,
    tree_module_facts,
)
from dataset_builder.modules import (
    TARGET_DIR_SPECS,
    ModuleFacts,
    crate_roots,
    module_graph,
    module_rows,
    older_library_names,
)
from dataset_builder.plots import PLOT, SAMPLES_PLOT, Drawer, render_plot, render_samples_plot
from dataset_builder.progress import bar as progress_bar
from dataset_builder.progress import share_lock
from dataset_builder.report import (
    REPORT_SAMPLE_COLUMNS,
    SAMPLES_HEADING,
    history_plot_data,
    render_report,
    render_samples_section,
    samples_plot_data,
)
from dataset_builder.samples import (
    RustdocAhead,
    SampleConfig,
    build_samples,
    read_samples,
    rustdoc_snapshots,
)
from dataset_builder.samples_child import SamplesChild

MANIFEST = "manifest.json"


@dataclass
class BuildResult:
    out: Path
    manifest: dict[str, Any]
    up_to_date: bool


def _concat_parts(work: WorkDir, name: str, dest: Path,
                  each: Callable[[pa.Table], None] | None = None) -> None:
    """Stream the part files of one table into its final parquet file (`each` sees every
    part on the way)."""
    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema.SCHEMAS[name]) as writer:
            for part in work.part_files(name):
                table = work.read_part(part)
                writer.write_table(table)
                if each is not None:
                    each(table)
    atomic_write(dest, write)


def _write_table(table: pa.Table, dest: Path) -> None:
    atomic_write(dest, lambda tmp: pq.write_table(table, tmp))


def _commit_dag(commits: pa.Table, state: MinerState) -> nx.DiGraph:
    dag = nx.DiGraph(name="commit dependency DAG",
                     description="edge A->B: B adds or changes an item referencing a symbol "
                                 "whose latest definition came from A")
    rows = commits.select(["sha", "index", "committed_at", "subject", "items_added",
                           "items_modified"]).to_pylist()
    for row in rows:
        dag.add_node(row["sha"], index=row["index"], committed_at=row["committed_at"],
                     subject=row["subject"][:120],
                     items_changed=row["items_added"] + row["items_modified"])
    for (src, dst), edge in state.dag_edges.items():
        symbols = sorted(edge["symbols"])
        dag.add_edge(src, dst, weight=edge["weight"], symbols=" ".join(symbols[:20]),
                     n_symbols=len(symbols))
    return dag


def _snapshot_indexes(n_commits: int, every: int | None) -> list[int]:
    if every is None:
        every = max(1, min(100, -(-n_commits // 10)))
    picks = {n_commits - 1}
    if every > 0:
        picks.update(range(every - 1, n_commits, every))
    return sorted(picks)


def _snapshot_pairs(shas: list[str], every: int | None) -> list[tuple[int, str]]:
    """(commit index, sha) of each snapshot of the commits `shas`, oldest first."""
    return [(i, shas[i]) for i in _snapshot_indexes(len(shas), every)] if shas else []


def _module_snapshots(info: RepoInfo, cache: BlobCache, snapshots: list[tuple[int, str]],
                      recorded: dict[int, list[tuple[str, ModuleFacts]] | None],
                      progress: bool) -> tuple[pa.Table, nx.DiGraph]:
    """Module graph rows of each snapshot, from the module facts the walk recorded (or, for
    snapshots passed before a resumed run started, from the commit's tree)."""
    known: dict[str, ModuleFacts | None] = {}
    rows: list[dict[str, Any]] = []
    graph = nx.DiGraph()
    for index, sha in progress_bar(snapshots, desc="module graphs", unit="snapshot",
                                   disable=not progress or len(snapshots) < 2):
        files = recorded.get(index)
        if files is None:
            files = tree_module_facts(info, cache, sha, known)
        graph = module_graph(files, info.roots)
        rows.extend({"snapshot": sha, "snapshot_index": index, **row}
                    for row in module_rows(graph))
    return pa.Table.from_pylist(rows, schema=schema.MODULES), graph


def _write_graphs(info: RepoInfo, config: MineConfig, out: Path, cache: BlobCache,
                  commits: pa.Table, state: MinerState,
                  recorded: dict[int, list[tuple[str, ModuleFacts]] | None], progress: bool
                  ) -> tuple[nx.DiGraph, pa.Table, list[tuple[int, str]], nx.DiGraph]:
    """The commit DAG (commits.parquet with each commit's dependency order, dag.graphml) and
    the module graphs of the snapshots (modules.parquet, module_graph.graphml)."""
    dag = _commit_dag(commits, state)
    # Ties between independent commits keep history order.
    by_index = {sha: f"{data['index']:012d}" for sha, data in dag.nodes(data=True)}
    order = {sha: i for i, sha in enumerate(dependency_order(dag, by_index.__getitem__))}
    commits = commits.append_column(
        "dag_order", pa.array([order[s] for s in commits.column("sha").to_pylist()],
                              pa.int64()))
    _write_table(commits, out / "commits.parquet")
    write_graphml(dag, out / "dag.graphml")

    snapshots = _snapshot_pairs(commits.column("sha").to_pylist(), config.snapshot_every)
    modules, head_graph = _module_snapshots(info, cache, snapshots, recorded, progress)
    _write_table(modules, out / "modules.parquet")
    write_graphml(head_graph, out / "module_graph.graphml")
    return dag, commits, snapshots, head_graph


def _versions() -> dict[str, str]:
    versions = {"ferric": __version__, "python": platform.python_version(), "git": git_version()}
    for dist in ("tree-sitter", "tree-sitter-rust", "GitPython", "networkx", "pyarrow"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


@dataclass
class ItemFacts:
    """What the manifest and the sanity checks need of the item rows, gathered from the
    walk's parts as they are written into items.parquet."""

    rows: int
    by_change: dict[str, int]
    by_kind: dict[str, int]
    lineages: int
    commits: set[str]
    every_version_has_text: bool


def _value_counts(column: pa.ChunkedArray) -> Counter[str]:
    counts = pc.value_counts(column)
    return Counter(dict(zip(counts.field("values").to_pylist(),
                            counts.field("counts").to_pylist(), strict=True)))


def _write_items(work: WorkDir, out: Path) -> ItemFacts:
    """files.parquet and items.parquet from the walk's parts, and what the build reports of
    the items, taken from the parts as they are written (Arrow compute, a part at a time: the
    texts of a long history take GBs). Runs in a thread beside the DAG and module graphs:
    pyarrow releases the GIL."""
    _concat_parts(work, "files", out / "files.parquet")
    facts = ItemFacts(rows=0, by_change={}, by_kind={}, lineages=0, commits=set(),
                      every_version_has_text=True)
    by_change: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    lineages: set[str] = set()

    def add(part: pa.Table) -> None:
        facts.rows += part.num_rows
        by_change.update(_value_counts(part.column("change")))
        by_kind.update(_value_counts(part.column("kind")))
        lineages.update(pc.unique(part.column("lineage")).to_pylist())
        facts.commits.update(pc.unique(part.column("commit")).to_pylist())
        has_text = pc.greater(pc.binary_length(part.column("text")), 0)
        removed = pc.equal(part.column("change"), "removed")
        facts.every_version_has_text &= \
            pc.all(pc.not_equal(has_text, removed)).as_py() is not False

    _concat_parts(work, "items", out / "items.parquet", add)
    facts.by_change = dict(sorted(by_change.items()))
    facts.by_kind = dict(sorted(by_kind.items()))
    facts.lineages = len(lineages)
    return facts


def _counts(state: MinerState, commits: pa.Table, items: ItemFacts) -> dict[str, Any]:
    return {
        "commits": commits.num_rows,
        "merges": int(pc.sum(commits.column("is_merge").cast(pa.int64())).as_py() or 0),
        "rs_file_changes": state.counts["rs_changes"],
        # Files of merges brought in line with the merge's tree (mine.with_merge_sync).
        "merge_sync_files": state.counts["merge_sync_files"],
        "merges_sync_missing": state.counts["merges_sync_missing"],  # expected 0
        "item_rows": items.rows,
        "items_by_change": items.by_change,
        "items_by_kind": items.by_kind,
        "lineages": items.lineages,
        "file_versions_with_parse_errors": state.counts["file_versions_with_parse_errors"],
        "references": state.counts["references"],
        "references_resolved": state.counts["references_resolved"],
    }


def _this_run(cache: BlobCache) -> dict[str, Any]:
    """The work this run did, not a fact of the history: a run resumed from a checkpoint
    parses only what was left, and cold (its first versions of each file from scratch),
    so these differ from an uninterrupted run's where every other field is equal."""
    return {
        "blobs_parsed": cache.parsed,
        "blobs_parsed_incrementally": cache.incremental,
        # Parses are dropped once no path holds their blob; these came back and were redone.
        "blobs_parsed_again": cache.reparsed,
        # The parse workers: CPU seconds of their tasks (the walk waits for the busiest),
        # and paths moved from a busier worker to a less busy one.
        "parse_task_cpu_seconds": [round(s, 2) for s in cache.worker_seconds],
        "paths_moved": cache.paths_moved,
        # Dropped versions a batch needed again: sent to a worker, which parsed them again
        # (blobs_parsed_again) or still had them.
        "blobs_sent_again": cache.sent_again,
    }


def read_manifest(out: Path) -> dict[str, Any] | None:
    try:
        manifest: dict[str, Any] = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest


def _add_samples(out: Path, info: RepoInfo, manifest: dict[str, Any], label: str,
                 config: MineConfig, sample_config: SampleConfig, progress: bool,
                 drawer: Drawer | None = None, rustdoc_ahead: RustdocAhead | None = None,
                 section: dict[str, Any] | None = None) -> bool:
    """Generate (or confirm up to date) the samples; update manifest and report. Returns
    whether anything was rebuilt. The plot is drawn by `drawer`, or by one started here
    when there is something to draw; `rustdoc_ahead`: see build_samples; `section`:
    build_samples' result, when it ran elsewhere (samples_child)."""
    if section is None:
        section = build_samples(out, info, label, manifest["config_hash"], sample_config,
                                config.max_file_bytes, progress, rustdoc_ahead=rustdoc_ahead)
    if section.get("up_to_date"):
        if manifest.get("samples", {}).get("config_hash") == section["config_hash"]:
            return False
        # Up to date by the samples' marker alone: a run killed before its manifest took
        # them, which this run finishes as an uninterrupted one would (xsv's resumed
        # manifest said `up_to_date: true`).
        section["up_to_date"] = False
    samples = read_samples(out, columns=REPORT_SAMPLE_COLUMNS)
    data = samples_plot_data(samples)
    with contextlib.ExitStack() as stack:
        if drawer is None:
            drawer = stack.enter_context(Drawer.take())
        drawer.send(SAMPLES_PLOT, render_samples_plot, data, out / SAMPLES_PLOT)
        manifest["samples"] = section
        manifest["sanity"].update(section["sanity"])
        report = (out / "report.md").read_text() if (out / "report.md").exists() else ""
        report = report.split(SAMPLES_HEADING, 1)[0].rstrip() + "\n\n"
        atomic_write_text(out / "report.md", report + render_samples_section(section, samples))
        drawer.wait(SAMPLES_PLOT)
    for name in ("samples", SAMPLES_PLOT, "type_tokens.json"):
        if name not in manifest["outputs"]:
            manifest["outputs"].insert(-1, name)
    atomic_write_json(out / MANIFEST, manifest)
    return True


def build_dataset(config: MineConfig, info: RepoInfo, progress: bool = True,
                  repo_label: str | None = None,
                  sample_config: SampleConfig | None = None) -> BuildResult:
    """Mine the history (part 1) then, unless sample_config is None, write the samples
    (part 2). Each part is skipped when its outputs are complete for the same config hash."""
    started = time.monotonic()
    out = Path(config.out)
    label = repo_label or info.path.name
    # The walk, the parse workers and the samples all ask what is not mined.
    # One walk of the history for the copied crates' markers, the compile-fail fixtures'
    # `.stderr` files, the manifests' older versions and the programs of tests/ (examples/,
    # benches/) folders.
    marked = paths_in_history(info, (*COPIED_CRATE_SPECS, "*.stderr", "*Cargo.toml",
                                     *TARGET_DIR_SPECS))
    info = replace(info, rules=PathRules(copied_crates=copied_crate_roots(info, marked),
                                         exclude=tuple(config.exclude)))
    with BlobReader(info.git_dir) as reader:  # and where crates the conventions miss are
        # Library names and roots of older manifests too (`use tui::…` before ratatui's
        # rename, percent_encoding/lib.rs before rust-url moved it to src/); the revision's
        # take precedence.
        older, older_roots, older_renames, older_folders = older_library_names(
            marked, reader, paths_in_history(info, ("*Cargo.toml",), every_version=True))
        roots = crate_roots(info, reader, marked, older_roots)
        info = replace(info, roots=replace(
            roots, libraries={**older, **roots.libraries},
            library_folders=older_folders,
            renames={folder: {**older_renames.get(folder, {}), **roots.renames.get(folder, {})}
                     for folder in {*older_renames, *roots.renames}}))
        generated, compile_fail = rules_at_head(info, reader, marked)
        info = replace(info, rules=replace(info.rules, generated=generated,
                                           compile_fail=compile_fail))
    # A build whose rename detection failed on a missing object left a note: the same
    # settings mine as it went on at once (so a resumed run finds its checkpoints).
    renames_on_hash = config.config_hash(info.head, __version__)
    # mode: a RENAME_FALLBACKS key or None; why renames are followed among Rust files or not
    mode, renames_limited = (_rename_note(out, renames_on_hash) if config.renames and
                             not config.rust_paths_only else None) or (None, None)
    while True:
        if mode is not None:
            renames, rust_paths_only = RENAME_FALLBACKS[mode]
            config = replace(config, renames=renames, rust_paths_only=rust_paths_only)
        try:
            return _build_or_skip(config, info, out, label, started, progress, sample_config,
                                  renames_limited)
        except MissingObjectError as exc:  # raised only while renames are followed
            if not config.renames:
                raise
            # Rename detection reads the blobs of every changed path: first without those of
            # other files than Rust's, then without renames.
            mode = "off" if config.rust_paths_only else "rust_paths"
            print(f"warning: {exc}: " + (
                "following renames among Rust files only" if mode == "rust_paths" else
                "mining without rename detection (a renamed file shows as a deletion and an "
                "addition)"), file=sys.stderr)
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out / RENAMES_OFF, {"config_hash": renames_on_hash,
                                                  "mode": mode, "reason": str(exc)})
            renames_limited = str(exc)


# Written when rename detection failed: the config hash (renames on) it applies to, how the
# build goes on (a RENAME_FALLBACKS key; "off" when a note says none) and why.
RENAMES_OFF = ".renames-off.json"
RENAME_FALLBACKS: dict[str, tuple[bool, bool]] = {  # -> (renames, rust_paths_only)
    "rust_paths": (True, True),  # rename detection among Rust files only
    "off": (False, False),
}


def _rename_note(out: Path, config_hash: str) -> tuple[str, str] | None:
    """(RENAME_FALLBACKS key, why) of this build's settings where rename detection failed
    before (None: it did not)."""
    try:
        note = json.loads((out / RENAMES_OFF).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("config_hash") != config_hash:
        return None
    mode = note.get("mode", "off")
    return (mode if mode in RENAME_FALLBACKS else "off"), str(note.get("reason", ""))


def _build_or_skip(config: MineConfig, info: RepoInfo, out: Path, label: str, started: float,
                   progress: bool, sample_config: SampleConfig | None,
                   renames_limited: str | None) -> BuildResult:
    config_hash = config.config_hash(info.head, __version__)
    previous = read_manifest(out)
    if previous and previous.get("status") == "complete" and \
            previous.get("config_hash") == config_hash and \
            all((out / name).exists() for name in previous.get("outputs", [])
                if name not in ("samples", SAMPLES_PLOT, "type_tokens.json")):
        rebuilt = sample_config is not None and _add_samples(
            out, info, previous, label, config, sample_config, progress)
        return BuildResult(out, previous, up_to_date=not rebuilt)
    if previous and previous.get("status") == "complete":
        # This build replaces the tables a file at a time: the earlier manifest must not
        # vouch for them meanwhile (killed after its items.parquet landed, a rebuild left
        # the manifest of 1,000 commits over the tables of 3,501, and the earlier command
        # said "up to date").
        atomic_write_json(out / MANIFEST, {**previous, "status": "being replaced"})
    # The drawer is started first: it imports matplotlib on spare CPU.
    with Drawer.take() as drawer, contextlib.ExitStack() as cleanup:
        return _build(config, info, out, config_hash, label, started, progress,
                      sample_config, drawer, cleanup, renames_limited)


def _build(config: MineConfig, info: RepoInfo, out: Path, config_hash: str, label: str,
           started: float, progress: bool, sample_config: SampleConfig | None,
           drawer: Drawer, cleanup: contextlib.ExitStack,
           renames_limited: str | None) -> BuildResult:
    """The build; what it starts in the background is stopped by `cleanup` afterwards."""
    # Where fork is missing, the samples stage runs here once the history's structures
    # (symbol tables, graphs, tables) are gone: _mine has returned.
    if progress:
        share_lock()  # before the processes that draw bars are forked
    samples_child = None
    if sample_config is not None and SamplesChild.available():
        # Forked now, before the walk: see samples_child.
        samples_child = cleanup.enter_context(contextlib.closing(SamplesChild(
            info, out, label, sample_config, config.max_file_bytes, progress)))
        if sample_config.rustdoc != "none":
            # The snapshots are known before the walk: cargo (offline, it often compiles the
            # dependencies it finds for seconds at about one core, syn's for 12 s) runs
            # beside it instead of after it.
            shas = selected_commits(info, config.since, config.until, config.max_commits)
            samples_child.start_rustdoc(rustdoc_snapshots(
                _snapshot_pairs(shas, config.snapshot_every), sample_config))
    manifest, rustdoc_ahead = _mine(config, info, out, config_hash, label, started, progress,
                                    sample_config, drawer, cleanup, renames_limited, samples_child)
    if sample_config is not None:
        section = None
        if samples_child is not None:
            # Read by _add_samples after the samples (pq.read_table imports it: 0.3 s):
            # imported while they are made.
            with contextlib.suppress(ImportError):
                import pyarrow.dataset  # noqa: F401
            # What the walk freed, given back while this process waits: kept, it stood
            # beside the scale processes' peak (tokio: 282 MiB of the tree's 1,816).
            return_memory()
            section = samples_child.build(manifest["config_hash"])
        else:
            return_memory()
        _add_samples(out, info, manifest, label, config, sample_config, progress, drawer,
                     rustdoc_ahead, section)
        manifest["elapsed_seconds"] = round(time.monotonic() - started, 2)
        atomic_write_json(out / MANIFEST, manifest)
    else:
        # Samples of an earlier build of another history (other settings, a newer commit)
        # would stay beside this one's tables, naming commits they lack.
        shutil.rmtree(out / "samples", ignore_errors=True)
        for name in (SAMPLES_PLOT, "type_tokens.json"):
            (out / name).unlink(missing_ok=True)
    return BuildResult(out, manifest, up_to_date=False)


def _mine(config: MineConfig, info: RepoInfo, out: Path, config_hash: str, label: str,
          started: float, progress: bool, sample_config: SampleConfig | None, drawer: Drawer,
          cleanup: contextlib.ExitStack, renames_limited: str | None,
          samples_child: SamplesChild | None = None
          ) -> tuple[dict[str, Any], RustdocAhead | None]:
    """The history (part 1) and its manifest, report and plot; rustdoc's runs for the
    samples, started meanwhile when there will be samples (in `samples_child` if given)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".work-*"):  # work of a run with other settings
        if stale.name != f".work-{config_hash}":
            shutil.rmtree(stale, ignore_errors=True)
    work = WorkDir(out, config_hash)

    total = count_commits(info, config.since, config.until)
    if total == 0:  # git takes some words (`all`, `false`) for now: say what selected nothing
        work.remove()
        window = " ".join(f"--{name} {value!r}" for name, value in
                          (("since", config.since), ("until", config.until)) if value)
        raise RepoError(f"--repo {config.repo}: no commits of {info.rev} in {window}")
    if config.max_commits is not None:
        total = min(total, config.max_commits)
    rustdoc_ahead: RustdocAhead | None = None
    with BlobReader(info.git_dir) as reader:
        cache = BlobCache(reader, config.max_file_bytes)
        recorded: dict[int, list[tuple[str, ModuleFacts]] | None] = dict.fromkeys(
            _snapshot_indexes(total, config.snapshot_every))
        state = mine_history(info, config, work, cache, total, progress, recorded)
        if state.rs_paths_seen == 0:
            work.remove()
            raise RepoError(f"--repo {config.repo}: no .rs files in the selected history")
        if state.counts["rs_versions_parsed"] == 0:  # --exclude '*', say: as if none
            work.remove()
            skipped = ", ".join(f"{reason} {n}" for reason, n in state.skips.most_common())
            raise RepoError(f"--repo {config.repo}: no .rs file of the selected history is "
                            f"mined: {state.rs_paths_seen} skipped ({skipped})")

        commits = pa.concat_tables(
            [work.read_part(p) for p in work.part_files("commits")])
        # The plot needs only per-commit counts and DAG out-degrees: it is drawn beside
        # everything that follows.
        sources = Counter(src for src, _ in state.dag_edges)
        plot_data = history_plot_data(
            commits, [sources[sha] for sha in commits.column("sha").to_pylist()])
        drawer.send(PLOT, render_plot, plot_data, out / PLOT)
        with ThreadPoolExecutor(1, thread_name_prefix="ferric-items") as pool, \
                _switch_interval(ITEMS_THREAD_SWITCH_SECONDS):
            items_written = pool.submit(_write_items, work, out)
            dag, commits, snapshots, head_graph = _write_graphs(
                info, config, out, cache, commits, state, recorded, progress)
            if samples_child is not None:  # unless started: modules.parquet says which
                samples_child.start_rustdoc()
            elif sample_config is not None:
                rustdoc_ahead = cleanup.enter_context(
                    contextlib.closing(RustdocAhead(info, out, sample_config,
                                                    progress=progress)))
            # The graph figures while the item rows are still being written.
            dag_stats = graph_stats(dag)
            module_graph_stats = {"snapshots": len(snapshots), "last_snapshot": snapshots[-1][1],
                                  **graph_stats(head_graph),
                                  "order": [str(n) for n in dependency_order(head_graph)]}
            item_facts = items_written.result()
        del recorded
        # The rest of the build reads the parquet files.
        cache.blobs.clear()
        cache.drop_trees()
    if samples_child is not None:  # the tables it reads are written
        samples_child.start_build(config_hash)

    manifest: dict[str, Any] = {
        "status": "complete",
        "stage": "dataset_builder",
        "config_hash": config_hash,
        "config": {**asdict(config), "head": info.head},
        "repo": {"label": label, "path": str(info.path),
                 "bare": info.bare, "shallow": info.shallow, "rev": info.rev,
                 "head": info.head, "renames_followed": config.renames,
                 **({"renames_among_rust_files_only_because": renames_limited}
                    if renames_limited and config.renames else
                    {"renames_off_because": renames_limited} if renames_limited else {}),
                 # Folders holding a copy of a published crate: not mined (vendored_crate).
                 "copied_crates": sorted(info.rules.copied_crates),
                 # Generated at the revision: every version skipped (generated).
                 "generated_at_head": sorted(info.rules.generated),
                 # Beside a `.stderr` in some commit: every version skipped (compile_fail_test).
                 "compile_fail_paths": sorted(info.rules.compile_fail)},
        # Later stages reach the code at any commit through this map.
        "repos": {label: {"path": str(info.path.resolve()), "git_dir": str(
            info.git_dir.resolve()), "head": info.head, "bare": info.bare,
                          "shallow": info.shallow}},
        "counts": _counts(state, commits, item_facts),
        "skips": dict(sorted(state.skips.items())),
        "this_run": _this_run(cache),
        "dag": dag_stats,
        "module_graph": module_graph_stats,
        "versions": _versions(),
        "elapsed_seconds": round(time.monotonic() - started, 2),
        "outputs": ["commits.parquet", "files.parquet", "items.parquet", "modules.parquet",
                    "dag.graphml", "module_graph.graphml", "report.md", PLOT, MANIFEST],
    }
    manifest["sanity"] = sanity_checks(dag, commits, item_facts, manifest)
    if sample_config is not None:
        # Replaced by the samples' section once they are made: a run stopped before that
        # left "complete" (the history's status) with no word of the samples.
        manifest["samples"] = {"status": "not made yet: run the same command again"}
    atomic_write_text(out / "report.md", render_report(manifest, dag, commits))
    drawer.wait(PLOT)
    atomic_write_json(out / MANIFEST, manifest)
    work.remove()
    return manifest, rustdoc_ahead


# The items thread takes the GIL back after every pyarrow call (a few per part); at Python's
# default 5 ms switch interval it waited that long behind the graph code each time (hyper:
# items written in 1.20 s, 0.70 s at this interval).
ITEMS_THREAD_SWITCH_SECONDS = 0.0005


@contextlib.contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def sanity_checks(dag: nx.DiGraph, commits: pa.Table, items: ItemFacts,
                  manifest: dict[str, Any]) -> dict[str, bool]:
    """Properties every build must have; the report lists them and the CLI warns on failure."""
    shas = set(commits.column("sha").to_pylist())
    index = dict(zip(commits.column("sha").to_pylist(), commits.column("index").to_pylist(),
                     strict=True))
    return {
        "dag_is_acyclic": nx.is_directed_acyclic_graph(dag),
        "dag_edges_point_forward": all(index[u] < index[v] for u, v in dag.edges),
        "item_commits_exist": items.commits <= shas,
        "commit_indexes_contiguous": commits.column("index").to_pylist()
        == list(range(commits.num_rows)),
        "every_item_version_has_text": items.every_version_has_text,
        "module_graph_nonempty": manifest["module_graph"]["nodes"] > 0,
        "mainline_merges_synced": manifest["counts"]["merges_sync_missing"] == 0,
    }
