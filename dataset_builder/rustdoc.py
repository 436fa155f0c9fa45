"""Compiler-resolved type facts from the nightly toolchain's rustdoc JSON.

At chosen snapshots the crate is materialised from git into a temporary folder and documented
with `cargo +nightly rustdoc --offline --lib -- -Zunstable-options --output-format json
--document-private-items` (`--bin NAME`, its main binary, for a package without a library).
Functions and methods in the JSON are matched to mined items by file, line and name, and their
signatures rendered with full paths (`crate::token::Token`, `core::option::Option`). When the
crate does not build offline (missing dependencies, no nightly, neither a library nor a
binary target, a timeout) nothing is invented: the reason is returned and counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from dataset_builder.cargo_manifest import (
    ManifestError,
    bin_targets,
    cargo_home,
    harness_manifests,
    missing_crates,
    registry_lacks,
    write_manifests,
)
from dataset_builder.gitio import RepoError, extract_tree, missing_blobs

TIMEOUT_S = 300
POLL_S = 0.1  # how often a running cargo looks for a cancel
PROBE_TIMEOUT_S = 60  # `cargo +nightly --version`
# The crate's own manifests, or harness manifests written for the build (see rustdoc_facts).
MANIFESTS = ("own", "harness")


@dataclass
class RustdocFacts:
    """Resolved signatures of one crate at one snapshot, keyed by (path, line, name)."""

    snapshot: str
    crate_dir: str
    signatures: dict[tuple[str, int, str], str] = field(default_factory=dict)
    format_version: int = 0
    manifest: str = "own"  # what cargo built it with (MANIFESTS)

    def lookup(self, path: str, start_line: int, end_line: int, name: str) -> str | None:
        for line in range(start_line, end_line + 1):
            found = self.signatures.get((path, line, name))
            if found is not None:
                return found
        return None


def _args(args: Any, paths: dict[str, Any]) -> str:
    if not args or "angle_bracketed" not in args:
        return ""
    rendered = []
    for arg in args["angle_bracketed"].get("args", []):
        if "type" in arg:
            rendered.append(render_type(arg["type"], paths))
        elif "lifetime" in arg:
            rendered.append(str(arg["lifetime"]))
        elif "const" in arg:
            rendered.append(str(arg["const"].get("expr", "_")))
    for constraint in args["angle_bracketed"].get("constraints", []):
        binding = constraint.get("binding", {})
        if "equality" in binding and "type" in binding["equality"]:
            rendered.append(f"{constraint['name']} = "
                            f"{render_type(binding['equality']['type'], paths)}")
    return f"<{', '.join(rendered)}>" if rendered else ""


def _path_name(entry: dict[str, Any], paths: dict[str, Any]) -> str:
    known = paths.get(str(entry.get("id")))
    if known and known.get("path"):
        return "::".join(known["path"])
    return str(entry.get("path") or entry.get("name") or "_")


def render_type(ty: Any, paths: dict[str, Any]) -> str:
    """A rustdoc JSON type as Rust source text, paths resolved through the `paths` table."""
    if not isinstance(ty, dict) or not ty:
        return "_"
    kind, value = next(iter(ty.items()))
    if kind == "resolved_path":
        return _path_name(value, paths) + _args(value.get("args"), paths)
    if kind in ("primitive", "generic"):
        return str(value)
    if kind == "borrowed_ref":
        life = f"{value['lifetime']} " if value.get("lifetime") else ""
        mut = "mut " if value.get("is_mutable") else ""
        return f"&{life}{mut}{render_type(value.get('type'), paths)}"
    if kind == "raw_pointer":
        mut = "mut" if value.get("is_mutable") else "const"
        return f"*{mut} {render_type(value.get('type'), paths)}"
    if kind == "tuple":
        return "(" + ", ".join(render_type(t, paths) for t in value) + ")"
    if kind == "slice":
        return f"[{render_type(value, paths)}]"
    if kind == "array":
        return f"[{render_type(value.get('type'), paths)}; {value.get('len', '_')}]"
    if kind in ("impl_trait", "dyn_trait"):
        bounds = value if kind == "impl_trait" else value.get("traits", [])
        names = []
        for bound in bounds:
            trait = bound.get("trait_bound", {}).get("trait") or bound.get("trait")
            if trait:
                names.append(_path_name(trait, paths) + _args(trait.get("args"), paths))
        prefix = "impl " if kind == "impl_trait" else "dyn "
        return prefix + (" + ".join(names) or "_")
    if kind == "qualified_path":
        self_type = render_type(value.get("self_type"), paths)
        return f"{self_type}::{value.get('name', '_')}"
    if kind == "function_pointer":
        return "fn(..)"
    return "_"


def _signature(name: str, function: dict[str, Any], paths: dict[str, Any]) -> str:
    sig = function.get("sig") or function.get("decl") or {}
    inputs = []
    for param in sig.get("inputs", []):
        pname, ptype = param[0], param[1]
        rendered = render_type(ptype, paths)
        if pname == "self" and rendered in ("Self", "&Self", "&mut Self"):
            inputs.append(rendered.replace("Self", "self"))
        else:
            inputs.append(f"{pname}: {rendered}")
    output = sig.get("output")
    ret = f" -> {render_type(output, paths)}" if output else ""
    return f"fn {name}({', '.join(inputs)}){ret}"


def parse_rustdoc_json(data: dict[str, Any], snapshot: str, workspace_dir: str
                       ) -> RustdocFacts:
    """Signatures by (path in the repository, line, name); `workspace_dir`: the folder of the
    workspace cargo documented the crate in (its file names are relative to it)."""
    facts = RustdocFacts(snapshot, workspace_dir,
                         format_version=int(data.get("format_version", 0)))
    paths = data.get("paths", {})
    prefix = f"{workspace_dir}/" if workspace_dir else ""
    for item in data.get("index", {}).values():
        inner = item.get("inner") or {}
        function = inner.get("function")
        span = item.get("span")
        name = item.get("name")
        if not function or not span or not name or item.get("crate_id", 0) != 0:
            continue
        line = int(span["begin"][0])
        key = (prefix + span["filename"], line, name)
        facts.signatures[key] = _signature(name, function, paths)
    return facts


@lru_cache(maxsize=1)
def _toolchain_ok() -> str | None:
    if shutil.which("cargo") is None:
        return "no_cargo"
    try:  # rustup may try to fetch a missing toolchain: bounded, as every cargo run here
        probe = subprocess.run(["cargo", "+nightly", "--version"], capture_output=True,
                               text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "nightly_probe_timeout"
    if probe.returncode != 0:
        return "no_nightly"
    return None


# cargo, and the rustdoc and rustc processes it starts, end with the build even when the build
# is killed with kill -9 (no cleanup of its own runs then): cargo runs under a shell that the
# kernel sends SIGTERM when the thread that started it dies (setpriv's --pdeathsig, Linux),
# and that then kills its process group, which it leads.
_GROUP_GUARD = 'trap "kill -KILL 0" TERM; "$@" & wait $!'


def _guarded(cmd: list[str]) -> list[str]:
    """`cmd` run under the group guard where setpriv is found (util-linux), else as is."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or not sys.platform.startswith("linux"):
        return cmd
    return [setpriv, "--pdeathsig", "TERM", "--", "sh", "-c", _GROUP_GUARD, "sh", *cmd]


def _run_cargo(cmd: list[str], cwd: Path, env: dict[str, str],
               cancel: threading.Event | None) -> tuple[int, str] | str:
    """(exit code, stderr) of cargo, or "timeout" or "cancelled". cargo runs in a process
    group of its own, so that a timeout or a cancel stops the rustc processes it started too
    (a cancelled build would otherwise wait for them: a dependency can take minutes). Its
    stderr goes to a file and its exit is what is waited for: a process it leaves behind
    (a compiler cache's server, say) may hold a pipe open long after cargo has finished."""
    if cancel is not None and cancel.is_set():
        return "cancelled"
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(_guarded(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, process_group=0)
        deadline = time.monotonic() + TIMEOUT_S
        outcome = "timeout"
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    returncode = proc.wait(timeout=min(left, POLL_S) if cancel else left)
                except subprocess.TimeoutExpired:
                    if cancel is not None and cancel.is_set():
                        outcome = "cancelled"
                        break
                    continue
                err.seek(0)
                return returncode, err.read()
        finally:
            if proc.returncode is None:  # timed out, cancelled, or this thread was interrupted
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return outcome


def _manifest(folder: Path) -> dict[str, Any] | None:
    """folder/Cargo.toml as TOML, or None when it is missing or cannot be read."""
    try:
        return tomllib.loads((folder / "Cargo.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def has_lib_target(crate: Path, data: dict[str, Any] | None = None) -> bool:
    """Whether cargo finds a library target in the package at `crate`: a `[lib]` section, or
    src/lib.rs unless `autolib = false`. A manifest that cannot be read is left to cargo to
    explain. `data`: its manifest, read already."""
    data = data if data is not None else _manifest(crate)
    if data is None:
        return True
    package = data.get("package")
    if "lib" in data or not isinstance(package, dict):
        return True
    return package.get("autolib", True) is not False and (crate / "src" / "lib.rs").is_file()


def doc_target(crate: Path) -> list[str] | None:
    """cargo rustdoc's target for the package at `crate` (it documents one target a run):
    its library (`--lib`), else its main binary (`--bin NAME`: the one at src/main.rs, else
    the one named after the package, else the first), else None. Without a target cargo
    fails at once, so it is not started (the Rust book's 350 listings without one took 35 s of
    cargo start-ups). An application's items are in its binary: lsd, hyperfine and delta
    have no library target."""
    data = _manifest(crate)
    if data is None or has_lib_target(crate, data):
        return ["--lib"]
    bins = bin_targets(data, crate)
    if not bins:
        return None
    package = data.get("package")
    name = package.get("name") if isinstance(package, dict) else None
    main = next((b for b, path in bins if path == "src/main.rs"), None) or \
        next((b for b, _ in bins if b == name), None) or bins[0][0]
    return ["--bin", main]


def _workspace_dir(crate: Path, tree: Path, env: dict[str, str] | None = None) -> Path:
    """The folder of the workspace `crate` belongs to. With `env`, cargo's answer (`cargo
    locate-project --workspace`: it honours a workspace's `exclude` and a package's
    `workspace` key) where it gives one inside the tree. Else the nearest folder from the
    crate up to the tree's root whose Cargo.toml has a `[workspace]` table, or the crate
    itself (a package of its own)."""
    if env is not None:
        try:
            located = subprocess.run(
                ["cargo", "+nightly", "locate-project", "--workspace", "--message-format",
                 "plain", "--offline"], cwd=crate, env=env, capture_output=True, text=True,
                timeout=PROBE_TIMEOUT_S)
            folder = Path(located.stdout.strip()).parent  # cargo's paths are canonical
            if located.returncode == 0 and folder.is_relative_to(tree.resolve()):
                return tree / folder.relative_to(tree.resolve())
        except (OSError, subprocess.TimeoutExpired):
            pass
    folder = crate
    while True:
        if "workspace" in (_manifest(folder) or {}):
            return folder
        if folder == tree or folder.parent == folder:
            return crate
        folder = folder.parent


def _workspace_key(crate: Path, tree: Path) -> str:
    """A folder name for the workspace `crate` belongs to (_workspace_dir)."""
    folder = _workspace_dir(crate, tree)
    relative = str(folder.relative_to(tree)) if folder.is_relative_to(tree) else str(folder)
    return hashlib.sha256(relative.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@lru_cache(maxsize=4)
def _missing_blobs(git_dir: Path, snapshot: str) -> tuple[str, ...]:
    """missing_blobs of a snapshot, listed once for all its crates that fail (a tree listing
    and a check of every blob each time otherwise); none when they cannot be listed."""
    try:
        return tuple(missing_blobs(git_dir, snapshot))
    except (RepoError, subprocess.CalledProcessError):  # the tree cannot be listed
        return ()


def _lacks_sources(git_dir: Path, snapshot: str, crate_dir: str) -> bool:
    """Whether the repository lacks a file cargo may have needed for the crate: one in its
    src/ folder, or a Rust file or cargo manifest anywhere (a path dependency, the
    workspace's Cargo.toml). extract_tree left such files out; a missing video or image
    elsewhere (nom's mirror lacks an .mp4) does not explain a failed build."""
    missing = _missing_blobs(git_dir, snapshot)
    sources = f"{crate_dir}/src/" if crate_dir else "src/"
    return any(path.startswith(sources) or path.endswith(".rs")
               or path.rsplit("/", 1)[-1] in ("Cargo.toml", "Cargo.lock") for path in missing)


def rustdoc_facts(git_dir: Path, snapshot: str, crate_dir: str, cache_dir: Path,
                  tree: Path | None = None, cancel: threading.Event | None = None,
                  target_dir: Path | None = None, registry: Path | None = None,
                  missing: list[str] | None = None, scratch_prefix: str = "ferric-rustdoc-"
                  ) -> tuple[RustdocFacts | None, str]:
    """Document the crate in `crate_dir` ("" = repository root) at `snapshot`. Returns the facts
    or None, and "ok" or the reason it failed. Results are cached in `cache_dir` by snapshot.
    `tree`: the snapshot's tree already extracted there (by a caller documenting several
    crates of one snapshot), else it is extracted for this call. `cancel`: once set, a cargo
    run in progress is killed and the reason is "cancelled". `target_dir`: a folder for
    cargo's target folders, one per workspace, shared by the members of a workspace so that
    the dependencies they share are built once (else one of this call's own).

    The crate is documented with its own manifests first (what a user's cargo cache can
    build). When cargo cannot resolve their dependencies offline (a dev-dependency is enough),
    it is documented again with harness manifests (`_with_harness`), against `registry` (an
    offline registry: Debian's, a `cargo vendor` folder) when one is given. `missing`, when
    given, receives the crates that second resolution could not find. `scratch_prefix`:
    the name prefix of this call's temporary folder."""
    if cancel is not None and cancel.is_set():  # not wanted: not even a cached result
        return None, "cancelled"
    # The crate folder hashed: `root` and the repository's root, or `a/b` and `a_b`, differ.
    folder_hash = hashlib.sha256(crate_dir.encode("utf-8", "surrogateescape")).hexdigest()
    tag = f"{snapshot}-{folder_hash[:16]}"
    for manifest in MANIFESTS:
        cached = cache_dir / f"{tag}.{manifest}.json"
        if cached.exists():
            saved = json.loads(cached.read_text())
            facts = parse_rustdoc_json(saved["rustdoc"], snapshot, saved["workspace_dir"])
            facts.crate_dir, facts.manifest = crate_dir, manifest
            return facts, "ok"
    reason = _toolchain_ok()
    if reason:
        return None, reason
    if registry is not None:
        registry = registry.resolve()  # cargo reads it from a config file elsewhere
    with tempfile.TemporaryDirectory(prefix=scratch_prefix) as tmp:
        root = tree or Path(tmp) / "src"
        # The whole tree: a workspace member inherits from the workspace's Cargo.toml.
        extracted = not root.exists()
        try:
            extract_tree(git_dir, snapshot, root)  # returns at once when it exists
        except RepoError:
            return None, "git_archive_failed"
        if extracted:
            _touch(root)
        crate = root / crate_dir if crate_dir else root
        if not (crate / "Cargo.toml").exists():
            return None, "no_cargo_toml"
        doc_args = doc_target(crate)
        if doc_args is None:
            return None, "no_lib_or_bin_target"
        # Shared only within a workspace: where cargo tells path dependencies apart by name,
        # version and path within their workspace, two workspaces' own `utils` 0.1.0 could
        # reuse each other's build (not reproduced with the cargo here).
        target = (target_dir / _workspace_key(crate, root)) if target_dir else \
            Path(tmp) / "target"
        env = {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_NET_OFFLINE": "true"}
        ran = _document(crate, target, env, cancel, doc_args)
        manifest = "own"
        if not isinstance(ran, str) and ran[0] != 0 and \
                _failure(ran[1], git_dir, snapshot, crate_dir) == "missing_dependencies":
            manifest = "harness"
            ran = _with_harness(crate, root, target, env, registry, Path(tmp), cancel,
                                missing, doc_args)
        if isinstance(ran, str):
            return None, ran
        returncode, err = ran
        if returncode != 0:
            return None, _failure(err, git_dir, snapshot, crate_dir)
        docs = sorted((target / "doc").glob("*.json"))
        if not docs:
            return None, "no_json_output"
        data = json.loads(docs[0].read_text())
        # rustdoc's file names are relative to the workspace cargo built in: a harness
        # manifest is a workspace of its own, a member's own manifest is in its workspace.
        workspace_dir = crate_dir if manifest == "harness" else \
            _workspace_dir(crate, root, env).relative_to(root).as_posix()
    cache_dir.mkdir(parents=True, exist_ok=True)
    from dataset_builder.atomic import atomic_write_text

    workspace_dir = "" if workspace_dir == "." else workspace_dir
    atomic_write_text(cache_dir / f"{tag}.{manifest}.json",
                      json.dumps({"workspace_dir": workspace_dir, "rustdoc": data}))
    facts = parse_rustdoc_json(data, snapshot, workspace_dir)
    facts.crate_dir, facts.manifest = crate_dir, manifest
    return facts, "ok"


def _touch(tree: Path) -> None:
    """Give a tree extracted from git the time of now. Its files carry the commit's time, and
    cargo tells a path dependency's build is fresh by comparing times: in a target folder
    that an earlier snapshot's build used (rustdoc's runs share one), a crate changed since
    would look older than that build and not be built again."""
    for folder, _, names in os.walk(tree):
        for name in names:
            with contextlib.suppress(OSError):
                os.utime(os.path.join(folder, name), None, follow_symlinks=False)


# Failures of a dependency's compilation (cargo: "could not compile"; the crate documented
# is rustdoc's, which gets --cap-lints itself) that a rustc flag for every crate gets past,
# by what rustc says in an error:
# - a lint denied in a path dependency (`#![deny(warnings)]` in serde, below serde_test);
# - a feature the nightly no longer has, asked by an older registry crate (Debian's
#   proc-macro2 1.0.47 and `proc_macro_span_shrink`: every crate on it failed); such build
#   scripts enable nightly features only where allowed.
_RETRY_FLAGS = (("the lint level is defined here", ("--cap-lints", "warn")),
                ("error[E0635]: unknown feature", ("-Zallow-features=",)))


def _document(crate: Path, target: Path, env: dict[str, str],
              cancel: threading.Event | None, doc_args: list[str]) -> tuple[int, str] | str:
    """cargo rustdoc's JSON of the crate, again with the flags of _RETRY_FLAGS whose failure
    the run shows (each once)."""
    ran = _document_once(crate, target, env, cancel, [], doc_args)
    args: list[str] = []
    while not isinstance(ran, str) and ran[0] != 0 and \
            "error: could not compile" in ran[1]:
        more = [arg for marker, flag in _RETRY_FLAGS
                if flag[0] not in args and _in_an_error(marker, ran[1]) for arg in flag]
        if not more:
            break
        args += more
        retry_env, cargo_args = _with_rustflags(env, args)
        ran = _document_once(crate, target, retry_env, cancel, cargo_args, doc_args)
    return ran


def _in_an_error(marker: str, text: str) -> bool:
    """Whether `marker` is in one of rustc's error diagnostics (not a warning's)."""
    in_error = False
    for line in text.splitlines():
        if line.startswith(("error", "warning")):
            in_error = line.startswith("error")
        if in_error and marker in line:
            return True
    return False


def _with_rustflags(env: dict[str, str], args: list[str]
                    ) -> tuple[dict[str, str], list[str]]:
    """rustc arguments for every crate of the build: the environment, and cargo arguments.
    Added to RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS where the user set one (cargo reads the
    encoded one first); else through `--config build.rustflags`, which cargo merges with
    the repository's own config (RUSTFLAGS would replace it: winit's `--cfg`)."""
    if "CARGO_ENCODED_RUSTFLAGS" in env:
        encoded = "\x1f".join([*filter(None, [env["CARGO_ENCODED_RUSTFLAGS"]]), *args])
        return {**env, "CARGO_ENCODED_RUSTFLAGS": encoded}, []
    if env.get("RUSTFLAGS"):
        return {**env, "RUSTFLAGS": " ".join([env["RUSTFLAGS"], *args])}, []
    return env, ["--config", f"build.rustflags={json.dumps(args)}"]


def _document_once(crate: Path, target: Path, env: dict[str, str],
                   cancel: threading.Event | None, cargo_args: list[str],
                   doc_args: list[str]) -> tuple[int, str] | str:
    """One cargo rustdoc run of the target `doc_args` names (doc_target)."""
    # The JSON of a crate documented before in a shared target folder is not this one's.
    shutil.rmtree(target / "doc", ignore_errors=True)
    # Lints capped at warn: a crate's `#![deny(warnings)]` or
    # `#![deny(rustdoc::broken_intra_doc_links)]` fails the run on doc links that only private
    # items' docs hold (regex-lite), and only the JSON is wanted here.
    cmd = ["cargo", "+nightly", *cargo_args, "rustdoc", "--offline", *doc_args, "-q", "--",
           "-Zunstable-options", "--output-format", "json", "--document-private-items",
           "--cap-lints", "warn"]
    return _run_cargo(cmd, crate, env, cancel)


# A line rustc quotes from the source (`12 | let mode = "offline";`), not one cargo says.
_QUOTED_SOURCE = re.compile(r"\s*(?:\d+\s+[|+~-]|\|)")


def _failure(err: str, git_dir: Path, snapshot: str, crate_dir: str) -> str:
    """Why cargo failed, from its error text (its own lines: a compile error quotes the
    source, which can say anything, "offline" included)."""
    if _lacks_sources(git_dir, snapshot, crate_dir):
        return "missing_blobs"
    err = "\n".join(line for line in err.splitlines() if not _QUOTED_SOURCE.match(line))
    if "no library targets" in err or "no lib target" in err or "no bin target" in err:
        return "no_lib_or_bin_target"
    if "does not have that feature" in err:  # a feature asked of a crate that lacks it
        return "cargo_failed"
    if "failed to select a version" in err or "no matching package" in err or \
            "failed to load source" in err or "--offline" in err:
        return "missing_dependencies"
    return "cargo_failed"


def _with_harness(crate: Path, root: Path, target: Path, env: dict[str, str],
                  registry: Path | None, scratch: Path, cancel: threading.Event | None,
                  missing: list[str] | None, doc_args: list[str]) -> tuple[int, str] | str:
    """Document the crate with harness manifests (no dev-dependencies, no unused optional
    ones, registry versions relaxed to their semver-compatible range) and a lockfile
    resolved offline, against `registry` when given. The tree's own manifests and lockfiles
    are put back afterwards: the other crates of the snapshot are documented from it too."""
    try:
        manifests = harness_manifests(crate, root, relax_versions=True)
    except ManifestError:
        return "manifest_unreadable"
    absent = registry_lacks(manifests, registry)  # all of them (sqlx: 29 crates)
    if absent:
        if missing is not None:
            missing.extend(absent)
        return 101, "".join(f"no matching package named `{name}` found (not in the "
                            f"offline registry)\n" for name in absent)
    saved: dict[Path, bytes | None] = {}
    for folder in manifests:
        for name in ("Cargo.toml", "Cargo.lock"):
            path = folder / name
            saved[path] = path.read_bytes() if path.is_file() else None
    try:
        write_manifests(manifests)
        if registry is not None:
            env = {**env, "CARGO_HOME": str(cargo_home(scratch / "cargo-home", registry))}
        locked = _run_cargo(["cargo", "+nightly", "generate-lockfile", "--offline"],
                            crate, env, cancel)
        if isinstance(locked, str) or locked[0] != 0:
            if missing is not None and not isinstance(locked, str):
                missing.extend(missing_crates(locked[1]))
            return locked
        return _document(crate, target, env, cancel, doc_args)
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
