"""The harness manifest: what it keeps and drops, cfg evaluation, relaxed versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_builder.cargo_manifest import (
    _eval_cfg,
    harness_manifest,
    harness_manifests,
    relax_requirement,
)


def test_relaxed_requirements() -> None:
    assert relax_requirement("^2.6.3") == "2"
    assert relax_requirement("~1.0") == "1"
    assert relax_requirement("0.21.4") == "0.21"
    assert relax_requirement(">=0.8, <0.10") == "0.8"


def test_cfg_of_target_dependencies() -> None:
    assert _eval_cfg("cfg(unix)") and _eval_cfg('cfg(target_os = "linux")')
    assert not _eval_cfg("cfg(windows)") and _eval_cfg("cfg(not(windows))")
    assert _eval_cfg('cfg(any(windows, all(unix, target_pointer_width = "64")))')


def test_manifest_keeps_what_the_code_needs(tmp_path: Path) -> None:
    crate = tmp_path / "c"
    (crate / "src" / "bin").mkdir(parents=True)
    (crate / "src" / "lib.rs").write_text("")
    (crate / "src" / "main.rs").write_text("fn main() {}")
    (crate / "src" / "bin" / "tool.rs").write_text("fn main() {}")
    (crate / "Cargo.toml").write_text("""[package]
name = "my-crate"
version = "1.0.0"
edition = "2018"

[dependencies]
memchr = "2.6"
serde = { version = "1", optional = true }
log = { version = "0.4", optional = true }

[target.'cfg(windows)'.dependencies]
winapi = "0.3"

[target.'cfg(unix)'.dependencies]
libc = "0.2"

[dev-dependencies]
criterion = "0.5"

[features]
default = ["logging"]
logging = ["dep:log"]
serde = ["dep:serde"]
""")
    m = harness_manifest(crate, tmp_path, relax_versions=True)
    text = m.text
    assert 'memchr = { version = "2" }' in text and "libc" in text and "log" in text
    for dropped in ("winapi", "criterion", "serde = { version"):
        assert dropped not in text
    assert "serde = []" in text and "build = false" in text and "[workspace]" in text
    assert m.lib_name == "my_crate" and m.edition == "2018"
    assert sorted(b for b, _ in m.bins) == ["my-crate", "tool"]
    assert not m.std_only and set(m.dependencies) == {"memchr", "libc", "log"}


def test_missing_crates_named_from_cargo_errors() -> None:
    from dataset_builder.cargo_manifest import missing_crates

    err = ("error: no matching package named `tokio` found\n"
           "error: failed to select a version for the requirement `syn = \"^2\"`\n"
           "error: no matching package named `tokio` found\n")
    assert missing_crates(err) == ["syn", "tokio"]


def test_harness_manifests_exclude_nested_path_dependencies(tmp_path: Path) -> None:
    from tests.dataset_builder.test_rustdoc import package, write_crate

    tree = tmp_path / "tree"
    write_crate(tree, package("root", '[workspace]\n[dependencies]\n'
                              'below = { path = "below", features = ["f"] }\n'
                              'beside = { path = "../beside" }\n'), "")
    write_crate(tree / "below", package("below", '[features]\nf = []\ng = []\n'), "")
    write_crate(tmp_path / "beside", package("beside"), "")  # outside the tree: left alone
    manifests = harness_manifests(tree, tree)
    assert set(manifests) == {tree.resolve(), (tree / "below").resolve()}
    assert manifests[tree.resolve()].text.endswith('[workspace]\nexclude = ["below"]\n')
    below = manifests[(tree / "below").resolve()].text
    assert "f = []" in below and "[workspace]" in below


def test_features_asked_of_a_path_dependency_keep_what_they_need(tmp_path: Path) -> None:
    """Found in review: a feature asked of a path dependency that is an optional
    dependency's implicit one, and a feature a dependent's own enabled feature turns on
    (`b/extra`), keep the optional dependencies they need; a weak `dep?/feat` enables none."""
    from tests.dataset_builder.test_rustdoc import package, write_crate

    tree = tmp_path / "tree"
    write_crate(tree / "a", package("a", '[features]\ndefault = ["b/extra"]\n'
                                    '[dependencies]\nb = { path = "../b", features = ["c"] }\n'),
                "")
    write_crate(tree / "b", package("b", '[features]\nextra = ["dep:d"]\n'
                                    'weak = ["e?/std"]\ndefault = ["weak"]\n'
                                    '[dependencies]\nc = { path = "../c", optional = true }\n'
                                    'd = { path = "../d", optional = true }\n'
                                    'e = { version = "1", optional = true }\n'), "")
    for name in ("c", "d"):
        write_crate(tree / name, package(name), "")
    manifests = harness_manifests(tree / "a", tree)
    b = manifests[(tree / "b").resolve()].text
    assert "\nc = {" in b and "\nd = {" in b  # both kept: c asked for, d by a's default
    assert "\ne = {" not in b  # only weakly named
    assert set(manifests) == {(tree / n).resolve() for n in ("a", "b", "c", "d")}


def test_older_underscore_spellings(tmp_path: Path) -> None:
    from tests.dataset_builder.test_rustdoc import package, write_crate

    write_crate(tmp_path, package("m", '[lib]\nproc_macro = true\n'
                                  '[build_dependencies]\ncc = "1.0.3"\n'), "")
    (tmp_path / "build.rs").write_text("fn main() {}\n")
    text = harness_manifest(tmp_path, tmp_path, relax_versions=True).text
    assert "proc-macro = true" in text
    assert '[build-dependencies]\ncc = { version = "1" }' in text


def test_a_registry_folder_that_cannot_be_listed_names_nothing(tmp_path: Path) -> None:
    from dataset_builder.cargo_manifest import registry_releases

    def registry_names(registry: Path) -> frozenset[str] | None:
        releases = registry_releases.__wrapped__(registry)
        return None if releases is None else frozenset(releases)

    (tmp_path / "md-5-0.10.6").mkdir()
    (tmp_path / "foo-1.0.0-rc.1").mkdir()
    (tmp_path / "base64").mkdir()
    (tmp_path / "notes.txt").write_text("")
    assert registry_names(tmp_path) == frozenset({"md-5", "foo", "base64"})
    assert registry_names(tmp_path / "absent") is None  # cargo's own error then says why


@pytest.mark.parametrize(("version", "requirement", "met"), [
    ((1, 2, 3), "1", True), ((2, 0, 0), "1", False), ((0, 7, 19), "1.1.1", False),
    ((1, 1, 0), "^1.1.1", False), ((0, 2, 9), "0.2.3", True), ((0, 3, 0), "0.2", False),
    ((0, 0, 3), "0.0.3", True), ((0, 0, 4), "0.0.3", False), ((1, 2, 9), "~1.2", True),
    ((1, 3, 0), "~1.2", False), ((1, 0, 5), "=1.0.5", True), ((1, 0, 6), "=1.0.5", False),
    ((1, 5, 0), ">=1.2, <2", True), ((2, 0, 0), ">=1.2, <2", False), ((1, 9, 0), "1.*", True),
    ((2, 0, 0), "1.*", False), ((3, 0, 0), "*", True), ((0, 4, 17), "0.4.20", False),
    ((1, 0, 0), "^0", False), ((0, 1, 0), "0.0", False), (None, "1", True),
    ((5, 0, 0), "not a requirement", True), ((1, 2, 5), "<=1.2", True),
    ((1, 3, 0), "<=1.2", False), ((1, 5, 0), "<=1", True), ((1, 2, 5), ">1.2", False),
    ((1, 3, 0), ">1.2", True), ((1, 0, 0), ">1.0.0-rc.1", True),
    ((1, 0, 0), "<1.0.0-rc.2", True), ((1, 2, 0), ">= 1.2, < 2", True),
    ((0, 9, 0), ">= 1.2, < 2", False)])
def test_a_release_meets_a_cargo_requirement_as_cargo_reads_it(
        version: tuple[int, int, int] | None, requirement: str, met: bool) -> None:
    from dataset_builder.cargo_manifest import meets

    assert meets(version, requirement) is met


def test_a_registry_lacks_crates_it_holds_only_in_releases_too_old(tmp_path: Path) -> None:
    """Debian's releases are often older than a history's HEAD asks (ripgrep wants
    aho-corasick 1.1, bookworm has 0.7.19): cargo would fail on the first such crate; the
    pre-check names them all. A `cargo vendor` folder's version is in its manifest."""
    from dataset_builder.cargo_manifest import registry_lacks
    from tests.dataset_builder.test_rustdoc import package, write_crate

    registry = tmp_path / "registry"
    (registry / "aho-corasick-0.7.19").mkdir(parents=True)
    (registry / "log-0.4.17").mkdir()
    write_crate(registry / "bstr", package("bstr").replace("0.1.0", "1.6.2"), "")
    write_crate(registry / "memchr", package("memchr").replace("0.1.0", "2.5.0"), "")
    crate = tmp_path / "crate"
    write_crate(crate, package("c", '[dependencies]\naho-corasick = "1.1.1"\nlog = "0.4.20"\n'
                               'bstr = "1.6"\nmemchr = "3"\nabsent = "1"\n'), "")
    manifests = harness_manifests(crate, crate, relax_versions=True)
    # Relaxed to their compatible range: log 0.4.17 meets `0.4`, not `0.4.20`.
    assert registry_lacks(manifests, registry) == ["absent", "aho-corasick", "memchr"]
    exact = harness_manifests(crate, crate, relax_versions=False)
    assert registry_lacks(exact, registry) == ["absent", "aho-corasick", "log", "memchr"]
