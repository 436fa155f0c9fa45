"""Where a file sits in its crate, and the module graph of one snapshot.

Module paths follow cargo's conventions (Cargo.toml changes across history): the nearest
`src/` folder is a crate's source root, `lib.rs`/`main.rs` is the crate root module,
`a/mod.rs` and `a.rs` are module `a`; `src/bin/x.rs`, `tests/x.rs`, `examples/x.rs` and
`benches/x.rs` are crates of their own. Where the revision's manifests name a crate root
those conventions do not find (`[[bin]] path = "crates/core/main.rs"`: ripgrep's binary),
the files below it belong to that crate (CrateRoots), in every commit of the history.
A `#[path = "…"] mod x;` declaration makes the file it names module `x` of the declaring
crate (path_mod_target); that file keeps its conventional place, and the module graph and
the symbol table (symbols.SymbolTable.path_mods) lead `x` to it.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import networkx as nx

from dataset_builder.cargo_manifest import default_features
from dataset_builder.graphs import dependency_order
from dataset_builder.rust_items import Item, ParsedFile

if TYPE_CHECKING:
    from dataset_builder.gitio import BlobReader, RepoInfo, TreeEntry

_TARGET_DIRS = ("tests", "examples", "benches")


@dataclass(frozen=True, slots=True)
class ModuleLocation:
    # The crate: its folder relative to the repository ("." at the top), where the
    # conventions find it; its package's folder (or its root's) where CrateRoots do.
    crate: str
    module: str  # "crate", "crate::eval::env", ...

    def join(self, inner: str) -> str:
        return f"{self.module}::{inner}" if inner else self.module

    def node_id(self, module: str | None = None) -> str:
        module = module or self.module
        return module if self.crate == "." else f"{self.crate}#{module}"


def _ident(name: str) -> str:
    return name.replace("-", "_")


@dataclass(frozen=True, eq=False)  # compared (and hashed, in caches) as the one object it is
class CrateRoots:
    """Crate roots that cargo's conventions do not find, from the manifests of the revision's
    tree (crate_roots)."""

    files: Mapping[str, str] = field(default_factory=dict)
    """Each such root file -> the crate it is the root of: its package's folder (where the
    package has no other root), else the root's folder, or the file less `.rs` where the
    folder holds several roots (fuzz targets)."""
    folders: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    """The folder of a root that is the only one in it -> (the root's crate, whether the
    folder is the package's own): the files below it are that crate's modules."""
    packages: frozenset[str] = frozenset()
    """Every package's folder: a file below one of them but above any root is left to the
    conventions."""
    libraries: Mapping[str, str] = field(default_factory=dict)
    """Each package by the name `use` gives its library (`[lib] name`, else the package's
    name, `-` as `_`) -> its folder ("." for the top): `use futures_core::…` in a sibling
    crate, `use hyperfine::…` in the package's own binary (symbols.crate_folders)."""
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Each package's folder -> the names it renames path dependencies to (`proto = {
    package = "quinn-proto", … }`) -> the dependency's folder: for `use proto::…` in that
    package's crates only (_renamed_dependencies)."""
    features: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Each package's folder -> the features a plain build of it turns on
    (cargo_manifest.default_features)."""
    library_folders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Each library name -> every folder a manifest of the history gave it: petgraph's
    library moved from the top folder to crates/petgraph, and `petgraph::…` written before
    the move had named the revision's folder, empty then (symbols._library_folder)."""

    def __bool__(self) -> bool:  # whether any file is placed by a root
        return bool(self.files)


def package_dir(path: str, crate: str, roots: CrateRoots | None) -> str:
    """The folder of the Cargo.toml that the file at `path` (of crate `crate`) is built from
    ("" for the top), as cargo's conventions place it, at any commit: the folder above its
    last `src/` (`src/bin/x.rs` too), else above its last tests/, examples/ or benches/, else
    a build script's folder. A file that the revision's manifests place (CrateRoots: those
    name no conventional layout) gets the nearest of the revision's package folders at or
    above its crate's folder. Where none applies, the crate's folder."""
    if roots and _below_root(path, roots) is not None:
        folder = "" if crate in (".", "") else crate
        while True:
            if (folder or ".") in roots.packages:
                return folder
            if not folder:
                break
            folder = folder.rpartition("/")[0]
    parts = path.split("/")
    if parts[-1] == "build.rs" and len(parts) > 1 and (
            (crate == path[:-len(".rs")] and parts[-2] not in (*_TARGET_DIRS, "bin")) or (
            roots is not None and "/".join(parts[:-1]) in roots.packages)):
        # tonic's examples/build.rs: examples/; and one locate_module made the build
        # script of a package (`tests/skip_debug/build`), also of one the revision lacks
        # (tonic: 26 such samples had crate_dir '' or tonic-web). Not a one-file target so
        # named, whose crate is its path too (`tests/build.rs`, mdBook's src/bin/build.rs).
        return "/".join(parts[:-1])
    if "src" in parts[:-1]:
        return "/".join(parts[:len(parts) - 1 - parts[::-1].index("src")])
    target = _last_target_dir(parts)
    if parts[-1] == "build.rs" and (target is None or (
            len(parts) - target >= 3 and (roots is None or parts[target] != "tests"))):
        # A build script is its package's, also a package's inside examples/ (axum's
        # examples/rest-grpc-multiplex/build.rs: no example has a build script of its own).
        # In a tests folder, where the revision's packages are known, only theirs (above),
        # as locate_module has it: else it is a test's module `build` (mdBook's
        # tests/testsuite/build.rs had crate_dir tests/testsuite, its sibling modules the
        # top package's). A package of older commits in examples/ keeps its folder, as its
        # src/ files do.
        return "/".join(parts[:-1])
    if target is not None:
        return "/".join(parts[:target])
    return "" if crate in (".", "") else crate


def _conventional_package(root: str) -> str:
    """The package folder whose conventions find `root` (`tests/src/lib.rs` -> `tests`,
    `tests/main.rs` -> `.`): the folder above its last src, tests, benches or examples."""
    parts = root.split("/")
    for at in range(len(parts) - 2, -1, -1):
        if parts[at] in ("src", "tests", "benches", "examples"):
            return "/".join(parts[:at]) or "."
    return "."


def locate_module(path: str, roots: CrateRoots | None = None) -> ModuleLocation:
    """The crate and module of the file at `path`: by `roots` where they place it, else by
    cargo's conventions."""
    if roots:
        found = _below_root(path, roots)
        if found is not None:
            return found
    if roots is not None and path.endswith("/build.rs"):
        folder = path[:-len("/build.rs")]
        if folder in roots.packages:
            # A package's build script, also where the package lies in a tests or examples
            # folder, whose conventions would make it a module `build` of the folder's
            # crate (tonic's tests/integration_tests/build.rs: its crate samples held
            # the test program and the build script as one crate). Only a package's: a
            # test's module may be named `build` (cargo's tests/testsuite/build.rs).
            return ModuleLocation(f"{folder}/build", "crate")
    return _conventional_module(path)


@lru_cache(maxsize=65536)
def _below_root(path: str, roots: CrateRoots) -> ModuleLocation | None:
    crate = roots.files.get(path)
    if crate is not None:
        return ModuleLocation(crate, "crate")
    parts = PurePosixPath(path).parts
    for end in range(len(parts) - 1, -1, -1):
        folder = "/".join(parts[:end]) or "."
        found = roots.folders.get(folder)
        if found is not None:
            crate, package_folder = found
            rel = parts[end:]
            if "src" in rel[:-1] or (package_folder and (
                    rel[0] in _TARGET_DIRS or rel == ("build.rs",))) or (
                    parts[end - 1:end] == ("src",) and rel[0] == "bin" and len(rel) > 1):
                return None  # another crate's sources, the package's own targets, src/bin
            segments = list(rel[:-1]) if rel[-1] == "mod.rs" else \
                [*rel[:-1], PurePosixPath(rel[-1]).stem]
            return ModuleLocation(crate, "::".join(["crate", *(_ident(s) for s in segments)]))
        if folder in roots.packages:
            return None
    return None


# The `[package]` key that turns cargo's discovery of tests, benches or examples off (a
# binary found anyway keeps the package's crate: src/main.rs is one crate with src/lib.rs).
_AUTO_KEYS = {"test": "autotests", "bench": "autobenches", "example": "autoexamples"}


def _listed(value: object) -> list[object]:
    """A manifest's array of tables (`[[bin]]`, `[[test]]`…), or none."""
    return value if isinstance(value, list) else []


def _library_name(manifest: dict[str, Any]) -> str | None:
    """The name `use` gives a package's library: `[lib] name`, else the package's name,
    `-` as `_` (None: no package)."""
    table = manifest.get("package") or manifest.get("project")
    if not isinstance(table, dict):
        return None
    lib = manifest.get("lib")
    name = lib.get("name") if isinstance(lib, dict) else None
    if not isinstance(name, str):
        name = table.get("name")
    return name.replace("-", "_") if isinstance(name, str) else None


def _manifest_folder(path: str) -> str:
    """The folder of a Cargo.toml ("." for the top)."""
    return path[:-len("Cargo.toml")].rstrip("/") or "."


_DEPENDENCY_TABLES = ("dependencies", "dev-dependencies", "build-dependencies",
                      "dev_dependencies", "build_dependencies")


def _renamed_dependencies(manifest: dict[str, Any], folder: str,
                          workspace: Mapping[str, str]) -> dict[str, str]:
    """The names a manifest's path dependencies are renamed to (`proto = { package =
    "quinn-proto", path = "../quinn-proto" }`, then `use proto::…`: two thirds of quinn's
    history bound nothing in quinn-proto) -> the folder of the package named; `{ workspace
    = true }` takes the workspace's entry (`workspace`: its renamed names -> folders)."""
    tables = [manifest.get(name) for name in _DEPENDENCY_TABLES]
    targets = manifest.get("target")
    for spec in targets.values() if isinstance(targets, dict) else ():
        if isinstance(spec, dict):
            tables.extend(spec.get(name) for name in _DEPENDENCY_TABLES)
    found: dict[str, str] = {}
    for table in tables:
        for key, spec in table.items() if isinstance(table, dict) else ():
            if not isinstance(spec, dict) or not isinstance(key, str):
                continue
            name = key.replace("-", "_")
            if spec.get("workspace") is True and name in workspace:
                found.setdefault(name, workspace[name])
                continue
            package, path = spec.get("package"), spec.get("path")
            if isinstance(package, str) and isinstance(path, str) and \
                    package.replace("-", "_") != name:
                placed = posixpath.normpath(posixpath.join(folder, path))
                if placed != ".." and not placed.startswith(("../", "/")):
                    found.setdefault(name, placed)
    return found


def _workspace_renames(manifest: dict[str, Any], folder: str) -> dict[str, str]:
    """A workspace manifest's renamed path dependencies (`[workspace.dependencies]`)."""
    workspace = manifest.get("workspace")
    table = workspace.get("dependencies") if isinstance(workspace, dict) else None
    return _renamed_dependencies({"dependencies": table}, folder, {}) \
        if isinstance(table, dict) else {}


def older_library_names(manifests: Mapping[str, Iterable[str]], reader: BlobReader,
                        every_manifest: Mapping[str, Iterable[str]] | None = None
                        ) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]],
                                   dict[str, tuple[str, ...]]]:
    """Library names the history's manifests gave (`manifests`: each Cargo.toml path ->
    blobs of its older versions, gitio.paths_in_history) -> the package's folder: code
    older than a rename says `use tui::…` where the revision's package is ratatui (913 of
    ratatui's item versions, 4,887 references that named no crate). And the library roots
    that any version of them (`every_manifest`: every version's blobs, newest first) named
    (`[lib] path`) -> the package's folder: rust-url's percent_encoding was
    `percent_encoding/lib.rs` from 2017 to 2020, module `crate::lib` of its package by the
    conventions, and url's calls into it named nothing. A manifest that does not parse is
    passed over; where two folders gave a name (or root), the first in path order. And
    each package's renamed path dependencies (CrateRoots.renames), from those versions, and
    every folder each name was given (CrateRoots.library_folders)."""
    names: dict[str, str] = {}
    read = list(_manifests(manifests, reader))
    workspace: dict[str, str] = {}
    for path, manifest in read:
        folder = _manifest_folder(path)
        name = _library_name(manifest)
        if name is not None:
            names.setdefault(name, folder)
        workspace.update(_workspace_renames(manifest, folder))
    renames: dict[str, dict[str, str]] = {}
    for path, manifest in read:
        folder = _manifest_folder(path)
        for renamed, dependency in _renamed_dependencies(manifest, folder, workspace).items():
            renames.setdefault(folder, {}).setdefault(renamed, dependency)
    roots: dict[str, str] = {}
    folders: dict[str, list[str]] = {}
    for path, manifest in _manifests(every_manifest or {}, reader, names_once=True):
        folder = _manifest_folder(path)
        name = _library_name(manifest)
        # Every version's: petgraph's top manifest named `refgraph` first, `petgraph`
        # until the library moved to crates/petgraph.
        if name is not None and folder not in folders.setdefault(name, []):
            folders[name].append(folder)
        lib = manifest.get("lib")
        root = lib.get("path") if isinstance(lib, dict) else None
        if isinstance(root, str) and root.endswith(".rs"):
            placed = posixpath.normpath(posixpath.join(folder, root))
            # Not outside the package (`path = "../src/lib.rs"` of a helper package had
            # taken the main package's root), nor where the conventions find it.
            inside = (folder == "." and not placed.startswith("../")) or \
                placed.startswith(f"{folder}/")
            conventional = placed in {posixpath.normpath(posixpath.join(folder, name))
                                      for name in ("src/lib.rs", "src/main.rs")}
            if inside and not conventional:
                roots.setdefault(placed, folder)
    return names, roots, renames, {name: tuple(found) for name, found in folders.items()}


# What may tell two versions of one manifest apart for _library_name and a `[lib] path`:
# its lines that set a `name` or `path` (`lib = { path = … }`, `package.name = …` too) and
# its section lines (most versions differ in a version or a dependency only).
_NAMING_LINES = re.compile(rb"^[^\n]*\b(?:name|path)[ \t]*=[^\n]*|^[ \t]*\[[^\n]*",
                           re.MULTILINE)


def _manifests(versions: Mapping[str, Iterable[str]], reader: BlobReader,
               names_once: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, parsed manifest) of each blob of `versions` (path -> blobs) of a Cargo.toml,
    in path order; one that does not parse is passed over.
    `names_once`: of a path's versions with the same section, `name` and `path` lines,
    only the first (every version of tokio's manifests, parsed, took seconds)."""
    wanted = [(path, sha) for path, shas in sorted(versions.items())
              if path == "Cargo.toml" or path.endswith("/Cargo.toml") for sha in shas]
    seen: set[tuple[str, tuple[bytes, ...]]] = set()
    for (path, _), data in zip(wanted, reader.read_many([sha for _, sha in wanted]),
                               strict=True):
        if not data:
            continue
        naming = (path, tuple(_NAMING_LINES.findall(data))) if names_once else None
        if naming is not None and naming in seen:
            continue
        try:
            manifest = tomllib.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            continue
        if naming is not None:  # once parsed: a broken version hides no other
            seen.add(naming)
        yield path, manifest


# Pathspecs of the Rust files in tests, examples and benches folders (gitio.paths_in_history):
# what crate_roots judges standalone programs by, in the history as at the revision.
TARGET_DIR_SPECS = tuple(f"*{folder}/*.rs" for folder in _TARGET_DIRS)


# Where cargo looks for a target named without a `path` (`[[test]] name = "tests"`:
# tests/tests.rs, else tests/tests/main.rs).
_IMPLIED_FOLDERS = {"bin": "src/bin", "test": "tests", "bench": "benches",
                    "example": "examples"}


def _implied_path(folder: str, kind: str, name: Any, tree: set[str]) -> str | None:
    """The path cargo gives a target named `name` without a `path`, where the tree holds
    it: rust-url's idna turns test discovery off and names `[[test]] name = "tests"`, whose
    `mod punycode;` and two more had become test crates of their own."""
    if not isinstance(name, str):
        return None
    for path in (f"{_IMPLIED_FOLDERS[kind]}/{name}.rs", f"{_IMPLIED_FOLDERS[kind]}/{name}/main.rs"):
        if posixpath.normpath(posixpath.join(folder, path)) in tree:
            return path
    return None


def crate_roots(info: RepoInfo, reader: BlobReader, history: Iterable[str] = (),
                older_libraries: Mapping[str, str] | None = None) -> CrateRoots:
    """The crate roots that the manifests of the revision's tree name (`[lib] path`,
    `[[bin]] path`, `build = "…"`) and cargo's conventions do not find, where their files
    are, and the libraries' names. A manifest that does not parse is passed over.

    A package's library, or its one root where it has no other (no src/lib.rs or
    src/main.rs), is the package's crate, and the files below its folder are its modules
    (as src/lib.rs and src/main.rs are one crate by the conventions, and `use name::…`
    finds a library in its package's folder). Another root is a crate named after its
    folder and holds the files below it, where the folder is its alone and lies outside
    the package's folder and src/; else (beside the library, among fuzz targets, in
    src/ with the conventional roots) it is a crate of one file, named after it.
    `history`: paths of the history's Rust files in tests, examples and benches folders
    (TARGET_DIR_SPECS), whose standalone programs are crates of their own as well.
    `older_libraries`: library roots older manifests named (older_library_names) -> their
    package's folder, taken where the revision's tree no longer holds the file."""
    from dataset_builder.gitio import list_tree

    entries = list_tree(info, info.head)
    tree = {entry.path for entry in entries}
    # package folder -> (root, "lib", "bin" or "build") of its roots the conventions miss
    explicit: dict[str, list[tuple[str, str]]] = {}
    packages: set[str] = set()
    libraries: dict[str, str] = {}
    features: dict[str, frozenset[str]] = {}
    parsed: list[tuple[str, dict[str, Any]]] = []  # (folder, manifest): renamed dependencies
    # (package folder, root, kind, whether the conventions would find it as a crate)
    listed: list[tuple[str, str, str, bool]] = []
    workspace: dict[str, str] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        if entry.path != "Cargo.toml" and not entry.path.endswith("/Cargo.toml"):
            continue
        data = reader.read(entry.sha)
        try:
            manifest: dict[str, Any] = tomllib.loads(data.decode("utf-8")) if data else {}
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            continue
        folder = _manifest_folder(entry.path)
        parsed.append((folder, manifest))
        workspace.update(_workspace_renames(manifest, folder))
        table = manifest.get("package") or manifest.get("project")
        if not isinstance(table, dict):
            continue
        packages.add(folder)
        features[folder] = default_features(manifest)
        name = _library_name(manifest)
        if name is not None:
            libraries.setdefault(name, folder)
        targets = [("lib", manifest.get("lib")),
                   *((kind, t) for kind in ("bin", "test", "bench", "example")
                     for t in _listed(manifest.get(kind))),
                   ("build", {"path": table.get("build")})]  # `build = "build/main.rs"`
        for kind, target in targets:
            path = target.get("path") if isinstance(target, dict) else None
            if path is None and isinstance(target, dict) and kind in _IMPLIED_FOLDERS:
                path = _implied_path(folder, kind, target.get("name"), tree)
            if not isinstance(path, str) or not path.endswith(".rs"):
                continue
            root = posixpath.normpath(posixpath.join(folder, path))
            explicit.setdefault(folder, [])
            # A test (bench, example) the conventions would find is still the manifest's
            # where it turns their discovery off: just's `autotests = false` and `[[test]]
            # path = "tests/lib.rs"`, whose `mod misc;` and 114 more are its modules, not
            # crates (2,958 samples whose context showed no helper of the test crate).
            listed.append((folder, root, kind, _conventional_module(root).module == "crate"
                           and not (kind in _AUTO_KEYS
                                    and table.get(_AUTO_KEYS[kind]) is False)))
    for folder, root, kind, conventional_root in listed:
        # Nor where the conventions that find it are no package's: time's `[[test]] path =
        # "../tests/main.rs"` in time/Cargo.toml, the top folder a virtual workspace (its
        # 24 modules had been crates of their own). A package's own (prost's
        # tests-2015 `[lib] path = "../tests/src/lib.rs"`, the package tests') is found.
        owner = (posixpath.dirname(root) or ".") if kind == "build" and \
            posixpath.basename(root) == "build.rs" else _conventional_package(root)
        found_anyway = conventional_root and owner in packages
        held = explicit[folder]
        if root in tree and not found_anyway and root not in (r for r, _ in held):
            held.append((root, kind))
    in_folder = Counter(posixpath.dirname(root) or "." for held in explicit.values()
                        for root, _ in held)
    files: dict[str, str] = {}
    folders: dict[str, tuple[str, bool]] = {}
    for package, held in explicit.items():
        source = "src" if package == "." else f"{package}/src"
        conventional = any(f"{source}/{name}" in tree for name in ("lib.rs", "main.rs"))
        library = next((root for root, kind in held if kind == "lib"), None)
        crates = [root for root, kind in held if kind in ("lib", "bin")]
        primary = library if library is not None else \
            crates[0] if len(crates) == 1 and not conventional else None
        for root, kind in held:
            folder = posixpath.dirname(root) or "."
            # A build script is crate `build` of its package, as build.rs is.
            name = ("build" if package == "." else f"{package}/build") if kind == "build" \
                else folder
            if root == primary:
                files[root] = package
                folders.setdefault(folder, (package, folder == package))
            elif in_folder[folder] == 1 and folder != package and folder != source and \
                    not folder.startswith(f"{source}/"):
                files[root] = name
                folders.setdefault(folder, (name, False))
            else:
                files[root] = name if kind == "build" else root.removesuffix(".rs")
    # Programs of the history's folders too (rayon's tests/run-pass/*.rs, gone from the
    # revision: 5 crate samples of 2-6 `fn main`s each), judged as the revision's tree
    # judges a folder it still has.
    program_folders = {folder for path in tree if path.endswith(".rs")
                       for folder in [_program_folder(path, packages)] if folder is not None}
    programs = _standalone_target_files(tree, packages, program_folders,
                                        {p for p in history if p.endswith(".rs")} - tree,
                                        _folder_drivers(entries, program_folders, reader))
    for path, crate in programs.items():
        files.setdefault(path, crate)  # a root a manifest names wins
    for root, package in (older_libraries or {}).items():
        if root not in tree:
            files.setdefault(root, package)
    renames = {folder: found for folder, manifest in parsed
               if (found := _renamed_dependencies(manifest, folder, workspace))}
    return CrateRoots(files, folders, frozenset(packages), libraries, renames, features)


_MOD_DECLARATION = re.compile(rb"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(?:r#)?(\w+)\s*;",
                              re.MULTILINE)


def _folder_drivers(entries: Iterable[TreeEntry], folders: set[str], reader: BlobReader
                    ) -> dict[str, frozenset[str] | None]:
    """Each of the revision's `folders` of programs (_program_folder) with a `<folder>.rs`
    beside it -> the modules that file declares (`mod name;`), or None where it places one
    elsewhere (`#[path]`) or cannot be read: trybuild's driver tests/trybuild.rs beside
    tests/trybuild/*.rs declares none of them (actix-web's pass programs had been modules
    of the driver's crate)."""
    wanted = [entry for entry in entries if entry.path.removesuffix(".rs") in folders
              and entry.path.endswith(".rs")]
    drivers: dict[str, frozenset[str] | None] = {}
    for entry, data in zip(wanted, reader.read_many([e.sha for e in wanted]), strict=True):
        folder = entry.path.removesuffix(".rs")
        drivers[folder] = None if data is None or b"#[path" in data else frozenset(
            name.decode("utf-8", "replace") for name in _MOD_DECLARATION.findall(data))
    return drivers


def _standalone_target_files(tree: set[str], packages: set[str], folders: set[str],
                             gone: set[str],
                             drivers: Mapping[str, frozenset[str] | None]) -> dict[str, str]:
    """Each .rs file in a folder of tests/, examples/ or benches/ that cargo builds as no
    target and no module of one (the folder has no main.rs or mod.rs, and no `<folder>.rs`
    is beside it: programs trybuild compiles one by one, tests/ui/*.rs or
    tests/debug_handler/fail/*.rs) -> a crate of its own, the file less `.rs`. By the
    conventions such a folder was one crate of unrelated programs (axum-macros: 61, each
    with its `fn main`), whose names resolved across them. Not a file of a package inside
    the folder (`packages`: their folders), which its manifest lays out. `folders`: the
    tree's folders of programs (_program_folder). `gone`: paths of
    the history that `tree` (the revision's) lacks: a folder the tree still has is judged
    by the tree alone (a `tests/ui.rs` driver renamed long ago does not make the tree's
    programs modules), one it has not by those paths. `drivers` (_folder_drivers): where
    the `<folder>.rs` beside a folder declares no module of a file's name, the file is a
    program all the same."""
    found: dict[str, str] = {}
    for path in (*tree, *gone):
        if not path.endswith(".rs"):
            continue
        folder = _program_folder(path, packages)
        if folder is None:
            continue
        known = tree if folder in folders or path in tree else tree | gone
        beside = {f"{folder}/main.rs", f"{folder}/mod.rs", f"{folder}.rs"} & known
        declared = drivers.get(folder)
        if beside == {f"{folder}.rs"} and declared is not None and \
                path[len(folder) + 1:].split("/")[0].removesuffix(".rs") not in declared:
            beside = set()  # a driver that declares no module of this name
        if not beside:
            found[path] = path.removesuffix(".rs")
    return found


def _program_folder(path: str, packages: set[str]) -> str | None:
    """The folder of a tests/examples/benches folder that holds `path` (a .rs file), where
    it may hold programs: not a package's sources, nor inside a package of its own."""
    parts = path.split("/")
    if "src" in parts[:-1]:
        return None  # a package's sources (a fixture's too): the conventions place it
    target = _last_target_dir(parts)
    if target is None or len(parts) - target < 3:
        return None  # not in a folder of a target directory
    if any("/".join(parts[:end]) in packages for end in range(target + 2, len(parts))):
        return None  # a package of its own (examples/foo/Cargo.toml): its manifest says
    return "/".join(parts[:target + 2])


@lru_cache(maxsize=65536)  # asked for every changed file of every commit; paths repeat
def _conventional_module(path: str) -> ModuleLocation:
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
    target = _last_target_dir(parts)
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
    if stem == "mod" and parent != ".":
        # The folder's root (mio's test/mod.rs, the `[[test]]` of its older manifests, had
        # been module `crate::mod`: its helpers, used as `super::localhost` by 401 samples'
        # files, were found nowhere).
        return ModuleLocation(parent, "crate")
    return ModuleLocation(parent if parent != "" else ".", f"crate::{_ident(stem)}")


def shared_module_crate(crate: str, module_path: str) -> tuple[str, str] | None:
    """Where `module_path` (absolute, `crate::common::…`) of a test, example or bench crate
    lies when it is a module the crates of that folder share (`mod common;` in each of
    tests/a.rs and tests/b.rs): tests/common/mod.rs is no crate of cargo's, but the
    conventions make it crate `tests/common`, so `crate::common::setup` of crate `tests/a`
    is `crate::setup` of crate `tests/common`. None where the crate is no such target or the
    path names no module below its root."""
    target = target_crate(crate)  # asked on every failed symbol lookup: most crates are not
    if target is None or not module_path.startswith("crate::"):
        return None
    folder, name = target
    segments = module_path.split("::")
    if segments[1] == name:
        return None
    return f"{folder}/{segments[1]}", "::".join(["crate", *segments[2:]])


def _last_target_dir(parts: list[str] | tuple[str, ...]) -> int | None:
    """The index of the last tests, examples or benches folder among a path's folders."""
    return next((i for i in range(len(parts) - 2, -1, -1) if parts[i] in _TARGET_DIRS), None)


def in_target_folder(crate: str) -> bool:
    """Whether a crate lies in a tests, examples or benches folder (a test, an example, a
    bench, a program trybuild compiles)."""
    return any(part in _TARGET_DIRS for part in crate.split("/")[:-1])


@lru_cache(maxsize=4096)
def target_crate(crate: str) -> tuple[str, str] | None:
    """(folder, name) of a crate in a tests, examples or benches folder; else None."""
    folder, _, name = crate.rpartition("/")
    return (folder, _ident(name)) if folder.rpartition("/")[2] in _TARGET_DIRS else None


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


_PATH_ATTRIBUTE = re.compile(r'#\[\s*path\s*=\s*"([^"\\]+)"\s*\]')


def path_attribute(attributes: Iterable[str]) -> str | None:
    """The file a `#[path = "…"]` among an item's attributes names, as written."""
    for attribute in attributes:
        found = _PATH_ATTRIBUTE.fullmatch(attribute)
        if found is not None:
            return found.group(1)
    return None


def path_mod_target(path: str, loc: ModuleLocation, inner: str, written: str) -> str | None:
    """The repository path of the file that `#[path = "written"] mod x;` in the file at
    `path` (module `inner` within it, "" at its top) makes module x, by the Rust reference's
    rule: relative to the declaring file's folder; inside inline `mod a { … }` blocks, to
    that folder plus the blocks' names, after the file's own module name where the file is
    not a mod-rs file (a crate root or a mod.rs). None where it leaves the repository."""
    if written.startswith("/"):
        return None
    folder = posixpath.dirname(path)
    if inner:
        name = posixpath.basename(path)
        mod_rs = loc.module == "crate" or name == "mod.rs"
        segments = inner.split("::")
        if not mod_rs:
            segments.insert(0, name.removesuffix(".rs"))
        folder = posixpath.join(folder, *segments)
    target = posixpath.normpath(posixpath.join(folder, written))
    if target.startswith("../") or target in ("..", "."):
        return None
    return target


def path_mod_declarations(items: Iterable[Item]) -> list[tuple[str, str, str]]:
    """(module within the file, declared child name, file named as written) of each
    `#[path = "…"] mod x;` among a file's items."""
    return [(item.module, _ident(item.name), written) for item in items
            if item.kind == "mod" and item.attributes and item.signature.endswith(";")
            and (written := path_attribute(item.attributes)) is not None]


def path_mod_locations(path: str, loc: ModuleLocation,
                       declarations: Iterable[tuple[str, str, str]],
                       roots: CrateRoots | None) -> list[tuple[str, ModuleLocation]]:
    """(declared module, where the file it names lies) of each of the file's `#[path]`
    declarations (path_mod_declarations) that names a file in the repository other than the
    module's own conventional place."""
    found = []
    for inner, child, written in declarations:
        target = path_mod_target(path, loc, inner, written)
        if target is None:
            continue
        declared = f"{loc.join(inner)}::{child}"
        named = locate_module(target, roots)
        if named != ModuleLocation(loc.crate, declared):
            found.append((declared, named))
    return found


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    """What the module graph needs of one file's parse, without its items: the walk keeps
    these for every snapshot (libc, 94 snapshots of files with thousands of constants: with
    the parses kept instead, the build process peaked at 1,169 MiB instead of 578)."""

    inline_mods: tuple[str, ...]  # `mod x { … }` as "x" or "outer::x", within the file
    mods: tuple[tuple[str, str], ...]  # (module within the file, declared child name)
    uses: tuple[tuple[str, str], ...]  # (module within the file, use path)
    # (module within the file, declared child name, file named) of each `#[path = "…"]`
    # declaration: the file named, as written
    path_mods: tuple[tuple[str, str, str], ...] = ()
    use_aliases: tuple[str, ...] = ()  # the name each of `uses` is known by ("" for a glob)

    @classmethod
    def of(cls, parsed: ParsedFile) -> ModuleFacts:
        return cls(tuple(item.module + ("::" if item.module else "") + item.name
                         for item in parsed.items
                         if item.kind == "mod" and not item.signature.endswith(";")),
                   tuple(parsed.mods), tuple((use.module, use.path) for use in parsed.uses),
                   tuple(path_mod_declarations(parsed.items)),
                   tuple(use.alias for use in parsed.uses))


def module_graph(files: Iterable[tuple[str, ModuleFacts]],
                 roots: CrateRoots | None = None) -> nx.DiGraph:
    """Module graph of one snapshot. Nodes are modules (file and inline); an edge u -> v means
    u comes before v: module v declares (`mod u;`) or imports (`use crate::u…`) module u.
    `roots`: see locate_module."""
    graph = nx.DiGraph()
    parsed: list[tuple[ModuleLocation, ModuleFacts]] = []
    files_seen = list(files)
    for path, facts in files_seen:
        loc = locate_module(path, roots)
        parsed.append((loc, facts))
        graph.add_node(loc.node_id(), crate=loc.crate, module=loc.module, path=path,
                       own=True)  # the file's own module, not one inline in it
        for inline in facts.inline_mods:
            inner = loc.join(inline)
            graph.add_node(loc.node_id(inner), crate=loc.crate, module=inner, path=path)
    known = {(d["crate"], d["module"]) for _, d in graph.nodes(data=True)}
    # What each crate root declares (`mod common;`): a module its folder's crates share is
    # used through such a declaration only (a `use` of an external crate named like a
    # sibling bench is not one: bytes' benches/bytes.rs and benches/buf.rs).
    declared = {(loc.crate, _ident(child)) for loc, facts in parsed if loc.module == "crate"
                for inner, child in facts.mods if not inner}
    # `#[path = "…"] mod x;`: (crate, module x) -> the locations of the files it names
    # (one per cfg'd declaration: `#[cfg(unix)] #[path = "unix.rs"] mod imp;`)
    path_mods: dict[tuple[str, str], list[ModuleLocation]] = {}
    for (path, _), (loc, facts) in zip(files_seen, parsed, strict=True):
        for declared_module, named in path_mod_locations(path, loc, facts.path_mods, roots):
            if (named.crate, named.module) in known:
                path_mods.setdefault((loc.crate, declared_module), []).append(named)
    # What each module imports, by the name it is imported as (`use self::weekday::Weekday;`
    # in lib.rs: "Weekday" -> crate::weekday::Weekday; each of cfg'd twins, `#[cfg(unix)]
    # pub use unix::Sys;` beside windows'): a `use crate::Weekday` elsewhere depends on the
    # module that defines it, not on the root, whose `mod` declarations put it after every
    # module (the edge from the root closed a cycle through each of them: chrono's graph at
    # HEAD had one of 37 of its 105 modules, and its module groups' order inside it was not
    # the dependencies').
    imported: dict[tuple[str, str], dict[str, list[list[str]]]] = {}
    for loc, facts in parsed:
        aliases = facts.use_aliases or ("",) * len(facts.uses)
        for (use_module, use_path), alias in zip(facts.uses, aliases, strict=True):
            if use_path.endswith("::*"):
                continue
            module = loc.join(use_module)
            absolute = resolve_use_path(use_path, module).split("::")
            imported.setdefault((loc.crate, module), {}).setdefault(
                alias or absolute[-1], []).append(absolute)

    def defining_modules(crate: str, through: str, name: str) -> list[str]:
        """The modules of `crate` that `name`, imported into module `through`, comes from
        (none where the module defines it itself)."""
        found: list[str] = []
        for absolute in imported.get((crate, through), {}).get(name, ()):
            for end in range(len(absolute) - 1, 0, -1):
                candidate = "::".join(absolute[:end])
                if (crate, candidate) in known:
                    if candidate != through and candidate not in found:
                        found.append(candidate)
                    break
        return found

    for loc, facts in parsed:
        for inner, child in facts.mods:
            parent = loc.join(inner)
            target = f"{parent}::{_ident(child)}"
            for named in path_mods.get((loc.crate, target), ()):
                graph.add_edge(named.node_id(), loc.node_id(parent), kind="mod")
            if (loc.crate, target) in known:
                graph.add_edge(loc.node_id(target), loc.node_id(parent), kind="mod")
            elif (loc.crate, _ident(child)) in declared and loc.module == "crate" and \
                    not inner and (shared := shared_module_crate(loc.crate, target)) in known:
                assert shared is not None
                graph.add_edge(ModuleLocation(*shared).node_id(), loc.node_id(parent),
                               kind="mod")
        for use_module, use_path in facts.uses:
            user = loc.join(use_module)
            absolute = resolve_use_path(use_path, user).removesuffix("::*").split("::")
            # The longest prefix that names a module of this crate (or of a module its
            # folder's crates share) is what gets imported.
            for end in range(len(absolute), 0, -1):
                candidate = "::".join(absolute[:end])
                named_files = path_mods.get((loc.crate, candidate))
                if named_files:
                    for named in named_files:
                        u, v = named.node_id(), loc.node_id(user)
                        if u != v and not graph.has_edge(u, v):
                            graph.add_edge(u, v, kind="use")
                    break
                if (loc.crate, candidate) in known:
                    sources = [candidate]
                    if end < len(absolute):  # a name the module imports from other ones
                        sources = defining_modules(loc.crate, candidate,
                                                   absolute[end]) or sources
                    for source in sources:
                        if source != user:
                            u, v = loc.node_id(source), loc.node_id(user)
                            if not graph.has_edge(u, v):
                                graph.add_edge(u, v, kind="use")
                    break
                if (shared := shared_module_crate(loc.crate, candidate)) in known and \
                        (loc.crate, absolute[1]) in declared:
                    assert shared is not None
                    u, v = ModuleLocation(*shared).node_id(), loc.node_id(user)
                    if not graph.has_edge(u, v):
                        graph.add_edge(u, v, kind="use")
                    break
    return graph


def module_rows(graph: nx.DiGraph) -> list[dict[str, Any]]:
    """The rows of modules.parquet (less the snapshot's columns) of one snapshot's module
    graph: each module in dependency order, with the modules it depends on."""
    rows = []
    for order, node in enumerate(dependency_order(graph)):
        data = graph.nodes[node]
        rows.append({"node": node, "crate": data["crate"], "module": data["module"],
                     "path": data["path"], "order": order,
                     "depends_on": sorted(graph.predecessors(node)),
                     # A file's own module that no `mod` declares, and no crate's root, is
                     # compiled by nothing (axum's handler/into_service_state_in_extension.rs,
                     # left behind for 29 months, was in its crate's samples).
                     "declared": data["module"] == "crate" or not data.get("own")
                     or any(graph.edges[node, after].get("kind") == "mod"
                            for after in graph.successors(node))})
    return rows
