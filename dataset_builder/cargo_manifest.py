"""Manifests a crate is built with offline, and the cargo home that builds it.

Used by the compile-rate harness (analysis/checker.py) and by rustdoc's type facts
(rustdoc.py). A crate is not built with its own Cargo.toml: cargo resolves dev-dependencies
and unused optional dependencies for the lockfile, so a crate with no required dependency can
still fail `cargo check --offline`. `harness_manifest` writes one instead: package identity,
edition, lib/bin targets, the dependencies the code needs (default features' optional ones
included), every feature name (unused ones emptied, so `cfg(feature)` lints see the same
names), no dev-dependencies, build-dependencies only with the crate's own build script, no
tests/benches/examples, and an empty `[workspace]` so sibling path dependencies are not
workspace members (their dev-dependencies are then not resolved either). `cargo_home` points
crates.io at an offline registry (Debian's, or a `cargo vendor` folder).
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dataset_builder.atomic import atomic_write_text

DEBIAN_REGISTRY = Path("/usr/share/cargo/registry")
_STD_CRATES = frozenset({"std", "core", "alloc", "proc_macro", "test"})


class ManifestError(Exception):
    """The crate's manifest cannot be turned into a harness manifest (a counted exclusion)."""


def cargo_home(folder: Path, registry: Path | None) -> Path:
    """A private CARGO_HOME whose crates.io is the offline registry (Debian's or `cargo vendor`)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[net]", "offline = true", ""]
    if registry is not None:
        lines += ["[source.crates-io]", 'replace-with = "ferric-offline"', "",
                  "[source.ferric-offline]", f'directory = "{registry}"', ""]
    atomic_write_text(folder / "config.toml", "\n".join(lines))
    return folder


# --- cfg evaluation for [target.'cfg(..)'.dependencies] on the Linux host ------------------

_TRUE_CFGS = {"unix", 'target_os="linux"', 'target_family="unix"', 'target_pointer_width="64"',
              'target_arch="x86_64"', 'target_env="gnu"', 'target_endian="little"'}


def _cfg_holds(expr: str, holds: Callable[[str], bool]) -> bool:
    """Whether a cfg expression (`all`, `any` and `not` of predicates) holds, by what
    `holds` says of each predicate (`unix`, `feature="x"`: white space taken out). One it
    cannot read holds."""
    expr = re.sub(r"\s+", "", expr)

    def parse(i: int) -> tuple[bool, int]:
        for name in ("all", "any", "not"):
            if expr.startswith(name + "(", i):
                i += len(name) + 1
                values = []
                while i < len(expr) and expr[i] != ")":
                    value, i = parse(i)
                    values.append(value)
                    if i < len(expr) and expr[i] == ",":
                        i += 1
                i += 1
                if name == "all":
                    return all(values), i
                if name == "any":
                    return any(values), i
                return not (values and values[0]), i
        j = i
        while j < len(expr) and expr[j] not in ",)":
            j += 1
        return holds(expr[i:j]), j

    try:
        return parse(0)[0]
    except IndexError:
        return True


def _eval_cfg(expr: str) -> bool:
    expr = re.sub(r"\s+", "", expr)
    if expr.startswith("cfg(") and expr.endswith(")"):
        return _cfg_holds(expr[4:-1], _TRUE_CFGS.__contains__)
    return expr in ("x86_64-unknown-linux-gnu",)


# What a plain build on the Linux host sets beside _TRUE_CFGS (a review of 0.1.81:
# crossbeam-epoch's `not(target_has_atomic = "64")` twin had won).
_BUILD_CFGS = frozenset({
    "debug_assertions", 'panic="unwind"', 'target_vendor="unknown"',
    *(f'target_has_atomic="{width}"' for width in ("8", "16", "32", "64", "ptr")),
    *(f'target_feature="{name}"' for name in ("fxsr", "sse", "sse2"))})


def eval_item_cfg(expr: str, features: frozenset[str]) -> bool:
    """Whether a `#[cfg(expr)]` item is compiled by a plain `cargo build` of its package on
    the Linux host with `features` on: a `feature = "x"` that is in them, a target cfg of
    the host (_TRUE_CFGS, _BUILD_CFGS); anything else (`test`, `windows`, `loom`, `docsrs`)
    is off. An expression it cannot read counts as compiled."""
    def holds(word: str) -> bool:
        if word.startswith("feature="):
            return word[len("feature="):].strip('"') in features
        return word in _TRUE_CFGS or word in _BUILD_CFGS

    return _cfg_holds(expr, holds)


def cfg_expressions(head: str) -> list[str]:
    """The expressions of the `#[cfg(…)]` attributes in an item's leading lines."""
    found: list[str] = []
    at = head.find("#[cfg(")
    while at >= 0:
        start, depth = at + len("#[cfg"), 0
        for end in range(start, len(head)):
            depth += (head[end] == "(") - (head[end] == ")")
            if depth == 0:
                found.append(head[start + 1:end])
                break
        at = head.find("#[cfg(", at + 1)
    return found


def attributes_compiled(attributes: Iterable[str], features: frozenset[str]) -> bool:
    """Whether an item with these attributes is compiled by a plain build with `features`
    on: each `#[cfg(…)]` among them holds (eval_item_cfg)."""
    return all(eval_item_cfg(expr, features) for attribute in attributes
               if attribute.startswith("#[cfg(") for expr in cfg_expressions(attribute))


def default_features(manifest: dict[str, Any]) -> frozenset[str]:
    """The features a plain build turns on: `default` (where declared) and what it
    enables, by name (an optional dependency's implicit feature too; `dep:x` and
    `x/feature` entries apart)."""
    table = manifest.get("features")
    if not isinstance(table, dict):
        return frozenset()
    enabled: set[str] = set()
    stack = ["default"]
    while stack:
        feature = stack.pop()
        if feature in enabled:
            continue
        enabled.add(feature)
        entries = table.get(feature)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, str) and not entry.startswith("dep:") and "/" not in entry:
                stack.append(entry)
    # `default` itself is a feature cargo sets where the table declares it.
    return frozenset(enabled if "default" in table else enabled - {"default"})


def package_default_features(data: bytes) -> frozenset[str] | None:
    """default_features of a Cargo.toml's bytes, or None where they are no package's (a
    workspace's manifest alone) or do not parse."""
    try:
        manifest = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    table = manifest.get("package") or manifest.get("project")
    return default_features(manifest) if isinstance(table, dict) else None


def manifest_object(folder: str, commit: str) -> str | None:
    """The name `git cat-file` reads a package folder's Cargo.toml at a commit by, or None
    where the path cannot be asked for on one line."""
    name = f"{commit}:Cargo.toml" if folder in ("", ".") else f"{commit}:{folder}/Cargo.toml"
    return None if "\n" in name else name


@dataclass
class CrateManifest:
    """What the checker needs to know about a crate, from its manifest and layout."""

    name: str
    edition: str
    version: str
    lib_name: str | None  # crate name of the library target, or None without one
    lib_path: str | None
    bins: list[tuple[str, str]]  # (name, path relative to the crate dir)
    features: list[str]  # enabled (the default closure)
    all_features: list[str]
    dependencies: list[str]  # names the code may `extern crate` (renames applied)
    build_script: bool
    has_lints: bool
    text: str  # the harness manifest
    package: dict[str, Any] = field(default_factory=dict)

    @property
    def std_only(self) -> bool:
        return not self.dependencies and not self.build_script and not self.has_lints


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    raise ManifestError(f"unsupported manifest value {value!r}")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def _workspace_root(crate_root: Path, tree_root: Path) -> dict[str, Any] | None:
    folder = crate_root.parent
    while True:
        manifest = folder / "Cargo.toml"
        if manifest.is_file():
            try:
                data = tomllib.loads(manifest.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                return None
            if "workspace" in data:
                data["__dir__"] = folder
                return data
        if folder == tree_root or folder.parent == folder:
            return None
        folder = folder.parent


def _hyphenated(data: dict[str, Any]) -> dict[str, Any]:
    """A manifest with cargo's older underscore spellings (`build_dependencies`, `[lib]
    proc_macro`, ...) under their hyphenated names, which is all the harness reads."""
    def rename(table: dict[str, Any], keys: tuple[str, ...]) -> None:
        for key in keys:
            old = key.replace("-", "_")
            if old in table and key not in table:
                table[key] = table.pop(old)

    rename(data, ("build-dependencies", "dev-dependencies"))
    for table in (data.get("target") or {}).values():
        if isinstance(table, dict):
            rename(table, ("build-dependencies", "dev-dependencies"))
    if isinstance(data.get("lib"), dict):
        rename(data["lib"], ("proc-macro", "crate-type"))
    return data


def _patched_paths(data: dict[str, Any], crate_dir: Path, ws: dict[str, Any] | None
                   ) -> dict[str, str]:
    """Crates that `[patch.crates-io]` (the workspace root's, else the crate's own) replaces
    with a path: name -> that path, resolved."""
    root, base = (ws, Path(ws["__dir__"])) if ws is not None else (data, crate_dir)
    patch = root.get("patch", {})
    table = patch.get("crates-io", {}) if isinstance(patch, dict) else {}
    return {name: str((base / spec["path"]).resolve()) for name, spec in table.items()
            if isinstance(spec, dict) and isinstance(spec.get("path"), str)}


def relax_requirement(req: str) -> str:
    """`^2.6.3`, `~2.6`, `=2.6.3`, `>=2.6, <3` -> `2`; `0.21.4` -> `0.21`: the semver-compatible
    range of the first version named (an older compatible crate may then be chosen)."""
    match = re.search(r"(\d+)(?:\.(\d+))?", req)
    if not match:
        return req
    major, minor = match.group(1), match.group(2) or "0"
    return major if major != "0" else f"0.{minor}"


def bin_targets(data: dict[str, Any], crate_dir: Path) -> list[tuple[str, str]]:
    """(name, path) of each binary target of the package whose manifest is `data`, in
    `crate_dir`: its `[[bin]]` tables whose file exists, then, where cargo discovers
    binaries (`autobins`), src/main.rs (named after the package) and src/bin's files, where
    no table claims their name or path."""
    package = data.get("package") or data.get("project")
    if not isinstance(package, dict):
        package = {}
    name = str(package.get("name", ""))
    bins: list[tuple[str, str]] = []
    entries = data.get("bin", []) or []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        bname = entry.get("name")
        if not isinstance(bname, str) or not bname:
            continue
        # Without a path cargo looks in src/bin, and at src/main.rs for the package's name.
        paths = [entry["path"]] if isinstance(entry.get("path"), str) else [
            f"src/bin/{bname}.rs", f"src/bin/{bname}/main.rs",
            *(["src/main.rs"] if bname == name else [])]
        bpath = next((p for p in paths if (crate_dir / p).is_file()), None)
        if bpath is not None:
            bins.append((bname, bpath))
    # Edition 2015 (no `edition` key) discovers no binaries once a table names one.
    autobins = package.get("autobins",
                           package.get("edition", "2015") != "2015" or not entries)
    if autobins is not False:
        if name and (crate_dir / "src/main.rs").is_file() and \
                name not in {b for b, _ in bins} and "src/main.rs" not in {p for _, p in bins}:
            bins.append((name, "src/main.rs"))
        bin_dir = crate_dir / "src/bin"
        if bin_dir.is_dir():
            for child in sorted(bin_dir.iterdir()):
                stem = child.stem if child.suffix == ".rs" else child.name
                rel = (f"src/bin/{child.name}" if child.suffix == ".rs"
                       else f"src/bin/{child.name}/main.rs")
                if (crate_dir / rel).is_file() and stem not in {b for b, _ in bins} \
                        and rel not in {p for _, p in bins}:
                    bins.append((stem, rel))
    return bins


def harness_manifest(crate_dir: Path, tree_root: Path, relax_versions: bool = False,
                     enable: Iterable[str] = ()) -> CrateManifest:
    """Read crate_dir/Cargo.toml and write the manifest the harness checks with.

    relax_versions: registry requirements become their semver-compatible major (0.x: minor), so
    an offline registry with older releases (Debian's) can satisfy them; the original-builds
    check then decides whether the target is measurable. enable: features kept besides the
    default ones (those a dependent crate asks of this one), with the optional dependencies
    they need."""
    path = crate_dir / "Cargo.toml"
    if not path.is_file():
        raise ManifestError("no Cargo.toml")
    try:
        data = _hyphenated(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"unreadable Cargo.toml: {exc}") from None
    package = data.get("package") or data.get("project")
    if not isinstance(package, dict) or "name" not in package:
        raise ManifestError("Cargo.toml has no [package] (a virtual workspace manifest)")
    if crate_dir == tree_root and "workspace" in data:
        ws: dict[str, Any] | None = dict(data, __dir__=crate_dir)
    else:
        ws = _workspace_root(crate_dir, tree_root)
    ws_pkg = (ws or {}).get("workspace", {}).get("package", {})
    ws_deps = (ws or {}).get("workspace", {}).get("dependencies", {})

    def pkg_field(key: str, default: Any) -> Any:
        value = package.get(key, default)
        if isinstance(value, dict) and value.get("workspace") is True:
            return ws_pkg.get(key, default)
        return value

    name = str(package["name"])
    edition = str(pkg_field("edition", "2015"))
    version = str(pkg_field("version", "0.0.0"))
    build_field = package.get("build")
    build_script = build_field is not False and (
        (crate_dir / "build.rs").is_file() if build_field in (None, True)
        else (crate_dir / str(build_field)).is_file())

    patched = _patched_paths(data, crate_dir, ws)

    # Dependencies: normal ones, plus host-applicable target-specific ones.
    raw_deps: dict[str, Any] = dict(data.get("dependencies", {}))
    for cfg, table in data.get("target", {}).items():
        if isinstance(table, dict) and _eval_cfg(cfg):
            raw_deps.update(table.get("dependencies", {}))
    deps: dict[str, dict[str, Any]] = {}
    for dep_name, spec in raw_deps.items():
        spec = {"version": spec} if isinstance(spec, str) else dict(spec)
        if spec.pop("workspace", False):
            base = ws_deps.get(dep_name)
            if base is None:
                raise ManifestError(f"workspace dependency {dep_name} not in the workspace")
            base = {"version": base} if isinstance(base, str) else dict(base)
            if "path" in base and ws is not None:
                base["path"] = str((Path(ws["__dir__"]) / base["path"]).resolve())
            extra_features = spec.pop("features", [])
            base.update(spec)
            base["features"] = list(base.get("features", [])) + list(extra_features)
            spec = base
        if "path" not in spec and spec.get("package", dep_name) in patched:
            # [patch.crates-io] points it at a crate of the tree (actix-web's workspace
            # does so for its own crates): that crate, whatever its version.
            spec["path"] = patched[spec.get("package", dep_name)]
            spec.pop("version", None)
        if "path" in spec:
            spec["path"] = str((crate_dir / spec["path"]).resolve())
        spec.pop("git", None)
        spec.pop("branch", None)
        spec.pop("rev", None)
        spec.pop("tag", None)
        if relax_versions and "path" not in spec and isinstance(spec.get("version"), str):
            spec["version"] = relax_requirement(spec["version"])
        deps[dep_name] = spec

    # Features: the closure of `default` decides which optional dependencies stay.
    features: dict[str, list[str]] = {k: list(v) for k, v in data.get("features", {}).items()}
    enabled: set[str] = set()
    stack = (["default"] if "default" in features else []) + \
        [feat for feat in enable if feat in features]
    # A feature asked of this crate that is not in its table is an optional dependency's
    # implicit one: the dependency is used.
    used_optional: set[str] = {feat for feat in enable if feat not in features and
                               deps.get(feat, {}).get("optional")}
    while stack:
        feat = stack.pop()
        if feat in enabled:
            continue
        enabled.add(feat)
        for entry in features.get(feat, []):
            head = entry.split("/")[0].rstrip("?").removeprefix("dep:")
            if entry in features and not entry.startswith("dep:"):
                stack.append(entry)
            elif head in deps and "?/" not in entry:  # `dep?/feat` does not enable `dep`
                used_optional.add(head)
    # Implicit features of optional dependencies used without `dep:` never get enabled here.
    kept_deps = {k: v for k, v in deps.items() if not v.get("optional") or k in used_optional}
    out_features: dict[str, list[str]] = {}
    for feat, entries in features.items():
        if feat not in enabled:
            out_features[feat] = []
            continue
        keep = []
        for entry in entries:
            head = entry.split("/")[0].rstrip("?").removeprefix("dep:")
            if entry in features or head in kept_deps:
                keep.append(entry)
        out_features[feat] = keep

    lib = data.get("lib", {}) if isinstance(data.get("lib"), dict) else {}
    lib_path = lib.get("path") or ("src/lib.rs" if (crate_dir / "src/lib.rs").is_file() else None)
    lib_name = (lib.get("name") or name).replace("-", "_") if lib_path else None
    bins = bin_targets(data, crate_dir)

    lines = ["[package]", f"name = {toml_value(name)}", f"version = {toml_value(version)}",
             f"edition = {toml_value(edition)}", "autotests = false", "autobenches = false",
             "autoexamples = false", "autobins = false"]
    if build_script:
        lines.append(f"build = {toml_value(str(build_field or 'build.rs'))}")
        links = package.get("links")
        if links:
            lines.append(f"links = {toml_value(links)}")
    else:
        lines.append("build = false")
    if lib_path:
        lines += ["", "[lib]", f"path = {toml_value(lib_path)}",
                  f"name = {toml_value(lib_name)}"]
        for key in ("proc-macro", "crate-type"):
            if key in lib:
                lines.append(f"{key} = {toml_value(lib[key])}")
    for bname, bpath in bins:
        lines += ["", "[[bin]]", f"name = {toml_value(bname)}", f"path = {toml_value(bpath)}"]
    lines += ["", "[dependencies]"]
    lines += [f"{_toml_key(k)} = {toml_value(v)}" for k, v in kept_deps.items()]
    if build_script:
        lines += ["", "[build-dependencies]"]
        build_deps = data.get("build-dependencies", {})
        for k, v in build_deps.items():
            v = {"version": v} if isinstance(v, str) else dict(v)
            if relax_versions and "path" not in v and isinstance(v.get("version"), str):
                v["version"] = relax_requirement(v["version"])
            if "path" in v:
                v["path"] = str((crate_dir / v["path"]).resolve())
            lines.append(f"{_toml_key(k)} = {toml_value(v)}")
    if out_features:
        lines += ["", "[features]"]
        lines += [f"{_toml_key(k)} = {toml_value(v)}" for k, v in out_features.items()]
    lints = data.get("lints")
    if isinstance(lints, dict) and lints.get("workspace") is True:
        lints = (ws or {}).get("workspace", {}).get("lints")
    if isinstance(lints, dict) and lints:
        for tool, table in lints.items():
            lines += ["", f"[lints.{_toml_key(tool)}]"]
            lines += [f"{_toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    lines += ["", "[workspace]", ""]
    dep_names = sorted(k.replace("-", "_") for k in kept_deps)  # the key is the name in code
    return CrateManifest(
        name=name, edition=edition, version=version, lib_name=lib_name, lib_path=lib_path,
        bins=bins, features=sorted(enabled - {"default"} | ({"default"} & enabled)),
        all_features=sorted(features), dependencies=dep_names, build_script=build_script,
        has_lints=bool(lints), text="\n".join(lines), package=package)


def harness_manifests(crate: Path, root: Path, relax_versions: bool = False
                      ) -> dict[Path, CrateManifest]:
    """Harness manifests (harness_manifest) for the crate (the first) and every path
    dependency it reaches inside `root`, by resolved folder; a path
    dependency's with the features its dependents ask of it. Each is a workspace of its own,
    so the path dependencies get one too: a member that inherits from the workspace's
    manifest would otherwise find the crate's harness manifest there. A path dependency
    whose manifest cannot be rewritten keeps its own."""
    root = root.resolve()
    manifests: dict[Path, CrateManifest] = {}
    asked: dict[Path, set[str]] = defaultdict(set)  # features dependents ask of a folder
    todo = [crate.resolve()]
    while todo:
        folder = todo.pop()
        try:
            manifest = harness_manifest(folder, root, relax_versions,
                                        enable=sorted(asked[folder]))
        except ManifestError:
            if folder == crate.resolve():
                raise
            continue
        manifests[folder] = manifest
        data = tomllib.loads(manifest.text)
        # Features this crate's enabled ones turn on in a dependency (`dep/feat`,
        # `dep?/feat`; its harness [features] keeps only enabled features' entries).
        turned_on: dict[str, set[str]] = defaultdict(set)
        for entries in (data.get("features") or {}).values():
            for entry in entries:
                name, slash, feature = entry.partition("/")
                if slash:
                    turned_on[name.rstrip("?").removeprefix("dep:")].add(feature)
        for table in ("dependencies", "build-dependencies"):
            for name, spec in (data.get(table) or {}).items():
                if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
                    continue
                path = Path(spec["path"])
                if not path.is_relative_to(root) or not (path / "Cargo.toml").is_file():
                    continue
                features = {f for f in spec.get("features", []) if isinstance(f, str)}
                features |= turned_on.get(name, set())
                if path not in manifests or not features <= asked[path]:
                    asked[path] |= features  # written (again) with them
                    todo.append(path)
    # A path dependency in a folder below another crate's would be a member of that crate's
    # workspace (cargo makes it one) and the root of its own: excluded from the first.
    for folder, manifest in manifests.items():
        nested = sorted(str(other.relative_to(folder)) for other in manifests
                        if other != folder and other.is_relative_to(folder))
        if nested and manifest.text.endswith("\n[workspace]\n"):
            manifest.text += f"exclude = {toml_value(nested)}\n"
    return manifests


def registry_wants(manifests: dict[Path, CrateManifest]) -> dict[str, set[str]]:
    """The registry crates harness manifests depend on directly (build-dependencies too),
    each with the version requirements asked of it ("*" where none is given)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for manifest in manifests.values():
        data = tomllib.loads(manifest.text)
        for table in ("dependencies", "build-dependencies"):
            for name, spec in (data.get(table) or {}).items():
                if isinstance(spec, dict) and "path" not in spec:
                    wanted[str(spec.get("package", name))].add(str(spec.get("version", "*")))
    return dict(wanted)


def registry_lacks(manifests: dict[Path, CrateManifest], registry: Path | None) -> list[str]:
    """The registry crates the harness manifests depend on directly that `registry` holds no
    release of, or none that meets a requirement (Debian's are often older than a history's
    HEAD asks): cargo names the first it cannot resolve and stops, these are all of them,
    without a cargo run. None listed without a registry or one that cannot be listed."""
    releases = registry_releases(registry) if registry is not None else None
    if releases is None:
        return []
    return sorted(name for name, requirements in registry_wants(manifests).items()
                  if name not in releases or not all(
                      any(meets(version, req) for version in releases[name])
                      for req in requirements))


_RELEASE_FOLDER = re.compile(r"(.+?)-(\d+\.\d+\.\d+\S*)")
_VERSION = re.compile(r"(\d+)(?:\.(\d+|\*|x))?(?:\.(\d+|\*|x))?")
_COMPARATOR = re.compile(r"\s*(\^|~|=|>=|>|<=|<)?\s*(.+?)\s*")


def _version(text: str) -> tuple[int, int, int] | None:
    """A release's version (a pre-release counts as its release)."""
    match = _VERSION.match(text.strip())
    if not match or not all((g or "0").isdigit() for g in match.groups()):
        return None
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


def meets(version: tuple[int, int, int] | None, requirement: str) -> bool:
    """Whether a release meets a cargo version requirement (`1.2`, `^0.4.3`, `~1.2`, `=1.0.5`,
    `>=1.2, <2`, `1.*`, `*`). An unknown version or a requirement not understood meets it:
    cargo then decides."""
    if version is None:
        return True
    for part in requirement.split(","):
        match = _COMPARATOR.fullmatch(part)
        if not match or match.group(2) == "*":
            continue
        op, text = match.group(1) or "^", match.group(2)
        found = _VERSION.fullmatch(text.split("-", 1)[0].split("+", 1)[0])
        if not found:
            continue
        given = [g for g in found.groups() if g is not None and g.isdigit()]
        if len(given) < len([g for g in found.groups() if g is not None]):
            op = "~" if op in ("^", "=") else op  # `1.*`: the parts before the wildcard
        padded = [int(g) for g in given] + [0] * (3 - len(given))
        low = (padded[0], padded[1], padded[2])
        if op in ("^", "~", "="):
            if op == "=" and len(given) == 3:
                high = (low[0], low[1], low[2] + 1)
            elif op == "~" or op == "=":
                high = (low[0] + 1, 0, 0) if len(given) == 1 else (low[0], low[1] + 1, 0)
            else:  # caret: the leftmost part given that is not zero may not change
                nonzero = next((i for i, g in enumerate(given) if int(g)), len(given) - 1)
                high = ((low[0] + 1, 0, 0), (low[0], low[1] + 1, 0),
                        (low[0], low[1], low[2] + 1))[nonzero]
            if not low <= version < high:
                return False
        else:
            # Only the parts given count (`<=1.2` is `<1.3.0`, `>1.2` is `>=1.3.0`); a
            # release's pre-release part is not kept, so against a requirement with one the
            # strict comparisons are taken loosely (`>1.0.0-rc.1` holds for 1.0.0-rc.2).
            head, bound = version[:len(given)], tuple(int(g) for g in given)
            loose = "-" in text
            if not {">=": version >= low, ">": version >= low if loose else head > bound,
                    "<=": head <= bound, "<": version <= low if loose else version < low}[op]:
                return False
    return True


@lru_cache(maxsize=4)
def registry_releases(registry: Path) -> dict[str, list[tuple[int, int, int] | None]] | None:
    """The releases an offline registry folder holds, by crate name: Debian's folders are
    `<name>-<version>`, `cargo vendor`'s `<name>` (its manifest gives the version) or
    `<name>-<version>` where it holds several. None when it cannot be listed (cargo's own
    error then says why). Cached per process (`_registry_gained` in samples.py clears it
    when a lacked crate's folders changed); registry_folders is the uncached listing."""
    folders = registry_folders(registry)
    if folders is None:
        return None
    return {name: [_version(match.group(2)) if (match := _RELEASE_FOLDER.fullmatch(folder))
                   else _manifest_version(registry / folder) for folder in held]
            for name, held in folders.items()}


def _manifest_version(crate: Path) -> tuple[int, int, int] | None:
    try:
        package = tomllib.loads((crate / "Cargo.toml").read_text("utf-8")).get("package", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    version = package.get("version") if isinstance(package, dict) else None
    return _version(version) if isinstance(version, str) else None


def registry_folders(registry: Path) -> dict[str, list[str]] | None:
    """An offline registry's release folders by crate name, sorted, listed now (not cached:
    what a registry held for rustdoc's runs is compared with what it holds later)."""
    folders = _registry_folders(registry)
    if folders is None:
        return None
    by_name: dict[str, list[str]] = defaultdict(list)
    for folder in sorted(folders):
        match = _RELEASE_FOLDER.fullmatch(folder)
        by_name[match.group(1) if match else folder].append(folder)
    return dict(by_name)


def _registry_folders(registry: Path) -> list[str] | None:
    try:
        return [entry.name for entry in registry.iterdir() if entry.is_dir()]
    except OSError:
        return None


def write_manifests(manifests: dict[Path, CrateManifest]) -> None:
    """Put harness manifests in place, each folder's lockfile removed (it is resolved again
    offline)."""
    for folder, manifest in manifests.items():
        (folder / "Cargo.toml").write_text(manifest.text, encoding="utf-8")
        (folder / "Cargo.lock").unlink(missing_ok=True)


def missing_crates(cargo_stderr: str) -> list[str]:
    """The crates an offline resolution could not find, from cargo's error text."""
    found = re.findall(r"no matching package named `([^`]+)`|"
                       r"failed to select a version for the requirement `([^`]+)`",
                       cargo_stderr)
    # The second form quotes the requirement whole (`syn = "^2"`): its name comes first.
    return sorted({(a or b).split(" ", 1)[0] for a, b in found})


def allowed_extern_crates(manifest: CrateManifest) -> set[str]:
    """Crate names a candidate may name in `extern crate`: std's and the declared ones."""
    names = set(_STD_CRATES) | set(manifest.dependencies)
    if manifest.lib_name:
        names.add(manifest.lib_name)
    return names
