"""Check: the history's items alive at its last commit against that commit's tree.

    python bench/alive_items.py --data DATA_DIR --repo REPO

An item version is alive after the walk when the newest row of its (lineage, key) in
DATA_DIR/items.parquet is not a removal. Prints how many are alive, how many of those sit
in a file the revision's tree lacks (stale: left alive by the walk's one replayed state),
and how many (path, key) pairs are alive under more than one lineage (twins). A history
mined faithfully has neither; the symbol table, the DAG and the context packs see what is
alive.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a dataset_builder --out folder")
    parser.add_argument("--repo", type=Path, required=True, help="the repository it was mined from")
    parser.add_argument("--rev", default="", help="revision (default: the manifest's head)")
    args = parser.parse_args(argv)
    try:
        manifest = json.loads((args.data / "manifest.json").read_text())
        rows = pq.read_table(args.data / "items.parquet",
                             columns=["commit_index", "path", "key", "change", "lineage"])
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    rev = args.rev or manifest["repo"]["head"]
    listing = subprocess.run(["git", "-C", str(args.repo), "ls-tree", "-r", "-z", "--name-only",
                              rev], capture_output=True, check=False)
    if listing.returncode != 0:
        print(f"error: git ls-tree {rev}: {listing.stderr.decode().strip()}", file=sys.stderr)
        return 2
    tree = set(listing.stdout.decode("utf-8", "surrogateescape").split("\0"))
    newest: dict[tuple[str, str], tuple[int, str, str]] = {}
    for index, path, key, change, lineage in zip(*(rows.column(c).to_pylist() for c in (
            "commit_index", "path", "key", "change", "lineage")), strict=True):
        previous = newest.get((lineage, key))
        if previous is None or index >= previous[0]:
            newest[(lineage, key)] = (index, path, change)
    alive = [(path, key) for (_, key), (_, path, change) in newest.items() if change != "removed"]
    stale = Counter(path for path, _ in alive if path not in tree)
    twins = sum(1 for n in Counter(alive).values() if n > 1)
    print(f"{args.data}: {len(alive)} items alive, {sum(stale.values())} in {len(stale)} files "
          f"the tree at {rev[:12]} lacks, {twins} (path, key) alive under several lineages")
    for path, n in stale.most_common(5):
        print(f"  {n:6d}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
