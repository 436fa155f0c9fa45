"""Module-group and crate samples in which a file invokes a macro (`name!`) whose
`macro_rules!` comes only in a later file of the same target: a use before its definition,
where textual scope needs the definition first.

    python bench/macro_order.py OUT [OUT ...]

Read from the targets' `<file_sep>` sections, comments left out, by name alone: a crate
root's `#[macro_export]` macro (path-scoped, which Rust lets any module call), a macro a
parent module defines before its `mod`s and another crate's macro of the same name are
counted too, so the figure is an upper bound.
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

_DEFINITION = re.compile(r"macro_rules!\s*(\w+)")
_INVOCATION = re.compile(r"(?<![\w!])(\w+)!\s*[\(\[\{]")
_SECTION = re.compile(r"(?m)^<file_sep>(\S+)\n")
_LINE_COMMENT = re.compile(r"//[^\n]*")


def used_before_defined(target: str) -> list[tuple[str, str]]:
    """(file, macro) of each invocation in a multi-file target whose definition comes only
    in a later file."""
    sections = _SECTION.split(target)
    names, bodies = sections[1::2], [_LINE_COMMENT.sub("", b) for b in sections[2::2]]
    defined = [set(_DEFINITION.findall(body)) for body in bodies]
    found: set[tuple[str, str]] = set()
    for k, body in enumerate(bodies):
        so_far = set().union(*defined[:k + 1])
        later = set().union(*defined[k + 1:])
        for name in set(_INVOCATION.findall(body)) - {"macro_rules"}:
            if name in later and name not in so_far:
                found.add((names[k], name))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", type=Path, nargs="+", help="build output folders")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per build")
    args = parser.parse_args(argv)
    status = 0
    for out in args.outs:
        try:
            table = read_samples(out)
        except (OSError, ValueError) as exc:
            print(f"error: {out}: {exc}", file=sys.stderr)
            status = 2
            continue
        counts: Counter[str] = Counter()
        examples: list[str] = []
        for sid, scale, target in zip(table.column("id").to_pylist(),
                                      table.column("scale").to_pylist(),
                                      table.column("target").to_pylist(), strict=True):
            if scale not in ("large", "full"):
                continue
            counts[f"{scale} checked"] += 1
            found = used_before_defined(target)
            if found:
                counts[f"{scale} used before defined"] += 1
                if len(examples) < args.examples:
                    examples.append(f"  {sid} {scale}: {found[:3]}")
        print(out, dict(sorted(counts.items())))
        print("\n".join(examples)) if examples else None
    return status


if __name__ == "__main__":
    sys.exit(main())
