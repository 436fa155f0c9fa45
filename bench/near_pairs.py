"""Near-duplicate pairs left among a build's samples: pairs of written targets of one scale
whose exact Jaccard similarity of 5-gram shingles (the dedup's own, quality.shingle_set)
reaches the threshold. Dedup keeps one of each such pair in principle; MinHash LSH finds
most, not all.

    python bench/near_pairs.py OUT [OUT2 ...] [--threshold 0.7] [--scales micro,small]

Exact for every pair (a sparse product of the shingle sets, not MinHash), so it also counts
what the estimate missed. Prints pairs per scale and split pair (train-train, ...)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.quality import shingle_set  # noqa: E402


def near_pairs(targets: list[str], threshold: float, shingle: int = 5
               ) -> list[tuple[int, int, float]]:
    sets = [shingle_set(t, shingle) for t in targets]
    if not sets:
        return []
    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    m = sparse.csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, inverse)),
                          shape=(len(sets), len(vocab)))
    common = (m @ m.T).tocoo()
    sizes = np.array([len(s) for s in sets])
    upper = common.row < common.col
    r, c, v = common.row[upper], common.col[upper], common.data[upper]
    jac = v / (sizes[r] + sizes[c] - v)
    hit = jac >= threshold
    return list(zip(r[hit].tolist(), c[hit].tolist(), jac[hit].tolist(), strict=True))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outs", nargs="+", type=Path)
    p.add_argument("--threshold", type=float, default=0.7)
    p.add_argument("--scales", default="micro,small,medium,large,full")
    args = p.parse_args()
    for out in args.outs:
        table = pq.read_table(out / "samples", columns=["scale", "split", "target"])
        scale_col = table.column("scale").to_pylist()
        split_col = table.column("split").to_pylist()
        target_col = table.column("target").to_pylist()
        print(f"{out}:")
        for scale in args.scales.split(","):
            ids = [i for i, s in enumerate(scale_col) if s == scale]
            pairs = near_pairs([target_col[i] for i in ids], args.threshold)
            kinds = Counter("-".join(sorted((split_col[ids[a]], split_col[ids[b]])))
                            for a, b, _ in pairs)
            print(f"  {scale:6} samples {len(ids):6,}  pairs >= {args.threshold}: "
                  f"{len(pairs):5,}  " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
