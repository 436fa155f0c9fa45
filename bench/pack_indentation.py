"""Pack definitions shown with ragged indentation: per scale, the samples whose context has
an attribute or doc-comment line at the margin followed by an indented item line, what a
definition from inside a block (an inline module, a macro body) looked like in a pack
before dataset_builder 0.1.73 (`#[derive(Debug)]` then `    pub struct Guard {`).

    python bench/pack_indentation.py OUT [OUT2 ...]

Read from the contexts by a regular expression, so approximate: the code around a target
shows such a pair rarely, as rustfmt indents an item's attributes with it.
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

_RAGGED = re.compile(
    r"^(?:#\[|///|//!)[^\n]*\n[ \t]+(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?"
    r"(?:struct|enum|union|type|trait|const|static|impl|fn|mod|macro_rules!)\b", re.MULTILINE)


def ragged(context: str) -> int:
    """How many margin attribute or doc lines the context has right above an indented item."""
    return len(_RAGGED.findall(context))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", nargs="+", type=Path, help="build output folders")
    args = parser.parse_args(argv)
    for out in args.outs:
        try:
            table = read_samples(out)
        except (OSError, ValueError) as exc:
            print(f"error: {out}: {exc}", file=sys.stderr)
            return 2
        samples: Counter[str] = Counter()
        with_ragged: Counter[str] = Counter()
        places: Counter[str] = Counter()
        for scale, context in zip(table.column("scale").to_pylist(),
                                  table.column("context").to_pylist(), strict=True):
            samples[scale] += 1
            found = ragged(context)
            if found:
                with_ragged[scale] += 1
                places[scale] += found
        print(f"{out}:")
        for scale in sorted(samples):
            print(f"  {scale:7s} {with_ragged[scale]:6d} of {samples[scale]:6d} samples with "
                  f"a ragged definition ({places[scale]} places)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
