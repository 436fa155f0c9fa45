"""How much of what samples depend on they show: per scale, the samples with a dependency
defined nowhere at their commit (no pack can show it), and the whole function and
impl-block samples with a dependency they show nowhere (no definition of its name in the
context, target or code after, nor its name in the type-facts header).

    python bench/pack_coverage.py OUT [OUT2 ...]

Definitions are recognised by a regular expression (`struct Name`, `fn name`, `impl … Name`,
…), so the second count is approximate; the first uses the builder's own look-up
(`History.symbol_at`).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import History, _simple_name, read_samples  # noqa: E402

_DEFINES = {"struct": "struct|enum|union|type", "enum": "struct|enum|union|type",
            "union": "struct|enum|union|type", "type_alias": "type|struct|enum",
            "trait": "trait", "function": "fn", "method": "fn", "const": "const|static",
            "static": "const|static", "macro_rules": "macro_rules!"}
_TYPES = ("struct", "enum", "union", "trait", "type_alias")


def shown(name: str, kind: str, header: str, text: str) -> bool:
    """Whether a sample shows the definition of `name` (a `kind`) or names it in its header."""
    word = re.escape(name)
    if re.search(rf"\b{word}\b", header):
        return True
    if re.search(rf"(?:\b|^)(?:{_DEFINES[kind]})\s*{word}\b", text, re.M):
        return True
    return kind in _TYPES and re.search(rf"\bimpl\b[^\n{{]*\b{word}\b", text) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for out in args.outs:
        with tempfile.TemporaryDirectory() as scratch:
            history = History(out, Path(scratch))
            col = history.col
            rows = read_samples(out, columns=["scale", "parts", "commit_index", "dependencies",
                                              "context", "target", "suffix"]).to_pylist()
            counts: Counter[tuple[str, str]] = Counter()
            for row in rows:
                scale, ci = row["scale"], row["commit_index"]
                counts[(scale, "samples")] += 1
                live = {d: history.symbol_at(d, ci) for d in row["dependencies"]}
                counts[(scale, "with a dependency defined nowhere")] += any(
                    not found for found in live.values())
                if scale not in ("micro", "small") or row["parts"] > 1:
                    continue
                header = "\n".join(line for line in row["context"].split("\n")[:200]
                                   if line.startswith("// "))
                text = "\n".join((row["context"], row["target"], row["suffix"]))
                counts[(scale, "whole")] += 1
                counts[(scale, "whole, with a dependency shown nowhere")] += any(
                    col["kind"][found[0]] in _DEFINES and not shown(
                        _simple_name(d), col["kind"][found[0]],
                        header, text)
                    for d, found in live.items() if found)
        print(f"{out}:")
        for scale in ("micro", "small", "medium", "large", "full"):
            figures = ", ".join(f"{what} {n}" for (s, what), n in counts.items() if s == scale)
            print(f"  {scale:6s} {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
