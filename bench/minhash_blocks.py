"""Benchmark: MinHash values of shingle groups computed a block of permutations at a time
(NearDuplicateIndex.BLOCK_VALUES) against all permutations at once, side by side.

    python bench/minhash_blocks.py [--repeats 7]

Random shingle hashes in batches of the sizes the samples stage signs (a batch of functions:
a few thousand shingles; a file's new pieces: up to 100,000). Prints the median time of each
way per batch size and their ratio; both ways must give equal values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataset_builder.quality import NearDuplicateIndex


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    index = NearDuplicateIndex()
    rng = np.random.default_rng(0)
    print(f"{'shingles':>9} {'groups':>6} {'one block ms':>13} {'blocked ms':>11} {'ratio':>6}")
    for shingles, groups in [(2000, 16), (8000, 64), (30000, 4), (100000, 10)]:
        hashes = rng.integers(0, 2**63, shingles, dtype=np.uint64)
        sizes = np.full(groups, shingles // groups)
        firsts = np.arange(groups) * (shingles // groups)
        times: dict[int, list[float]] = {}
        results = {}
        for block in (index.num_perm * shingles, NearDuplicateIndex.BLOCK_VALUES):
            index.BLOCK_VALUES = block  # this instance only
            times[block] = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                for _ in range(10):
                    results[block] = index._group_minima(hashes, firsts, sizes)
                times[block].append((time.perf_counter() - started) / 10 * 1e3)
        whole, blocked = (statistics.median(t) for t in times.values())
        first, second = results.values()
        assert (first == second).all(), "the two ways disagree"
        print(f"{shingles:>9} {groups:>6} {whole:>13.3f} {blocked:>11.3f} {whole / blocked:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
