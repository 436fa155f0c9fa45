"""Write dataset_builder/std_method_names.txt: every method name of Rust's standard library
(std, core, alloc), read from the HTML docs of an installed toolchain (the rust-docs
component: `id="method.NAME"` and `id="tymethod.NAME"` anchors).

    python scripts/std_method_names.py [--docs DIR]

The symbol table does not bind a method call `.name()` to the crate's one method of that name
when the standard library has a method so named: without types, `.as_mut()` on a `Pin` read
as the crate's `Window::as_mut` (futures-rs).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "dataset_builder" / "std_method_names.txt"
ANCHOR = re.compile(rb'id="(?:ty)?method\.([A-Za-z_][A-Za-z0-9_]*)"')


def default_docs() -> Path:
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                             check=True).stdout.strip()
    return Path(sysroot) / "share" / "doc" / "rust" / "html"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=None, help="a toolchain's share/doc/rust/html")
    args = parser.parse_args()
    docs = args.docs or default_docs()
    names: set[str] = set()
    pages = 0
    for crate in ("std", "core", "alloc"):
        for page in (docs / crate).rglob("*.html"):
            pages += 1
            names.update(m.decode() for m in ANCHOR.findall(page.read_bytes()))
    if not names:
        print(f"error: no method anchors under {docs} (is the rust-docs component installed?)",
              file=sys.stderr)
        return 2
    version = subprocess.run(["rustc", "--version"], capture_output=True, text=True,
                             check=False).stdout.strip() or "unknown rustc"
    OUT.write_text(f"# std, core and alloc method names, from the docs of {version} "
                   f"({pages} pages): scripts/std_method_names.py\n"
                   + "".join(f"{name}\n" for name in sorted(names)))
    print(f"{len(names)} names from {pages} pages -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
