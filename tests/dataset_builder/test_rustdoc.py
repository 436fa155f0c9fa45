"""dataset_builder.rustdoc: stopping a cargo run (the JSON path itself is tested on the demo
crate in test_samples.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from dataset_builder import rustdoc
from dataset_builder.rustdoc import doc_target, has_lib_target, rustdoc_facts
from tests.dataset_builder.conftest import Commit, git, make_repo

# A cargo that starts a long child (as cargo starts rustc) and waits for it.
FAKE_CARGO = """#!/bin/sh
sleep 60 &
echo $! > "$FAKE_CARGO_PIDS/child"
echo $$ > "$FAKE_CARGO_PIDS/cargo"
wait
"""


def fake_cargo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str = FAKE_CARGO
               ) -> Path:
    """A `cargo` first on PATH (by default a slow one); returns the folder where it writes
    (its pids, by default), $FAKE_CARGO_PIDS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cargo").write_text(script)
    (bin_dir / "cargo").chmod(0o755)
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CARGO_PIDS", str(pids))
    monkeypatch.setattr(rustdoc, "_toolchain_ok", lambda: None)
    return pids


def gone(pid: int) -> bool:
    """The process has ended (a zombie not reaped yet counts: it runs no more)."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def set_when_started(pids: Path, cancel: threading.Event) -> None:
    deadline = time.monotonic() + 10
    while not (pids / "child").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    cancel.set()


def library_package(crate: Path) -> None:
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "x"\n')
    (crate / "src" / "lib.rs").write_text("")


@pytest.mark.parametrize(("manifest", "lib_rs", "expected"), [
    ('[package]\nname = "x"\n', True, True),
    ('[package]\nname = "x"\n', False, False),  # a binary only: src/main.rs
    ('[package]\nname = "x"\nautolib = false\n', True, False),
    ('[package]\nname = "x"\n[lib]\npath = "lib/x.rs"\n', False, True),
    ('[workspace]\nmembers = ["a"]\n', False, True),  # left to cargo
    ("not toml [", False, True),  # left to cargo, which says what is wrong
])
def test_has_lib_target(tmp_path: Path, manifest: str, lib_rs: bool, expected: bool) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text(manifest)
    (tmp_path / "src" / ("lib.rs" if lib_rs else "main.rs")).write_text("")
    assert has_lib_target(tmp_path) is expected


@pytest.mark.parametrize(("manifest", "files", "expected"), [
    ('[package]\nname = "x"\n', ["src/lib.rs", "src/main.rs"], ["--lib"]),
    ('[package]\nname = "x-y"\n', ["src/main.rs", "src/bin/a.rs"], ["--bin", "x-y"]),
    ('[package]\nname = "x"\n', ["src/bin/b.rs", "src/bin/a/main.rs"], ["--bin", "a"]),
    ('[package]\nname = "x"\n[[bin]]\nname = "tool"\npath = "src/tool.rs"\n',
     ["src/tool.rs"], ["--bin", "tool"]),
    ('[package]\nname = "x"\n[[bin]]\nname = "tool"\npath = "src/main.rs"\n',
     ["src/main.rs", "src/bin/a.rs"], ["--bin", "tool"]),
    ('[package]\nname = "x"\n[[bin]]\nname = "x"\n', ["src/main.rs"], ["--bin", "x"]),
    ('[package]\nname = "x"\n[[bin]]\nname = "gone"\n', ["src/other.rs"], None),
    ('[package]\nname = "x"\nautobins = false\n', ["src/main.rs"], None),
    # Edition 2015 discovers no binary once a table names one: only the table's.
    ('[package]\nname = "x"\n[[bin]]\nname = "t"\npath = "t.rs"\n', ["src/main.rs", "t.rs"],
     ["--bin", "t"]),
    ('[package]\nname = "x"\nedition = "2021"\n[[bin]]\nname = "t"\npath = "t.rs"\n',
     ["src/main.rs", "t.rs"], ["--bin", "x"]),
    ('[package]\nname = "x"\n', ["src/other.rs"], None),
])
def test_doc_target(tmp_path: Path, manifest: str, files: list[str],
                    expected: list[str] | None) -> None:
    (tmp_path / "Cargo.toml").write_text(manifest)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("fn main() {}\n")
    assert doc_target(tmp_path) == expected


def test_no_cargo_for_a_package_without_a_target(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    pids = fake_cargo(tmp_path, monkeypatch)
    crate = tmp_path / "src"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "x"\nautobins = false\n')
    (crate / "src" / "main.rs").write_text("fn main() {}\n")
    assert rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", crate,
                         threading.Event()) == (None, "no_lib_or_bin_target")
    assert not (pids / "cargo").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("stop", ["cancelled", "timeout"])
def test_a_stopped_cargo_run_ends_with_what_it_started(
        stop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pids = fake_cargo(tmp_path, monkeypatch)
    crate = tmp_path / "src"
    library_package(crate)
    cancel = threading.Event()
    if stop == "cancelled":
        threading.Thread(target=set_when_started, args=(pids, cancel), daemon=True).start()
    else:
        monkeypatch.setattr(rustdoc, "TIMEOUT_S", 1.0)
    started = time.monotonic()
    result = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", crate, cancel)
    assert result == (None, stop)
    assert time.monotonic() - started < 8  # not the fake cargo's 60 s
    assert gone(int((pids / "cargo").read_text()))
    assert gone(int((pids / "child").read_text()))  # killed with its process group


def test_nothing_starts_once_cancelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    pids = fake_cargo(tmp_path, monkeypatch)
    crate = tmp_path / "src"
    library_package(crate)
    cancel = threading.Event()
    cancel.set()
    assert rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", crate, cancel) == (
        None, "cancelled")
    assert not (pids / "cargo").exists()


# A cargo that finishes at once but leaves a process of another session holding its stderr
# (as a compiler cache's server may).
LEAVES_A_SERVER = """#!/bin/sh
setsid sleep 30 &
echo $! > "$FAKE_CARGO_PIDS/server"
exit 0
"""


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid (util-linux)")
def test_cargo_is_done_when_it_exits_not_when_its_pipes_close(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pids = fake_cargo(tmp_path, monkeypatch)
    (tmp_path / "bin" / "cargo").write_text(LEAVES_A_SERVER)
    monkeypatch.setattr(rustdoc, "TIMEOUT_S", 5.0)
    crate = tmp_path / "src"
    library_package(crate)
    started = time.monotonic()
    try:
        result = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", crate,
                               threading.Event())
    finally:
        if (pids / "server").exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int((pids / "server").read_text()), 9)
    assert result == (None, "no_json_output")  # it exited 0 and wrote no JSON
    assert time.monotonic() - started < 4


def test_a_toolchain_probe_that_hangs_is_a_counted_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cargo").write_text("#!/bin/sh\nexec sleep 30\n")
    (bin_dir / "cargo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(rustdoc, "PROBE_TIMEOUT_S", 0.5)
    rustdoc._toolchain_ok.cache_clear()
    try:
        assert rustdoc._toolchain_ok() == "nightly_probe_timeout"
    finally:
        rustdoc._toolchain_ok.cache_clear()


@pytest.mark.skipif(shutil.which("cargo") is None or subprocess.run(
    ["cargo", "+nightly", "--version"], capture_output=True).returncode != 0,
    reason="no nightly toolchain for rustdoc JSON")
def test_crates_sharing_a_target_folder_each_get_their_own_json(tmp_path: Path) -> None:
    """Two workspace members documented one after the other in one target folder (b
    depends on a, which is then built once): each result holds its own crate's functions."""
    tree = tmp_path / "tree"
    (tree / "Cargo.toml").parent.mkdir()
    (tree / "Cargo.toml").write_text('[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n')
    for name, code, deps in (("a", "pub fn from_a(x: u8) -> u8 { x }\n", ""),
                             ("b", "pub fn from_b() -> u8 { a::from_a(1) }\n",
                              'a = { path = "../a" }\n')):
        (tree / name / "src").mkdir(parents=True)
        (tree / name / "Cargo.toml").write_text(
            f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
            f"[dependencies]\n{deps}")
        (tree / name / "src" / "lib.rs").write_text(code)
    target = tmp_path / "target"
    names = {}
    for crate in ("a", "b"):  # a's JSON, left in the folder, must not be taken for b's
        facts, reason = rustdoc_facts(tmp_path, "0" * 40, crate, tmp_path / "cache", tree,
                                      threading.Event(), target)
        assert reason == "ok" and facts is not None and facts.manifest == "own"
        names[crate] = {name for _, _, name in facts.signatures}
        # Paths in the repository (rustdoc's are relative to the workspace's folder).
        assert {path for path, _, _ in facts.signatures} == {f"{crate}/src/lib.rs"}
    assert "from_b" in names["b"] and "from_a" not in names["b"]
    assert "from_a" in names["a"] and "from_b" not in names["a"]


@pytest.mark.skipif(shutil.which("cargo") is None or subprocess.run(
    ["cargo", "+nightly", "--version"], capture_output=True).returncode != 0,
    reason="no nightly toolchain for rustdoc JSON")
def test_separate_packages_do_not_share_a_path_dependency_build(tmp_path: Path) -> None:
    """Two packages of one tree (not a workspace), each with its own path dependency
    `utils` 0.1.0 of different code: each is documented against its own `utils` (a cargo
    that told them apart by name, version and relative path only would mix them up in a
    shared target folder; this machine's does not, so this passes either way here)."""
    tree = tmp_path / "tree"
    for package, function in (("p1", "one"), ("p2", "two")):
        for name, code, deps in (
                ("utils", f"pub fn {function}() -> u8 {{ 1 }}\n", ""),
                (package, f"pub fn uses() -> u8 {{ utils::{function}() }}\n",
                 'utils = { path = "utils" }\n')):
            crate = tree / package / ("utils" if name == "utils" else "")
            (crate / "src").mkdir(parents=True, exist_ok=True)
            (crate / "Cargo.toml").write_text(
                f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
                f"[dependencies]\n{deps}")
            (crate / "src" / "lib.rs").write_text(code)
    for path in tree.rglob("*"):  # as extracted from git: the commit's time, before any build
        os.utime(path, (946684800, 946684800))
    for package in ("p1", "p2"):
        facts, reason = rustdoc_facts(tmp_path, "0" * 40, package, tmp_path / "cache", tree,
                                      threading.Event(), tmp_path / "target")
        assert reason == "ok" and facts is not None, package


@pytest.mark.skipif(shutil.which("cargo") is None or subprocess.run(
    ["cargo", "+nightly", "--version"], capture_output=True).returncode != 0,
    reason="no nightly toolchain for rustdoc JSON")
@pytest.mark.parametrize(("lost", "reason"), [("src/a.rs", "missing_blobs"),
                                              ("media/demo.bin", "cargo_failed")])
def test_a_build_failed_by_a_missing_source_says_so(tmp_path: Path, lost: str,
                                                   reason: str) -> None:
    """A mirror without a source file's blob: the crate's failure is `missing_blobs`, not a
    cargo error. A missing file cargo does not read (a video) leaves cargo's own reason."""
    manifest = '[package]\nname = "m"\nversion = "0.1.0"\nedition = "2021"\n'
    lib = "mod a;\n" if lost == "src/a.rs" else "pub fn broken( {}\n"
    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": manifest, "src/lib.rs": lib, "src/a.rs": "pub fn f() {}\n",
        "media/demo.bin": b"\x00\x01video"})])
    blob = git(repo.path, "rev-parse", f"{repo.sha('one')}:{lost}").strip()
    (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    facts, why = rustdoc_facts(repo.path / ".git", repo.sha("one"), "", tmp_path / "cache")
    assert facts is None and why == reason


NIGHTLY = pytest.mark.skipif(shutil.which("cargo") is None or subprocess.run(
    ["cargo", "+nightly", "--version"], capture_output=True).returncode != 0,
    reason="no nightly toolchain for rustdoc JSON")


def write_crate(folder: Path, manifest: str, lib: str) -> None:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "Cargo.toml").write_text(manifest)
    (folder / "src" / "lib.rs").write_text(lib)


def vendor_folder(tmp_path: Path) -> Path:
    """An offline registry (a `cargo vendor` folder) holding one crate, `tiny` 1.2.0."""
    vendor = tmp_path / "vendor"
    write_crate(vendor / "tiny", '[package]\nname = "tiny"\nversion = "1.2.0"\n'
                'edition = "2021"\n', "pub struct Tiny(pub u8);\n")
    (vendor / "tiny" / ".cargo-checksum.json").write_text('{"files":{},"package":null}')
    return vendor


def write_app_on_a_strict_dependency(tree: Path) -> None:
    """`app`, on a path dependency `strict` that denies warnings and has one (an unused
    import): serde_test on serde."""
    write_crate(tree / "strict", package("strict"),
                "#![deny(warnings)]\nuse std::mem;\npub fn public(x: u8) -> u8 { x }\n")
    write_crate(tree / "app", package("app", '[dependencies]\nstrict = { path = "../strict" }\n'),
                "pub fn app(x: u8) -> u8 { strict::public(x) }\n")


def package(name: str, extra: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{extra}'


@NIGHTLY
def test_a_crate_whose_dev_dependency_is_not_offline_is_documented_with_harness_manifests(
        tmp_path: Path) -> None:
    """cargo resolves dev-dependencies for the lockfile, so a crate with none it needs fails
    offline with its own manifest (every real history measured did): documented again with
    a harness manifest, and the tree's own manifest and lockfile are put back."""
    tree = tmp_path / "tree"
    manifest = package("h", '[dev-dependencies]\nno-such-crate-here = "1"\n')
    write_crate(tree, manifest, "pub fn answer() -> Option<u8> { Some(42) }\n")
    (tree / "Cargo.lock").write_text("# the repository's own lockfile\n")
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", tree,
                                  threading.Event(), tmp_path / "target")
    assert reason == "ok" and facts is not None and facts.manifest == "harness"
    assert "answer" in {name for _, _, name in facts.signatures}
    assert (tree / "Cargo.toml").read_text() == manifest
    assert (tree / "Cargo.lock").read_text() == "# the repository's own lockfile\n"
    # From the cache the next time, with how it was built.
    again, _ = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", tree)
    assert again is not None and again.manifest == "harness"


@NIGHTLY
def test_dependencies_come_from_the_offline_registry_and_missing_ones_are_named(
        tmp_path: Path) -> None:
    vendor = vendor_folder(tmp_path)
    tree = tmp_path / "tree"
    write_crate(tree / "uses", package("uses", '[dependencies]\ntiny = "1.0"\n'),
                "pub fn make() -> tiny::Tiny { tiny::Tiny(1) }\n")
    write_crate(tree / "lacks", package("lacks", '[dependencies]\nabsent-crate = "2"\n'
                                        'other-absent = "1"\ntiny = "1"\n'),
                "pub fn f() {}\n")
    missing: list[str] = []
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "uses", tmp_path / "cache", tree,
                                  None, tmp_path / "target", vendor, missing)
    assert reason == "ok" and facts is not None and facts.manifest == "harness"
    assert any("tiny::Tiny" in sig for sig in facts.signatures.values())
    assert missing == []
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "lacks", tmp_path / "cache", tree,
                                  None, tmp_path / "target", vendor, missing)
    # Every crate the registry has no release of is named (cargo stops at the first).
    assert facts is None and reason == "missing_dependencies"
    assert missing == ["absent-crate", "other-absent"]


@NIGHTLY
def test_a_workspace_root_crate_with_members_as_path_dependencies(tmp_path: Path) -> None:
    """The root crate is also the workspace (rayon, crossbeam): its members inherit from
    its manifest, are path dependencies in folders below it, and get features it asks for
    (whose optional dependency must then be kept)."""
    vendor = vendor_folder(tmp_path)
    tree = tmp_path / "tree"
    write_crate(tree, package("root", '[workspace]\nmembers = ["member"]\n'
                              '[workspace.package]\nedition = "2021"\n'
                              '[dependencies]\nmember = { path = "member", '
                              'features = ["extra"] }\n'
                              '[dev-dependencies]\nno-such-crate-here = "1"\n'),
                "pub fn root() -> u8 { member::extra() }\n")
    write_crate(tree / "member",
                '[package]\nname = "member"\nversion = "0.1.0"\nedition.workspace = true\n'
                '[features]\nextra = ["dep:tiny"]\n'
                '[dependencies]\ntiny = { version = "1", optional = true }\n',
                '#[cfg(feature = "extra")]\npub fn extra() -> u8 { tiny::Tiny(3).0 }\n')
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", tree, None,
                                  tmp_path / "target", vendor)
    assert reason == "ok" and facts is not None
    assert "root" in {name for _, _, name in facts.signatures}


@NIGHTLY
def test_a_dependency_patched_to_a_crate_of_the_tree(tmp_path: Path) -> None:
    """actix-web's layout: members name each other by version, and the workspace's
    `[patch.crates-io]` points those names at the members' folders."""
    tree = tmp_path / "tree"
    (tree / "Cargo.toml").parent.mkdir(parents=True)
    (tree / "Cargo.toml").write_text('[workspace]\nmembers = ["app", "helper"]\n\n'
                                     '[patch.crates-io]\nhelper = { path = "helper" }\n')
    write_crate(tree / "helper", package("helper").replace("0.1.0", "3.2.0"),
                "pub fn help() -> u8 { 7 }\n")
    write_crate(tree / "app", package("app", '[dependencies]\nhelper = "3"\n'
                                      '[dev-dependencies]\nno-such-crate-here = "1"\n'),
                "pub fn run() -> u8 { helper::help() }\n")
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "app", tmp_path / "cache", tree, None,
                                  tmp_path / "target")
    assert reason == "ok" and facts is not None and facts.manifest == "harness"
    assert set(facts.signatures) == {("app/src/lib.rs", 1, "run")}


@NIGHTLY
def test_crates_of_one_tree_do_not_share_cached_results_or_a_workspace_they_left(
        tmp_path: Path) -> None:
    """Found in review: a crate folder named `root` shared the repository root's cache file,
    and a crate a workspace excludes was taken to be documented inside it (cargo then makes
    it a workspace of its own: its file names are its own)."""
    tree = tmp_path / "tree"
    write_crate(tree, package("top", '[workspace]\nmembers = ["root"]\nexclude = ["ex"]\n'),
                "pub fn top_fn() {}\n")
    write_crate(tree / "root", package("inner"), "pub fn inner_fn() {}\n")
    write_crate(tree / "ex", package("ex"), "pub fn in_ex() {}\n")
    found = {}
    for crate in ("", "root", "ex"):
        facts, reason = rustdoc_facts(tmp_path, "0" * 40, crate, tmp_path / "cache", tree,
                                      None, tmp_path / "target")
        assert reason == "ok" and facts is not None, crate
        found[crate] = set(facts.signatures)
    assert found == {"": {("src/lib.rs", 1, "top_fn")},
                     "root": {("root/src/lib.rs", 1, "inner_fn")},
                     "ex": {("ex/src/lib.rs", 1, "in_ex")}}


@NIGHTLY
def test_a_target_folder_shared_by_snapshots_builds_a_changed_path_dependency_again(
        tmp_path: Path) -> None:
    """Found in review: a tree from git carries the commit's times, so in a target folder an
    earlier snapshot's build used, a workspace member changed since looked older than that
    build and was not built again (cargo_failed: cannot find `New` in `utils`)."""
    member = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n{}'
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={
            "Cargo.toml": '[workspace]\nmembers = ["app", "utils"]\nresolver = "2"\n',
            "utils/Cargo.toml": member.format("utils", ""),
            "utils/src/lib.rs": "pub struct Old;\n",
            "app/Cargo.toml": member.format(
                "app", '[dependencies]\nutils = { path = "../utils" }\n'),
            "app/src/lib.rs": "pub fn f() -> utils::Old { utils::Old }\n"}),
        Commit("two", write={"utils/src/lib.rs": "pub struct New;\n",
                             "app/src/lib.rs": "pub fn g() -> utils::New { utils::New }\n"}),
    ])
    names = []
    for commit in ("one", "two"):
        facts, reason = rustdoc_facts(repo.path / ".git", repo.sha(commit), "app",
                                      tmp_path / "cache", tmp_path / f"tree-{commit}", None,
                                      tmp_path / "targets")
        assert reason == "ok" and facts is not None, (commit, reason)
        names.append({name for _, _, name in facts.signatures})
    assert names == [{"f"}, {"g"}]


def test_a_compile_error_that_quotes_the_word_offline_is_not_missing_dependencies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """rustc quotes the source in its errors: `offline` in a quoted line is the crate's code,
    not cargo's offline resolution (it was taken for missing dependencies, and documented
    again with harness manifests for nothing)."""
    import dataset_builder.rustdoc as rustdoc_module

    monkeypatch.setattr(rustdoc_module, "_lacks_sources", lambda *args: False)
    compile_error = ("error[E0425]: cannot find type `NoSuchType` in this scope\n"
                     " --> src/lib.rs:1:19\n  |\n1 | pub fn f(offline: NoSuchType) {}\n"
                     "  |                   ^^^^^^^^^^ not found in this scope\n\n"
                     "error: could not document `o`\n")
    offline = ("error: no matching package named `nosuchcrate` found\nlocation searched: "
               "crates.io index\nnote: offline mode (via `--offline`) can sometimes cause "
               "surprising resolution failures\n")
    download = ("error: failed to download `x v1.0.0`\n\nCaused by:\n  attempting to make an "
                "HTTP request, but --offline was specified\n")
    suggested = ("error[E0599]: no method named `lenn` found for reference `&str`\n"
                 " --> dep/src/lib.rs:2:10\nhelp: there is a method `len` with a similar name\n"
                 "  |\n2 -     let mode = \"--offline\"; mode.lenn()\n"
                 "2 +     let mode = \"--offline\"; mode.len()\n  |\n"
                 "error: could not compile `dep` (lib) due to 1 previous error\n")
    args = (Path("."), "0" * 40, "")
    assert rustdoc_module._failure(suggested, *args) == "cargo_failed"  # found in review
    assert rustdoc_module._failure(compile_error, *args) == "cargo_failed"
    assert rustdoc_module._failure(offline, *args) == "missing_dependencies"
    assert rustdoc_module._failure(download, *args) == "missing_dependencies"


@NIGHTLY
def test_a_crate_that_denies_lints_is_documented_all_the_same(tmp_path: Path) -> None:
    """regex-lite's `#![deny(missing_docs, rustdoc::broken_intra_doc_links)]` failed its
    runs: private items' docs (documented here, not on docs.rs) held links that resolve
    nowhere. Only the JSON is wanted: lints are capped at warn."""
    tree = tmp_path / "tree"
    write_crate(tree, package("strict"),
                "#![deny(warnings, missing_docs, rustdoc::broken_intra_doc_links)]\n"
                "//! A strict crate.\n\n/// See [`NoSuchThing`].\n"
                "fn private_helper(x: u8) -> u8 { x }\n"
                "/// Public.\npub fn public(x: u8) -> u8 { private_helper(x) }\n")
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", tree, None,
                                  tmp_path / "target")
    assert reason == "ok" and facts is not None
    assert {"public", "private_helper"} <= {name for _, _, name in facts.signatures}
    # The same in a path dependency, which rustdoc's own flags do not reach (serde_test's
    # runs failed on serde's `#![deny(warnings)]`: an unused import).
    user = tmp_path / "user"
    write_app_on_a_strict_dependency(user)
    facts, reason = rustdoc_facts(tmp_path, "1" * 40, "app", tmp_path / "cache", user, None,
                                  tmp_path / "target")
    assert reason == "ok" and facts is not None


DEBIAN = Path("/usr/share/cargo/registry")


@NIGHTLY
@pytest.mark.skipif(not (DEBIAN / "proc-macro2-1.0.47").is_dir(),
                    reason="Debian's librust-proc-macro2-dev 1.0.47 is not installed")
def test_a_crate_on_debians_proc_macro2_is_documented_on_a_newer_nightly(
        tmp_path: Path) -> None:
    """proc-macro2 1.0.47's build script enables `proc_macro_span_shrink` on a nightly, a
    feature today's nightly no longer has (E0635): every crate on it failed. The build
    script enables it only where allowed, so the run is repeated with none allowed."""
    tree = tmp_path / "tree"
    write_crate(tree, package("on_syn", '[dependencies]\nproc-macro2 = "1"\n'
                              'syn = { version = "1", features = ["full"] }\n'),
                "pub fn name_of(input: &syn::DeriveInput) -> String {\n"
                "    input.ident.to_string()\n}\n")
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "", tmp_path / "cache", tree, None,
                                  tmp_path / "target", DEBIAN)
    assert reason == "ok" and facts is not None and facts.manifest == "harness"
    assert "syn::" in facts.signatures[("src/lib.rs", 1, "name_of")]


@NIGHTLY
def test_a_repositorys_own_rustflags_hold_where_no_flag_is_needed(tmp_path: Path) -> None:
    """RUSTFLAGS replaces the rustflags of the repository's cargo config (winit, yew and
    ripgrep have some), so rustdoc's runs set it only to get past a failure that needs it."""
    tree = tmp_path / "tree"
    (tree / ".cargo").mkdir(parents=True)
    (tree / ".cargo" / "config.toml").write_text('[build]\nrustflags = ["--cfg", "from_config"]\n')
    # A denied lint in the path dependency (an unused import) asks for the lint cap, which
    # must come on top of the config's flags, not instead of them (found in review).
    write_crate(tree / "dep", package("dep"), "#![deny(warnings)]\nuse std::mem;\n"
                "#[cfg(from_config)]\npub struct OnlyWithCfg;\n")
    write_crate(tree / "app", package("app", '[dependencies]\ndep = { path = "../dep" }\n'),
                "pub fn app() -> dep::OnlyWithCfg { dep::OnlyWithCfg }\n")
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "app", tmp_path / "cache", tree, None,
                                  tmp_path / "target")
    assert reason == "ok" and facts is not None
    assert "OnlyWithCfg" in facts.signatures[("app/src/lib.rs", 1, "app")]


@NIGHTLY
def test_the_lint_cap_reaches_rustc_where_the_user_set_encoded_rustflags(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cargo reads CARGO_ENCODED_RUSTFLAGS before RUSTFLAGS (found in review: the retry's
    flags were lost, and the crate failed)."""
    monkeypatch.setenv("CARGO_ENCODED_RUSTFLAGS", "")
    tree = tmp_path / "tree"
    write_app_on_a_strict_dependency(tree)
    facts, reason = rustdoc_facts(tmp_path, "0" * 40, "app", tmp_path / "cache", tree, None,
                                  tmp_path / "target")
    assert reason == "ok" and facts is not None


def test_a_run_is_repeated_only_for_an_error_a_flag_gets_past(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: a warning's "lint level is defined here" note, or a feature the
    crate itself asks for, repeated runs (with registry crates, minutes each) for nothing."""
    import dataset_builder.rustdoc as rustdoc_module

    lint_error = ("error: unused import: `mem`\n --> strict/src/lib.rs:2:5\nnote: the lint level "
                  "is defined here\nerror: could not compile `strict` (lib) due to 1 previous "
                  "error\n")
    warned = ("warning: unused import: `mem`\nnote: the lint level is defined here\n"
              "error[E0308]: mismatched types\nerror: could not document `app`\n")
    own_feature = "error[E0635]: unknown feature `gone`\nerror: could not document `app`\n"
    for first, runs in ((lint_error, 2), (warned, 1), (own_feature, 1)):
        calls: list[list[str]] = []

        def once(crate: Path, target: Path, env: dict[str, str], cancel: object,
                 cargo_args: list[str], doc_args: list[str], first: str = first,
                 calls: list[list[str]] = calls) -> tuple[int, str]:
            assert doc_args == ["--lib"]
            calls.append(cargo_args)
            return (101, first) if len(calls) == 1 else (0, "")

        monkeypatch.setattr(rustdoc_module, "_document_once", once)
        monkeypatch.delenv("RUSTFLAGS", raising=False)
        monkeypatch.delenv("CARGO_ENCODED_RUSTFLAGS", raising=False)
        rustdoc_module._document(Path("."), Path("."), {}, None, ["--lib"])
        assert len(calls) == runs, first
    assert calls[0] == []  # the last case's one run
