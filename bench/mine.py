"""Benchmark: ferric's full dataset build against PyDriller's bare before/after extraction.

    python bench/mine.py --repo PATH [--max-commits N] [--runs 3]

Both tools read the same local bare clone of PATH and the same commits. PyDriller only fetches
`source_code_before` and `source_code` of every modified .rs file (no parsing at all); ferric
runs its whole build (items, symbol table, DAG, module graphs, parquet outputs). Each run is a
fresh subprocess; the runs alternate between the tools, and the medians and their ratio are
printed and written as JSON to bench/results/. Peak RSS is the child's ru_maxrss (wait4).
Needs `pip install -e '.[bench]'` (PyDriller, psutil).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.gitio import iter_commits, open_repo  # noqa: E402


def _measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one subprocess."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        # One line: what ran, and the last thing it said (PyDriller cannot read a mirror
        # that lacks blobs its `git diff` needs, for one).
        lines = [line.strip(" '\"") for line in stderr.splitlines()]
        said = [line for line in lines if "fatal:" in line or "Error" in line] or \
            [line for line in lines if line] or ["no output"]
        last = said[-1].removeprefix("stderr: ").strip(" '\"")
        tool = "PyDriller" if "--pydriller-worker" in cmd else "ferric"
        raise SystemExit(f"error: {tool} failed on this repository: {last}")
    return wall, usage.ru_maxrss / 1024


def pydriller_worker(repo: str, shas_file: str) -> None:
    """The baseline: before/after contents of every .rs file each selected commit modifies."""
    from pydriller import Repository

    shas = Path(shas_file).read_text().split()
    files = 0
    nbytes = 0
    for commit in Repository(repo, only_commits=shas).traverse_commits():
        for modified in commit.modified_files:
            if not (modified.new_path or modified.old_path or "").endswith(".rs"):
                continue
            before, after = modified.source_code_before, modified.source_code
            files += 1
            nbytes += len(before or "") + len(after or "")
    print(json.dumps({"files": files, "bytes": nbytes}), file=sys.stderr)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", required=True, help="a local Rust git repository, or 'demo'")
    p.add_argument("--max-commits", type=int, default=None, help="oldest N commits only")
    p.add_argument("--runs", type=int, default=1, help="runs per tool (medians are reported)")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default bench/results/)")
    p.add_argument("--no-samples", action="store_true",
                   help="time ferric's history mining only (part 1), not the samples")
    p.add_argument("--pydriller-worker", nargs=2, metavar=("REPO", "SHAS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.pydriller_worker:
        pydriller_worker(*args.pydriller_worker)
        return 0

    repo_path = args.repo
    if repo_path == "demo":
        from dataset_builder.cli import default_demo_dir
        from dataset_builder.demo import materialise

        repo_path = str(materialise(default_demo_dir()))
    # Bytecode for ferric's packages, as a regular install has (an editable one does not;
    # where PYTHONDONTWRITEBYTECODE is set, each timed run would compile them again).
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(ROOT / package) for package
                    in ("dataset_builder", "tokenizer", "training", "analysis"))],
                   check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="ferric-bench-") as tmp:
        clone = Path(tmp) / "repo.git"
        # A bare clone with core.bare set: both tools (GitPython included) read it the same way.
        subprocess.run(["git", "clone", "-q", "--bare", "--local",
                        str(Path(repo_path).resolve()), str(clone)], check=True)
        info = open_repo(clone)
        # The commits only (no rename detection: it reads blobs a mirror may lack).
        shas = [c.sha for c in iter_commits(info, max_commits=args.max_commits, renames=False)]
        shas_file = Path(tmp) / "shas.txt"
        shas_file.write_text("\n".join(shas))
        ferric_cmd = [sys.executable, "-m", "dataset_builder", "--repo", str(clone), "--quiet"]
        if args.max_commits:
            ferric_cmd += ["--max-commits", str(args.max_commits)]
        if args.no_samples:
            ferric_cmd.append("--no-samples")
        baseline_cmd = [sys.executable, __file__, "--repo", "-", "--pydriller-worker",
                        str(clone), str(shas_file)]
        results: dict[str, list[tuple[float, float]]] = {"ferric": [], "pydriller": []}
        for run in range(args.runs):
            order = ["ferric", "pydriller"] if run % 2 == 0 else ["pydriller", "ferric"]
            for tool in order:
                if tool == "ferric":
                    out = Path(tmp) / f"out-{run}"
                    results[tool].append(_measure([*ferric_cmd, "--out", str(out)]))
                else:
                    results[tool].append(_measure(baseline_cmd))
                wall, rss = results[tool][-1]
                print(f"run {run + 1} {tool:9s} {wall:8.2f} s  peak RSS {rss:7.1f} MiB",
                      file=sys.stderr)

    summary: dict[str, dict[str, Any]] = {tool: {"wall_s": [round(w, 3) for w, _ in runs],
                      "median_wall_s": round(statistics.median(w for w, _ in runs), 3),
                      "peak_rss_mib": round(max(r for _, r in runs), 1)}
               for tool, runs in results.items()}
    ratio = summary["ferric"]["median_wall_s"] / summary["pydriller"]["median_wall_s"]
    repo_dir = Path(args.repo).resolve()
    # Mirrors often live in <owner+name>/repo: name the result after the folder that says more.
    name = "demo" if args.repo == "demo" else (
        repo_dir.parent.name if repo_dir.name in ("repo", ".git") else repo_dir.name)
    name = name.removesuffix(".git")
    record = {
        "benchmark": "mine",
        "command": " ".join(["python", "bench/mine.py", *sys.argv[1:]]),
        "repo": name,
        "head": info.head,
        "commits": len(shas),
        "runs": args.runs,
        "ferric_builds": "history only" if args.no_samples else "history and samples",
        "ferric": summary["ferric"],
        "pydriller": summary["pydriller"],
        "ratio_ferric_over_pydriller": round(ratio, 3),
        "targets": {"ratio_max": 0.5, "peak_rss_mib_max": 1024},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "versions": {d: metadata.version(d) for d in ("pydriller", "GitPython", "tree-sitter")},
        "date": time.strftime("%Y-%m-%d"),
        "ferric_commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip(),
    }
    suffix = "-history" if args.no_samples else ""
    out = args.out or ROOT / "bench" / "results" / f"mine-{name}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{name}: {len(shas)} commits | ferric {summary['ferric']['median_wall_s']:.2f} s "
          f"(peak {summary['ferric']['peak_rss_mib']:.0f} MiB) | PyDriller "
          f"{summary['pydriller']['median_wall_s']:.2f} s "
          f"(peak {summary['pydriller']['peak_rss_mib']:.0f} MiB) | ratio {ratio:.2f} "
          f"(target <= 0.5) | {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
