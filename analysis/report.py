"""Aggregation of verdicts into rows, Wilson intervals, compile_rate.json, report.md and plots."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from analysis.targets import BUCKETS
from dataset_builder.atomic import atomic_write_json, atomic_write_text
from dataset_builder.schema import SCALES

# Error codes the report names; the rest are grouped as "other codes".
NAMED_CODES = {
    "E0308": "E0308 mismatched types", "E0382": "E0382 use after move",
    "E0499": "E0499/E0502 borrow conflicts", "E0502": "E0499/E0502 borrow conflicts",
    "E0425": "E0425/E0433 unresolved name/path", "E0433": "E0425/E0433 unresolved name/path",
    "E0599": "E0599 no such method", "E0277": "E0277 trait bound not met",
    "parse": "parse errors",
}


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion ((0, 0) when n = 0)."""
    if n == 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # exact at the ends (rounding would put p = 1 just outside its own interval)
    return (0.0 if successes == 0 else low), (1.0 if successes == n else high)


def cell(compiled: int, n: int) -> dict[str, Any]:
    low, high = wilson(compiled, n)
    return {"n": n, "compiled": compiled, "rate": compiled / n if n else None,
            "ci_low": low, "ci_high": high}


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator of Chen et al. (2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def aggregate_row(name: str, verdicts: list[dict[str, Any]], targets: dict[str, dict[str, Any]],
                  samples_per_target: int) -> dict[str, Any]:
    """One row of compile_rate.json from its verdicts over included targets."""
    overall = [0, 0]
    buckets: dict[str, list[int]] = {b: [0, 0] for b in BUCKETS}
    scales: dict[str, list[int]] = {s: [0, 0] for s in SCALES}
    codes: Counter[str] = Counter()
    named: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    per_target: dict[str, list[bool]] = defaultdict(list)
    examples: list[dict[str, Any]] = []
    for v in verdicts:
        t = targets.get(v["id"])
        if t is None:
            continue
        ok = bool(v["compiled"])
        per_target[v["id"]].append(ok)
        for agg in (overall, buckets[t["bucket"]], scales[t["scale"]]):
            agg[0] += ok
            agg[1] += 1
        if not ok:
            failures[v["failure"] or "compile_error"] += 1
            for code in sorted(set(v.get("codes", []))):
                codes[code] += 1
                named[NAMED_CODES.get(code, "other codes")] += 1
            if v["failure"] == "compile_error" and len(examples) < 5 and v.get("errors"):
                examples.append({"id": v["id"], "scale": t["scale"], "path": t["path"],
                                 "error": v["errors"][0], "candidate": v.get("candidate", "")})
    row: dict[str, Any] = {
        "name": name, "overall": cell(*overall),
        "buckets": {b: cell(*c) for b, c in buckets.items()},
        "scales": {s: cell(*c) for s, c in scales.items() if c[1]},
        "degenerate": failures.get("degenerate", 0),
        "missing_item": failures.get("missing_item", 0),
        "rejected": {k.split(":", 1)[1]: v for k, v in failures.items()
                     if k.startswith("rejected:")},
        "failures": dict(failures), "error_codes": dict(codes.most_common()),
        "error_groups": dict(named.most_common()), "samples_per_target": samples_per_target,
        "examples": examples,
    }
    if samples_per_target > 1:
        for k in (1, 5, 10):
            if k <= samples_per_target:
                scores = [pass_at_k(len(v), sum(v), k) for v in per_target.values()]
                row[f"pass@{k}"] = sum(scores) / len(scores) if scores else None
    return row


def write_report(out: Path, result: dict[str, Any], command: str) -> None:
    atomic_write_json(out / "compile_rate.json", result)
    _plots(out, result)
    rows = result["rows"]
    lines = [
        "# Compile rate", "",
        f"Reproduce: `{command}`", "",
        f"Data: `{result['data']}`, split `{result['split']}`; {result['targets']['total']} "
        f"targets, {result['targets']['included']} included; compiler `{result['toolchain']}`; "
        f"backends {result['targets']['backends']}; modes {result['targets']['modes']}.", "",
        "A target is included when its untouched original builds and a type error planted in it "
        "is reported (so its code is really type-checked). Degenerate candidates (empty, "
        "`todo!()`-like bodies) count as failures. Intervals: 95% Wilson.", "",
        "| row | n | compiled | rate | 95% CI | degenerate | rejected |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        o = row["overall"]
        rate = "–" if o["rate"] is None else f"{o['rate']:.1%}"
        interval = "–" if not o["n"] else f"{o['ci_low']:.1%}–{o['ci_high']:.1%}"
        lines.append(f"| {row['name']} | {o['n']} | {o['compiled']} | {rate} | {interval} | "
                     f"{row['degenerate']} | {sum(row['rejected'].values())} |")
    lines += ["", "## By size bucket (LOC of the original target)", "",
              "| row | " + " | ".join(BUCKETS) + " |", "|---|" + "---|" * len(BUCKETS)]
    for row in rows:
        cells = []
        for b in BUCKETS:
            c = row["buckets"][b]
            cells.append("–" if not c["n"] else f"{c['rate']:.0%} ({c['compiled']}/{c['n']})")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    lines += ["", "![rate by bucket](rate_by_bucket.png)", "", "## By scale", "",
              "| row | " + " | ".join(SCALES) + " |", "|---|" + "---|" * len(SCALES)]
    for row in rows:
        cells = []
        for s in SCALES:
            c = row["scales"].get(s)
            cells.append("–" if not c else f"{c['rate']:.0%} ({c['compiled']}/{c['n']})")
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    lines += ["", "## Excluded targets", "", "| reason | targets |", "|---|---|"]
    for reason, count in sorted(result["excluded"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {reason} | {count} |")
    if not result["excluded"]:
        lines.append("| (none) | 0 |")
    for warning in result.get("warnings", []):
        lines += ["", f"**Warning:** {warning}."]
    if result.get("missing_dependencies"):
        lines += ["", "Missing dependencies: " + ", ".join(result["missing_dependencies"])]
    lines += ["", "## Error codes of failing candidates", "",
              "![error codes](error_codes.png)", ""]
    groups = sorted({g for r in rows for g in r["error_groups"]})
    if groups:
        lines += ["| row | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
        for row in rows:
            lines.append(f"| {row['name']} | " + " | ".join(
                str(row["error_groups"].get(g, 0)) for g in groups) + " |")
    else:
        lines.append("No candidate failed with a compiler error.")
    for row in rows:
        if any(k.startswith("pass@") for k in row):
            lines += ["", f"{row['name']}: " + ", ".join(
                f"{k} = {v:.3f}" for k, v in row.items()
                if k.startswith("pass@") and v is not None)]
    lines += ["", "## Failure examples", ""]
    for row in rows:
        for ex in row["examples"][:3]:
            err = ex["error"]
            lines += [f"**{row['name']}**, {ex['scale']} target in `{ex['path']}`: "
                      f"`{err['code']}` {err['message'][:160]} ({err['file']}:{err['line']})", ""]
            if ex.get("candidate"):
                snippet = ex["candidate"][:600].replace("```", "'''")
                lines += ["```rust", snippet, "```", ""]
    lines += ["## Sanity checks", "", "| check | result |", "|---|---|"]
    for name, ok in result["sanity"].items():
        lines.append(f"| {name} | {'pass' if ok else '**FAIL**'} |")
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")


def _plots(out: Path, result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        xs, ys, lo, hi = [], [], [], []
        for j, b in enumerate(BUCKETS):
            c = row["buckets"][b]
            if not c["n"]:
                continue
            xs.append(j + (i - (len(rows) - 1) / 2) * width)
            ys.append(c["rate"])
            lo.append(max(0.0, c["rate"] - c["ci_low"]))
            hi.append(max(0.0, c["ci_high"] - c["rate"]))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=row["name"])
    ax.set_xticks(range(len(BUCKETS)), BUCKETS)
    ax.set_xlabel("target size (LOC)")
    ax.set_ylabel("compile rate (95% Wilson CI)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "rate_by_bucket.png", dpi=110)
    plt.close(fig)

    groups = sorted({g for r in rows for g in r["error_groups"]})
    fig, ax = plt.subplots(figsize=(8, 4))
    if groups:
        width = 0.8 / max(1, len(rows))
        for i, row in enumerate(rows):
            ax.bar([j + (i - (len(rows) - 1) / 2) * width for j in range(len(groups))],
                   [row["error_groups"].get(g, 0) for g in groups], width, label=row["name"])
        ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right", fontsize=8)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no compile errors", ha="center", va="center")
    ax.set_ylabel("failing candidates with the code")
    fig.tight_layout()
    fig.savefig(out / "error_codes.png", dpi=110)
    plt.close(fig)
