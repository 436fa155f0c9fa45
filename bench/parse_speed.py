"""CPU seconds of `rust_items.parse_rust` over a revision's Rust files, whole-file parses.

    python bench/parse_speed.py --repo REPO [--rev HEAD] [--files 400] [--runs 5]

Parses the first --files `.rs` files of the revision's tree, --runs times in one process,
and prints each run's CPU seconds (process time), best first. The parser is the one
`dataset_builder` imports: to compare two checkouts, run it with `PYTHONPATH=<checkout>`
for each in turn, alternating, on the same machine, and compare the best runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence

from dataset_builder.rust_items import parse_rust


def _blobs(repo: str, rev: str, limit: int) -> list[bytes]:
    listing = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "-z", rev],
                             capture_output=True, check=True).stdout
    shas = []
    for entry in listing.split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        if path.endswith(b".rs") and meta.split(b" ")[1:2] == [b"blob"]:
            shas.append(meta.split(b" ")[2].decode())
    shas = shas[:limit]
    batch = subprocess.run(["git", "-C", repo, "cat-file", "--batch"],
                           input="".join(f"{sha}\n" for sha in shas).encode(),
                           capture_output=True, check=True).stdout
    blobs, at = [], 0
    for _ in shas:
        header_end = batch.index(b"\n", at)
        size = int(batch[at:header_end].split(b" ")[2])
        blobs.append(batch[header_end + 1:header_end + 1 + size])
        at = header_end + 1 + size + 1
    return blobs


def revision_arguments(parser: argparse.ArgumentParser, files: int) -> None:
    """--repo, --rev and --files (at most this many of the revision's `.rs` files)."""
    parser.add_argument("--repo", required=True)
    parser.add_argument("--rev", default="HEAD")
    parser.add_argument("--files", type=int, default=files)


def revision_blobs(args: argparse.Namespace) -> list[bytes] | None:
    """The contents of the revision's `.rs` files (revision_arguments), or None after a
    one-line error."""
    try:
        return _blobs(args.repo, args.rev, args.files)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"error: cannot read {args.rev} of {args.repo}: {exc}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    revision_arguments(parser, files=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    blobs = revision_blobs(args)
    if blobs is None:
        return 2
    runs = []
    for _ in range(args.runs):
        started = time.process_time()
        for blob in blobs:
            parse_rust(blob)
        runs.append(time.process_time() - started)
    print(f"{len(blobs)} files, {sum(map(len, blobs)) / 1e6:.2f} MB: "
          + " ".join(f"{s:.3f}" for s in sorted(runs)) + " s (best first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
