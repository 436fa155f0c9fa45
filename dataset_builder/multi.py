"""Several repositories in one dataset: one build per repository, then one combined folder.

    python -m dataset_builder --repo A --repo B [--repos-file F] [--holdout-repo B] --out OUT

Each repository is built into OUT/repos/<label>/ exactly as a single-repository build (its own
manifest, resumable, skipped when complete for the same config), several at a time in worker
processes. The combined OUT/ then holds:

* samples/{train,valid,test}/<label>.parquet: every repository's samples (its scales in one
  file; the `scale` column tells them apart); a `--holdout-repo`
  has all of its samples in test (a split by whole repository), the others keep their time
  split;
* a cross-repository leakage check: a test sample whose target is a near-duplicate (MinHash
  estimate, or exact Jaccard of shingle sets, >= the threshold) of any train target of
  another repository is dropped and counted, and what is written is checked again;
* manifest.json with the `repos` map later stages use, per-repository counts, and the leakage
  figures; samples/_COMPLETE.json, written last, carries the hash of everything it vouches for.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from dataset_builder import schema
from dataset_builder.atomic import atomic_write, atomic_write_json, atomic_write_text
from dataset_builder.children import exit_with_parent
from dataset_builder.config import MineConfig
from dataset_builder.gitio import RepoError, open_repo, repo_name
from dataset_builder.plots import SAMPLES_PLOT, render_samples_plot
from dataset_builder.quality import (
    CHECK_MARGIN,
    DROP_MARGIN,
    NearDuplicateIndex,
    leak_check,
)
from dataset_builder.report import (
    REPORT_SAMPLE_COLUMNS,
    empty_splits_note,
    quantiles,
    samples_plot_data,
    target_sizes,
)
from dataset_builder.samples import MARKER, SAMPLES_DIR, TYPE_TOKENS, SampleConfig
from dataset_builder.type_facts import INLINE_TOKEN, strip_inline

REPOS_DIR = "repos"


@dataclass(frozen=True)
class RepoJob:
    label: str
    path: str
    out: str
    config: dict[str, Any]  # MineConfig fields except repo/out


def read_repos_file(path: Path) -> list[str]:
    """One repository path per line; blank lines and `#` comments ignored. A path that does
    not exist is an error that names the file and line (relative paths are read from the
    current folder, as on the command line)."""
    if not path.is_file():
        raise RepoError(f"--repos-file {path}: not a file")
    repos = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        repo = line.split("#", 1)[0].strip()
        if not repo:
            continue
        if repo != "demo" and not Path(repo).exists():
            where = "" if Path(repo).is_absolute() else f" (relative to {Path.cwd()})"
            raise RepoError(f"--repos-file {path}, line {number}: {repo}: no such file or "
                            f"folder{where}")
        repos.append(repo)
    if not repos:
        raise RepoError(f"--repos-file {path} lists no repositories")
    return repos


def unique_labels(roots: list[Path], names: dict[Path, str] | None = None) -> list[str]:
    """A label per repository (its top folder, as open_repo found it): names[root], else the
    folder's name, made unique with -2, -3..."""
    labels: list[str] = []
    for root in roots:
        base = (names or {}).get(root) or repo_name(root)
        label, n = base, 2
        while label in labels:
            label, n = f"{base}-{n}", n + 1
        labels.append(label)
    return labels


_busy = False  # in a pool worker: a repository's build is running
_stopping: Any = None  # in a pool worker: the pool's event, set once no build may start


def _pool_worker(parent_pid: int, stopping: Any) -> None:
    """A pool worker's start. Ctrl-C stops the build it runs (KeyboardInterrupt, which the
    build cleans up after); an idle worker passes it over (it printed a traceback from the
    pool's queue) and ends when the pool is shut down."""
    global _stopping
    exit_with_parent(parent_pid)
    _stopping = stopping  # inherited through the fork: an Event cannot be pickled

    def on_sigint(signum: int, frame: Any) -> None:
        if _busy:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)


def _build_one(job: RepoJob, sample_config: SampleConfig | None) -> dict[str, Any]:
    global _busy
    from dataset_builder.build import build_dataset

    if _stopping is not None and _stopping.is_set():  # queued before Ctrl-C: not started
        raise KeyboardInterrupt
    _busy = True
    try:
        info = open_repo(job.path, job.config.get("rev", "HEAD"))
        config = MineConfig(repo=str(info.path), out=job.out, **job.config)
        result = build_dataset(config, info, progress=False, repo_label=job.label,
                               sample_config=sample_config)
    finally:
        _busy = False
    return result.manifest


def _holdout_labels(holdout: list[str], paths: list[str], roots: list[Path],
                    labels: list[str]) -> list[str]:
    """--holdout-repo values as labels: a label as it is, else a path given to --repo (or
    the same repository by another path) as that repository's label. Clones of one name
    (forks) are labelled NAME, NAME-2, ...: their paths say which is which."""
    by_path = dict(zip(paths, labels, strict=True))
    by_root = dict(zip(roots, labels, strict=True))
    named: list[str] = []
    for value in holdout:
        if value in labels:
            named.append(value)
        elif value in by_path:
            named.append(by_path[value])
        else:
            try:
                named.append(by_root[open_repo(value, "HEAD").path])
            except (RepoError, KeyError, OSError):
                named.append(value)  # reported as not among the repositories
    return named


def build_many(paths: list[str], out: Path, config: dict[str, Any],
               sample_config: SampleConfig | None, holdout: list[str], workers: int,
               progress: bool, names: dict[str, str] | None = None
               ) -> tuple[dict[str, Any], bool]:
    """Build every repository (in parallel), then combine them into out: the combined
    manifest, and whether it was up to date already (see combine)."""
    # Bad input is reported before any work starts; open_repo also finds each one's top
    # (`repo/.git` is `repo`, a link is what it points to), which tells one given twice. The
    # path as given names it: a mirror in a folder `repo` reached by a link `fd` is `fd`.
    roots = [open_repo(path, config.get("rev", "HEAD")).path for path in paths]
    seen: dict[Path, str] = {}
    for path, root in zip(paths, roots, strict=True):
        if root in seen:  # built twice, its samples would be in the dataset twice
            raise RepoError(f"--repo {path}: given twice (also as {seen[root]})"
                            if path != seen[root] else f"--repo {path}: given twice")
        seen[root] = path
    given = names or {}
    labels = unique_labels(roots, {root: given.get(path) or repo_name(path)
                                   for path, root in zip(paths, roots, strict=True)})
    holdout = _holdout_labels(holdout, paths, roots, labels)
    unknown = sorted(set(holdout) - set(labels))
    if unknown:
        raise RepoError(f"--holdout-repo {', '.join(unknown)}: not among the repositories "
                        f"({', '.join(labels)})")
    if set(holdout) == set(labels):
        raise RepoError("--holdout-repo names every repository: nothing would be left to "
                        "train on (hold out some of them)")
    jobs = [RepoJob(label, path, str(out / REPOS_DIR / label), config)
            for label, path in zip(labels, paths, strict=True)]
    manifests: dict[str, dict[str, Any]] = {}
    parallel = max(1, min(workers, len(jobs)))
    context = mp.get_context("fork")
    stopping = context.Event()
    pool = ProcessPoolExecutor(parallel, mp_context=context, initializer=_pool_worker,
                               initargs=(os.getpid(), stopping))
    try:
        with tqdm(total=len(jobs), desc="repositories", unit="repo",
                  disable=not progress) as bar:
            # A held-out repository's own build puts every commit in test: its time split
            # would drop its test samples that are near-duplicates of its own train ones,
            # all of which end in test here (tower held out lost 67 samples so).
            futures = {pool.submit(_build_one, job, sample_config if sample_config is None
                                   or job.label not in holdout else
                                   replace(sample_config, holdout_repos=(job.label,))): job
                       for job in jobs}
            for future, job in futures.items():
                manifests[job.label] = future.result()
                bar.update(1)
    except BaseException:
        # Ctrl-C or a failed build: no build starts from here on (those the pool has queued
        # already see `stopping`); the running ones end (Ctrl-C reached them too).
        stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return combine(out, manifests, holdout, sample_config)


def _combined_hash(manifests: dict[str, dict[str, Any]], holdout: list[str],
                   sample_config: SampleConfig | None) -> str:
    parts = {label: [m["config_hash"], m.get("samples", {}).get("config_hash")]
             for label, m in sorted(manifests.items())}
    text = json.dumps({"repos": parts, "holdout": sorted(holdout),
                       "near": sample_config.near_threshold if sample_config else None},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def combine(out: Path, manifests: dict[str, dict[str, Any]], holdout: list[str],
            sample_config: SampleConfig | None) -> tuple[dict[str, Any], bool]:
    """The combined manifest, and True when OUT held it already for the same repositories'
    builds and settings (nothing is written then)."""
    combined_hash = _combined_hash(manifests, holdout, sample_config)
    marker = out / SAMPLES_DIR / MARKER
    previous = out / "manifest.json"
    if marker.exists() and previous.exists():
        done = json.loads(marker.read_text())
        if done.get("config_hash") == combined_hash:
            manifest: dict[str, Any] = json.loads(previous.read_text())
            return manifest, True
    repos: dict[str, Any] = {}
    for m in manifests.values():
        repos.update(m["repos"])
    section: dict[str, Any] = {"holdout": sorted(holdout), "per_repo": {}, "leakage": {}}
    if sample_config is not None:
        section.update(_combine_samples(out, manifests, set(holdout), sample_config))
    manifest = {
        "status": "complete", "stage": "dataset_builder", "multi_repo": True,
        "config_hash": combined_hash, "repos": repos,
        "repositories": {label: {"out": str(Path(REPOS_DIR) / label),
                                 "config_hash": m["config_hash"], "counts": m["counts"],
                                 "skips": m["skips"], "sanity": m["sanity"]}
                         for label, m in manifests.items()},
        "samples": section,
        "sanity": {f"{label}: {k}": v for label, m in manifests.items()
                   for k, v in m["sanity"].items()},
    }
    manifest["sanity"]["no test sample near-duplicates a train sample of another repository"] = \
        section.get("leakage", {}).get("test_near_duplicates_after", 0) == 0
    atomic_write_text(out / "report.md", _report(manifest))
    atomic_write_json(out / "manifest.json", manifest)
    if sample_config is not None:
        atomic_write_json(marker, {"config_hash": combined_hash})
    return manifest, False


def _combine_samples(out: Path, manifests: dict[str, dict[str, Any]], holdout: set[str],
                     config: SampleConfig) -> dict[str, Any]:
    folder = out / SAMPLES_DIR
    shutil.rmtree(folder, ignore_errors=True)  # rebuilt whole; the marker comes last
    tables: dict[tuple[str, str], pa.Table] = {}
    for label in manifests:
        source = out / REPOS_DIR / label / SAMPLES_DIR
        for split in schema.SPLITS:
            for part in sorted((source / split).glob("*.parquet")):
                table = pq.read_table(part, schema=schema.SAMPLES)
                new_split = "test" if label in holdout else split
                if new_split != split:
                    table = table.set_column(table.schema.get_field_index("split"), "split",
                                             pa.array([new_split] * table.num_rows, pa.string()))
                key = (label, new_split)
                tables[key] = pa.concat_tables([tables[key], table]) if key in tables else table
    # Cross-repository leakage: each test target against every train target of the others,
    # by MinHash estimate and by exact Jaccard of shingle sets (as within one repository).
    index = NearDuplicateIndex(config.near_threshold, config.num_perm, config.shingle)

    def plain(targets: list[str]) -> list[str]:
        """Targets as they were deduplicated: without inline type-fact tokens."""
        if config.type_facts != "inline":
            return targets
        return [strip_inline(target) for target in targets]

    train_sigs: dict[str, np.ndarray] = {}
    train_texts: dict[str, list[str]] = {}
    for (label, split), table in tables.items():
        if split == "train" and table.num_rows:
            train_texts[label] = plain(table.column("target").to_pylist())
            train_sigs[label] = np.stack([sig.hashvalues
                                          for sig in index.signatures(train_texts[label])])

    def leaks(label: str, texts: list[str], queries: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, int]:
        others = [other for other in train_sigs if other != label]
        if not others:
            nothing = np.zeros(len(texts), dtype=bool)
            return nothing, nothing, 0
        reference_texts = [t for other in others for t in train_texts[other]]
        return leak_check(
            queries, np.concatenate([train_sigs[other] for other in others]), texts.__getitem__,
            reference_texts.__getitem__, config.near_threshold, DROP_MARGIN, CHECK_MARGIN,
            np.ones(len(texts), dtype=bool), config.shingle)

    dropped: Counter[str] = Counter()
    dropped_by_scale: Counter[str] = Counter()
    after = compared = 0
    for (label, split), table in list(tables.items()):
        if split != "test" or not table.num_rows:
            continue
        texts = plain(table.column("target").to_pylist())
        queries = np.stack([sig.hashvalues for sig in index.signatures(texts)])
        # Dropped, and what is written checked again by exact Jaccard over a wider band of
        # estimates: what that finds was missed.
        leaked, left, pairs = leaks(label, texts, queries)
        dropped[label] = int(leaked.sum())
        dropped_by_scale.update(table.filter(pa.array(leaked)).column("scale").to_pylist())
        tables[(label, split)] = table.filter(pa.array(~leaked))
        after += int(left.sum())
        compared += pairs
    per_repo: dict[str, dict[str, int]] = {}
    for (label, split), table in sorted(tables.items()):
        per_repo.setdefault(label, {})[split] = table.num_rows
        if not table.num_rows:
            continue
        dest = folder / split / f"{label}.parquet"
        _write_parquet(dest, table)
    for split in schema.SPLITS:  # every split readable, even an empty one (as one repository's)
        if not (folder / split).is_dir():
            _write_parquet(folder / split / schema.EMPTY_SPLIT_FILE, schema.SAMPLES.empty_table())
    # The tokenizer reads OUT/type_tokens.json: without it, a combined inline build's tokens
    # were split into base tokens. Counted in what is written (less the cross-repository
    # leaks), as one repository's build counts them.
    written = pa.concat_tables([table.select(REPORT_SAMPLE_COLUMNS)
                                for table in tables.values()]) if tables else \
        schema.SAMPLES.empty_table().select(REPORT_SAMPLE_COLUMNS)
    render_samples_plot(samples_plot_data(written), out / SAMPLES_PLOT)
    type_tokens = _inline_tokens(tables) if config.type_facts == "inline" else Counter()
    atomic_write_json(out / TYPE_TOKENS, {
        "mode": config.type_facts,
        "tokens": dict(sorted(type_tokens.items(), key=lambda kv: -kv[1]))})
    return {"per_repo": per_repo,
            "type_tokens": len(type_tokens),
            "leakage": {"test_dropped_cross_repo": dict(dropped),
                        "test_near_duplicates_after": after,
                        "test_train_pairs_compared_exactly": compared},
            "by_scale": _by_scale(tables),
            "scales": _scale_summary(manifests, target_sizes(written), dropped_by_scale)}


def _scale_summary(manifests: dict[str, dict[str, Any]],
                   sizes: dict[str, dict[str, list[int]]],
                   dropped_cross_repo: Counter[str]) -> dict[str, dict[str, Any]]:
    """Per scale: what the repositories' builds produced, dropped (by reason) and kept, the
    test samples dropped as near-duplicates of another repository's train, what is written,
    and the written targets' LOC and tokens (min, median, p90, max; `sizes`: report's
    target_sizes of what is written)."""
    summary: dict[str, dict[str, Any]] = {}
    for scale in schema.SCALES:
        stats = [m["samples"]["scales"][scale] for m in manifests.values()
                 if scale in m.get("samples", {}).get("scales", {})]
        reasons: Counter[str] = Counter()
        for st in stats:
            reasons.update(st["dropped"])
        size = sizes.get(scale, {"loc": [], "tokens": []})
        summary[scale] = {
            "produced": sum(st["produced"] for st in stats),
            "dropped": dict(sorted(reasons.items())),
            "kept_in_repositories": sum(st["kept"] for st in stats),
            "test_dropped_cross_repo": dropped_cross_repo.get(scale, 0),
            "written": len(size["tokens"]),
            "target_loc": quantiles(size["loc"]),
            "target_tokens": quantiles(size["tokens"]),
        }
    return summary


def _inline_tokens(tables: dict[tuple[str, str], pa.Table]) -> Counter[str]:
    """How often each inline type-fact token occurs in the samples' texts."""
    counts: Counter[str] = Counter()
    for table in tables.values():
        for column in ("context", "target", "suffix"):
            for text in table.column(column).to_pylist():
                if text:
                    counts.update(INLINE_TOKEN.findall(text))
    return counts


def _write_parquet(dest: Path, table: pa.Table) -> None:
    def write(tmp: Path) -> None:
        pq.write_table(table, tmp)

    atomic_write(dest, write)


def _by_scale(tables: dict[tuple[str, str], pa.Table]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for (_, split), table in tables.items():
        if table.num_rows:
            for scale, n in Counter(table.column("scale").to_pylist()).items():
                counts.setdefault(scale, Counter())[split] += n
    return {scale: dict(c) for scale, c in sorted(counts.items())}


def _report(manifest: dict[str, Any]) -> str:
    s = manifest["samples"]
    lines = ["# Dataset of several repositories", "",
             f"Held out (whole repository in test): {', '.join(s['holdout']) or 'none'}", "",
             "| repository | commits | item versions | train | valid | test | test dropped "
             "(near-duplicate of another repository's train) |", "|---|---|---|---|---|---|---|"]
    for label, info in manifest["repositories"].items():
        split = s.get("per_repo", {}).get(label, {})
        lines.append(f"| {label} | {info['counts']['commits']} | {info['counts']['item_rows']} | "
                     f"{split.get('train', 0)} | {split.get('valid', 0)} | {split.get('test', 0)} "
                     f"| {s.get('leakage', {}).get('test_dropped_cross_repo', {}).get(label, 0)} |")
    split_rows = {split: sum(rows.get(split, 0) for rows in s.get("per_repo", {}).values())
                  for split in schema.SPLITS}
    if "by_scale" in s and (note := empty_splits_note(split_rows)):  # samples were made
        lines += ["", note]
    if "scales" in s:
        lines += ["", "| scale | produced | dropped in the repositories' builds | kept | test "
                  "dropped (another repository's train) | written | target LOC median / p90 / "
                  "max | target tokens median / p90 / max |", "|---|---|---|---|---|---|---|---|"]
        for scale, st in s["scales"].items():
            loc, tok = st["target_loc"], st["target_tokens"]
            lines.append(f"| {scale} | {st['produced']} | {sum(st['dropped'].values())} | "
                         f"{st['kept_in_repositories']} | {st['test_dropped_cross_repo']} | "
                         f"{st['written']} | {loc[1]} / {loc[2]} / {loc[3]} | "
                         f"{tok[1]} / {tok[2]} / {tok[3]} |")
        lines += ["", f"![target tokens per scale]({SAMPLES_PLOT})"]
    lines += ["", "Each repository's own report (drops by reason, leakage, type facts): "
              "`repos/<label>/report.md`.", "",
              "## Sanity checks", "", "| check | result |", "|---|---|"]
    lines += [f"| {k} | {'pass' if v else '**FAIL**'} |" for k, v in manifest["sanity"].items()]
    return "\n".join(lines) + "\n"
