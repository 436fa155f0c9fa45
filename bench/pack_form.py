"""How packs show definitions, per scale: the samples whose context shows (1) a ragged
definition, an attribute or doc-comment line at the margin followed by an indented item
line, what a definition from inside a block (an inline module, a macro body) looked like
in a pack before dataset_builder 0.1.73 (`#[derive(Debug)]` then `    pub struct Guard {`);
(2) an associated const outside its block, an indented `const NAME:` line at brace depth
0 of a pack group, shown bare before 0.1.77 (`    pub const DEFAULT: Self = …`), where a
method comes in its block's header (`impl X { fn f(); }`).

    python bench/pack_form.py OUT [OUT2 ...]

Read from the contexts by regular expressions, so approximate: the code around a target
shows a ragged pair rarely, as rustfmt indents an item's attributes with it, and the
second count also finds the consts of an inline module, indented as in their file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pack_shows import scale_contexts  # noqa: E402

_RAGGED = re.compile(
    r"^(?:#\[|///|//!)[^\n]*\n[ \t]+(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?"
    r"(?:struct|enum|union|type|trait|const|static|impl|fn|mod|macro_rules!)\b", re.MULTILINE)


_PACK_GROUP_HEADER = re.compile(r"^// from [^\n]*$", re.MULTILINE)
_ASSOCIATED_CONST = re.compile(r"[ \t]+(?:pub(?:\([^)]*\))? )?const \w+\s*:")


def ragged(context: str) -> int:
    """How many margin attribute or doc lines the context has right above an indented item."""
    return len(_RAGGED.findall(context))


def bare_associated_consts(context: str) -> int:
    """How many indented `const NAME:` lines the pack's groups hold outside any braces."""
    pack = context.split("\n// file: ")[0]
    found = 0
    for group in _PACK_GROUP_HEADER.split(pack)[1:]:
        depth = 0
        for line in group.split("\n"):
            if depth == 0 and _ASSOCIATED_CONST.match(line):
                found += 1
            code = line.split("//", 1)[0]
            depth = max(0, depth + code.count("{") - code.count("}"))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outs", nargs="+", type=Path, help="build output folders")
    args = parser.parse_args(argv)
    for out in args.outs:
        contexts = scale_contexts(out)
        if contexts is None:
            return 2
        samples: Counter[str] = Counter()
        with_ragged: Counter[str] = Counter()
        places: Counter[str] = Counter()
        with_bare: Counter[str] = Counter()
        for scale, context in contexts:
            samples[scale] += 1
            found = ragged(context)
            if found:
                with_ragged[scale] += 1
                places[scale] += found
            if bare_associated_consts(context):
                with_bare[scale] += 1
        print(f"{out}:")
        for scale in sorted(samples):
            print(f"  {scale:7s} {with_ragged[scale]:6d} of {samples[scale]:6d} samples with "
                  f"a ragged definition ({places[scale]} places), {with_bare[scale]} with an "
                  f"associated const outside its block")
    return 0


if __name__ == "__main__":
    sys.exit(main())
