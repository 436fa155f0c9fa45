"""report.md of a dataset build (the human-readable side of manifest.json), with a plot."""

from __future__ import annotations

import shlex
from typing import Any

import networkx as nx
import pyarrow as pa

from dataset_builder import schema
from dataset_builder.config import MineConfig
from dataset_builder.plots import PLOT, SAMPLES_PLOT

_DEFAULT_MAX_FILE_BYTES = MineConfig.max_file_bytes  # named in Reproduce only when changed


def history_plot_data(commits: pa.Table, out_degrees: list[int]) -> dict[str, Any]:
    """What render_plot draws, as plain lists (cheap to compute, safe to hand to a child):
    per-commit item counts and each commit's out-degree in the commit DAG."""
    cols = commits.select(["items_added", "items_modified", "items_removed"])
    return {"series": [cols.column(c).to_pylist() for c in cols.column_names],
            "degrees": out_degrees}


def empty_splits_note(split_rows: dict[str, int]) -> str:
    """A sentence naming the splits without samples ("" when there are none): a split's files
    are what `datasets.load_dataset` is given, and it raises on a split with no rows."""
    empty = [split for split in schema.SPLITS if not split_rows.get(split)]
    if not empty:
        return ""
    which = " and ".join(empty)
    return (f"No samples in {which}: `datasets.load_dataset` raises on an empty split, so "
            f"leave {which} out of its `data_files` (pyarrow reads the folder's "
            f"`{schema.EMPTY_SPLIT_FILE}`).")


def _scale_gaps(scales: dict[str, Any]) -> str:
    """The valid and test splits that have samples but none of some scale with samples
    ("medium (valid), full (valid, test)"; "" when there are none): train's gaps have a
    sentence of their own, a split with no samples at all another."""
    split_rows = _split_rows(scales)
    gaps = []
    for scale, st in scales.items():
        missing = [split for split in schema.SPLITS if split != "train"
                   and split_rows.get(split) and not st["splits"].get(split)]
        if st["kept"] and missing:
            gaps.append(f"{scale} ({', '.join(missing)})")
    return ", ".join(gaps)


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
        + (f" --max-commits {cfg['max_commits']}" if cfg["max_commits"] else "")
        + (f" --snapshot-every {cfg['snapshot_every']}"
           if cfg.get("snapshot_every") is not None else "")
        + (f" --max-file-bytes {cfg['max_file_bytes']}"
           if cfg.get("max_file_bytes", _DEFAULT_MAX_FILE_BYTES) != _DEFAULT_MAX_FILE_BYTES
           else "")
        + "".join(f" --exclude {shlex.quote(p)}" for p in cfg.get("exclude", ())) + "`",
        "",
        f"Revision `{repo['rev']}` = `{repo['head'][:12]}`; bare: {repo['bare']}; "
        f"shallow: {repo['shallow']}; config hash `{manifest['config_hash']}`; "
        # Written when the history is done: the manifest's elapsed_seconds later covers the
        # samples too.
        f"history mined in {manifest['elapsed_seconds']} s.",
        *(["", f"Renames not followed: {repo['renames_off_because']}; a renamed file shows "
                "as a deletion and an addition."] if repo.get("renames_off_because") else []),
        *(["", "Renames followed among Rust files only: "
               f"{repo['renames_among_rust_files_only_because']}; submodules at other paths "
               "are not listed."] if repo.get("renames_among_rust_files_only_because")
          else []),
        *(["", f"Not mined: {len(copied)} folders holding a copy of a published crate "
               "(a `Cargo.toml.orig`, `.cargo_vcs_info.json` or `.cargo-checksum.json` in some "
               "commit; skip reason `vendored_crate`): "
               + ", ".join(f"`{c}`" for c in copied[:10])
               + (f" and {len(copied) - 10} more (manifest `repo.copied_crates`)"
                  if len(copied) > 10 else "") + "."]
          if (copied := repo.get("copied_crates")) else []),
        "",
        "## History",
        "",
        _table(["what", "count"], [
            ["commits", counts["commits"]],
            ["merge commits (diffed against first parent)", counts["merges"]],
            [".rs file changes", counts["rs_file_changes"]],
            ["merge files brought in line with the merge's tree (walk's version was another "
             "branch's)", counts.get("merge_sync_files", 0)],
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
               [[k, "pass" if v else "**FAIL**"] for k, v in sorted(manifest["sanity"].items())]),
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


SAMPLES_HEADING = "## Samples"


def quantiles(values: list[int]) -> list[Any]:
    """min, median, p90, max (nearest rank); dashes for none."""
    if not values:
        return ["–"] * 4
    ordered = sorted(values)

    def q(p: float) -> int:
        return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))]

    return [q(0.0), q(0.5), q(0.9), ordered[-1]]


# The columns of the written samples that render_samples_section and samples_plot_data read.
REPORT_SAMPLE_COLUMNS = ["scale", "target_loc", "target_tokens"]


def _split_rows(scales: dict[str, Any]) -> dict[str, int]:
    return {split: sum(st["splits"].get(split, 0) for st in scales.values())
            for split in schema.SPLITS}


def target_sizes(samples: pa.Table) -> dict[str, dict[str, list[int]]]:
    """Per scale, the targets' LOC and token counts ({"loc": [...], "tokens": [...]})."""
    by_scale: dict[str, dict[str, list[int]]] = {}
    for scale, loc, tokens in zip(samples.column("scale").to_pylist(),
                                  samples.column("target_loc").to_pylist(),
                                  samples.column("target_tokens").to_pylist(), strict=True):
        entry = by_scale.setdefault(scale, {"loc": [], "tokens": []})
        entry["loc"].append(loc)
        entry["tokens"].append(tokens)
    return by_scale


def render_samples_section(section: dict[str, Any], samples: pa.Table) -> str:
    """The samples part of report.md: per scale counts, LOC and token distributions, drops,
    dedup, leakage and type facts."""
    scales = section["scales"]
    by_scale = target_sizes(samples)
    rows = []
    for scale, st in scales.items():
        dist = by_scale.get(scale, {"loc": [], "tokens": []})
        loc_q, tok_q = quantiles(dist["loc"]), quantiles(dist["tokens"])
        rows.append([scale, st["produced"], st["kept"], st["splits"].get("train", 0),
                     st["splits"].get("valid", 0), st["splits"].get("test", 0),
                     f"{loc_q[1]} / {loc_q[2]} / {loc_q[3]}",
                     f"{tok_q[1]} / {tok_q[2]} / {tok_q[3]}", st["split_targets"],
                     st["over_budget"], section.get("cpu_seconds", {}).get(scale, "")])
    reasons = sorted({r for st in scales.values() for r in st["dropped"]})
    drop_rows = [[r, *[scales[s]["dropped"].get(r, 0) for s in scales]] for r in reasons]
    leak_rows = [[s, st["leakage"].get("test_dropped", 0), st["leakage"].get("valid_dropped", 0),
                  st["leakage"].get("test_near_duplicates_of_train_after", 0),
                  st["leakage"].get("test_train_pairs_compared_exactly", 0)]
                 for s, st in scales.items()]
    margins = section.get("exact_jaccard_margins", {})
    rd = section["rustdoc"]
    cfg = section["config"]
    parts = [
        SAMPLES_HEADING,
        "",
        f"Type facts: `{cfg['type_facts']}`; budgets (tokens, micro→full): "
        f"{', '.join(str(b) for b in cfg['budgets'])}; splits by time (the newest commits "
        f"holding {cfg['test_fraction']} of the item changes test, the next "
        f"{cfg['valid_fraction']} valid"
        + (f"; held-out repositories: {', '.join(cfg['holdout_repos'])}"
           if cfg["holdout_repos"] else "") + "); config hash "
        f"`{section['config_hash']}`.",
        "",
        _table(["scale", "produced", "kept", "train", "valid", "test",
                "target LOC median / p90 / max", "target tokens median / p90 / max",
                "targets split into parts (before dedup)", "over budget", "CPU s"], rows),
        "",
        *([note, ""] if (note := empty_splits_note(_split_rows(scales))) else []),
        *(["Snapshots added for the module-file, module-group and crate scales, at the "
           "newest commit of a split that had none of the history's: " + ", ".join(
               f"{split} `{sha[:10]}`" for split, sha in added.items()) + ".", ""]
          if (added := section.get("split_snapshots")) else []),
        *(["Samples taken at the oldest snapshot that has their text unchanged (its commit, "
           "split and context), not at the newest: " + ", ".join(
               f"{scale} {n}" for scale, n in older.items()) + ".", ""]
          if (older := {scale: st["taken_at_older_snapshot"] for scale, st in scales.items()
                        if st.get("taken_at_older_snapshot")}) else []),
        *([f"No train samples at the {', '.join(no_train)} scale"
           f"{'s' if len(no_train) > 1 else ''}: " + (
               "the train split's snapshots gave none that deduplication kept (their files "
               "are near-duplicates of newer versions)." if cfg.get("split_snapshots") else
               "every snapshot they come from is among the newest commits, which the split "
               "by time holds out (`--snapshot-every 0` leaves the last commit alone)."), ""]
          if (no_train := [scale for scale, st in scales.items()
                           if st["kept"] and not st["splits"].get("train")]) else []),
        *([f"No samples of some scales in a split that has others: {gaps}. Those scales' "
           "files (`<split>/<scale>-*.parquet`) are missing there: `datasets.load_dataset` "
           "raises on a pattern that matches none, so give it the split's folder and filter "
           "by `scale`, or leave them out of its `data_files`.", ""]
          if (gaps := _scale_gaps(scales)) else []),
        f"![target tokens per scale]({SAMPLES_PLOT})",
        "",
        "### Dropped, by reason and scale (produced = kept + dropped)",
        "",
        _table(["reason", *scales.keys()], drop_rows) if drop_rows else "Nothing dropped.",
        "",
        *([f"Not made (never produced): {not_made}. A module group over budget is a "
           "module that with its nearest dependency exceeds the budget of its scale; a "
           "single-file crate is a test, example or bench of one file; the code of both "
           "is in the module scale's samples.", ""]
          if (not_made := ", ".join(
              f"{scale} {reason} {n}" for scale, st in scales.items()
              for reason, n in st.get("not_made", {}).items())) else []),
        "### Leakage check (near-duplicates, Jaccard ≥ "
        f"{cfg['near_threshold']}, of train targets)",
        "",
        "Dropped: held-out targets whose MinHash estimate with a train target reaches the "
        "threshold, or whose shingle sets do (compared where the estimate is within "
        f"{margins.get('drop', '?')} of it). Left: what is written, checked again by exact "
        f"Jaccard where the estimate is within {margins.get('check', '?')}.",
        "",
        _table(["scale", "test dropped", "valid dropped", "test near-duplicates left",
                "pairs compared exactly"], leak_rows),
        "",
        "### Type facts",
        "",
        f"rustdoc JSON (`{rd['mode']}`): "
        + ("; ".join(f"`{r['snapshot'][:10]}` crate `{r['crate']}`: {r['result']}"
                     + (" (harness manifests)" if r.get("manifest") == "harness" else "")
                     + f" ({r['matched']} functions matched)" for r in rd.get("runs", []))
           or (f"not run ({rd['not_run']})" if rd.get("not_run") else "not run"))
        + (". Crates an offline resolution lacked (runs): "
           + ", ".join(f"`{name}` {n}" for name, n in rd["missing_crates"].items())
           + " (no release, or none that meets the manifests' requirements: install "
             "them, as Debian packages them: `apt-get install "
           + " ".join(f"librust-{name.replace('_', '-').lower()}-dev"
                      for name in rd["missing_crates"])
           + "` (its releases can be older than a recent history asks), or give "
             "`--vendor DIR`, a `cargo vendor` folder; the same command then makes the "
             "samples again)"
           if rd.get("missing_crates") else "")
        + (f". Items the history's replay keeps alive in files the snapshot lacks (across "
           f"merges), left out: {rd['items_not_in_snapshot_tree']} (summed over the "
           f"snapshots documented)"
           if rd.get("items_not_in_snapshot_tree") else "")
        + ". Samples with rustdoc facts: "
        + ", ".join(f"{s} {st['samples_with_rustdoc_facts']}" for s, st in scales.items())
        + f". Redactions: {section['redactions'] or 'none'}. Inline type tokens: "
        f"{section['type_tokens']}.",
        "",
        "### Sample sanity checks",
        "",
        _table(["check", "result"],
               [[k, "pass" if v else "**FAIL**"] for k, v in sorted(section["sanity"].items())]),
        "",
    ]
    return "\n".join(parts)


def samples_plot_data(samples: pa.Table) -> dict[str, Any]:
    return {"scales": samples.column("scale").to_pylist(),
            "tokens": samples.column("target_tokens").to_pylist()}
