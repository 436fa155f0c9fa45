"""Samples whose context pack shows a `#[cfg(…)]`'d top-level definition that a plain
x86_64 Linux build at the sample's own commit leaves out, while the file it comes from has,
at that commit, a twin of the same kind and name that such a build compiles.

    python bench/twin_at_commit.py OUT MIRROR

The features are the package's default ones in its manifest at the sample's commit
(`crate_dir`/Cargo.toml, through `git show`), evaluated by the build's own
cargo_manifest.eval_item_cfg; definitions are found in the pack's `// from <path>` groups
and in `git show <commit>:<path>` by a line pattern (attributes on lines of their own,
then `type`, `struct`, `enum`, `fn`, `const`, `static`, `trait` or `mod` and the name).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.cargo_manifest import (  # noqa: E402
    cfg_expressions,
    default_features,
    eval_item_cfg,
)
from dataset_builder.samples import read_samples  # noqa: E402

_DEFINITION = re.compile(r"(?m)^((?:#\[[^\n]*\]\n)*)(?:pub(?:\([^)]*\))? )?"
                         r"(type|struct|enum|fn|const|static|trait|mod) (\w+)")
_GROUP = re.compile(r"^// from (\S+) \(([^)]*)\)\n", re.MULTILINE)


def _cfgs(attribute_lines: str) -> list[str]:
    return [expr for line in attribute_lines.split("\n") if line.startswith("#[cfg(")
            for expr in cfg_expressions(line)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a build's output folder")
    parser.add_argument("mirror", type=Path, help="the repository it was built from")
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args(argv)

    @cache
    def show(commit: str, path: str) -> str | None:
        done = subprocess.run(["git", "-C", str(args.mirror), "show", f"{commit}:{path}"],
                              capture_output=True)
        return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None

    @cache
    def features(commit: str, folder: str) -> frozenset[str]:
        text = show(commit, "Cargo.toml" if folder in ("", ".") else f"{folder}/Cargo.toml")
        try:
            return default_features(tomllib.loads(text or ""))
        except tomllib.TOMLDecodeError:
            return frozenset()

    @cache
    def definitions(commit: str, path: str) -> dict[tuple[str, str], list[list[str]]]:
        found: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
        for match in _DEFINITION.finditer(show(commit, path) or ""):
            found[(match.group(2), match.group(3))].append(_cfgs(match.group(1)))
        return found

    try:
        table = read_samples(args.out)
    except (OSError, ValueError) as exc:
        print(f"error: {args.out}: {exc}", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for sid, scale, commit, folder, context in zip(
            *(table.column(name).to_pylist()
              for name in ("id", "scale", "commit", "crate_dir", "context")), strict=True):
        pack = context.split("// file: ")[0]
        groups = _GROUP.split(pack)
        on = features(commit, folder or ".")
        hit = False
        for k in range(1, len(groups), 3):
            path, body = groups[k], groups[k + 2]
            for match in _DEFINITION.finditer(body):
                cfgs = _cfgs(match.group(1))
                if not cfgs or all(eval_item_cfg(expr, on) for expr in cfgs):
                    continue
                twins = definitions(commit, path).get((match.group(2), match.group(3)), [])
                if any(all(eval_item_cfg(expr, on) for expr in twin)
                       for twin in twins if twin != cfgs):
                    hit = True
                    if len(examples) < args.examples:
                        examples.append(f"  {sid} {scale} {commit[:10]} {path} "
                                        f"{match.group(3)} {cfgs}")
        if hit:
            counts["samples"] += 1
            counts[scale] += 1
    print(args.out, dict(counts))
    if examples:
        print("\n".join(examples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
