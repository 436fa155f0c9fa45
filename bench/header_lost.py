"""Header lines two builds disagree on: of each file-level sample (module, module group,
crate) in both, the definitions the old build's type-facts header named and the new one's
does not, where the new target names them and does not define them (what a pack lost).

    python bench/header_lost.py OLD NEW

Counted per scale and whole or split target: lines, and samples losing any. A line is a
header's `// <kind> <signature>`; a definition counts as the target's own where the target
holds `<keyword> <name>`, as named where it holds the name as a word.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import read_samples  # noqa: E402

_HEADER_LINE = re.compile(
    r"^// (method|function|struct|enum|trait|type_alias|const|static|macro_rules|union) "
    r"(?:pub(?:\([^)]*\))? )?(?:const )?(?:async )?(?:unsafe )?(?:extern \"C\" )?(?:fn )?"
    r"([A-Za-z_0-9]+)")
_KEYWORD = {"method": "fn", "function": "fn", "struct": "struct", "enum": "enum",
            "trait": "trait", "type_alias": "type", "const": "const", "static": "static",
            "macro_rules": "macro_rules!", "union": "union"}


def _file_level(out: Path) -> dict[str, dict[str, Any]]:
    table = read_samples(out).select(["id", "scale", "parts", "context", "target"])
    return {row["id"]: row for row in table.to_pylist()
            if row["scale"] in ("medium", "large", "full")}


def _header(context: str) -> set[str]:
    return {line for line in context.split("\n") if _HEADER_LINE.match(line)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the older build's output folder")
    parser.add_argument("new", type=Path, help="the newer build's output folder")
    args = parser.parse_args(argv)
    try:
        old, new = _file_level(args.old), _file_level(args.new)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lines: Counter[str] = Counter()
    samples: Counter[str] = Counter()
    for sid in old.keys() & new.keys():
        before, after = old[sid], new[sid]
        if before["context"] == after["context"]:
            continue
        target = after["target"]
        kept = {m.group(2) for line in _header(after["context"])
                if (m := _HEADER_LINE.match(line))}
        key = f"{before['scale']} {'split' if before['parts'] > 1 else 'whole'}"
        lost = 0
        for line in _header(before["context"]) - _header(after["context"]):
            match = _HEADER_LINE.match(line)
            assert match is not None
            kind, name = match.groups()
            word = re.escape(name)
            if re.search(rf"\b{re.escape(_KEYWORD[kind])}\s+{word}\b", target) or \
                    name in kept or not re.search(rf"\b{word}\b", target):
                continue  # now the target's own, shown under another line, or not named
            lost += 1
        if lost:
            lines[key] += lost
            samples[key] += 1
    for key in sorted(lines):
        print(f"{key}: {lines[key]} lines lost, in {samples[key]} samples")
    if not lines:
        print("no header line lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
