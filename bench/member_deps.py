"""What the members of a target's blocks (an impl's methods) use, against what its sample
says: file-level samples (module, module group, crate) lacking a dependency their files'
block members resolve, and samples whose target invokes a macro with no `macros:` line in
their header.

    python bench/member_deps.py OUT [OUT ...]

A member's dependencies are its version's `resolved` (items.parquet) at the sample's commit
(each lineage's latest row at or before it, not removed), those defined only in files
outside the sample; split module-group and crate parts are left out (a part's files are its
own). Macros are read from the target's code, comments and string literals left out.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import read_samples  # noqa: E402

_INVOCATION = re.compile(r"(?<![\w$])([A-Za-z_]\w*)!\s*[\(\[\{]")
_LINE_COMMENT = re.compile(r"//[^\n]*")
_RAW_STRING = re.compile(r'r(#*)"(?:.|\n)*?"\1')
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_MACROS_LINE = re.compile(r"^// macros: ", re.MULTILINE)


def _code(text: str) -> str:
    return _STRING.sub('""', _RAW_STRING.sub('""', _LINE_COMMENT.sub("", text)))


def count(out: Path) -> tuple[Counter[str], list[str]]:
    items = pq.read_table(out / "items.parquet", columns=[
        "commit_index", "path", "lineage", "parent", "change", "symbol",
        "resolved"]).to_pylist()
    defined_in: dict[str, set[str]] = defaultdict(set)
    # path -> lineage -> (commit indexes, rows), in history order
    versions: dict[str, dict[str, tuple[list[int], list[int]]]] = defaultdict(dict)
    for row, item in enumerate(items):
        if item["symbol"]:
            defined_in[item["symbol"]].add(item["path"])
        if item["parent"]:
            at, rows = versions[item["path"]].setdefault(item["lineage"], ([], []))
            at.append(item["commit_index"])
            rows.append(row)
    table = read_samples(out)
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for sample in table.to_pylist():
        scale = sample["scale"]
        header = sample["context"].split("// from ")[0].split("// file: ")[0]
        if _INVOCATION.search(_code(sample["target"])):
            counts[f"{scale} invoking macros"] += 1
            if not _MACROS_LINE.search(header):
                counts[f"{scale} invoking macros, no macros: line"] += 1
        if scale not in ("medium", "large", "full") or (scale != "medium"
                                                        and sample["parts"] > 1):
            continue
        paths = set(sample["paths"])
        wanted: set[str] = set()
        for path in paths:
            for at, rows in versions.get(path, {}).values():
                k = bisect.bisect_right(at, sample["commit_index"]) - 1
                if k < 0 or items[rows[k]]["change"] == "removed":
                    continue
                wanted.update(d for d in items[rows[k]]["resolved"] or ()
                              if d in defined_in and not defined_in[d] & paths)
        counts[f"{scale} file-level"] += 1
        missing = wanted - set(sample["dependencies"])
        if missing:
            counts[f"{scale} file-level lacking a member's dependency"] += 1
            if len(examples) < 3:
                examples.append(f"  {sample['id']} {scale} {sorted(missing)[:3]}")
    return counts, examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", type=Path, nargs="+", help="build output folders")
    args = parser.parse_args(argv)
    status = 0
    for out in args.outs:
        try:
            counts, examples = count(out)
        except (OSError, ValueError) as exc:
            print(f"error: {out}: {exc}", file=sys.stderr)
            status = 2
            continue
        print(out, dict(sorted(counts.items())))
        if examples:
            print("\n".join(examples))
    return status


if __name__ == "__main__":
    sys.exit(main())
