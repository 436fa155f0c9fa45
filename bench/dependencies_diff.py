"""Which samples' `dependencies` two full builds of one history disagree on.

    python bench/dependencies_diff.py OLD NEW [--top 8]

OLD and NEW are build folders with samples (a change to how references are resolved, say).
Samples are matched by id (stable across builds); prints how many each build has and both
have, per scale how many matched samples list other dependencies and show another context,
then the dependencies only OLD lists (gone) and only NEW lists (gained), counted over
samples, the most frequent first.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dataset_builder.samples import read_samples

sys.path.insert(0, str(Path(__file__).resolve().parent))
from resolution_diff import print_gone_and_gained


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    columns = ["id", "scale", "dependencies", "context"]
    old, new = ({row["id"]: row for row in read_samples(out, columns=columns).to_pylist()}
                for out in (args.old, args.new))
    both = sorted(set(old) & set(new))
    print(f"samples: old {len(old):,}, new {len(new):,}, both {len(both):,}")
    changed: Counter[str] = Counter()
    context: Counter[str] = Counter()
    gone: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    for sid in both:
        before, after = set(old[sid]["dependencies"]), set(new[sid]["dependencies"])
        scale = old[sid]["scale"]
        changed[scale] += before != after
        context[scale] += old[sid]["context"] != new[sid]["context"]
        gone.update(before - after)
        gained.update(after - before)
    for scale in changed:
        print(f"  {scale:6s} dependencies changed {changed[scale]:6,}, "
              f"context changed {context[scale]:6,}")
    print_gone_and_gained(gone, gained, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
