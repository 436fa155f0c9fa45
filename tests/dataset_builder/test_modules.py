"""dataset_builder.modules: file -> crate/module, use-path resolution, the module graph."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from dataset_builder.gitio import BlobReader, open_repo
from dataset_builder.graphs import dependency_order
from dataset_builder.mine import BlobCache, tree_module_facts
from dataset_builder.modules import (
    CrateRoots,
    ModuleFacts,
    ModuleLocation,
    crate_roots,
    locate_module,
    module_graph,
    module_rows,
    package_dir,
    path_mod_target,
    resolve_use_path,
    shared_module_crate,
)
from dataset_builder.rust_items import parse_rust
from tests.dataset_builder.conftest import Commit, make_repo


@pytest.mark.parametrize(("path", "crate", "module"), [
    ("src/lib.rs", ".", "crate"),
    ("src/main.rs", ".", "crate"),
    ("src/a.rs", ".", "crate::a"),
    ("src/a/mod.rs", ".", "crate::a"),
    ("src/a/b.rs", ".", "crate::a::b"),
    ("src/a/b/mod.rs", ".", "crate::a::b"),
    ("src/my-mod.rs", ".", "crate::my_mod"),
    ("src/bin/x.rs", "src/bin/x", "crate"),
    ("src/bin/x/main.rs", "src/bin/x", "crate"),
    ("src/bin/x/helper.rs", "src/bin/x", "crate::helper"),
    ("crates/foo/src/lib.rs", "crates/foo", "crate"),
    ("crates/foo/src/a/b.rs", "crates/foo", "crate::a::b"),
    ("crates/foo/src/bin/tool.rs", "crates/foo/src/bin/tool", "crate"),
    ("tests/it.rs", "tests/it", "crate"),
    ("examples/demo.rs", "examples/demo", "crate"),
    ("benches/speed.rs", "benches/speed", "crate"),
    ("crates/foo/tests/it.rs", "crates/foo/tests/it", "crate"),
    # A folder outside the conventions (mio's `[[test]] path = "test/mod.rs"`, named by
    # older manifests only): its mod.rs is the root, no module `crate::mod`.
    ("test/mod.rs", "test", "crate"),
    ("test/test_smoke.rs", "test", "crate::test_smoke"),
])
def test_locate_module(path: str, crate: str, module: str) -> None:
    assert locate_module(path) == ModuleLocation(crate, module)


@pytest.mark.parametrize("path", ["build.rs", "crates/foo/build.rs"])
def test_build_script_is_its_own_crate_root(path: str) -> None:
    loc = locate_module(path)
    assert loc.module == "crate"
    assert loc != locate_module(path.replace("build.rs", "src/build.rs"))
    assert loc.crate != locate_module(path.replace("build.rs", "src/lib.rs")).crate


def test_tests_common_mod_rs_is_not_a_module_named_mod() -> None:
    assert not locate_module("tests/common/mod.rs").module.endswith("::mod")


def test_a_name_the_root_re_exports_orders_its_user_after_the_defining_module() -> None:
    """`use crate::Weekday` (re-exported by lib.rs from weekday.rs) made an edge from the
    root, which its `mod` declarations put after every module: a cycle through each
    importer (chrono's graph had one of 37 of its 105 modules), whose order in module
    groups was then not the dependencies'."""
    graph = module_graph(_files({
        "src/lib.rs": "mod cal;\nmod weekday;\npub use weekday::Weekday;\n",
        "src/weekday.rs": "pub enum Weekday { Mon }\n",
        "src/cal.rs": "use crate::Weekday;\npub fn first() -> Weekday { Weekday::Mon }\n"}))
    assert graph.has_edge("crate::weekday", "crate::cal")
    assert not graph.has_edge("crate", "crate::cal")
    assert nx.is_directed_acyclic_graph(graph)
    order = dependency_order(graph)
    assert order.index("crate::weekday") < order.index("crate::cal") < order.index("crate")
    # By the name it is imported as, and from each of cfg'd twins (a review of 0.1.60).
    graph = module_graph(_files({
        "src/lib.rs": ("mod cal;\nmod errors;\nmod unix;\nmod windows;\n"
                       "pub use self::errors::Error as ParseError;\npub struct Error;\n"
                       "#[cfg(unix)]\npub use unix::Sys;\n"
                       "#[cfg(windows)]\npub use windows::Sys;\n"),
        "src/errors.rs": "pub struct Error;\n",
        "src/unix.rs": "pub struct Sys;\n", "src/windows.rs": "pub struct Sys;\n",
        "src/cal.rs": "use crate::Error;\nuse crate::ParseError;\nuse crate::Sys;\n"}))
    assert {u for u, v in graph.in_edges("crate::cal")} == {
        "crate", "crate::errors", "crate::unix", "crate::windows"}


def test_multi_file_test_crate_is_one_crate() -> None:
    assert locate_module("tests/it/helpers.rs") == ModuleLocation("tests/it", "crate::helpers")
    assert locate_module("tests/it/main.rs") == ModuleLocation("tests/it", "crate")
    graph = module_graph(_files({"tests/it/main.rs": "mod helpers;\n",
                                 "tests/it/helpers.rs": "pub fn h() {}\n"}))
    assert graph.number_of_edges() == 1


def test_node_ids() -> None:
    assert locate_module("src/a.rs").node_id() == "crate::a"
    assert locate_module("crates/foo/src/a.rs").node_id() == "crates/foo#crate::a"
    assert locate_module("crates/foo/src/a.rs").node_id("crate::z") == "crates/foo#crate::z"
    assert locate_module("src/a.rs").join("inner::f") == "crate::a::inner::f"
    assert locate_module("src/a.rs").join("") == "crate::a"


@pytest.mark.parametrize(("path", "module", "expected"), [
    ("crate::x::Y", "crate::a::b", "crate::x::Y"),
    ("self::c::D", "crate::a::b", "crate::a::b::c::D"),
    ("super::helper", "crate::a::b", "crate::a::helper"),
    ("super::super::top", "crate::a::b", "crate::top"),
    ("super::x", "crate", "crate::x"),  # cannot go above the crate root
    ("lexer::Token", "crate", "crate::lexer::Token"),  # 2018-edition relative path
])
def test_resolve_use_path(path: str, module: str, expected: str) -> None:
    assert resolve_use_path(path, module) == expected


def _files(sources: dict[str, str]) -> list[tuple[str, ModuleFacts]]:
    return [(path, ModuleFacts.of(parse_rust(text.encode())[0])) for path, text in sources.items()]


CRATE = {
    "src/lib.rs": "mod x;\npub mod a;\npub use self::x::Y;\nuse std::fmt;\n"
                  "mod inline {\n    use super::x::Y;\n}\n",
    "src/x.rs": "pub struct Y;\n",
    "src/a/mod.rs": "mod b;\nuse crate::x::Y;\npub fn helper() {}\n",
    "src/a/b.rs": "use super::helper;\nuse crate::x::*;\nuse serde::Serialize;\n",
    "src/lonely.rs": "pub fn nobody_declares_me() {}\n",
}


def test_module_graph_nodes() -> None:
    graph = module_graph(_files(CRATE))
    assert set(graph.nodes) == {"crate", "crate::x", "crate::a", "crate::a::b", "crate::inline",
                                "crate::lonely"}
    assert graph.nodes["crate::a::b"] == {"crate": ".", "module": "crate::a::b",
                                          "path": "src/a/b.rs", "own": True}
    assert graph.nodes["crate::inline"]["path"] == "src/lib.rs"
    assert "own" not in graph.nodes["crate::inline"]  # a module inline in its file
    # Declared: a crate's root, a module a `mod` declares, an inline one; not lonely.rs.
    declared = {row["node"]: row["declared"] for row in module_rows(graph)}
    assert declared == {"crate": True, "crate::x": True, "crate::a": True,
                        "crate::a::b": True, "crate::inline": True, "crate::lonely": False}


def test_module_graph_edges() -> None:
    graph = module_graph(_files(CRATE))
    edges = {(u, v): d["kind"] for u, v, d in graph.edges(data=True)}
    assert edges == {
        ("crate::x", "crate"): "mod",  # mod x; (and use self::x::Y, same edge)
        ("crate::a", "crate"): "mod",  # pub mod a;
        ("crate::a::b", "crate::a"): "mod",  # mod b; in a/mod.rs
        ("crate::x", "crate::a"): "use",  # use crate::x::Y;
        ("crate::a", "crate::a::b"): "use",  # use super::helper;
        ("crate::x", "crate::a::b"): "use",  # use crate::x::*;
        ("crate::x", "crate::inline"): "use",  # use super::x::Y; inside mod inline {}
    }
    # External imports (std, serde) add no edges; lonely.rs is declared by nobody.
    assert graph.degree("crate::lonely") == 0


def test_module_graph_use_self_edge() -> None:
    graph = module_graph(_files({"src/lib.rs": "use self::m::T;\n", "src/m.rs": "pub struct T;"}))
    assert graph.edges["crate::m", "crate"]["kind"] == "use"


def test_module_graph_dependency_order() -> None:
    graph = module_graph(_files(CRATE))
    order = dependency_order(graph)
    assert len(order) == graph.number_of_nodes()
    position = {n: i for i, n in enumerate(order)}
    assert position["crate::x"] < position["crate::a"] < position["crate"]
    assert position["crate::x"] < position["crate::inline"]


def test_module_graph_separates_crates() -> None:
    graph = module_graph(_files({
        "crates/foo/src/lib.rs": "mod util;\nuse crate::util::f;\n",
        "crates/foo/src/util.rs": "pub fn f() {}\n",
        "crates/bar/src/lib.rs": "mod util;\nuse crate::util::g;\n",
        "crates/bar/src/util.rs": "pub fn g() {}\n",
    }))
    assert set(graph.edges) == {("crates/foo#crate::util", "crates/foo#crate"),
                                ("crates/bar#crate::util", "crates/bar#crate")}
    assert graph.nodes["crates/bar#crate::util"]["crate"] == "crates/bar"


def test_a_module_shared_by_test_crates_comes_before_each() -> None:
    graph = module_graph(_files({
        "tests/common/mod.rs": "pub mod server;\npub fn setup() {}\n",
        "tests/common/server.rs": "pub fn serve() {}\n",
        "tests/a.rs": "mod common;\nuse common::server::serve;\n",
        "tests/b.rs": "mod common;\nmod other;\n",
        # An external crate named like a sibling bench is no module they share.
        "benches/buf.rs": "pub fn fill() {}\n",
        "benches/bytes.rs": "use buf::Buf;\n",
    }))
    assert set(graph.edges) == {("tests/common#crate", "tests/a#crate"),
                                ("tests/common#crate", "tests/b#crate"),
                                ("tests/common#crate::server", "tests/common#crate"),
                                ("tests/common#crate::server", "tests/a#crate")}
    assert shared_module_crate("tests/a", "crate::common::x") == ("tests/common", "crate::x")
    assert shared_module_crate("crates/foo/tests/a", "crate::util") == (
        "crates/foo/tests/util", "crate")
    assert shared_module_crate(".", "crate::common::x") is None
    assert shared_module_crate("crates/foo", "crate::common::x") is None


@pytest.mark.parametrize(("path", "module", "inner", "written", "expected"), [
    # Relative to the declaring file's folder, whatever kind of file it is.
    ("src/index/mod.rs", "crate::index", "", "disabled.rs", "src/index/disabled.rs"),
    ("src/sys.rs", "crate::sys", "", "sys/unix.rs", "src/sys/unix.rs"),
    ("tests/balance/main.rs", "crate", "", "../support.rs", "tests/support.rs"),
    ("examples/fmt-compact.rs", "crate", "", "fmt/yak_shave.rs",
     "examples/fmt/yak_shave.rs"),
    # Inside inline `mod a { … }`: the blocks' names are folders, after a non-mod-rs file's
    # own module name.
    ("src/lib.rs", "crate", "a::b", "x.rs", "src/a/b/x.rs"),
    ("src/sys.rs", "crate::sys", "inner", "x.rs", "src/sys/inner/x.rs"),
    # Out of the repository, or absolute: no file of it.
    ("src/lib.rs", "crate", "", "../../elsewhere.rs", None),
    ("src/lib.rs", "crate", "", "/abs/x.rs", None),
])
def test_a_path_attribute_names_a_file_relative_to_its_declaration(
        path: str, module: str, inner: str, written: str, expected: str | None) -> None:
    loc = ModuleLocation(locate_module(path).crate, module)
    assert path_mod_target(path, loc, inner, written) == expected


def test_a_path_declared_module_comes_before_its_declarer() -> None:
    """`#[path = "…"] mod x;` makes the file it names module x: the module graph leads
    from that file's module (at its conventional place) to the declarer, for the
    declaration and for `use` of x (ripgrep's `#[path = "disabled.rs"] mod imp;`, tracing's
    examples sharing `#[path = "fmt/yak_shave.rs"] mod yak_shave;`)."""
    graph = module_graph(_files({
        "src/lib.rs": "pub mod index;\n",
        "src/index/mod.rs": """\
#[cfg(feature = "off")]
#[path = "disabled.rs"]
mod imp;
#[cfg(not(feature = "off"))]
#[path = "enabled.rs"]
mod imp;
""",
        "src/index/disabled.rs": "pub fn open() {}\n",
        "src/index/enabled.rs": "pub fn open() {}\n",
        "src/user.rs": "use crate::index::imp::open;\n",
        "examples/fmt/yak_shave.rs": "pub fn shave() {}\n",
        "examples/compact.rs": '#[path = "fmt/yak_shave.rs"]\nmod yak_shave;\n',
        # A file that does not exist is no edge.
        "examples/missing.rs": '#[path = "nowhere.rs"]\nmod gone;\n',
    }))
    assert {(u, v) for u, v, kind in graph.edges(data="kind") if kind == "mod"} >= {
        ("crate::index::disabled", "crate::index"), ("crate::index::enabled", "crate::index"),
        ("examples/fmt#crate::yak_shave", "examples/compact#crate")}
    assert graph.has_edge("crate::index::disabled", "crate::user")
    assert graph.has_edge("crate::index::enabled", "crate::user")
    assert not any(v == "examples/missing#crate" for _, v in graph.edges)
    order = dependency_order(graph)
    assert order.index("examples/fmt#crate::yak_shave") < order.index("examples/compact#crate")


def test_a_crates_package_dir_is_the_folder_of_its_cargo_toml(tmp_path: Path) -> None:
    """By cargo's conventions, from the file's path (at any commit: a package the revision
    no longer has, a layout it changed); by the revision's package folders for a file its
    manifests place."""
    cases = {("src/lib.rs", "."): "", ("tests/cli.rs", "tests/cli"): "",
             ("src/bin/tool.rs", "src/bin/tool"): "", ("build.rs", "build"): "",
             ("crates/a/src/x.rs", "crates/a"): "crates/a",
             ("crates/a/examples/demo/main.rs", "crates/a/examples/demo"): "crates/a",
             ("crates/a/build.rs", "crates/a/build"): "crates/a",
             ("filetree/src/lib.rs", "filetree"): "filetree",
             ("examples/hello-world/src/main.rs", "examples/hello-world"): "examples/hello-world",
             ("examples/hello_world.rs", "examples/hello_world"): "",
             ("tests/ui/a.rs", "tests/ui/a"): "",
             ("examples/grpc/build.rs", "examples/grpc"): "examples/grpc"}
    for (path, crate), expected in cases.items():
        assert package_dir(path, crate, None) == expected, path
    # ripgrep's binary at crates/core/main.rs, placed by the top manifest's [[bin]] path.
    roots = _roots_of(tmp_path, {
        "Cargo.toml": _PKG + '[[bin]]\nname = "rg"\npath = "crates/core/main.rs"\n',
        "crates/core/main.rs": "", "crates/core/flags/mod.rs": ""})
    for path in ("crates/core/main.rs", "crates/core/flags/mod.rs"):
        loc = locate_module(path, roots)
        assert package_dir(path, loc.crate, roots) == "", (path, loc)
    # Build scripts: the top package's, and one in a folder the revision has no package in
    # (a package of older commits) its folder's (0.1.59 gave `build` and `gone/build`).
    for path, folder in (("build.rs", ""), ("gone/build.rs", "gone"),
                         ("examples/old/build.rs", "examples/old"),
                         ("examples/old/src/main.rs", "examples/old")):
        loc = locate_module(path, roots)
        assert package_dir(path, loc.crate, roots) == folder, (path, loc)
    # A tests folder's package the revision lacks, whose build script the walk made a crate
    # of its own (with older manifests): its folder, as its src/ files' (tonic's
    # tests/skip_debug/build.rs had crate_dir ''); a test's module `build` stays the test's.
    assert package_dir("tests/foo/build.rs", "tests/foo/build", roots) == "tests/foo"
    assert package_dir("tests/testsuite/build.rs", "tests/testsuite", roots) == ""
    # A one-file target named build.rs is its package's, as any other target.
    for path in ("tests/build.rs", "examples/build.rs", "benches/build.rs", "src/bin/build.rs",
                 "foo/tests/build.rs"):
        loc = locate_module(path, None)
        assert package_dir(path, loc.crate, None) == path.partition("/")[0] * (
            path.startswith("foo/")), (path, loc)


def test_a_build_script_of_a_package_in_a_tests_folder_is_its_own_crate(
        tmp_path: Path) -> None:
    """tests/pkg/build.rs was module `build` of crate tests/pkg: it is the build script of
    a package there, a crate of its own (tonic: 23 crate samples joined a test program and
    its package's build script), and examples/build.rs, where examples/ is a package, is
    that package's (it got crate_dir '')."""
    roots = _roots_of(tmp_path, {
        "Cargo.toml": '[workspace]\nmembers = ["tests/pkg", "examples"]\n',
        "tests/pkg/Cargo.toml": _PKG, "tests/pkg/src/main.rs": "fn main() {}\n",
        "tests/pkg/build.rs": "fn main() {}\n",
        "examples/Cargo.toml": _PKG.replace("app", "examples"),
        "examples/build.rs": "fn main() {}\n", "examples/src/lib.rs": ""})
    cases = {"tests/pkg/build.rs": ("tests/pkg/build", "tests/pkg"),
             "tests/pkg/src/main.rs": ("tests/pkg", "tests/pkg"),
             "examples/build.rs": ("examples/build", "examples"),
             # No package there: a module `build` of the test (cargo's and mdBook's
             # tests/testsuite), built from the top package as the test's other modules.
             "tests/other/build.rs": ("tests/other", ""),
             "tests/other/cli.rs": ("tests/other", "")}
    for path, (crate, folder) in cases.items():
        loc = locate_module(path, roots)
        assert loc.crate == crate, path
        assert package_dir(path, loc.crate, roots) == folder, path


def test_module_facts_of_a_parse() -> None:
    """Inline modules, `mod` declarations and use paths, each with the module it is in (the
    module graph tests above see files only through these facts)."""
    lib = ModuleFacts.of(parse_rust(CRATE["src/lib.rs"].encode())[0])
    assert lib.inline_mods == ("inline",)
    assert ("", "x") in lib.mods and ("inline", "super::x::Y") in lib.uses


def test_snapshots_share_the_facts_of_an_unchanged_file(tmp_path: Path) -> None:
    """The walk holds module facts, not parses, for each snapshot, and a file unchanged
    between snapshots once (the memory of libc's 94 snapshots)."""
    built = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "mod a;\n", "src/a.rs": "pub fn f() {}\n"}),
        Commit("two", write={"src/lib.rs": "mod a;\nmod b;\n", "src/b.rs": "use crate::a;\n"}),
    ])
    info = open_repo(built.path)
    known: dict[str, ModuleFacts | None] = {}
    with BlobReader(info.git_dir) as reader:
        cache = BlobCache(reader, 1 << 20)
        first = dict(tree_module_facts(info, cache, built.sha("one"), known))
        second = dict(tree_module_facts(info, cache, built.sha("two"), known))
    assert all(isinstance(f, ModuleFacts) for f in [*first.values(), *second.values()])
    assert second["src/a.rs"] is first["src/a.rs"]
    assert second["src/lib.rs"].mods == (("", "a"), ("", "b"))
    assert len(known) == 4  # lib.rs twice, a.rs once, b.rs once


def _roots_of(tmp_path: Path, files: dict[str, str]) -> CrateRoots:
    repo = make_repo(tmp_path / "repo", [Commit("one", write=files)])
    info = open_repo(repo.path)
    with BlobReader(info.git_dir) as reader:
        return crate_roots(info, reader)


def test_crate_roots_that_the_conventions_miss(tmp_path: Path) -> None:
    """ripgrep's binary is `[[bin]] path = "crates/core/main.rs"` of the top package: by the
    conventions alone crates/core was a crate of modules `crate::main`, `crate::flags`
    a crate of its own (crates/core/flags), and `use crate::flags::…` resolved nowhere."""
    top = ('[package]\nname = "rg"\nversion = "0.1.0"\n'
           '[[bin]]\nname = "rg"\npath = "crates/core/main.rs"\n')
    fuzz = ('[package]\nname = "fuzz"\nversion = "0.1.0"\n'
            '[[bin]]\nname = "a"\npath = "targets/a.rs"\n[[bin]]\nname = "b"\n'
            'path = "targets/b.rs"\n')
    mixed = ('[package]\nname = "m"\nversion = "0.1.0"\n[lib]\npath = "src/lib.rs"\n'
             '[[bin]]\nname = "tool"\npath = "tool/main.rs"\n')
    roots = _roots_of(tmp_path, {
        "Cargo.toml": top, "crates/core/main.rs": "mod flags;\n",
        "crates/core/flags/mod.rs": "", "crates/core/flags/defs.rs": "",
        "crates/core/search.rs": "",
        "crates/printer/Cargo.toml": '[package]\nname = "p"\nversion = "0.1.0"\n',
        "crates/printer/src/lib.rs": "", "tests/it.rs": "", "build.rs": "",
        "fuzz/Cargo.toml": fuzz, "fuzz/targets/a.rs": "", "fuzz/targets/b.rs": "",
        "fuzz/targets/shared.rs": "",
        "m/Cargo.toml": mixed, "m/src/lib.rs": "", "m/tool/main.rs": "", "m/tool/cli.rs": "",
        "gone/Cargo.toml": '[package]\nname = "g"\n[[bin]]\nname = "g"\npath = "g.rs"\n',
    })
    located = {path: (loc.crate, loc.module) for path in [
        "crates/core/main.rs", "crates/core/flags/mod.rs", "crates/core/flags/defs.rs",
        "crates/core/search.rs", "crates/printer/src/lib.rs", "tests/it.rs", "build.rs",
        "fuzz/targets/a.rs", "fuzz/targets/shared.rs", "m/src/lib.rs", "m/tool/main.rs",
        "m/tool/cli.rs"] for loc in [locate_module(path, roots)]}
    assert located == {
        "crates/core/main.rs": (".", "crate"),  # the top package's only crate
        "crates/core/flags/mod.rs": (".", "crate::flags"),
        "crates/core/flags/defs.rs": (".", "crate::flags::defs"),
        "crates/core/search.rs": (".", "crate::search"),
        "crates/printer/src/lib.rs": ("crates/printer", "crate"),  # conventions: unchanged
        "tests/it.rs": ("tests/it", "crate"),
        "build.rs": ("build", "crate"),
        "fuzz/targets/a.rs": ("fuzz/targets/a", "crate"),  # a folder of roots: each a crate
        "fuzz/targets/shared.rs": ("fuzz/targets", "crate::shared"),
        "m/src/lib.rs": ("m", "crate"),
        "m/tool/main.rs": ("m/tool", "crate"),  # its package has a library: another name
        "m/tool/cli.rs": ("m/tool", "crate::cli"),
    }
    assert locate_module("crates/core/flags/defs.rs") == ModuleLocation(
        "crates/core/flags", "crate::defs")  # without the roots, as before
    assert not _roots_of(tmp_path / "plain", {"Cargo.toml": '[package]\nname = "x"\n',
                                              "src/main.rs": ""})


_PKG = '[package]\nname = "app"\nversion = "0.1.0"\n'


@pytest.mark.parametrize(("files", "expected"), [
    # A binary in src/ beside the conventional library: a crate of one file; the library's
    # modules stay the library's (found in review: src/ became a crate named "src").
    ({"Cargo.toml": _PKG + '[[bin]]\nname = "cli"\npath = "src/cli.rs"\n',
      "src/lib.rs": "", "src/parser.rs": "", "src/cli.rs": ""},
     {"src/cli.rs": ("src/cli", "crate"), "src/lib.rs": (".", "crate"),
      "src/parser.rs": (".", "crate::parser")}),
    # A library elsewhere in src/: src/bin's binaries stay crates of their own.
    ({"Cargo.toml": _PKG + '[lib]\npath = "src/mylib.rs"\n', "src/mylib.rs": "",
      "src/other.rs": "", "src/bin/tool.rs": ""},
     {"src/mylib.rs": (".", "crate"), "src/other.rs": (".", "crate::other"),
      "src/bin/tool.rs": ("src/bin/tool", "crate")}),
    # A library and a binary in one folder: the library holds the folder's modules.
    ({"Cargo.toml": _PKG + '[lib]\npath = "rust/lib.rs"\n[[bin]]\nname = "app"\n'
      'path = "rust/main.rs"\n', "rust/lib.rs": "", "rust/main.rs": "", "rust/util.rs": ""},
     {"rust/lib.rs": (".", "crate"), "rust/main.rs": ("rust/main", "crate"),
      "rust/util.rs": (".", "crate::util")}),
    # A binary in the package's folder beside src/lib.rs: not the library's root module.
    ({"Cargo.toml": _PKG + '[[bin]]\nname = "app"\npath = "main.rs"\n',
      "src/lib.rs": "", "main.rs": ""},
     {"main.rs": ("main", "crate"), "src/lib.rs": (".", "crate")}),
    # An old-style library at the package's top: its files, not its tests or build script.
    ({"Cargo.toml": _PKG.replace("package", "project") + '[lib]\npath = "./lib.rs"\n',
      "lib.rs": "", "util.rs": "", "tests/it.rs": "", "build.rs": ""},
     {"lib.rs": (".", "crate"), "util.rs": (".", "crate::util"),
      "tests/it.rs": ("tests/it", "crate"), "build.rs": ("build", "crate")}),
    # A build script elsewhere than build.rs (bat's build/main.rs): the package's crate
    # `build`, with the modules of its folder.
    ({"Cargo.toml": _PKG + 'build = "build/main.rs"\n', "src/main.rs": "",
      "build/main.rs": "", "build/syntax.rs": "",
      "x/Cargo.toml": _PKG + 'build = "gen.rs"\n', "x/gen.rs": "", "x/src/lib.rs": ""},
     {"build/main.rs": ("build", "crate"), "build/syntax.rs": ("build", "crate::syntax"),
      "src/main.rs": (".", "crate"), "x/gen.rs": ("x/build", "crate"),
      "x/src/lib.rs": ("x", "crate")}),
    # A path out of the package resolved; one out of the repository ignored.
    ({"app/Cargo.toml": _PKG + '[[bin]]\nname = "app"\npath = "../shared/main.rs"\n',
      "shared/main.rs": "", "shared/x.rs": "",
      "b/Cargo.toml": _PKG + '[[bin]]\nname = "b"\npath = "../../main.rs"\n'},
     {"shared/main.rs": ("app", "crate"), "shared/x.rs": ("app", "crate::x")}),
    # Programs trybuild compiles one by one (no main.rs, mod.rs or ui.rs beside them): each
    # a crate of its own, not modules of one crate `tests/ui` (axum: 61 `fn main`s). A
    # folder with a main.rs, a mod.rs or a file of its name is one crate as before.
    ({"Cargo.toml": _PKG, "src/lib.rs": "", "tests/ui/a.rs": "", "tests/ui/b.rs": "",
      "tests/multi/main.rs": "", "tests/multi/helper.rs": "", "tests/common/mod.rs": "",
      "tests/common/util.rs": "", "tests/cli.rs": "mod args;\n", "tests/cli/args.rs": "",
      # trybuild's driver beside its programs declares none of them: each is a program.
      "tests/trybuild.rs": "#[test]\nfn ui() {}\n", "tests/trybuild/pass.rs": "",
      "examples/demos/one.rs": "", "tests/fixtures/book/src/x.rs": "",
      "tests/debug_handler/fail/generics.rs": "", "tests/common/deep/x.rs": "",
      "examples/foo/Cargo.toml": _PKG + '[lib]\npath = "lib.rs"\n', "examples/foo/lib.rs": "",
      "examples/foo/util.rs": ""},
     {"tests/ui/a.rs": ("tests/ui/a", "crate"), "tests/ui/b.rs": ("tests/ui/b", "crate"),
      "tests/multi/helper.rs": ("tests/multi", "crate::helper"),
      "tests/common/util.rs": ("tests/common", "crate::util"),
      "tests/cli/args.rs": ("tests/cli", "crate::args"),
      "tests/trybuild/pass.rs": ("tests/trybuild/pass", "crate"),
      "examples/demos/one.rs": ("examples/demos/one", "crate"),
      "tests/fixtures/book/src/x.rs": ("tests/fixtures/book", "crate::x"),
      "tests/debug_handler/fail/generics.rs": ("tests/debug_handler/fail/generics", "crate"),
      "tests/common/deep/x.rs": ("tests/common", "crate::deep::x"),
      # A package inside examples/ is laid out by its manifest, not as programs.
      "examples/foo/lib.rs": ("examples/foo", "crate"),
      "examples/foo/util.rs": ("examples/foo", "crate::util")}),
    # Test discovery off and one test crate listed (just's `autotests = false`, `[[test]]
    # path = "tests/lib.rs"`): the other files of tests/ are its modules, not crates. A
    # binary found anyway with autobins off stays the package's crate.
    ({"Cargo.toml": _PKG.replace('version', 'autotests = false\nautobins = false\nversion')
      + '[[test]]\nname = "integration"\npath = "tests/lib.rs"\n'
      '[[bin]]\nname = "app"\npath = "src/main.rs"\n',
      "src/main.rs": "", "tests/lib.rs": "", "tests/misc.rs": "mod deep;\n",
      "tests/misc/deep.rs": ""},
     {"tests/lib.rs": ("tests", "crate"), "tests/misc.rs": ("tests", "crate::misc"),
      "tests/misc/deep.rs": ("tests", "crate::misc::deep"), "src/main.rs": (".", "crate")}),
    # A listed test without a `path` is where cargo looks for its name (rust-url's idna:
    # `autotests = false`, `[[test]] name = "tests"`: tests/tests.rs and its modules).
    ({"Cargo.toml": _PKG.replace('version', 'autotests = false\nversion')
      + '[[test]]\nname = "tests"\n[[test]]\nname = "deep"\n',
      "src/lib.rs": "", "tests/tests.rs": "mod punycode;\n", "tests/punycode.rs": "",
      "tests/uts46.rs": "", "tests/deep/main.rs": "", "tests/deep/helper.rs": ""},
     {"tests/tests.rs": ("tests", "crate"), "tests/punycode.rs": ("tests", "crate::punycode"),
      "tests/uts46.rs": ("tests", "crate::uts46"),
      "tests/deep/main.rs": ("tests/deep", "crate"),
      "tests/deep/helper.rs": ("tests/deep", "crate::helper")}),
    # With discovery on, a listed test the conventions find is one test crate among many.
    ({"Cargo.toml": _PKG + '[[test]]\nname = "it"\npath = "tests/it.rs"\n'
      '[[bench]]\nname = "speed"\npath = "perf/speed/main.rs"\n',
      "src/lib.rs": "", "tests/it.rs": "", "tests/other.rs": "", "perf/speed/main.rs": "",
      "perf/speed/data.rs": ""},
     {"tests/it.rs": ("tests/it", "crate"), "tests/other.rs": ("tests/other", "crate"),
      "perf/speed/main.rs": ("perf/speed", "crate"),
      "perf/speed/data.rs": ("perf/speed", "crate::data")}),
    # A test a member names outside its folder (time's `[[test]] path =
    # "../tests/main.rs"`, the top folder a virtual workspace): the conventions of a folder
    # no package owns do not find it, so tests/'s other files are its modules.
    ({"Cargo.toml": '[workspace]\nmembers = ["time"]\n',
      "time/Cargo.toml": _PKG + '[[test]]\nname = "tests"\npath = "../tests/main.rs"\n',
      "time/src/lib.rs": "", "tests/main.rs": "mod date;\n", "tests/date.rs": ""},
     {"tests/main.rs": ("tests", "crate"), "tests/date.rs": ("tests", "crate::date"),
      "time/src/lib.rs": ("time", "crate")}),
    # A listed bench does not make a lone binary outside src/ share the package's crate.
    ({"Cargo.toml": _PKG + '[[bin]]\nname = "app"\npath = "crates/core/main.rs"\n'
      '[[bench]]\nname = "speed"\npath = "perf/speed.rs"\n',
      "crates/core/main.rs": "", "crates/core/flags.rs": "", "perf/speed.rs": ""},
     {"crates/core/main.rs": (".", "crate"), "crates/core/flags.rs": (".", "crate::flags"),
      "perf/speed.rs": ("perf", "crate")}),
])
def test_crate_roots_of_mixed_packages(tmp_path: Path, files: dict[str, str],
                                       expected: dict[str, tuple[str, str]]) -> None:
    roots = _roots_of(tmp_path, files)
    assert {path: (loc.crate, loc.module) for path in expected
            for loc in [locate_module(path, roots)]} == expected


def test_a_binary_outside_src_is_one_crate_in_the_build(tmp_path: Path) -> None:
    """End to end: the modules of a binary at crates/core/main.rs are one crate, whose `use`
    and `mod` make module graph edges and whose items carry their modules."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    manifest = ('[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n'
                '[[bin]]\nname = "app"\npath = "crates/core/main.rs"\n')
    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": manifest,
        "crates/core/main.rs": "mod flags;\nuse crate::flags::defs::parse;\n\n"
                               "fn main() {\n    parse();\n}\n",
        "crates/core/flags/mod.rs": "pub mod defs;\n",
        "crates/core/flags/defs.rs": "pub fn parse() {}\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    modules = pq.read_table(out / "modules.parquet").to_pylist()
    assert {(m["crate"], m["module"], m["path"]) for m in modules} == {
        (".", "crate", "crates/core/main.rs"),
        (".", "crate::flags", "crates/core/flags/mod.rs"),
        (".", "crate::flags::defs", "crates/core/flags/defs.rs")}
    [defs] = [m for m in modules if m["module"] == "crate::flags::defs"]
    assert defs["order"] == 0  # before the modules that declare and use it
    items = pq.read_table(out / "items.parquet", columns=["name", "crate", "module"])
    assert {"name": "parse", "crate": ".", "module": "crate::flags::defs"} in items.to_pylist()


def test_a_library_root_only_an_older_manifest_names_is_its_packages_root(
        tmp_path: Path) -> None:
    """rust-url's percent_encoding had `[lib] path = "lib.rs"` from 2017 to 2020, then moved
    to src/lib.rs: the revision's manifest names no root, so the old file was module
    `crate::lib` of its package, and url's calls into it named nothing."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    package = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n'
    user = "use pe::encode;\n\npub fn run() -> u8 {\n    encode(1)\n}\n"
    # Neither the manifest's first version nor any deleted one names the root: an edit
    # (not an addition or deletion) gave it and another took it away.
    repo = make_repo(tmp_path / "repo", [
        Commit("first layout", write={
            "Cargo.toml": package.format("url") + '[dependencies]\npe = { path = "pe" }\n',
            "src/lib.rs": user, "pe/Cargo.toml": package.format("pe"),
            "pe/src/lib.rs": "pub fn encode(x: u8) -> u8 {\n    x\n}\n"}),
        Commit("to the top", write={
            "pe/Cargo.toml": package.format("pe") + '[lib]\npath = "lib.rs"\n',
            "pe/lib.rs": "pub fn encode(x: u8) -> u8 {\n    x + 1\n}\n"},
               delete=["pe/src/lib.rs"]),
        Commit("user edit", write={"src/lib.rs": user.replace("encode(1)", "encode(2)")}),
        Commit("moved", write={"pe/Cargo.toml": package.format("pe"),
                               "pe/src/lib.rs": "pub fn encode(x: u8) -> u8 {\n    x + 2\n}\n"},
               delete=["pe/lib.rs"])])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet",
                          columns=["name", "path", "crate", "module", "resolved"]).to_pylist()
    assert {(i["path"], i["crate"], i["module"]) for i in items if i["name"] == "encode"} == {
        ("pe/lib.rs", "pe", "crate"), ("pe/src/lib.rs", "pe", "crate")}
    runs = [i["resolved"] for i in items if i["name"] == "run"]
    assert runs and all("pe|crate::encode" in r for r in runs), runs


def test_an_older_library_root_outside_its_package_is_not_taken(tmp_path: Path) -> None:
    """A helper package that once compiled the main crate's sources (`[lib] path =
    "../src/lib.rs"`) does not take the main package's old src/lib.rs (a review of 0.1.81)."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    package = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n'
    lib = "mod helper;\npub fn encode(x: u8) -> u8 {\n    helper::twice(x)\n}\n"
    helper = "pub fn twice(x: u8) -> u8 {\n    x * 2\n}\n"
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={
            "Cargo.toml": package.format("pe") + '[workspace]\nmembers = ["check"]\n',
            "src/lib.rs": lib, "src/helper.rs": helper,
            "check/Cargo.toml": package.format("check") + '[lib]\npath = "../src/lib.rs"\n'}),
        Commit("to core/", write={
            "Cargo.toml": '[workspace]\nmembers = ["core"]\n',
            "core/Cargo.toml": package.format("pe"), "core/src/lib.rs": lib,
            "core/src/helper.rs": helper},
               delete=["src/lib.rs", "src/helper.rs", "check/Cargo.toml"])])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet",
                          columns=["name", "path", "crate", "module", "resolved"]).to_pylist()
    [encode] = [i for i in items if i["name"] == "encode" and i["path"] == "src/lib.rs"]
    assert (encode["crate"], encode["module"]) == (".", "crate")
    assert encode["resolved"] == [".|crate::helper::twice"]


@pytest.mark.parametrize("through_workspace", [False, True])
def test_a_renamed_path_dependency_is_found_by_its_new_name(
        tmp_path: Path, through_workspace: bool) -> None:
    """`proto = { package = "quinn-proto", path = "../quinn-proto" }`, then `use proto::…`:
    two thirds of quinn's history had bound nothing in quinn-proto (an acceptance sweep).
    Also through the workspace's `[workspace.dependencies]` and `{ workspace = true }`."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    package = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n'
    workspace = '[workspace]\nmembers = ["quinn", "quinn-proto"]\n'
    renamed = 'proto = { package = "quinn-proto", path = "../quinn-proto" }\n'
    if through_workspace:
        workspace += ('[workspace.dependencies]\n'
                      'proto = { package = "quinn-proto", path = "quinn-proto" }\n')
        renamed = "proto = { workspace = true }\n"
    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": workspace,
        "quinn-proto/Cargo.toml": package.format("quinn-proto"),
        "quinn-proto/src/lib.rs": "pub struct Endpoint;\nimpl Endpoint {\n"
                                  "    pub fn new(n: u8) -> Self { Endpoint }\n}\n",
        "quinn/Cargo.toml": package.format("quinn") + "[dependencies]\n" + renamed,
        "quinn/src/lib.rs": "use proto::Endpoint;\n\npub fn start() -> Endpoint {\n"
                            "    proto::Endpoint::new(1)\n}\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["name", "resolved"]).to_pylist()
    [start] = [i for i in items if i["name"] == "start"]
    assert set(start["resolved"]) == {"quinn-proto|crate::Endpoint",
                                      "quinn-proto|crate::Endpoint::new"}


_RENAME_PKG = '[package]\nname = "{}"\nversion = "0.1.0"\nedition = "2021"\n'
_PROTO_LIB = ("pub struct Endpoint;\nimpl Endpoint {\n"
              "    pub fn new(n: u8) -> Self { Endpoint }\n}\n")
_PROTO_USER = ("use proto::Endpoint;\n\npub fn start() -> Endpoint {\n"
               "    proto::Endpoint::new(1)\n}\n")


def test_a_rename_holds_in_its_own_package_only(tmp_path: Path) -> None:
    """Two packages renaming different packages to one name each reach their own, and one
    that takes a registry crate of that name reaches none of the repository's (a review of
    0.1.82: the renames had been one map for every crate)."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    def renaming(target: str) -> str:
        return (_RENAME_PKG.format(target.removesuffix("-proto")) + "[dependencies]\n"
                f'proto = {{ package = "{target}", path = "../{target}" }}\n')

    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": '[workspace]\nmembers = ["a", "a-proto", "b", "b-proto", "c"]\n',
        "a-proto/Cargo.toml": _RENAME_PKG.format("a-proto"), "a-proto/src/lib.rs": _PROTO_LIB,
        "b-proto/Cargo.toml": _RENAME_PKG.format("b-proto"), "b-proto/src/lib.rs": _PROTO_LIB,
        "a/Cargo.toml": renaming("a-proto"), "b/Cargo.toml": renaming("b-proto"),
        "c/Cargo.toml": _RENAME_PKG.format("c") + '[dependencies]\nproto = "1"\n',
        "a/src/lib.rs": _PROTO_USER, "b/src/lib.rs": _PROTO_USER, "c/src/lib.rs": _PROTO_USER})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["name", "path", "resolved"]).to_pylist()
    starts = {i["path"].partition("/")[0]: set(i["resolved"] or ()) for i in items
              if i["name"] == "start"}
    assert starts["a"] == {"a-proto|crate::Endpoint", "a-proto|crate::Endpoint::new"}
    assert starts["b"] == {"b-proto|crate::Endpoint", "b-proto|crate::Endpoint::new"}
    assert starts["c"] == set()


def test_a_root_packages_rename_stays_out_of_its_members(tmp_path: Path) -> None:
    """The root package renames `foo-v2` to `foo`; member v1 is the library `foo`, and its
    test crate's `use foo::Thing` is v1's (a review of 0.1.82: the walk up to a package with
    renames had passed v1 by)."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": _RENAME_PKG.format("app") + '[workspace]\nmembers = ["v1", "v2"]\n'
                      '[dependencies]\nfoo = { package = "foo-v2", path = "v2" }\n',
        "src/lib.rs": "use foo::Thing;\npub fn root_thing() -> Thing { Thing }\n",
        "v2/Cargo.toml": _RENAME_PKG.format("foo-v2"), "v2/src/lib.rs": "pub struct Thing;\n",
        "v1/Cargo.toml": _RENAME_PKG.format("foo"), "v1/src/lib.rs": "pub struct Thing;\n",
        "v1/tests/it.rs": "use foo::Thing;\npub fn test_thing() -> Thing { Thing }\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["name", "resolved"]).to_pylist()
    resolved = {i["name"]: set(i["resolved"] or ()) for i in items}
    assert resolved["root_thing"] == {"v2|crate::Thing"}
    assert resolved["test_thing"] == {"v1|crate::Thing"}


def test_older_manifests_give_library_names_and_renames_apart() -> None:
    """Older versions' renames are their package's, through a workspace's entry too, and
    never a library name (a review of 0.1.82: a rename had beaten a later package's own
    name, and `{ workspace = true }` was not followed)."""
    from dataset_builder.modules import older_library_names

    blobs = {"root": b'[workspace]\nmembers = ["quinn", "quinn-proto"]\n'
                     b'[workspace.dependencies]\n'
                     b'proto = { package = "quinn-proto", path = "quinn-proto" }\n',
             "quinn": (_RENAME_PKG.format("quinn")
                       + "[dependencies]\nproto = { workspace = true }\n").encode(),
             "qp": _RENAME_PKG.format("quinn-proto").encode(),
             "a": (_RENAME_PKG.format("a") + "[dependencies]\n"
                   'proto = { package = "a-proto", path = "../a-proto" }\n').encode(),
             "z": _RENAME_PKG.format("proto").encode()}

    class Reader:
        def read_many(self, shas: list[str]) -> list[bytes]:
            return [blobs[sha] for sha in shas]

    versions = {"Cargo.toml": ["root"], "quinn/Cargo.toml": ["quinn"],
                "quinn-proto/Cargo.toml": ["qp"], "a/Cargo.toml": ["a"], "z/Cargo.toml": ["z"]}
    names, _, renames, folders = older_library_names(
        versions, Reader(), versions)  # type: ignore[arg-type]
    assert names["proto"] == "z" and folders["proto"] == ("z",)
    assert renames == {"quinn": {"proto": "quinn-proto"}, "a": {"proto": "a-proto"}}


def test_programs_of_a_folder_gone_from_the_revision_are_crates_of_their_own(
        tmp_path: Path) -> None:
    """rayon's tests/run-pass/*.rs, compiletest programs deleted before its revision: by
    the conventions one crate `tests/run-pass` of modules, 5 crate samples of 2-6 `fn main`s
    each. The history's paths tell them programs as the revision's tree does."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    repo = make_repo(tmp_path / "repo", [
        Commit("programs", write={
            "Cargo.toml": _PKG, "src/lib.rs": "pub fn f() {}\n",
            "tests/run-pass/a.rs": "fn main() { app::f(); }\n",
            "tests/run-pass/b.rs": "fn main() {}\nfn helper() {}\n",
            "tests/shared.rs": "mod util;\n", "tests/shared/util.rs": "pub fn u() {}\n"}),
        Commit("gone", delete=["tests/run-pass/a.rs", "tests/run-pass/b.rs",
                               "tests/shared.rs", "tests/shared/util.rs"]),
        # A driver named like the folder, renamed since: the revision's folder holds
        # programs, as its tree alone says.
        Commit("ui", write={"tests/ui.rs": "fn main() {}\n",
                            "tests/ui/x.rs": "fn main() {}\n"}),
        Commit("renamed", rename={"tests/ui.rs": "tests/compiletest.rs"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    rows = pq.read_table(out / "items.parquet", columns=["path", "crate", "module"]).to_pylist()
    assert {(r["path"], r["crate"], r["module"]) for r in rows if r["path"] != "src/lib.rs"} == {
        ("tests/run-pass/a.rs", "tests/run-pass/a", "crate"),
        ("tests/run-pass/b.rs", "tests/run-pass/b", "crate"),
        ("tests/shared.rs", "tests/shared", "crate"),
        # a module of the file beside its folder, as before
        ("tests/shared/util.rs", "tests/shared", "crate::util"),
        ("tests/ui.rs", "tests/ui", "crate"),
        ("tests/compiletest.rs", "tests/compiletest", "crate"),
        ("tests/ui/x.rs", "tests/ui/x", "crate")}


def test_every_naming_of_a_manifest_is_read_once_and_a_broken_version_hides_none() -> None:
    """Versions of a manifest that name nothing new are parsed once; one that does not
    parse hides no other (a review of 0.1.88), nor does an inline `lib = { path = … }`."""
    from dataset_builder.modules import older_library_names

    good = b'[package]\nname = "oldlib"\nversion = "0.2.0"\n\n[lib]\npath = "lib/oldlib.rs"\n'
    bad = good.replace(b'"0.2.0"', b'"0.1.0')
    inline_a = b'lib = { path = "old/lib.rs" }\n[package]\nname = "moved"\nversion = "1"\n'
    inline_b = b'lib = { path = "older/lib.rs" }\n[package]\nname = "moved"\nversion = "0"\n'
    blobs = {"bad": bad, "good": good, "a": inline_a, "b": inline_b}

    class Reader:
        def read_many(self, shas: list[str]) -> list[bytes]:
            return [blobs[sha] for sha in shas]

    for order in (("bad", "good"), ("good", "bad")):
        _, roots, _, folders = older_library_names(
            {}, Reader(), {"Cargo.toml": order})  # type: ignore[arg-type]
        assert roots == {"lib/oldlib.rs": "."} and folders == {"oldlib": (".",)}
    _, roots, _, _ = older_library_names(
        {}, Reader(), {"Cargo.toml": ("a", "b")})  # type: ignore[arg-type]
    assert roots == {"old/lib.rs": ".", "older/lib.rs": "."}


def test_a_library_that_moved_folders_is_found_where_it_was(tmp_path: Path) -> None:
    """petgraph's library moved from the top folder to crates/petgraph: `petgraph::…`
    written before the move had named the revision's folder, empty then (an acceptance
    sweep: 402 test and bench samples with no library dependency)."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main

    package = '[package]\nname = "foo"\nversion = "0.1.0"\nedition = "2018"\n'
    test = "use foo::Graph;\n\n#[test]\nfn {}() {{\n    let g = Graph {{ n: 1 }};\n}}\n"
    repo = make_repo(tmp_path / "repo", [
        Commit("at the top", write={"Cargo.toml": package,
                                    "src/lib.rs": "pub struct Graph {\n    pub n: u32,\n}\n",
                                    "tests/before.rs": test.format("before")}),
        Commit("moved", rename={"Cargo.toml": "crates/foo/Cargo.toml",
                                "src/lib.rs": "crates/foo/src/lib.rs",
                                "tests/before.rs": "crates/foo/tests/before.rs"}),
        Commit("workspace", write={"Cargo.toml": '[workspace]\nmembers = ["crates/foo"]\n',
                                   "crates/foo/tests/after.rs": test.format("after")})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet",
                          columns=["name", "path", "resolved"]).to_pylist()
    resolved = {(i["name"], i["path"]): i["resolved"] for i in items
                if i["name"] in ("before", "after")}
    assert resolved[("before", "tests/before.rs")] == [".|crate::Graph"]
    assert resolved[("after", "crates/foo/tests/after.rs")] == ["crates/foo|crate::Graph"]
