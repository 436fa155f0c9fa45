"""The compile-rate benchmark: targets -> candidates per row -> sandboxed checks -> report.

Work is grouped by (repository, commit, crate) so a worker materialises a crate once and checks
every row's candidates for it; workers run in parallel. Everything is appended to JSON-lines
files as it completes (preparations.jsonl, generations/<row>.jsonl, verdicts.jsonl), so a killed
run resumes where it stopped without checking anything twice; the final files are atomic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from analysis import candidates as cands
from analysis.checker import Checker, Preparation, Verdict, limits_problem, toolchain
from analysis.generate import GenerationConfig
from analysis.report import aggregate_row, write_report
from analysis.sandbox import Limits
from analysis.targets import Target, join_files, load_targets
from dataset_builder.cargo_manifest import DEBIAN_REGISTRY
from dataset_builder.children import exit_with_parent

BASELINES = ("oracle", "todo", "mutate")
log = logging.getLogger(__name__)


@dataclass
class Row:
    name: str
    baseline: str | None = None
    model: str | None = None
    adapter: str | None = None
    candidates_file: str | None = None  # candidates generated elsewhere (`analysis generate`)


@dataclass
class RunConfig:
    """Settings of one compile-rate run (saved as run_config.json)."""

    data: str
    out: str
    rows: list[Row]
    split: str = "test"
    scales: list[str] | None = None
    limit: int | None = None
    """Check at most this many targets (a deterministic sample, the same for every row)."""
    workers: int = field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 8)))
    backend: str = "auto"
    """auto (rustc fast path for std-only crates, else cargo), cargo, or rustc."""
    registry: str | None = None
    """Offline crates: a `cargo vendor` folder; default Debian's /usr/share/cargo/registry."""
    relax_versions: bool = False
    """Registry requirements relaxed to their semver-compatible major (see
    dataset_builder/cargo_manifest.py)."""
    wall_seconds: float = 60.0
    memory_mb: int = 4096
    generation: GenerationConfig = field(default_factory=GenerationConfig)


def _append(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for rec in records:
            handle.write(json.dumps(rec, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash; its work is redone


def read_candidates(path: Path, target_ids: set[str]) -> dict[str, list[str]]:
    """A candidates file (`analysis generate`'s JSON lines: {"id": ..., "candidates": [...]}),
    strictly: a line that is not such a record is an error naming the file and line (a broken
    line was dropped, and its target silently scored a failure). Targets the file lacks
    still count as failures, but are named in a warning."""
    given: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {number}: not JSON ({exc.msg})") from None
            texts = record.get("candidates") if isinstance(record, dict) else None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str) or \
                    not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"{path}, line {number}: expected "
                                 '{"id": "...", "candidates": ["...", ...]}')
            if record["id"] in given:
                raise ValueError(f"{path}, line {number}: a second line for {record['id']}")
            given[record["id"]] = texts
    missing = len(target_ids - set(given))
    unknown = len(set(given) - target_ids)
    if missing or unknown or not given:
        log.warning("%s: %d of the %d targets have no line (each scored as a failure); "
                    "%d lines are for no target of this run", path, missing, len(target_ids),
                    unknown)
    return given


# --- worker side -------------------------------------------------------------------------

_CHECKER: Checker | None = None


def _init_worker(work_root: str, registry: str | None, limits: Limits, backend: str,
                 relax_versions: bool, parent_pid: int) -> None:
    global _CHECKER
    # Ctrl-C is the parent's to answer (one line, then the pool is terminated): workers
    # printed a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A run killed with kill -9 takes its workers along at once (they would otherwise finish
    # their current group of checks first), and each worker's sandboxed compiler with it.
    exit_with_parent(parent_pid)
    work = Path(tempfile.mkdtemp(prefix="worker-", dir=work_root))
    _CHECKER = Checker(work, Path(registry) if registry else None, limits, backend,
                       relax_versions)


def baseline_candidate(name: str, target: Target) -> str:
    """The candidate of a baseline row: oracle (the original), todo or mutate."""
    if name == "oracle":
        return target.original
    if target.whole_files:
        files = dict(target.files)
        if name == "todo":
            files = {p: cands.todo_baseline(t) for p, t in files.items()}
        else:
            first = target.paths[0]
            files[first] = cands.mutate_baseline(files[first], target.id)
        return join_files(files)
    if name == "todo":
        return cands.todo_baseline(target.original)
    return cands.mutate_baseline(target.original, target.id)


def _work_group(task: dict[str, Any]) -> dict[str, Any]:
    """Prepare the group's targets (unless known) and check every pending candidate."""
    assert _CHECKER is not None
    preps: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    for item in task["items"]:
        target = Target.from_json(item["target"])
        prep_json = item.get("prep")
        if prep_json is None:
            try:
                prep = _CHECKER.prepare(target)
            except Exception as exc:  # one bad target must not end the run
                prep = Preparation(False, "internal_error", detail=f"{type(exc).__name__}: {exc}")
            prep_json = {"id": target.id, **asdict(prep)}
            preps.append(prep_json)
        prep = Preparation(**{k: v for k, v in prep_json.items() if k != "id"})
        if not prep.ok:
            continue
        for row, k, candidate in item["pending"]:
            if candidate is None:
                candidate = baseline_candidate(task["baselines"][row], target)
            try:
                verdict = _CHECKER.check(target, prep, candidate)
            except Exception as exc:  # counted as the harness's own failure
                verdict = Verdict(False, [{"code": "harness", "file": "", "line": 0,
                                           "message": f"{type(exc).__name__}: {exc}"}],
                                  failure="harness_error")
            verdicts.append({"row": row, "id": target.id, "k": k, "compiled": verdict.compiled,
                             "failure": verdict.failure, "codes": verdict.codes,
                             "errors": verdict.errors[:3], "seconds": round(verdict.seconds, 3),
                             "candidate": candidate[:2000] if not verdict.compiled else ""})
    return {"preps": preps, "verdicts": verdicts}


# --- driver ------------------------------------------------------------------------------

def _generate_rows(config: RunConfig, targets: list[Target], out: Path,
                   prepared: dict[str, dict[str, Any]], progress: bool = True
                   ) -> dict[str, dict[str, list[str]]]:
    """Model candidates per row (generated once, resumable), only for included targets."""
    texts: dict[str, dict[str, list[str]]] = {}
    for row in config.rows:
        if row.candidates_file is not None:
            given = read_candidates(Path(row.candidates_file), {t.id for t in targets})
            # a target the file lacks gets an empty candidate: a failure, never a silent skip
            texts[row.name] = {t.id: given.get(t.id) or [""] for t in targets
                               if prepared.get(t.id, {}).get("ok")}
            continue
        if row.model is None:
            continue
        path = out / "generations" / f"{row.name}.jsonl"
        done = {r["id"]: r["candidates"] for r in _read_jsonl(path)}
        todo = [t for t in targets if t.id not in done and prepared.get(t.id, {}).get("ok")]
        if todo:
            from analysis.generate import generate, load_model

            model, tokenizer, device = load_model(
                Path(row.model), Path(row.adapter) if row.adapter else None)
            bar = tqdm(total=len(todo), desc=f"generate {row.name} ({device})", unit="target",
                       disable=not progress)
            for target, candidates in generate(model, tokenizer, device, todo, config.generation):
                _append(path, [{"id": target.id, "candidates": candidates}])
                done[target.id] = candidates
                bar.update(1)
            bar.close()
            del model
        texts[row.name] = done
    return texts


def _limit_options(config: RunConfig, kill: str) -> str:
    """The options behind a sandbox kill, with their values (both when it is not clear)."""
    timeout = f"--timeout ({config.wall_seconds:g} s)"
    memory = f"--memory-mb ({config.memory_mb})"
    return {"timeout": timeout, "cpu": timeout, "memory": memory}.get(
        kill, f"{timeout} or {memory}")


def _limits(config: RunConfig) -> Limits:
    return Limits(wall_seconds=config.wall_seconds, memory_bytes=config.memory_mb << 20)


def _run_groups(config: RunConfig, groups: list[dict[str, Any]], out: Path,
                desc: str, progress: bool = True) -> None:
    if not groups:
        return
    limits = _limits(config)
    work_root = Path(tempfile.mkdtemp(prefix="ferric-compile-"))
    registry = _registry(config)
    total = sum(len(i["pending"]) + (i.get("prep") is None) for g in groups for i in g["items"])
    bar = tqdm(total=total, desc=desc, unit="check", disable=not progress)
    try:
        ctx = mp.get_context("fork")
        with ctx.Pool(config.workers, _init_worker,
                      (str(work_root), registry, limits, config.backend,
                       config.relax_versions, os.getpid())) as pool:
            for result in pool.imap_unordered(_work_group, groups):
                _append(out / "preparations.jsonl", result["preps"])
                _append(out / "verdicts.jsonl", result["verdicts"])
                bar.update(len(result["preps"]) + len(result["verdicts"]))
    finally:
        bar.close()
        shutil.rmtree(work_root, ignore_errors=True)


def _groups(config: RunConfig, targets: list[Target], prepared: dict[str, dict[str, Any]],
            pending: dict[str, list[tuple[str, int, str | None]]]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for t in targets:
        prep = prepared.get(t.id)
        items = pending.get(t.id, [])
        if prep is not None and (not prep["ok"] or not items):
            continue
        by_key[(t.git_dir, t.commit, t.crate_dir)].append(
            {"target": t.to_json(), "prep": prep, "pending": items})
    baselines = {r.name: r.baseline for r in config.rows if r.baseline}
    return [{"items": items, "baselines": baselines} for items in by_key.values()]


# Weight files past this size are fingerprinted by samples (a 3B model's 6 GB would take
# seconds to hash whole); training rewrites every tensor, so any sample of the data shows it.
_HASH_WHOLE_BYTES = 64 << 20
_SAMPLES, _SAMPLE_BYTES = 16, 1 << 20


def _registry(config: RunConfig) -> str | None:
    """The offline crates checks resolve against: --vendor, else Debian's when installed."""
    return config.registry or (str(DEBIAN_REGISTRY) if DEBIAN_REGISTRY.is_dir() else None)


def _file_fingerprint(path: Path, digest: Any) -> None:
    size = path.stat().st_size
    digest.update(f"{path.name}\0{size}\0".encode())
    with open(path, "rb") as handle:
        if size <= _HASH_WHOLE_BYTES:
            digest.update(handle.read())
            return
        for k in range(_SAMPLES):
            handle.seek((size - _SAMPLE_BYTES) * k // (_SAMPLES - 1))
            digest.update(handle.read(_SAMPLE_BYTES))


def fingerprint(path: str | None) -> str | None:
    """A short digest of a file, or of every file under a folder (names and contents)."""
    if path is None:
        return None
    digest = hashlib.sha256()
    root = Path(path)
    for file in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        _file_fingerprint(file, digest)
    return digest.hexdigest()[:16]


def generation_fingerprint(generation: GenerationConfig) -> dict[str, Any]:
    """The settings generated candidates depend on: all but the batch size (a smaller batch
    after running out of memory may go on)."""
    return {k: v for k, v in asdict(generation).items() if k != "batch_size"}


def _fingerprints(config: RunConfig, registry: str | None) -> dict[str, Any]:
    """What a report folder's results depend on: the dataset and the checking (shared by every
    row), and per row its model, adapter and generation settings or its candidates file."""
    marker = Path(config.data) / "samples" / "_COMPLETE.json"
    data_hash = json.loads(marker.read_text()).get("config_hash") if marker.exists() else None
    generation = generation_fingerprint(config.generation)
    rows: dict[str, Any] = {}
    for row in config.rows:
        if row.baseline:
            rows[row.name] = {"baseline": row.baseline}
        elif row.candidates_file:
            rows[row.name] = {"candidates": fingerprint(row.candidates_file)}
        else:
            rows[row.name] = {"model": fingerprint(row.model),
                              "adapter": fingerprint(row.adapter),
                              "generation": generation}
    return {"common": {"dataset": data_hash, "backend": config.backend, "registry": registry,
                       "relax_versions": config.relax_versions,
                       "wall_seconds": config.wall_seconds, "memory_mb": config.memory_mb,
                       "compiler": toolchain()["version"]},
            "rows": rows}


def _check_resumable(config: RunConfig, out: Path) -> None:
    """A report folder's saved work is reused only for the same inputs: another dataset,
    compiler or checking limits, or a row's other model, adapter, generation settings or
    candidates, is an error (its old verdicts would have been reported as the new ones').
    Rows may be added; a row left out keeps its fingerprint for a later run."""
    from dataset_builder.atomic import atomic_write_json

    current = _fingerprints(config, _registry(config))
    path = out / "fingerprints.json"
    if path.exists():
        saved = json.loads(path.read_text())
        # Only saved work binds: a run that failed before any (a broken candidates file)
        # leaves the folder free for the corrected one.
        generations = out / "generations"  # a row named "run/model" is run/model.jsonl
        rows_with_work = {v.get("row") for v in _read_jsonl(out / "verdicts.jsonl")} | {
            str(g.relative_to(generations).with_suffix("")) for g in
            generations.rglob("*.jsonl") if g.stat().st_size}
        any_work = bool(rows_with_work) or any(_read_jsonl(out / "preparations.jsonl"))
        changed = sorted(k for k, v in current["common"].items()
                         if saved["common"].get(k) != v)
        if changed and any_work:
            raise ValueError(f"{out} holds results made with another {', '.join(changed)}: "
                             "remove it or give another --out")
        for name, fingerprint in current["rows"].items():
            if name in rows_with_work and saved["rows"].get(name) != fingerprint:
                raise ValueError(
                    f"{out} holds row {name!r} from another model, adapter, candidates file "
                    "or generation settings: remove the folder, give another --out, or name "
                    "the row anew (--name)")
        current["rows"] = {**saved["rows"], **current["rows"]}
    atomic_write_json(path, current)


def run(config: RunConfig, command: str, progress: bool = True) -> dict[str, Any]:
    """Prepare the targets, check every row's candidates, write the report; progress=False
    (--quiet) draws no bars."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    from dataset_builder.atomic import atomic_write_json

    _check_resumable(config, out)
    atomic_write_json(out / "run_config.json", asdict(config))
    targets, data_excluded = load_targets(Path(config.data), config.split, config.scales,
                                          config.limit)
    if not targets:
        raise ValueError(f"no targets in split {config.split!r} of {config.data}"
                         + (f" (scales {','.join(config.scales)})" if config.scales else ""))
    prepared = {p["id"]: p for p in _read_jsonl(out / "preparations.jsonl")}
    # 1. prepare every target (and check the baselines in the same pass)
    done = {(v["row"], v["id"], v["k"]) for v in _read_jsonl(out / "verdicts.jsonl")}
    pending: dict[str, list[tuple[str, int, str | None]]] = defaultdict(list)
    for t in targets:
        for row in config.rows:
            if row.baseline and (row.name, t.id, 0) not in done:
                pending[t.id].append((row.name, 0, None))
    groups = _groups(config, targets, prepared, pending)
    if any(item["prep"] is None for group in groups for item in group["items"]):
        problem = limits_problem(_limits(config), toolchain()["rustc"])
        if problem is not None:
            why, kill = problem
            raise ValueError(f"{why}: raise {_limit_options(config, kill)}")
    _run_groups(config, groups, out, "prepare + baselines", progress)
    prepared = {p["id"]: p for p in _read_jsonl(out / "preparations.jsonl")}
    # 2. model rows: generate for included targets, then check
    generated = _generate_rows(config, targets, out, prepared, progress)
    done = {(v["row"], v["id"], v["k"]) for v in _read_jsonl(out / "verdicts.jsonl")}
    pending = defaultdict(list)
    for row_name, by_id in generated.items():
        for tid, texts in by_id.items():
            for k, text in enumerate(texts):
                if (row_name, tid, k) not in done:
                    pending[tid].append((row_name, k, text))
    _run_groups(config, _groups(config, targets, prepared, pending), out, "model candidates",
                progress)
    return finalise(config, targets, data_excluded, out, command)


def finalise(config: RunConfig, targets: list[Target], data_excluded: Counter[str], out: Path,
             command: str) -> dict[str, Any]:
    prepared = {p["id"]: p for p in _read_jsonl(out / "preparations.jsonl")}
    ids = {t.id for t in targets}
    included = {t.id: {"bucket": t.bucket, "scale": t.scale, "path": t.path}
                for t in targets if prepared.get(t.id, {}).get("ok")}
    excluded = Counter(data_excluded)
    missing: set[str] = set()
    for tid, prep in prepared.items():
        if tid in ids and not prep["ok"]:
            excluded[prep["reason"]] += 1
            if prep["detail"].startswith("missing:"):
                missing.update(prep["detail"].removeprefix("missing:").split(","))
    verdicts: dict[str, dict[tuple[str, int], dict[str, Any]]] = defaultdict(dict)
    for v in _read_jsonl(out / "verdicts.jsonl"):
        verdicts[v["row"]][(v["id"], v["k"])] = v  # the last verdict of a pair wins
    rows = []
    for row in config.rows:
        n = max((k for _, k in verdicts[row.name]), default=0) + 1
        aggregated = aggregate_row(row.name, list(verdicts[row.name].values()), included, n)
        aggregated["excluded"] = dict(excluded)  # the same targets are excluded for every row
        rows.append(aggregated)
    by_name = {r["name"]: r for r in rows}
    sanity: dict[str, bool] = {
        "every included target has a verdict in every row": all(
            r["overall"]["n"] == len(included) * r["samples_per_target"] for r in rows),
        "counts add up (targets = included + excluded)":
            len(targets) + sum(data_excluded.values()) == len(included) + sum(excluded.values()),
    }
    if "oracle" in by_name and by_name["oracle"]["overall"]["n"]:
        sanity["oracle compiles on every included target"] = \
            by_name["oracle"]["overall"]["rate"] == 1.0
    if "todo" in by_name and by_name["todo"]["overall"]["n"]:
        sanity["todo baseline is 0%"] = by_name["todo"]["overall"]["compiled"] == 0
    warnings = []
    over = Counter(prep["detail"].removeprefix("probe: ") for tid, prep in prepared.items()
                   if tid in ids and prep["reason"] == "original_over_limit")
    if over:
        kills = ", ".join(f"{n} {kill}" for kill, n in sorted(over.items()))
        options = _limit_options(config, next(iter(over)) if len(over) == 1 else "")
        warnings.append(f"{sum(over.values())} targets excluded because compiling them as they "
                        f"are met the limits ({kills}): raise {options} to measure them")
    backends = Counter(p["backend"] for p in prepared.values() if p["id"] in included)
    modes = Counter(p["mode"] for p in prepared.values() if p["id"] in included)
    result = {
        "data": config.data, "split": config.split, "toolchain": toolchain()["version"],
        "targets": {"total": len(targets) + sum(data_excluded.values()),
                    "included": len(included), "backends": dict(backends), "modes": dict(modes)},
        "excluded": dict(excluded), "missing_dependencies": sorted(missing),
        "rows": rows, "sanity": sanity, "warnings": warnings, "command": command,
    }
    write_report(out, result, command)
    return result
