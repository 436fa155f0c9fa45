"""The checker on a crate built inside the test: both backends, modes, exclusions, attacks."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from analysis.checker import Checker, limits_problem, toolchain
from analysis.sandbox import Limits
from analysis.targets import Target, loc_bucket
from tests.dataset_builder.conftest import git

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None,
                                reason="no Rust toolchain (cargo, rustc) on this machine")

MANIFEST = """[package]
name = "probe-crate"
version = "1.2.3"
edition = "2021"

[dependencies]
missing-optional = { version = "99", optional = true }

[dev-dependencies]
missing-dev = "99"

[features]
default = []
extra = ["dep:missing-optional"]
"""
LIB = """pub mod util;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn add(a: u32, b: u32) -> u32 {
    util::twice(a) + b - a
}

#[cfg(windows)]
pub fn windows_only() -> u8 {
    1
}

#[cfg(test)]
mod tests {
    fn helper() -> u32 {
        super::add(1, 2)
    }

    #[test]
    fn adds() {
        assert_eq!(helper(), 3);
    }
}
"""
UTIL = "pub fn twice(x: u32) -> u32 {\n    x * 2\n}\n"
MAIN = "fn main() {\n    println!(\"{}\", probe_crate::add(1, 2));\n}\n"
DEAD = "pub fn never_compiled() -> u32 {\n    7\n}\n"


CrateRepo = tuple[Path, str]  # (repository, the commit the targets come from)


@pytest.fixture(scope="module")
def crate_repo(tmp_path_factory: pytest.TempPathFactory) -> CrateRepo:
    repo = tmp_path_factory.mktemp("crate") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    files = {"Cargo.toml": MANIFEST, "src/lib.rs": LIB, "src/util.rs": UTIL,
             "src/main.rs": MAIN, "src/dead.rs": DEAD}
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "crate", date=1_700_000_000)
    return repo, git(repo, "rev-parse", "HEAD").strip()


def target(repo_commit: tuple[Path, str], path: str, snippet: str, kind: str = "function"
           ) -> Target:
    repo, commit = repo_commit
    text = (repo / path).read_text()
    start = text.encode().index(snippet.encode())
    loc = len([line for line in snippet.splitlines() if line.strip()])
    return Target(id=f"{path}:{start}", repo="t", git_dir=str(repo / ".git"), commit=commit,
                  crate_dir="", scale="micro", kind=kind, path=path, paths=[path], start=start,
                  end=start + len(snippet.encode()), part=0, parts=1, loc=loc,
                  bucket=loc_bucket(loc), original=snippet, context="", suffix="",
                  type_facts="none", target_tokens=10, files={path: text})


ADD = LIB[LIB.index("pub fn add"):LIB.index("#[cfg(windows)]")].rstrip() + "\n"
HELPER = LIB[LIB.index("    fn helper"):LIB.index("    #[test]")].strip() + "\n"
WINDOWS = LIB[LIB.index("pub fn windows_only"):LIB.index("#[cfg(test)]")].rstrip() + "\n"


@pytest.fixture(params=["rustc", "cargo"])
def checker(request: pytest.FixtureRequest, tmp_path: Path) -> Checker:
    return Checker(tmp_path / "work", None, Limits(wall_seconds=60), backend=request.param)


def test_original_builds_broken_fails_todo_is_degenerate(crate_repo: CrateRepo,
                                                         checker: Checker) -> None:
    t = target(crate_repo, "src/lib.rs", ADD)
    prep = checker.prepare(t)
    assert prep.ok and prep.mode == "normal", prep
    assert checker.check(t, prep, ADD).compiled
    broken = checker.check(t, prep, ADD.replace("util::twice(a) + b - a", "\"x\""))
    assert not broken.compiled and "E0308" in broken.codes
    assert broken.errors[0]["file"] == "src/lib.rs"
    assert checker.check(t, prep, "pub fn add(a: u32, b: u32) -> u32 { todo!() }").failure \
        == "degenerate"
    # a lib change that breaks the bin is a failure too: every lib and bin target is checked
    narrower = checker.check(t, prep, "pub fn add(a: u32) -> u32 {\n    util::twice(a)\n}\n")
    assert not narrower.compiled and narrower.errors[0]["file"] == "src/main.rs"
    # a candidate that does not define the target function fails even where it would compile
    assert checker.check(t, prep, ADD.replace("pub fn add", "pub fn plus")).failure == \
        "missing_item"
    # the worker copy is restored after every check
    assert checker.check(t, prep, ADD).compiled


def test_test_code_is_checked_in_test_mode(crate_repo: CrateRepo, checker: Checker) -> None:
    t = target(crate_repo, "src/lib.rs", HELPER)
    prep = checker.prepare(t)
    assert prep.ok and prep.mode == "test", prep
    assert checker.check(t, prep, HELPER).compiled
    assert not checker.check(t, prep, HELPER.replace("super::add(1, 2)", "1u8")).compiled


def test_code_that_is_never_type_checked_is_excluded(crate_repo: CrateRepo,
                                                     checker: Checker) -> None:
    assert checker.prepare(target(crate_repo, "src/lib.rs", WINDOWS)).reason == \
        "target_not_type_checked"
    assert checker.prepare(target(crate_repo, "src/dead.rs", DEAD)).reason == \
        "target_not_type_checked"


def test_rustc_fast_path_agrees_with_cargo(crate_repo: CrateRepo, tmp_path: Path) -> None:
    fast = Checker(tmp_path / "a", None, backend="rustc")
    slow = Checker(tmp_path / "b", None, backend="cargo")
    t = target(crate_repo, "src/lib.rs", ADD)
    candidates = [ADD, ADD.replace("- a", "- 1u64"), ADD.replace("util::", "crate::util::"),
                  ADD.replace("a: u32", "a: u32,,"), ADD + "\nconst V: &str = VERSION;\n",
                  ADD.replace("u32 {", "u32 {\n    let unused = 1;")]
    p1, p2 = fast.prepare(t), slow.prepare(t)
    assert p1.ok and p2.ok
    verdicts = [(fast.check(t, p1, c).compiled, slow.check(t, p2, c).compiled) for c in candidates]
    assert all(a == b for a, b in verdicts), verdicts
    assert [a for a, _ in verdicts] == [True, False, True, False, True, True]


@pytest.mark.parametrize("attack", [
    'const P: &str = include_str!("/etc/passwd");',
    'const P: &str = include_str!("../../../../etc/passwd");',
    'include!(concat!("/", "etc/passwd"));',
    '#[path = "/etc/passwd"] mod passwd;',
    "extern crate libc;",
])
def test_escapes_are_rejected_before_compiling(crate_repo: CrateRepo, tmp_path: Path,
                                               attack: str) -> None:
    checker = Checker(tmp_path / "w", None, backend="rustc")
    t = target(crate_repo, "src/lib.rs", ADD)
    prep = checker.prepare(t)
    verdict = checker.check(t, prep, attack + "\n" + ADD)
    assert verdict.failure.startswith("rejected:") and verdict.seconds < 1


def test_endless_const_evaluation_is_stopped(crate_repo: CrateRepo, tmp_path: Path) -> None:
    checker = Checker(tmp_path / "w", None, Limits(wall_seconds=3), backend="rustc")
    t = target(crate_repo, "src/lib.rs", ADD)
    prep = checker.prepare(t)
    attack = ADD + "#[allow(long_running_const_eval)]\nconst SPIN: u64 = { let mut i = 0u64; " \
                   "loop { i = i.wrapping_add(1); if i == 0 { break i; } } };\n"
    started = time.perf_counter()
    verdict = checker.check(t, prep, attack)
    assert not verdict.compiled and verdict.failure == "timeout"
    assert time.perf_counter() - started < 15


def test_memory_hungry_candidate_is_stopped(crate_repo: CrateRepo, tmp_path: Path) -> None:
    checker = Checker(tmp_path / "w", None, Limits(wall_seconds=60, memory_bytes=1 << 30),
                      backend="rustc")
    t = target(crate_repo, "src/lib.rs", ADD)
    prep = checker.prepare(t)
    attack = ADD + "pub static BIG: [u64; 1 << 28] = [7; 1 << 28];\n"
    verdict = checker.check(t, prep, attack)
    assert not verdict.compiled and verdict.failure in ("memory", "compile_error")


def test_limits_too_small_for_any_compile_are_found_and_a_target_over_them_is_told_apart(
        crate_repo: CrateRepo, tmp_path: Path) -> None:
    """Limits too small for rustc itself: found before any target (64 MiB: the loader cannot
    map rustc's driver library). A target whose original meets the limits is excluded as
    `original_over_limit`, not as code that does not build."""
    rustc = toolchain()["rustc"]
    assert limits_problem(Limits(wall_seconds=60), rustc) is None
    problem = limits_problem(Limits(wall_seconds=60, memory_bytes=64 << 20), rustc)
    assert problem is not None and problem[1] == "memory", problem
    checker = Checker(tmp_path / "w", None, Limits(wall_seconds=0.001), backend="rustc")
    prep = checker.prepare(target(crate_repo, "src/lib.rs", ADD))
    assert (prep.ok, prep.reason, prep.detail) == (False, "original_over_limit", "timeout")


def test_harness_manifest_has_no_dev_or_unused_optional_dependencies(crate_repo: CrateRepo,
                                                                     checker: Checker) -> None:
    # the crate's own manifest names crates no registry has; cargo check would fail with it
    checker.prepare(target(crate_repo, "src/lib.rs", ADD))
    assert checker.manifest is not None
    text = checker.manifest.text
    assert "missing-dev" not in text and "missing-optional" not in text and "build = false" in text
    assert 'extra = []' in text and checker.manifest.std_only


def test_temporary_folders_are_removed(crate_repo: CrateRepo, tmp_path: Path) -> None:
    checker = Checker(tmp_path / "w", None, backend="rustc")
    t = target(crate_repo, "src/lib.rs", ADD)
    checker.check(t, checker.prepare(t), ADD)
    checker.close()
    assert not (tmp_path / "w").exists()
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True)
    assert leftovers.returncode == 1  # no process of the run is left


REGISTRY = Path("/usr/share/cargo/registry")


@pytest.mark.skipif(not any(REGISTRY.glob("memchr-2*")),
                    reason="Debian's librust-memchr-dev is not installed")
def test_registry_dependencies_offline_and_missing_ones(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lib = ("pub fn first_nul(bytes: &[u8]) -> Option<usize> {\n"
           "    memchr::memchr(0, bytes)\n}\n")
    (repo / "src").mkdir()
    (repo / "src/lib.rs").write_text(lib)
    (repo / "Cargo.toml").write_text('[package]\nname = "uses-memchr"\nversion = "0.1.0"\n'
                                     'edition = "2021"\n\n[dependencies]\nmemchr = "2"\n')
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one", date=1_700_000_000)
    (repo / "Cargo.toml").write_text('[package]\nname = "uses-memchr"\nversion = "0.1.0"\n'
                                     'edition = "2021"\n\n[dependencies]\nmemchr = "2"\n'
                                     'no-such-crate-anywhere = "1"\nnor-this-one = "2"\n')
    git(repo, "commit", "-q", "-am", "two", date=1_700_003_600)
    shas = git(repo, "rev-list", "--reverse", "HEAD").split()
    checker = Checker(tmp_path / "w", REGISTRY)
    t = target((repo, shas[0]), "src/lib.rs", lib)
    prep = checker.prepare(t)
    assert prep.ok and prep.backend == "cargo", prep
    assert checker.check(t, prep, lib.replace("memchr(0", "memrchr(0")).compiled
    assert not checker.check(t, prep, lib.replace("memchr::memchr", "memchr::nope")).compiled
    missing = checker.prepare(target((repo, shas[1]), "src/lib.rs", lib))
    assert missing.reason == "missing_dependencies"
    # Both named (cargo itself names the first and stops).
    assert missing.detail == "missing:no-such-crate-anywhere,nor-this-one"


def test_symlink_out_of_the_tree_is_not_extracted(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "Cargo.toml").write_text('[package]\nname = "s"\nversion = "0.1.0"\nedition = "2021"\n')
    lib = "pub fn one() -> u8 {\n    1\n}\n"
    (repo / "src/lib.rs").write_text(lib)
    (repo / "src/passwd").symlink_to("/etc/passwd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one", date=1_700_000_000)
    checker = Checker(tmp_path / "w", None, backend="rustc")
    t = target((repo, git(repo, "rev-parse", "HEAD").strip()), "src/lib.rs", lib)
    prep = checker.prepare(t)
    assert prep.ok
    # the include names a file inside the crate, so it is not rejected; the link was never
    # extracted, so nothing outside the tree can be read
    leak = 'pub const P: &str = include_str!("passwd");\n' + lib
    verdict = checker.check(t, prep, leak)
    assert not verdict.compiled and not (tmp_path / "w" / "tree" / "src" / "passwd").exists()


def committed_tree(repo: Path, files: dict[str, str]) -> str:
    """A repository with `files` in one commit; its sha."""
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ws", date=1_700_000_000)
    return git(repo, "rev-parse", "HEAD").strip()


def test_workspace_member_with_inherited_fields_and_a_sibling_path_crate(tmp_path: Path) -> None:
    repo = tmp_path / "ws"
    sha = committed_tree(repo, {
        "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n\n'
                      '[workspace.package]\nversion = "0.2.0"\nedition = "2021"\n\n'
                      '[workspace.dependencies]\na = { path = "a" }\n',
        # the sibling's dev-dependency exists nowhere: it must not be resolved
        "a/Cargo.toml": '[package]\nname = "a"\nversion.workspace = true\n'
                        'edition.workspace = true\n\n[dev-dependencies]\nnowhere-dev = "1"\n',
        "a/src/lib.rs": "pub fn base() -> u32 {\n    41\n}\n",
        "b/Cargo.toml": '[package]\nname = "b"\nversion.workspace = true\n'
                        'edition.workspace = true\n\n[dependencies]\na.workspace = true\n',
        "b/src/lib.rs": "pub fn answer() -> u32 {\n    a::base() + 1\n}\n",
    })
    text = "pub fn answer() -> u32 {\n    a::base() + 1\n}\n"
    t = target((repo, sha), "b/src/lib.rs", text)
    checker = Checker(tmp_path / "w", None)
    prep = checker.prepare(t)
    assert prep.ok and prep.backend == "cargo", prep
    assert checker.check(t, prep, text).compiled
    assert not checker.check(t, prep, text.replace("a::base()", "a::nope()")).compiled


def test_crate_that_is_its_workspace_root_with_members_as_path_dependencies(
        tmp_path: Path) -> None:
    """rayon's and crossbeam's layout: the root crate is also the workspace, and its
    members, path dependencies below it, inherit from its manifest (and get a feature it asks
    for). The members get harness manifests too, else they find the root's there."""
    repo = tmp_path / "ws"
    sha = committed_tree(repo, {
        "Cargo.toml": '[package]\nname = "root"\nversion = "0.1.0"\nedition = "2021"\n\n'
                      '[workspace]\nmembers = ["member"]\n\n'
                      '[workspace.package]\nedition = "2021"\n\n'
                      '[dependencies]\nmember = { path = "member", features = ["extra"] }\n\n'
                      '[dev-dependencies]\nnowhere-dev = "1"\n',
        "src/lib.rs": "pub fn root() -> u8 {\n    member::extra()\n}\n",
        "member/Cargo.toml": '[package]\nname = "member"\nversion = "0.1.0"\n'
                             'edition.workspace = true\n\n[features]\nextra = []\n',
        "member/src/lib.rs": '#[cfg(feature = "extra")]\npub fn extra() -> u8 {\n    1\n}\n',
    })
    text = "pub fn root() -> u8 {\n    member::extra()\n}\n"
    t = target((repo, sha), "src/lib.rs", text)
    checker = Checker(tmp_path / "w", None)
    prep = checker.prepare(t)
    assert prep.ok and prep.backend == "cargo", prep
    assert checker.check(t, prep, text).compiled
    assert not checker.check(t, prep, text.replace("extra()", "nope()")).compiled
