"""Check: the history's items alive at its last commit against that commit's tree.

    python bench/alive_items.py --data DATA_DIR --repo REPO

An item version is alive after the walk when the newest row of its (lineage, key) in
DATA_DIR/items.parquet is not a removal. Prints how many are alive, how many of those sit
in a file the revision's tree lacks (stale: left alive by the walk's one replayed state),
and how many (path, key) pairs are alive under more than one lineage (twins). Then, for
each file of the tree with rows, it parses the file's version at the revision afresh and
counts the items alive there that the file lacks (extra), those it has that are not alive
(missing), and those alive with another text (stale text). A history mined faithfully has
none of these; the symbol table, the DAG and the context packs see what is alive.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a dataset_builder --out folder")
    parser.add_argument("--repo", type=Path, required=True, help="the repository it was mined from")
    parser.add_argument("--rev", default="",
                        help="revision (default: the last commit the build mined)")
    args = parser.parse_args(argv)
    try:
        manifest = json.loads((args.data / "manifest.json").read_text())
        rows = pq.read_table(args.data / "items.parquet",
                             columns=["commit_index", "path", "key", "change", "lineage",
                                      "digest"])
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    # The last commit mined (with --max-commits or --until, not the revision's own).
    last = pq.read_table(args.data / "commits.parquet", columns=["sha"]).column("sha")
    rev = args.rev or (last[len(last) - 1].as_py() if len(last) else manifest["repo"]["head"])
    listing = subprocess.run(["git", "-C", str(args.repo), "ls-tree", "-r", "-z", rev],
                             capture_output=True, check=False)
    if listing.returncode != 0:
        print(f"error: git ls-tree {rev}: {listing.stderr.decode().strip()}", file=sys.stderr)
        return 2
    blobs = {}  # path in the tree -> its object id
    for entry in listing.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if "\t" in entry:
            meta, path = entry.split("\t", 1)
            blobs[path] = meta.split()[2]
    tree = set(blobs)
    newest: dict[tuple[str, str], tuple[int, str, str, str]] = {}
    for index, path, key, change, lineage, digest in zip(*(rows.column(c).to_pylist() for c in (
            "commit_index", "path", "key", "change", "lineage", "digest")), strict=True):
        previous = newest.get((lineage, key))
        if previous is None or index >= previous[0]:
            newest[(lineage, key)] = (index, path, change, digest)
    alive = [(path, key) for (_, key), (_, path, change, _) in newest.items()
             if change != "removed"]
    stale = Counter(path for path, _ in alive if path not in tree)
    twins = sum(1 for n in Counter(alive).values() if n > 1)
    print(f"{args.data}: {len(alive)} items alive, {sum(stale.values())} in {len(stale)} files "
          f"the tree at {rev[:12]} lacks, {twins} (path, key) alive under several lineages")
    for path, n in stale.most_common(5):
        print(f"  {n:6d}  {path}")
    # Files of the tree the history has rows of, less those whose last version is skipped
    # (too large, generated, ...: none of their items is alive).
    files = pq.read_table(args.data / "files.parquet", columns=["path", "skip_reason"])
    last_skip = dict(zip(files.column("path").to_pylist(),
                         files.column("skip_reason").to_pylist(), strict=True))
    mined = {path for path in set(rows.column("path").to_pylist()) & tree
             if not last_skip.get(path)}
    extra, missing, stale_text = _against_a_fresh_parse(args.repo, blobs, mined, newest)
    print(f"  files of the tree parsed afresh: {sum(extra.values())} items alive that they "
          f"lack, {sum(missing.values())} they hold that are not alive, "
          f"{sum(stale_text.values())} alive with another text")
    for what, counts in (("extra", extra), ("missing", missing), ("stale text", stale_text)):
        for path, n in counts.most_common(3):
            print(f"  {what:10s} {n:6d}  {path}")
    return 0


def _against_a_fresh_parse(repo: Path, blobs: dict[str, str], mined: set[str],
                           newest: dict[tuple[str, str], tuple[int, str, str, str]]
                           ) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per file of the tree (`blobs`: path -> object id) that the history has rows of
    (`mined`), alive items or not (a file whose items were all ended by mistake counts too):
    items alive it lacks, items it has not alive, items alive whose digest differs from the
    fresh parse's."""
    from dataset_builder.gitio import BlobReader, open_repo
    from dataset_builder.rust_items import parse_rust

    alive: dict[str, dict[str, str]] = {path: {} for path in mined}
    for (_, key), (_, path, change, digest) in newest.items():
        if change != "removed" and path in mined:
            alive[path][key] = digest
    extra: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    stale_text: Counter[str] = Counter()
    with BlobReader(open_repo(str(repo)).git_dir) as reader:
        for path, held in alive.items():
            data = reader.read(blobs[path])
            if data is None:
                continue
            fresh = {item.key: item.digest for item in parse_rust(data)[0].items}
            extra[path] += sum(1 for key in held if key not in fresh)
            missing[path] += sum(1 for key in fresh if key not in held)
            stale_text[path] += sum(1 for key, digest in held.items()
                                    if key in fresh and fresh[key] != digest)
    return +extra, +missing, +stale_text


if __name__ == "__main__":
    sys.exit(main())
