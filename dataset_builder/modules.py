"""Where a file sits in its crate, and the module graph of one snapshot.

Module paths follow cargo's conventions without reading Cargo.toml (which changes across
history): the nearest `src/` folder is a crate's source root, `lib.rs`/`main.rs` is the crate
root module, `a/mod.rs` and `a.rs` are module `a`; `src/bin/x.rs`, `tests/x.rs`,
`examples/x.rs` and `benches/x.rs` are crates of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

import networkx as nx

from dataset_builder.rust_items import ParsedFile

_TARGET_DIRS = ("tests", "examples", "benches")


@dataclass(frozen=True, slots=True)
class ModuleLocation:
    crate: str  # the crate's folder relative to the repository ("." at the top)
    module: str  # "crate", "crate::eval::env", ...

    def join(self, inner: str) -> str:
        return f"{self.module}::{inner}" if inner else self.module

    def node_id(self, module: str | None = None) -> str:
        module = module or self.module
        return module if self.crate == "." else f"{self.crate}#{module}"


def _ident(name: str) -> str:
    return name.replace("-", "_")


@lru_cache(maxsize=65536)  # asked for every changed file of every commit; paths repeat
def locate_module(path: str) -> ModuleLocation:
    parts = PurePosixPath(path).parts
    stem = PurePosixPath(path).stem
    if "src" in parts[:-1]:
        idx = len(parts) - 1 - parts[::-1].index("src")
        root = "/".join(parts[:idx]) or "."
        rel = list(parts[idx + 1 :])
        if rel[0] == "bin" and len(rel) >= 2:
            # src/bin/x.rs and src/bin/x/main.rs are crate roots of binary x.
            crate = "/".join([*parts[: idx + 2], PurePosixPath(rel[1]).stem])
            rel = rel[2:] if len(rel) > 2 else ["main.rs"]
            root = crate
        if len(rel) == 1 and rel[0] in ("lib.rs", "main.rs"):
            segments: list[str] = []
        elif rel[-1] == "mod.rs":
            segments = rel[:-1]
        else:
            segments = [*rel[:-1], PurePosixPath(rel[-1]).stem]
        module = "::".join(["crate", *(_ident(s) for s in segments)])
        return ModuleLocation(root, module)
    target = next((i for i in range(len(parts) - 2, -1, -1) if parts[i] in _TARGET_DIRS), None)
    if target is not None:
        # tests/x.rs is crate tests/x; tests/x/main.rs (or mod.rs) is crate tests/x and
        # tests/x/helpers.rs its module `helpers`.
        rel = list(parts[target + 1 :])
        if len(rel) == 1:
            return ModuleLocation("/".join((*parts[: target + 1], stem)), "crate")
        crate = "/".join(parts[: target + 2])
        inner = rel[1:]
        if len(inner) == 1 and inner[0] in ("main.rs", "mod.rs"):
            segments = []
        elif inner[-1] == "mod.rs":
            segments = inner[:-1]
        else:
            segments = [*inner[:-1], PurePosixPath(inner[-1]).stem]
        return ModuleLocation(crate, "::".join(["crate", *(_ident(s) for s in segments)]))
    parent = str(PurePosixPath(path).parent)
    if stem == "build":  # a build script is a crate of its own
        return ModuleLocation(f"{parent}/build" if parent != "." else "build", "crate")
    return ModuleLocation(parent if parent != "" else ".", f"crate::{_ident(stem)}")


def resolve_use_path(path: str, module: str) -> str:
    """A use path made absolute ("crate::…") from inside `module`."""
    segments = path.split("::")
    if segments[0] == "crate":
        return path
    if segments[0] == "self":
        return "::".join([module, *segments[1:]])
    if segments[0] == "super":
        base = module.split("::")
        while segments and segments[0] == "super":
            segments = segments[1:]
            if len(base) > 1:
                base = base[:-1]
        return "::".join([*base, *segments])
    # 2018-edition relative path (`use lexer::Token` in lib.rs) or an external crate.
    return "::".join([module, *segments])


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    """What the module graph needs of one file's parse, without its items: the walk keeps
    these for every snapshot (libc, 94 snapshots of files with thousands of constants: with
    the parses kept instead, the build process peaked at 1,169 MiB instead of 578)."""

    inline_mods: tuple[str, ...]  # `mod x { … }` as "x" or "outer::x", within the file
    mods: tuple[tuple[str, str], ...]  # (module within the file, declared child name)
    uses: tuple[tuple[str, str], ...]  # (module within the file, use path)

    @classmethod
    def of(cls, parsed: ParsedFile) -> ModuleFacts:
        return cls(tuple(item.module + ("::" if item.module else "") + item.name
                         for item in parsed.items
                         if item.kind == "mod" and not item.signature.endswith(";")),
                   tuple(parsed.mods), tuple((use.module, use.path) for use in parsed.uses))


def module_graph(files: Iterable[tuple[str, ModuleFacts]]) -> nx.DiGraph:
    """Module graph of one snapshot. Nodes are modules (file and inline); an edge u -> v means
    u comes before v: module v declares (`mod u;`) or imports (`use crate::u…`) module u."""
    graph = nx.DiGraph()
    parsed: list[tuple[ModuleLocation, ModuleFacts]] = []
    for path, facts in files:
        loc = locate_module(path)
        parsed.append((loc, facts))
        graph.add_node(loc.node_id(), crate=loc.crate, module=loc.module, path=path)
        for inline in facts.inline_mods:
            inner = loc.join(inline)
            graph.add_node(loc.node_id(inner), crate=loc.crate, module=inner, path=path)
    known = {(d["crate"], d["module"]) for _, d in graph.nodes(data=True)}
    for loc, facts in parsed:
        for inner, child in facts.mods:
            parent = loc.join(inner)
            target = f"{parent}::{_ident(child)}"
            if (loc.crate, target) in known:
                graph.add_edge(loc.node_id(target), loc.node_id(parent), kind="mod")
        for use_module, use_path in facts.uses:
            user = loc.join(use_module)
            absolute = resolve_use_path(use_path, user).removesuffix("::*").split("::")
            # The longest prefix that names a module of this crate is what gets imported.
            for end in range(len(absolute), 0, -1):
                candidate = "::".join(absolute[:end])
                if (loc.crate, candidate) in known:
                    if candidate != user:
                        u, v = loc.node_id(candidate), loc.node_id(user)
                        if not graph.has_edge(u, v):
                            graph.add_edge(u, v, kind="use")
                    break
    return graph
