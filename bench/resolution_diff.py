"""Which reference resolutions two builds of one history disagree on, row by row.

    python bench/resolution_diff.py OLD NEW [--top 10]

OLD and NEW are build folders (`python -m dataset_builder ... --no-samples` is enough) of the
same commits, whose items.parquet rows correspond one to one (a change to how references are
read or resolved, not to which items are mined). Prints the references and resolutions of each,
then the resolved symbols only OLD has (gone) and only NEW has (gained), counted over rows,
the most frequent first: a wrong binding that a change removed shows as one symbol gone many
times.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def _rows(build: Path) -> list[dict[str, list[str] | None]]:
    table = pq.read_table(build / "items.parquet", columns=["references", "resolved"])
    return table.to_pylist()  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    old, new = _rows(args.old), _rows(args.new)
    if len(old) != len(new):
        print(f"the builds have {len(old)} and {len(new)} item rows: not the same items",
              file=sys.stderr)
        return 2
    gone: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    for before, after in zip(old, new, strict=True):
        was, now = set(before["resolved"] or ()), set(after["resolved"] or ())
        gone.update(was - now)
        gained.update(now - was)
    for label, rows in (("old", old), ("new", new)):
        print(f"{label}: {sum(len(r['references'] or ()) for r in rows):,} references, "
              f"{sum(len(r['resolved'] or ()) for r in rows):,} resolutions")
    print_gone_and_gained(gone, gained, args.top)
    return 0


def print_gone_and_gained(gone: Counter[str], gained: Counter[str], top: int) -> None:
    """Each count's total, then its `top` most frequent symbols."""
    for label, counts in (("gone", gone), ("gained", gained)):
        print(f"{label}: {sum(counts.values()):,}")
        for symbol, n in counts.most_common(top):
            print(f"  {n:6d}  {symbol}")


if __name__ == "__main__":
    sys.exit(main())
