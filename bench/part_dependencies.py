"""How well the `dependencies` of split parts (targets cut from an oversized whole) match the
code each part holds: per scale, the parts, the dependencies they list, and how many of those
the part's own text never names (the symbol's last path segment is not a word of it).

    python bench/part_dependencies.py OUT [OUT2 ...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import _simple_name, read_samples  # noqa: E402

_WORD = re.compile(r"\w+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for out in args.outs:
        rows = read_samples(out, columns=["scale", "parts", "target", "dependencies"])
        by_scale: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for row in rows.to_pylist():
            if row["parts"] <= 1:
                continue
            words = set(_WORD.findall(row["target"]))
            deps = row["dependencies"] or []
            by_scale[row["scale"]].append(
                (len(deps), sum(_simple_name(d) not in words for d in deps)))
        print(f"{out}:")
        for scale, counts in sorted(by_scale.items()):
            listed = sum(n for n, _ in counts)
            unnamed = sum(u for _, u in counts)
            print(f"  {scale:6s} parts {len(counts):5d}  dependencies listed {listed:6d} "
                  f"(median {statistics.median(n for n, _ in counts):g} a part), "
                  f"not named by the part {unnamed:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
