"""Held-out function, impl-block and module-file samples whose target appears verbatim
(whitespace-normalised, at least --min-chars characters) inside a train target of a larger
scale: leakage that Jaccard against the whole larger target cannot see.

    python bench/heldout_contained.py OUT [OUT2 ...] [--min-chars 200]

Compares text by substring search (slow on long histories: minutes), so it checks the
builder's own rule (`<split>_contained_in_train_other_scale`, by item hashes) from outside.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import read_samples  # noqa: E402
from dataset_builder.type_facts import strip_inline  # noqa: E402

SCALES = ["micro", "small", "medium", "large", "full"]
_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    return _SPACE.sub(" ", strip_inline(text)).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outs", nargs="+", type=Path)
    parser.add_argument("--min-chars", type=int, default=200)
    args = parser.parse_args(argv)
    for out in args.outs:
        rows = read_samples(out, columns=["id", "scale", "split", "target"]).to_pylist()
        train = {scale: [normalised(r["target"]) for r in rows
                         if r["scale"] == scale and r["split"] == "train"] for scale in SCALES}
        held: Counter[tuple[str, str]] = Counter()
        found: Counter[tuple[str, str]] = Counter()
        examples: list[str] = []
        for row in rows:
            if row["split"] == "train" or row["scale"] not in ("micro", "small", "medium"):
                continue
            held[(row["scale"], row["split"])] += 1
            text = normalised(row["target"])
            if len(text) < args.min_chars:
                continue
            larger = SCALES[SCALES.index(row["scale"]) + 1:]
            where = next((scale for scale in larger for big in train[scale] if text in big),
                         None)
            if where is not None:
                found[(row["scale"], row["split"])] += 1
                if len(examples) < 5:
                    examples.append(f"    {row['id']} ({row['scale']}, {row['split']}) "
                                    f"in a train {where} target")
        print(f"{out}:")
        for (scale, split), n in sorted(held.items()):
            print(f"  {scale:6s} {split:5s} held out {n:6d}, verbatim in a larger train "
                  f"target {found[(scale, split)]:5d}")
        print("\n".join(examples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
