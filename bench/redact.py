"""Benchmark: redaction of e-mails and secrets over a built dataset's sample texts.

    python bench/redact.py --data DATA_DIR [--runs 3]

Reads every sample's context, target and suffix from DATA_DIR/samples (written texts: already
redacted, which leaves the checks' work the same, since placeholders hold no trigger), runs
`dataset_builder.quality.redact` over all of them `--runs` times and prints the median seconds
and the replacements counted. Compare two commits by running it from each checkout.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.quality import redact  # noqa: E402
from dataset_builder.samples import read_samples  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a dataset_builder --out folder")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (args.data / "samples").is_dir():
        print(f"error: no samples in {args.data}", file=sys.stderr)
        return 2
    table = read_samples(args.data, columns=["context", "target", "suffix"])
    texts = [text for name in ("context", "target", "suffix")
             for text in table.column(name).to_pylist()]
    seconds = []
    counts: Counter[str] = Counter()
    for _ in range(args.runs):
        counts = Counter()
        started = time.perf_counter()
        for text in texts:
            redact(text, counts)
        seconds.append(time.perf_counter() - started)
    chars = sum(map(len, texts))
    print(f"{len(texts)} texts, {chars / 1e6:.1f} M characters: median "
          f"{statistics.median(seconds):.3f} s over {args.runs} runs "
          f"({', '.join(f'{s:.3f}' for s in seconds)}); replacements {dict(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
