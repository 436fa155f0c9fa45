"""Benchmark: the near-duplicate index asked and filled in one step
(NearDuplicateIndex.insert_unless_near) against datasketch's own query, then insert, side
by side.

    python bench/lsh_index.py [--signatures 15000] [--repeats 5]

Random signatures, near copies of a third as many bases (each with up to 100 of its 128
values changed), so that both outcomes occur, in the order the samples stage meets them.
Prints the median CPU seconds of each way and their ratio; both must keep the same texts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset_builder.quality import NearDuplicateIndex, Signature


def query_then_insert(signatures: list[Signature]) -> list[bool]:
    index = NearDuplicateIndex()
    kept = []
    for i, signature in enumerate(signatures):
        if index.query(signature):
            kept.append(False)
            continue
        index.insert(str(i), signature)
        kept.append(True)
    return kept


def in_one_step(signatures: list[Signature]) -> list[bool]:
    index = NearDuplicateIndex()
    return [index.insert_unless_near(str(i), s) for i, s in enumerate(signatures)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=15000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    bases = rng.integers(0, 2**32, size=(max(1, args.signatures // 3), 128), dtype=np.uint32)
    signatures = []
    for k in range(args.signatures):
        values = bases[k % len(bases)].copy()
        changed = rng.choice(128, size=int(rng.integers(0, 100)), replace=False)
        values[changed] = rng.integers(0, 2**32, size=len(changed), dtype=np.uint32)
        signatures.append(Signature(values))
    times: dict[str, list[float]] = {"query then insert": [], "in one step": []}
    results = {}
    for _ in range(args.repeats):
        for name, way in (("query then insert", query_then_insert), ("in one step", in_one_step)):
            started = time.process_time()
            results[name] = way(signatures)
            times[name].append(time.process_time() - started)
    if results["query then insert"] != results["in one step"]:
        raise SystemExit("the two ways kept different signatures")
    kept = sum(results["in one step"])
    print(f"{args.signatures} signatures, {kept} kept, medians of {args.repeats}:")
    for name, values in times.items():
        print(f"  {name:18s} {statistics.median(values):.3f} s CPU")
    ratio = statistics.median(times["query then insert"]) / statistics.median(times["in one step"])
    print(f"  ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
