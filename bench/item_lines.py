"""Check: where the samples stage places the history's items in a file at its last commit.

    python bench/item_lines.py --data DATA_DIR --repo REPO [--min-items 50]

An item's row in DATA_DIR/items.parquet keeps the lines of its last change: an item that
only moved since (edits above it) has no newer row. The samples stage finds where each item
starts in a file at a snapshot (`samples._item_lines`: split points of file-level targets,
rustdoc's line matching). For every file at the revision with at least --min-items
top-level items alive after the walk, this compares those starts, and the recorded lines,
with the top-level items of a fresh parse of the file, and prints how many are right.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dataset_builder.rust_items import parse_rust
from dataset_builder.samples import _item_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a dataset_builder --out folder")
    parser.add_argument("--repo", type=Path, required=True, help="the repository it was mined from")
    parser.add_argument("--min-items", type=int, default=50,
                        help="files with fewer alive top-level items are left out")
    args = parser.parse_args(argv)
    head = json.loads((args.data / "manifest.json").read_text())["repo"]["head"]
    table = pq.read_table(args.data / "items.parquet", columns=[
        "commit_index", "path", "change", "lineage", "parent", "start_line", "start_byte",
        "text"]).to_pylist()
    newest: dict[str, dict[str, Any]] = {}
    for row in sorted(table, key=lambda r: r["commit_index"]):
        newest[row["lineage"]] = row
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in newest.values():
        if row["change"] != "removed" and not row["parent"]:
            by_path.setdefault(row["path"], []).append(row)
    files = rows = found_right = recorded_right = 0
    for path, alive in sorted(by_path.items()):
        if len(alive) < args.min_items:
            continue
        source = subprocess.run(["git", "-C", str(args.repo), "show", f"{head}:{path}"],
                                capture_output=True).stdout
        if not source:
            continue  # a file the tree lacks (stale items: bench/alive_items.py)
        truth = {item.start_line - 1 for item in parse_rust(source)[0].items
                 if not item.parent}
        alive.sort(key=lambda r: r["start_byte"])
        texts = [r["text"].decode("utf-8", "replace") if isinstance(r["text"], bytes)
                 else r["text"] for r in alive]
        col: dict[str, Sequence[Any]] = {"text": texts,
                                         "start_line": [r["start_line"] for r in alive]}
        found = _item_lines(source.decode("utf-8", "replace"), list(range(len(alive))), col)
        files += 1
        rows += len(alive)
        found_right += sum(line in truth for line in found)
        recorded_right += sum(r["start_line"] - 1 in truth for r in alive)
    if not files:
        print(f"no file at {head[:10]} has {args.min_items} or more alive top-level items")
        return 1
    print(f"{files} files at {head[:10]}, {rows} alive top-level items: start found right "
          f"{found_right} ({100 * found_right / rows:.1f}%), recorded line right "
          f"{recorded_right} ({100 * recorded_right / rows:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
