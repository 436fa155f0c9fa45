"""Does a candidate compile? One Checker per worker process, reused across targets.

Two backends with the same semantics -- every lib and bin target of the crate is checked
(`cargo check --lib --bins`; with `--tests` where the target is test code):

* `cargo`: the harness manifest (dataset_builder/cargo_manifest.py), a private CARGO_HOME
  whose crates.io is an offline registry, a lockfile regenerated offline once per commit, a
  target folder per worker (dependencies are compiled once), `--message-format=json`;
* `rustc` (fast path, crates with no dependencies, build script or [lints]): `rustc
  --emit=metadata` on the lib root, then each bin root with `--extern` of that metadata, with
  the environment, cfgs and check-cfgs cargo would pass. bench/compile.py measures that its
  verdicts agree with one-by-one `cargo check`.

Before any candidate, `prepare` checks the target itself: the untouched original must build,
and a planted type error inside the target must be reported in the target's file (else the
target is not type-checked in that mode: cfg'd out, test-only, or in a file no crate target
includes). Targets that fail either are excluded with a counted reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from analysis import candidates as cands
from analysis.sandbox import KILLS, Limits, RunResult, run_sandboxed, sandbox_env
from analysis.targets import Target, candidate_files
from dataset_builder.cargo_manifest import (
    CrateManifest,
    ManifestError,
    allowed_extern_crates,
    cargo_home,
    harness_manifests,
    missing_crates,
    registry_lacks,
    write_manifests,
)
from dataset_builder.gitio import extract_tree

MODES = ("normal", "test")
_NOT_LIB_OR_BIN = frozenset({"tests", "benches", "examples"})


def package_dir(tree: Path, path: str) -> str:
    """The folder (relative to the tree) of the nearest Cargo.toml with a [package] above path."""
    parts = path.split("/")[:-1]
    while True:
        folder = "/".join(parts)
        manifest = tree / folder / "Cargo.toml" if folder else tree / "Cargo.toml"
        if manifest.is_file():
            try:
                text = manifest.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            if re.search(r"^\s*\[(package|project)\]", text, re.M):
                return folder
        if not parts:
            return ""
        parts.pop()


@cache
def toolchain() -> dict[str, str]:
    """Absolute rustc and cargo of the default toolchain (skips the rustup proxy per call)."""
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True,
                             check=True).stdout.strip()
    rustc = str(Path(sysroot) / "bin" / "rustc")
    cargo = str(Path(sysroot) / "bin" / "cargo")
    version = subprocess.run([rustc, "--version"], capture_output=True, text=True).stdout.strip()
    return {"rustc": rustc if Path(rustc).exists() else "rustc",
            "cargo": cargo if Path(cargo).exists() else "cargo", "version": version}


def limits_problem(limits: Limits, rustc: str) -> tuple[str, str] | None:
    """Why `rustc` cannot compile an empty library within `limits` (what each target's
    compile runs under), and the sandbox's kill ("" when none), or None. Limits this small
    would exclude every target as one that does not build."""
    with tempfile.TemporaryDirectory(prefix="ferric-limits-") as tmp:
        (Path(tmp) / "lib.rs").write_text("pub fn probe() {}\n")
        result = run_sandboxed([rustc, "--edition", "2021", "--crate-type", "lib",
                                "--emit=metadata", "lib.rs"], Path(tmp), limits, sandbox_env())
    if result.returncode == 0:
        return None
    last_line = (result.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
    why = result.killed_by or last_line[:200] or (
        f"killed by {signal.Signals(-result.returncode).name}" if result.returncode < 0
        else f"exit code {result.returncode}")
    return f"rustc cannot compile an empty library within these limits ({why})", \
        result.killed_by


@dataclass
class Verdict:
    compiled: bool
    errors: list[dict[str, Any]] = field(default_factory=list)  # {code, file, line, message}
    failure: str = ""  # "", "compile_error", "timeout", "memory", "output", "rejected:<why>"...
    seconds: float = 0.0

    @property
    def codes(self) -> list[str]:
        return [e["code"] for e in self.errors]


@dataclass
class Preparation:
    ok: bool
    reason: str = ""  # exclusion reason when not ok
    mode: str = "normal"
    backend: str = ""
    detail: str = ""


def classify(diag: dict[str, Any]) -> str:
    code = (diag.get("code") or {}).get("code") if diag.get("code") else None
    if code:
        return str(code)
    message = str(diag.get("message", ""))
    if re.search(r"expected .*found|expected one of|unexpected |unclosed delimiter|"
                 r"mismatched closing delimiter|this file contains an unclosed|unterminated|"
                 r"expected (item|expression|identifier|type|pattern|`)", message):
        return "parse"
    return "other"


def _diagnostics(stream: bytes, wrapped: bool) -> list[dict[str, Any]]:
    errors = []
    for line in stream.splitlines():
        if not line.startswith(b"{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if wrapped:
            if obj.get("reason") != "compiler-message":
                continue
            obj = obj.get("message", {})
        level = obj.get("level", "")
        if not str(level).startswith("error"):
            continue
        message = str(obj.get("message", ""))
        if message.startswith(("aborting due to", "could not compile")):
            continue
        spans = [s for s in obj.get("spans", []) if s.get("is_primary")] or obj.get("spans", [])
        file = spans[0]["file_name"] if spans else ""
        line_no = spans[0]["line_start"] if spans else 0
        errors.append({"code": classify(obj), "file": file, "line": line_no,
                       "message": message[:300]})
    return errors


class Checker:
    """Checks candidates for targets, one commit's crate at a time, in its own work folder."""

    def __init__(self, work: Path, registry: Path | None, limits: Limits | None = None,
                 backend: str = "auto", relax_versions: bool = False) -> None:
        self.work = work
        self.registry = registry
        self.limits = limits or Limits()
        self.backend = backend
        self.relax_versions = relax_versions
        self.work.mkdir(parents=True, exist_ok=True)
        self.tools = toolchain()
        self.home = cargo_home(work / "cargo-home", registry)
        self.tree: Path | None = None
        self.key: tuple[str, str, str] | None = None
        self.manifest: CrateManifest | None = None
        self.manifest_error = ""
        self.lock_error = ""
        self.dirty: dict[str, bytes] = {}  # path -> original bytes, files a check changed
        self._mtime = time.time()

    # --- the crate at a commit -----------------------------------------------------------

    def _fresh_tree(self, target: Target) -> Path:
        # Each worker extracts its own copy (no shared cache: nothing to race on, and disk use
        # stays one tree per worker however many commits the test split spans).
        tree = self.work / "tree"
        shutil.rmtree(tree, ignore_errors=True)
        extract_tree(Path(target.git_dir), target.commit, tree)
        self.key, self.dirty = None, {}
        return tree

    def _enter(self, target: Target) -> None:
        tree = self.work / "tree"
        if self.key is None or self.key[:2] != (target.git_dir, target.commit):
            tree = self._fresh_tree(target)
        key = (target.git_dir, target.commit, package_dir(tree, target.path))
        if key == self.key:
            self._restore()
            return
        if self.key is not None:  # another package of the same commit: start pristine
            tree = self._fresh_tree(target)
        self.tree, self.key, self.dirty = tree, key, {}
        crate = tree / key[2] if key[2] else tree
        self.manifest, self.manifest_error, self.lock_error = None, "", ""
        try:
            # The crate's path dependencies too: a workspace member that inherits from the
            # crate's own manifest would otherwise find the harness manifest there.
            manifests = harness_manifests(crate, tree, self.relax_versions)
        except ManifestError as exc:
            self.manifest_error = str(exc)
            return
        self.manifest = manifests[crate.resolve()]
        write_manifests(manifests)
        if self._backend() == "cargo":
            absent = registry_lacks(manifests, self.registry)
            if absent:
                self.lock_error = "missing:" + ",".join(absent)
                return
            result = self._cargo(["generate-lockfile", "--offline"], crate)
            if result.returncode != 0:
                text = result.stderr.decode("utf-8", "replace")
                names = missing_crates(text)
                self.lock_error = ("missing:" + ",".join(names)) if names else \
                    "lockfile:" + (text.strip().splitlines() or [""])[-1][:200]

    def _crate(self) -> Path:
        assert self.tree is not None and self.key is not None
        return self.tree / self.key[2] if self.key[2] else self.tree

    def _backend(self) -> str:
        if self.backend != "auto":
            return self.backend
        return "rustc" if self.manifest is not None and self.manifest.std_only else "cargo"

    def _write(self, files: dict[str, str]) -> None:
        assert self.tree is not None
        for rel, text in files.items():
            path = self.tree / rel
            if rel not in self.dirty:
                self.dirty[rel] = path.read_bytes() if path.exists() else b""
            self._put(path, text.encode("utf-8"))

    def _put(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        # cargo's freshness check compares mtimes: give every write a strictly newer one.
        self._mtime = max(self._mtime + 0.01, time.time())
        os.utime(path, (self._mtime, self._mtime))

    def _restore(self) -> None:
        assert self.tree is not None
        for rel, data in self.dirty.items():
            self._put(self.tree / rel, data)
        self.dirty = {}

    # --- compiling ----------------------------------------------------------------------

    def _cargo(self, args: list[str], crate: Path) -> RunResult:
        env = sandbox_env({"CARGO_HOME": str(self.home), "RUSTC": self.tools["rustc"],
                           "CARGO_TARGET_DIR": str(self.work / "target")})
        return run_sandboxed([self.tools["cargo"], *args], crate, self.limits, env)

    def _rustc_env(self, crate: Path, crate_name: str, bin_name: str | None) -> dict[str, str]:
        m = self.manifest
        assert m is not None
        version = m.version.split("+")[0]
        core, _, pre = version.partition("-")
        parts = [*core.split("."), "0", "0", "0"][:3]
        pkg = m.package
        authors = pkg.get("authors", [])
        env = {
            "CARGO": self.tools["cargo"], "CARGO_MANIFEST_DIR": str(crate),
            "CARGO_MANIFEST_PATH": str(crate / "Cargo.toml"), "CARGO_PKG_NAME": m.name,
            "CARGO_PKG_VERSION": m.version, "CARGO_PKG_VERSION_MAJOR": parts[0],
            "CARGO_PKG_VERSION_MINOR": parts[1], "CARGO_PKG_VERSION_PATCH": parts[2],
            "CARGO_PKG_VERSION_PRE": pre, "CARGO_CRATE_NAME": crate_name,
            "CARGO_PKG_AUTHORS": ":".join(authors) if isinstance(authors, list) else "",
            "CARGO_PRIMARY_PACKAGE": "1",
        }
        for key in ("description", "homepage", "repository", "license", "license-file",
                    "rust-version", "readme"):
            value = pkg.get(key, "")
            env["CARGO_PKG_" + key.upper().replace("-", "_")] = \
                value if isinstance(value, str) else ""
        if bin_name is not None:
            env["CARGO_BIN_NAME"] = bin_name
        return sandbox_env(env)

    def _rustc_args(self) -> list[str]:
        m = self.manifest
        assert m is not None
        args: list[str] = []
        for feat in m.features:
            args += ["--cfg", f'feature="{feat}"']
        values = ", ".join(f'"{f}"' for f in m.all_features)
        args += ["--check-cfg", "cfg(docsrs,test)",
                 "--check-cfg", f"cfg(feature, values({values}))"]
        return args

    def _compile_rustc(self, mode: str) -> tuple[bool, list[dict[str, Any]], str, float]:
        m = self.manifest
        assert m is not None
        crate = self._crate()
        out = self.work / "rmeta"
        out.mkdir(exist_ok=True)
        rustc = self.tools["rustc"]
        base = [rustc, "--edition", m.edition, "--error-format=json", "--emit=metadata",
                "-C", "debuginfo=0", *self._rustc_args()]
        inc = self.work / "incremental"  # like cargo's dev profile: ~3x faster re-checks

        def incremental(unit: str) -> list[str]:
            return ["-C", f"incremental={inc / unit}"]

        runs: list[tuple[list[str], dict[str, str]]] = []
        lib_meta = out / f"lib{m.lib_name}.rmeta"
        if m.lib_name and m.lib_path:
            runs.append(([*base, "--crate-type", "lib", "--crate-name", m.lib_name,
                          *incremental("lib"), "-o", str(lib_meta), m.lib_path],
                         self._rustc_env(crate, m.lib_name, None)))
            if mode == "test":
                runs.append(([*base, "--test", "--crate-name", m.lib_name,
                              *incremental("lib-test"), "-o", str(out / "libtest.rmeta"),
                              m.lib_path],
                             self._rustc_env(crate, m.lib_name, None)))
        for bin_name, bin_path in m.bins:
            crate_name = bin_name.replace("-", "_")
            extern = (["--extern", f"{m.lib_name}={lib_meta}", "-L", f"dependency={out}"]
                      if m.lib_name and m.lib_path else [])
            kind = ["--test"] if mode == "test" else ["--crate-type", "bin"]
            runs.append(([*base, *kind, "--crate-name", crate_name, *extern,
                          *incremental(f"bin-{crate_name}-{mode}"),
                          "-o", str(out / f"bin-{crate_name}.rmeta"), bin_path],
                         self._rustc_env(crate, crate_name, bin_name)))
        errors: list[dict[str, Any]] = []
        seconds = 0.0
        for cmd, env in runs:
            result = run_sandboxed(cmd, crate, self.limits, env)
            seconds += result.wall_seconds
            if result.killed_by:
                return False, errors, result.killed_by, seconds
            errors += _diagnostics(result.stderr, wrapped=False)
            if result.returncode != 0:
                if not errors:
                    errors.append({"code": "other", "file": "", "line": 0,
                                   "message": result.stderr.decode("utf-8", "replace")[-300:]})
                return False, errors, "compile_error", seconds
        return True, errors, "", seconds

    def _compile_cargo(self, mode: str) -> tuple[bool, list[dict[str, Any]], str, float]:
        m = self.manifest
        assert m is not None
        args = ["check", "--offline", "--message-format=json", "--quiet"]
        if m.lib_path:
            args.append("--lib")
        if m.bins:
            args.append("--bins")
        if mode == "test":
            args.append("--tests")
        result = self._cargo(args, self._crate())
        if result.killed_by:
            return False, [], result.killed_by, result.wall_seconds
        errors = _diagnostics(result.stdout, wrapped=True)
        if result.returncode != 0:
            if not errors:
                errors.append({"code": "other", "file": "", "line": 0,
                               "message": result.stderr.decode("utf-8", "replace")[-300:]})
            return False, errors, "compile_error", result.wall_seconds
        return True, errors, "", result.wall_seconds

    def _compile(self, mode: str) -> tuple[bool, list[dict[str, Any]], str, float]:
        if self._backend() == "rustc":
            return self._compile_rustc(mode)
        return self._compile_cargo(mode)

    def _relative(self, file: str) -> str:
        """A diagnostic's file name as a path relative to the repository root."""
        crate = self._crate()
        path = Path(file)
        if not path.is_absolute():
            path = crate / path
        try:
            return str(path.resolve().relative_to(self.tree.resolve()))  # type: ignore[union-attr]
        except ValueError:
            return file

    # --- the public steps ----------------------------------------------------------------

    def prepare(self, target: Target) -> Preparation:
        """Exclude targets that cannot be measured; find the mode that type-checks them."""
        self._enter(target)
        if self.manifest is None:
            return Preparation(False, "manifest", detail=self.manifest_error)
        if self.lock_error:
            return Preparation(False, "missing_dependencies", detail=self.lock_error)
        backend = self._backend()
        package = self.key[2] if self.key else ""
        for path in target.paths:
            inner = path[len(package) + 1:] if package else path
            if inner.split("/")[0] in _NOT_LIB_OR_BIN or inner == "build.rs":
                # integration tests, benches, examples, build scripts: not what
                # `cargo check --lib --bins` compiles (and they often need dev-dependencies)
                return Preparation(False, "test_bench_example_or_build_script", backend=backend)
        if cands.degenerate(target.original) and not target.whole_files:
            return Preparation(False, "original_degenerate", backend=backend)
        last_part = target.part == target.parts - 1
        probe_text = target.original
        if target.whole_files:
            probe_files = {p: t + ("" if t.endswith("\n") else "\n") + cands.PROBE_FN
                           for p, t in target.files.items()}
        else:
            probe = cands.probe(target.original, target.kind, last_part)
            if probe is None:
                return Preparation(False, "no_probe_point", backend=backend)
            probe_text = probe
            probe_files = candidate_files(target, probe_text) or {}
        for mode in MODES:
            self._restore()
            ok, errors, failure, _ = self._compile(mode)
            if not ok:
                if mode == "normal":
                    if failure in KILLS:
                        # The limits, not the code: a user's --timeout/--memory-mb too small.
                        return Preparation(False, "original_over_limit", backend=backend,
                                           detail=failure)
                    detail = errors[0]["message"] if errors else failure
                    return Preparation(False, "original_does_not_build", backend=backend,
                                       detail=detail)
                break
            # A failing lib stops cargo before the bins: files the first probe did not reach are
            # probed one by one.
            missing = set(probe_files)
            for batch in [probe_files, *({p: probe_files[p]} for p in sorted(probe_files))]:
                if not missing or not set(batch) & missing:
                    continue
                self._write(batch)
                ok, errors, failure, _ = self._compile(mode)
                self._restore()
                if not ok and not errors:
                    if failure in KILLS:
                        return Preparation(False, "original_over_limit", backend=backend,
                                           detail=f"probe: {failure}")
                    return Preparation(False, "probe_" + (failure or "failed"), backend=backend)
                missing -= {self._relative(e["file"]) for e in errors}
            if not missing:
                return Preparation(True, mode=mode, backend=backend)
        return Preparation(False, "target_not_type_checked", backend=backend)

    def check(self, target: Target, prep: Preparation, candidate: str) -> Verdict:
        """Compile the candidate in place of the target (the target must be prepared)."""
        started = time.perf_counter()
        files = candidate_files(target, candidate)
        if files is None:
            return Verdict(False, failure="rejected:file_layout")
        if cands.degenerate(candidate if not target.whole_files else "\n".join(files.values())):
            return Verdict(False, failure="degenerate")
        if not target.whole_files and cands.missing_item(candidate, target.original, target.kind):
            return Verdict(False, failure="missing_item")
        self._enter(target)
        assert self.manifest is not None and self.key is not None
        package = self.key[2]
        for rel, text in files.items():
            inner = rel[len(package) + 1:] if package else rel
            original = target.files.get(rel, "")
            # what the original file itself does is trusted; only the candidate is checked
            allowed_includes = {a.strip() for a in cands.include_arguments(original)}
            allowed_crates = allowed_extern_crates(self.manifest) | cands.extern_crates(original)
            written = candidate if not target.whole_files else text
            why = cands.rejection(written, str(Path(inner).parent).removeprefix("."),
                                  allowed_includes, allowed_crates)
            if why:
                return Verdict(False, failure="rejected:" + why)
        self._write(files)
        ok, errors, failure, _ = self._compile(prep.mode)
        self._restore()
        for err in errors:
            err["file"] = self._relative(err["file"])
        return Verdict(ok, errors, "" if ok else failure,
                       seconds=time.perf_counter() - started)

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
