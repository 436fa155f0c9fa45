"""How many of a revision's items `rust_items` finds inside item-level macro invocations.

    python bench/macro_items.py --repo REPO [--rev HEAD] [--files 100000]

Parses the revision's `.rs` files (as bench/parse_speed.py reads them) and counts the items
whose span lies inside the body of a macro invocation that stands where an item may (the
file's top level, a module's, an impl's or a trait's body): `cfg_net! { … }`, `cfg_if!`
branches, `pin_project! { … }`. tree-sitter leaves such a body as tokens; since
dataset_builder 0.1.67 the parser reads those items (_Collector._macro_bodies).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parse_speed import revision_arguments, revision_blobs

from dataset_builder.rust_items import parse_rust

_CONTAINERS = {"mod_item", "impl_item", "trait_item"}


def _macro_spans(root: object) -> list[tuple[int, int, str]]:
    """(start, end, macro name) of the item-level macro invocations under `root`."""
    found: list[tuple[int, int, str]] = []
    stack = [root]
    while stack:
        container = stack.pop()
        for child in container.named_children:  # type: ignore[attr-defined]
            if child.type == "macro_invocation":
                name = child.child_by_field_name("macro")
                found.append((child.start_byte, child.end_byte,
                              name.text.decode("utf-8", "replace") if name is not None else "?"))
            elif child.type in _CONTAINERS:
                body = child.child_by_field_name("body")
                if body is not None:
                    stack.append(body)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    revision_arguments(parser, files=100_000)
    args = parser.parse_args(argv)
    blobs = revision_blobs(args)
    if blobs is None:
        return 2
    items = 0
    inside: Counter[str] = Counter()
    for blob in blobs:
        parsed, tree = parse_rust(blob)
        spans = _macro_spans(tree.root_node)
        items += len(parsed.items)
        for item in parsed.items:
            name = next((n for start, end, n in spans if start < item.start_byte < end), None)
            if name is not None:
                inside[name] += 1
    print(f"{len(blobs)} files, {items} items, {sum(inside.values())} inside item-level "
          f"macro invocations")
    for name, count in inside.most_common(8):
        print(f"  {count:6d}  {name}!")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
