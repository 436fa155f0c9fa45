"""Per scale, the samples whose context pack shows a given text: a check of what packs hold
(a stub shown for the real definition, a definition that should be there).

    python bench/pack_shows.py OUT TEXT [--out OUT2 ...]

The pack is read from the context as its `// from <path> (<module>)` groups, each up to the
next group, the `// file:` line before the code around the target, or a `<file_sep>` line;
what the code around the target shows does not count.
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

_PACK_GROUPS = re.compile(r"^// from [^\n]*\n(?:(?!// from |// file: |<file_sep>)[^\n]*\n?)*",
                          re.MULTILINE)


def scale_contexts(out: Path) -> list[tuple[str, str]] | None:
    """(scale, context) of each sample of a build, or None (said on stderr) where its
    samples cannot be read."""
    try:
        table = read_samples(out)
    except (OSError, ValueError) as exc:
        print(f"error: {out}: {exc}", file=sys.stderr)
        return None
    return list(zip(table.column("scale").to_pylist(), table.column("context").to_pylist(),
                    strict=True))


def pack_text(context: str) -> str:
    """The pack's groups of a sample's context, joined."""
    return "".join(_PACK_GROUPS.findall(context))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a build's output folder")
    parser.add_argument("text", help="the text to look for in packs")
    parser.add_argument("--out", dest="more", type=Path, action="append", default=[],
                        help="another build's output folder, counted alike")
    args = parser.parse_args(argv)
    for out in [args.out, *args.more]:
        contexts = scale_contexts(out)
        if contexts is None:
            return 2
        samples: Counter[str] = Counter()
        showing: Counter[str] = Counter()
        for scale, context in contexts:
            samples[scale] += 1
            if args.text in pack_text(context):
                showing[scale] += 1
        print(f"{out}: samples whose pack shows {args.text!r}")
        for scale in sorted(samples):
            print(f"  {scale:7s} {showing[scale]:6d} of {samples[scale]:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
