"""Benchmark: candidates checked per second, and agreement with one-by-one `cargo check`.

    python bench/compile.py --data DATA_DIR [--workers 2] [--limit N] [--runs 3]

Candidates are the oracle and the mutate baseline of every included target of the test split
(todo candidates never reach the compiler: the degenerate guard answers them). Targets are
prepared first (not timed: it happens once per target, whatever the number of rows); then the
candidates are checked `--runs` times through the parallel harness (`--workers` processes, one
Checker each, grouped by commit) and the median candidates/s is printed. The reference verdict
of each candidate comes from a plain one-by-one `cargo check --offline` of the candidate spliced
into a fresh copy of the tree at its commit, with a fresh target folder and no incremental
state, and the harness manifest (the crate's own would make cargo resolve dev- and optional
dependencies that no offline registry has). Agreement is the
share of candidates with the same compiled/failed verdict. Writes bench/results/compile-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis import candidates as cands  # noqa: E402
from analysis.checker import Checker, Preparation, package_dir, toolchain  # noqa: E402
from analysis.compile_rate import baseline_candidate  # noqa: E402
from analysis.sandbox import Limits, run_sandboxed, sandbox_env  # noqa: E402
from analysis.targets import Target, candidate_files, load_targets  # noqa: E402
from dataset_builder.cargo_manifest import harness_manifest  # noqa: E402
from dataset_builder.gitio import extract_tree  # noqa: E402

_CHECKER: Checker | None = None


def _init(work_root: str, backend: str) -> None:
    global _CHECKER
    _CHECKER = Checker(Path(tempfile.mkdtemp(dir=work_root)), None, backend=backend)


def _prepare(target_json: dict[str, Any]) -> dict[str, Any]:
    assert _CHECKER is not None
    prep = _CHECKER.prepare(Target.from_json(target_json))
    return {"id": target_json["id"], **prep.__dict__}


def _check_group(items: list[tuple[dict[str, Any], dict[str, Any], str]]) -> list[bool]:
    assert _CHECKER is not None
    out = []
    for target_json, prep_json, candidate in items:
        prep = Preparation(**{k: v for k, v in prep_json.items() if k != "id"})
        out.append(_CHECKER.check(Target.from_json(target_json), prep, candidate).compiled)
    return out


def reference_verdict(target: Target, candidate: str, mode: str, tree_cache: Path,
                      scratch: Path) -> bool:
    """Plain `cargo check` of the candidate in a fresh copy, with the crate's own manifest."""
    files = candidate_files(target, candidate)
    if files is None or cands.degenerate(candidate):
        return False
    src = tree_cache / target.commit
    extract_tree(Path(target.git_dir), target.commit, src)
    tree = scratch / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(src, tree, symlinks=True)
    for rel, text in files.items():
        (tree / rel).write_text(text)
    package = package_dir(tree, target.path)
    crate = tree / package if package else tree
    # The crate's own manifest would make cargo resolve dev- and optional dependencies that no
    # offline registry has; the reference uses the harness manifest, as the checker does.
    (crate / "Cargo.toml").write_text(harness_manifest(crate, tree).text)
    (crate / "Cargo.lock").unlink(missing_ok=True)
    args = [toolchain()["cargo"], "check", "--offline", "--quiet", "--lib", "--bins"]
    if mode == "test":
        args.append("--tests")
    manifest = harness_manifest(crate, tree)
    if not manifest.lib_path:
        args.remove("--lib")
    if not manifest.bins:
        args.remove("--bins")
    # a fresh target folder and no incremental state: nothing carries over between candidates
    shutil.rmtree(scratch / "target", ignore_errors=True)
    env = sandbox_env({"CARGO_TARGET_DIR": str(scratch / "target"), "CARGO_INCREMENTAL": "0",
                       "RUSTC": toolchain()["rustc"]})
    result = run_sandboxed(args, crate, Limits(wall_seconds=300), env)
    return result.returncode == 0


def main() -> int:
    import multiprocessing as mp

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="auto", choices=["auto", "rustc", "cargo"])
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    targets, _ = load_targets(args.data, "test", None, args.limit)
    work_root = Path(tempfile.mkdtemp(prefix="ferric-bench-compile-"))
    ctx = mp.get_context("fork")
    try:
        with ctx.Pool(args.workers, _init, (str(work_root), args.backend)) as pool:
            preps = {p["id"]: p for p in pool.map(_prepare, [t.to_json() for t in targets])}
        included = [t for t in targets if preps[t.id]["ok"]]
        work: list[tuple[Target, str]] = []
        for t in included:
            for row in ("oracle", "mutate"):
                work.append((t, baseline_candidate(row, t)))
        groups: dict[str, list[tuple[dict[str, Any], dict[str, Any], str]]] = {}
        for t, cand in work:
            groups.setdefault(t.commit, []).append((t.to_json(), preps[t.id], cand))
        # split big commit groups so both workers have work, keeping commit locality
        chunks = []
        for items in groups.values():
            step = max(1, len(items) // args.workers)
            chunks += [items[i:i + step] for i in range(0, len(items), step)]
        rates, verdicts = [], []
        for _ in range(args.runs):
            with ctx.Pool(args.workers, _init, (str(work_root), args.backend)) as pool:
                pool.map(_check_group, chunks[:1])  # warm the worker copies of the first commit
                started = time.perf_counter()
                results = pool.map(_check_group, chunks)
                wall = time.perf_counter() - started
            rates.append(len(work) / wall)
            verdicts = [v for chunk in results for v in chunk]
            print(f"run: {len(work)} candidates in {wall:.1f} s = {len(work) / wall:.2f}/s",
                  flush=True)
        agreement = None
        disagreements: list[str] = []
        if not args.no_reference:
            scratch = work_root / "reference"
            scratch.mkdir()
            ref = [reference_verdict(t, c, preps[t.id]["mode"], work_root / "ref-trees", scratch)
                   for t, c in work]
            same = sum(a == b for a, b in zip(ref, verdicts, strict=True))
            agreement = same / len(work) if work else None
            disagreements = [t.id for (t, _), a, b in zip(work, ref, verdicts, strict=True)
                             if a != b]
    finally:
        shutil.rmtree(work_root, ignore_errors=True)
    backends: dict[str, int] = {}
    for t in included:
        backends[preps[t.id]["backend"]] = backends.get(preps[t.id]["backend"], 0) + 1
    result = {
        "command": "python bench/compile.py " + " ".join(sys.argv[1:]),
        "data": str(args.data), "targets": len(targets), "included": len(included),
        "candidates": len(work), "compiled": sum(verdicts), "workers": args.workers,
        "backends": backends, "candidates_per_s_runs": [round(r, 2) for r in rates],
        "candidates_per_s_median": round(statistics.median(rates), 2),
        "agreement_with_cargo_check": agreement, "disagreements": disagreements,
        "toolchain": toolchain()["version"], "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "ferric_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip(),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "disagreements"}, indent=2))
    out = ROOT / "bench" / "results" / f"compile-{args.data.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
