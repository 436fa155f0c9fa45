"""dataset_builder.symbols: the symbol table and name resolution behind the commit DAG."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_builder.modules import CrateRoots, locate_module
from dataset_builder.rust_items import Item, ParsedFile, parameter_count, parse_rust
from dataset_builder.symbols import REPLACED_PARAMS_FILES, Imports, SymbolTable

FILES = {
    "src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\n",
    "src/a.rs": """\
pub struct Foo;
impl Foo {
    pub fn new() -> Self { Self::make() }
    fn make() -> Self { Foo }
    fn tally(&self) -> usize { 0 }
    fn area(&self) -> u8 { 1 }
    fn len(&self) -> usize { 2 }
}
pub enum Color { Red, Green }
fn local() -> Foo { Foo::new() }
macro_rules! square { () => {} }
pub fn ready() -> u8 { 0 }
""",
    "src/c.rs": """\
pub struct Foo;
pub struct Unique;
impl Foo { fn tally(&self) -> usize { 1 } }
""",
    "src/b.rs": """\
use crate::a::Foo as Bar;
use crate::a::*;
use std::collections::HashMap;
fn g() {
    let x: Bar = Bar::new();
    let f: Foo = Foo::new();
    let u: Unique = todo!();
    let c = Color::Red;
    let y = Bar::new();
    y.tally();
    y.area();
    y.len();
    x.tally();
    x.len();
    u.tally();
    square!();
    ready!();
    square();
    let m: HashMap<u8, u8> = HashMap::new();
    crate::a::Foo::new();
    super::a::Color::Green;
    std::fmt::Write::write_str;
    external_fn();
    Unknown::thing();
}
""",
    "crates/other/src/lib.rs": "pub struct OnlyThere;\nfn z() -> Unique { todo!() }\n",
}


class World:
    def __init__(self, files: dict[str, str], roots: CrateRoots | None = None) -> None:
        self.roots = roots  # the packages' default features, where given
        self.table = SymbolTable()
        self.parsed: dict[str, ParsedFile] = {}
        self.parsed_text: dict[str, str] = {}
        for path, text in files.items():
            self.add(path, text)

    def add(self, path: str, text: str) -> None:
        parsed, _ = parse_rust(text.encode())
        self.parsed[path] = parsed
        self.parsed_text[path] = text
        self.table.define_file(path, locate_module(path), parsed.items, parsed.uses,
                               self.roots, source=text.encode())

    def item(self, path: str, key: str) -> Item:
        return next(i for i in self.parsed[path].items if i.key == key)

    def resolve(self, path: str, key: str, ref: str) -> str | None:
        item = self.item(path, key)
        if "." in ref and "(" not in ref:  # a method call, as the item makes it: `.len(0)`
            calls = [r for r in item.references if r.partition("(")[0] == ref]
            assert len(calls) == 1, (ref, item.references)
            ref = calls[0]
        assert ref in item.references, (ref, item.references)
        loc = locate_module(path)
        return self.table.resolve(ref, item, loc, Imports.of(self.parsed[path].uses, loc))

    def resolve_in_item(self, path: str, key: str, ref: str) -> str | None:
        """As the walk resolves: with the `use`s inside the item's body too."""
        from dataset_builder.symbols import with_local_globs

        item = self.item(path, key)
        assert ref in item.references, (ref, item.references)
        loc = locate_module(path)
        imports = with_local_globs(Imports.of(self.parsed[path].uses, loc), item,
                                   loc.join(item.module))
        return self.table.resolve(ref, item, loc, imports)


@pytest.fixture
def world() -> World:
    return World(FILES)


def test_symbols_defined(world: World) -> None:
    assert set(world.table.owners) == {
        ".|crate::a::Foo", ".|crate::a::Foo::new", ".|crate::a::Foo::make",
        ".|crate::a::Foo::tally", ".|crate::a::Foo::area", ".|crate::a::Color",
        ".|crate::a::Foo::len", ".|crate::a::ready", ".|crate::a::local",
        ".|crate::a::square", ".|crate::c::Foo", ".|crate::c::Unique",
        ".|crate::c::Foo::tally", ".|crate::b::g", "crates/other|crate::OnlyThere",
        "crates/other|crate::z",
    }


def test_imports_of(world: World) -> None:
    imports = Imports.of(world.parsed["src/b.rs"].uses, locate_module("src/b.rs"))
    assert imports.aliases["Bar"] == ["crate::a::Foo"]
    assert imports.globs == ["crate::a"]


@pytest.mark.parametrize(("path", "key", "ref", "expected"), [
    # Same module (Foo is also in crate::c: only the local lookup can decide).
    ("src/a.rs", "function:local", "Foo", ".|crate::a::Foo"),
    ("src/a.rs", "function:local", "Foo::new", ".|crate::a::Foo::new"),
    # `Self::…` inside an impl names the impl's type.
    ("src/a.rs", "method:impl Foo::new", "Self::make", ".|crate::a::Foo::make"),
    # An imported alias, and a path through it.
    ("src/b.rs", "function:g", "Bar", ".|crate::a::Foo"),
    ("src/b.rs", "function:g", "Bar::new", ".|crate::a::Foo::new"),
    # A glob import decides between crate::a::Foo and crate::c::Foo.
    ("src/b.rs", "function:g", "Foo", ".|crate::a::Foo"),
    ("src/b.rs", "function:g", "Foo::new", ".|crate::a::Foo::new"),
    # A name that only one symbol of the crate carries, with no import.
    ("src/b.rs", "function:g", "Unique", ".|crate::c::Unique"),
    # Enum::Variant resolves to the enum (variants are not symbols).
    ("src/b.rs", "function:g", "Color::Red", ".|crate::a::Color"),
    ("src/b.rs", "function:g", "super::a::Color::Green", ".|crate::a::Color"),
    ("src/b.rs", "function:g", "crate::a::Foo::new", ".|crate::a::Foo::new"),
    # Macros, in their own namespace: `ready!` is not the function `ready` (another crate's
    # macro: futures-rs), and a bare `square` is not the macro.
    ("src/b.rs", "function:g", "square!", ".|crate::a::square"),
    ("src/b.rs", "function:g", "ready!", None),
    ("src/b.rs", "function:g", "square", None),
    # `.method`: unique in the crate resolves, ambiguous (two `tally`) does not, and neither
    # does a name std's methods carry (`.len()` of a Vec, not the crate's only `len`).
    ("src/b.rs", "function:g", ".area", ".|crate::a::Foo::area"),
    ("src/b.rs", "function:g", ".tally", None),
    ("src/b.rs", "function:g", ".len", None),
    # On a receiver declared with a type (`x: Bar`), that type's method, whichever other
    # type has one so named, std's names too; a type without one binds no other type's.
    ("src/b.rs", "function:g", "Bar.tally", ".|crate::a::Foo::tally"),
    ("src/b.rs", "function:g", "Bar.len", ".|crate::a::Foo::len"),
    ("src/b.rs", "function:g", "Unique.tally", None),
    # External or unknown names stay unresolved.
    ("src/b.rs", "function:g", "HashMap", None),
    ("src/b.rs", "function:g", "HashMap::new", None),
    ("src/b.rs", "function:g", "std::fmt::Write::write_str", None),
    ("src/b.rs", "function:g", "external_fn", None),
    ("src/b.rs", "function:g", "Unknown::thing", None),
    ("src/b.rs", "function:g", "todo!", None),
    # Another crate's unique name is not visible.
    ("crates/other/src/lib.rs", "function:z", "Unique", None),
])
def test_resolve(world: World, path: str, key: str, ref: str, expected: str | None) -> None:
    assert world.resolve(path, key, ref) == expected


def test_latest_def_is_not_touched_by_define_file(world: World) -> None:
    assert world.table.latest_def == {}


def test_drop_file_and_redefine(world: World) -> None:
    table = world.table
    table.drop_file("src/c.rs")
    assert ".|crate::c::Foo" not in table.owners
    # Foo is now unique crate-wide, and `.tally` too.
    assert world.resolve("src/b.rs", "function:g", ".tally") == ".|crate::a::Foo::tally"
    world.add("src/c.rs", "pub struct Foo;\n")
    assert ".|crate::c::Foo" in table.owners
    assert (".", "Unique") not in table.by_name
    assert world.resolve("src/b.rs", "function:g", "Unique") is None


def test_duplicate_definitions_are_counted(world: World) -> None:
    # The same module defined twice (a.rs and a/mod.rs, or cfg'd duplicates) keeps the symbol
    # until both are gone.
    world.add("src/a/mod.rs", "pub enum Color { Red }\n")
    assert world.table.owners[".|crate::a::Color"] == 2
    world.table.drop_file("src/a.rs")
    assert world.table.owners[".|crate::a::Color"] == 1
    assert world.resolve("src/b.rs", "function:g", "Color::Red") == ".|crate::a::Color"
    world.table.drop_file("src/a/mod.rs")
    assert ".|crate::a::Color" not in world.table.owners
    assert world.resolve("src/b.rs", "function:g", "Color::Red") is None


def test_external_import_shadows_crate_wide_unique_name() -> None:
    world = World({
        "src/lib.rs": "pub mod ser;\npub mod user;\n",
        "src/ser.rs": "pub trait Serialize {}\n",
        "src/user.rs": "use serde::Serialize;\nfn save<T: Serialize>(t: T) {}\n",
    })
    assert world.resolve("src/user.rs", "function:save", "Serialize") is None


def test_redefining_files_leaves_the_table_of_their_last_versions() -> None:
    """define_file updates only the symbols a version adds or removes (duplicates in a file
    and across files counted): the table ends as one built from the last versions alone."""
    versions = [
        ("src/lib.rs", "fn a() {}\nfn b() {}\nstruct S;\nimpl S { fn m(&self) {} }\n"),
        ("src/other.rs", "pub fn b() {}\n"),
        ("src/lib.rs", "#[cfg(x)]\nfn b() {}\n#[cfg(not(x))]\nfn b() {}\nfn c() {}\n"),
        ("src/other.rs", "pub fn b() {}\npub fn a() {}\n"),
        ("src/lib.rs", "fn c() {}\nstruct S;\nimpl S { fn m(&self) {} fn n(&self) {} }\n"),
    ]
    table = SymbolTable()
    last: dict[str, str] = {}
    for path, source in versions:
        table.define_file(path, locate_module(path), parse_rust(source.encode())[0].items)
        last[path] = source
    fresh = SymbolTable()
    for path, source in last.items():
        fresh.define_file(path, locate_module(path), parse_rust(source.encode())[0].items)
    assert table.owners == fresh.owners
    assert {k: v for k, v in table.by_name.items() if v} == dict(fresh.by_name)
    assert {k: v for k, v in table.by_method.items() if v} == dict(fresh.by_method)
    assert table.file_symbols == fresh.file_symbols


def test_generation_moves_only_when_the_defined_symbols_change(world: World) -> None:
    # The history walk keeps a file's resolutions while the generation stays.
    start = world.table.generation
    world.add("src/c.rs", FILES["src/c.rs"].replace("{ 1 }", "{ 2 }"))  # a body only
    assert world.table.generation == start
    world.table.drop_file("src/nowhere.rs")
    assert world.table.generation == start
    world.add("src/c.rs", "pub struct Foo;\n")  # Unique and Foo::tally go
    assert world.table.generation > start
    assert world.resolve("src/b.rs", "function:g", "Unique") is None
    dropped = world.table.generation
    world.table.drop_file("src/a.rs")
    assert world.table.generation > dropped


def test_saved_table_leaves_out_its_id_memo_and_redefines_alike() -> None:
    import pickle

    table = SymbolTable()
    path = "src/lib.rs"
    table.define_file(path, locate_module(path), parse_rust(b"fn a() {}\nstruct S;\n")[0].items)
    assert table.path_ids[path] == {"a": ".|crate::a", "S": ".|crate::S"}
    resumed = pickle.loads(pickle.dumps(table))
    assert resumed.path_ids == {} and resumed == table
    edited = parse_rust(b"fn a() {}\nfn b() {}\n")[0].items
    for t in (table, resumed):
        t.define_file(path, locate_module(path), edited)
    assert resumed.owners == table.owners == {".|crate::a": 1, ".|crate::b": 1}
    assert resumed.file_symbols == table.file_symbols


def _first_glob_by_trying_each(table: SymbolTable, crate: str, name: str,
                               globs: list[str]) -> str | None:
    """What a glob import resolves to by definition: the first glob whose module defines it."""
    for prefix in globs:
        if f"{crate}|{prefix}::{name}" in table.owners:
            return f"{crate}|{prefix}::{name}"
    return None


def test_glob_imports_resolve_to_the_first_glob_defining_the_name() -> None:
    """Names imported by globs are looked up among the symbols so named (SymbolTable's
    glob_prefixes), which must find what trying every glob in turn finds, as files come,
    change and go, and after the table is saved and restored."""
    import pickle
    import random

    rng = random.Random(7)
    modules = ["a", "b", "c", "d", "e"]
    names = ["Foo", "Bar", "new", "len", "CONST", "mac"]
    table = SymbolTable()
    globs = [f"crate::{m}" for m in ("c", "a", "e", "b")] + ["crate::a::Foo"]
    imports = Imports({}, globs)
    for step in range(300):
        module = rng.choice(modules)
        path = f"src/{module}.rs"
        if rng.random() < 0.15:
            table.drop_file(path)
        else:
            chosen = rng.sample(names, rng.randint(0, len(names)))
            source = "".join(
                f"pub fn {n}() {{}}\n" if n.islower() else
                f"pub struct {n};\nimpl {n} {{ pub fn new() -> Self {{ {n} }} }}\n"
                if n != "CONST" else "pub const CONST: u8 = 1;\n" for n in chosen)
            table.define_file(path, locate_module(path), parse_rust(source.encode())[0].items)
        if step % 50 == 49:
            table = pickle.loads(pickle.dumps(table))  # rebuilt from the saved owners
        for name in names:
            expected = _first_glob_by_trying_each(table, ".", name, globs)
            assert table._simple(name, ".", "crate::user", imports) == (
                expected or table._unique(table.by_name, ".", name)), (step, name)


def test_glob_imports_in_a_crate_folder_named_with_a_bar() -> None:
    """A symbol id is "<crate folder>|<path>", and a folder may hold "|" itself."""
    table = SymbolTable()
    for name, source in (("a", b"pub struct Foo;\n"), ("b", b"pub struct Foo;\n")):
        path = f"we|ird/src/{name}.rs"
        table.define_file(path, locate_module(path), parse_rust(source)[0].items)
    crate = locate_module("we|ird/src/a.rs").crate
    assert crate == "we|ird"
    imports = Imports({}, ["crate::b", "crate::a"])
    assert table._simple("Foo", crate, "crate::c", imports) == "we|ird|crate::b::Foo"


def test_associated_consts_are_named_under_their_type() -> None:
    """cortex-m gives each of 16 peripherals `impl X { pub const PTR }`: each is X::PTR, and
    `Self::PTR` names its own; a bare name names none of them, even a unique one (before,
    all 16 were one module-level `PTR`)."""
    world = World({
        "src/lib.rs": """\
pub struct Scb;
pub struct Nvic;
impl Scb { pub const PTR: u8 = 1; fn get() -> u8 { Self::PTR } }
impl Nvic { pub const PTR: u8 = 2; fn get() -> u8 { Nvic::PTR } }
pub trait Sized2 { const LIMIT: usize; }
fn bare() -> u8 { PTR }
fn bare_limit() -> usize { LIMIT }
""",
    })
    assert world.item("src/lib.rs", "const:impl Scb::PTR").symbol == "Scb::PTR"
    assert world.item("src/lib.rs", "const:Sized2::LIMIT").symbol == "Sized2::LIMIT"
    assert world.resolve("src/lib.rs", "method:impl Scb::get", "Self::PTR") == ".|crate::Scb::PTR"
    assert world.resolve("src/lib.rs", "method:impl Nvic::get", "Nvic::PTR") == \
        ".|crate::Nvic::PTR"
    assert world.resolve("src/lib.rs", "function:bare", "PTR") is None
    assert world.resolve("src/lib.rs", "function:bare_limit", "LIMIT") is None  # the only one


def test_workspace_crates_reexports_and_2015_paths_resolve() -> None:
    """futures-util imports `futures_core::Stream`, which futures-core re-exports from its
    `stream` module; a package's binary imports its own library by name (`use
    hyperfine::timer::Timer`); a 2015 crate's `use` starts at its root (`use {Conn}` in a
    module). None of these resolved: futures-rs's 11,674 function dependencies named no other
    crate."""
    world = World({
        "core-lib/src/lib.rs": "pub mod stream;\npub use self::stream::Stream;\n",
        "core-lib/src/stream.rs": "pub trait Stream { fn next_item(&mut self); }\n",
        "util/src/lib.rs": """\
use core_lib::Stream;
use core_lib::stream;
pub fn drive<S: Stream>(s: &mut S) { s.next_item() }
pub fn by_module<S: stream::Stream>(s: &mut S) { s.next_item() }
pub fn by_path<S: core_lib::stream::Stream>(s: &mut S) { s.next_item() }
""",
        "src/lib.rs": "pub mod timer;\npub mod conn;\n",
        "src/timer.rs": "pub struct Timer;\n",
        "src/conn.rs": "pub struct Conn;\n",
        "src/main.rs": "use app::timer::Timer;\nfn main() { let t: Timer = Timer; }\n",
        "src/old.rs": "use conn::Conn;\nfn open() -> Conn { Conn }\n",
    })
    world.table.crate_folders.update({"core_lib": "core-lib", "app": "."})
    stream = "core-lib|crate::stream::Stream"
    assert world.resolve("util/src/lib.rs", "function:drive", "Stream") == stream
    assert world.resolve("util/src/lib.rs", "function:by_module", "stream::Stream") == stream
    assert world.resolve("util/src/lib.rs", "function:by_path",
                         "core_lib::stream::Stream") == stream
    assert world.resolve("src/main.rs", "function:main", "Timer") == ".|crate::timer::Timer"
    assert world.resolve("src/old.rs", "function:open", "Conn") == ".|crate::conn::Conn"


def test_a_module_shared_by_test_crates_resolves_from_each() -> None:
    """tests/common/mod.rs is a module of every test crate that declares `mod common;`, not a
    crate (reqwest's tests/support, anyhow's tests/common): its helpers resolved from none of
    them."""
    world = World({
        "src/lib.rs": "pub fn setup() -> u8 { 0 }\n",
        "tests/common/mod.rs": "pub mod server;\npub fn setup() -> u8 { 1 }\n",
        "tests/common/server.rs": "pub struct Server;\n",
        "tests/a.rs": """\
mod common;
use common::server::Server;
#[test]
fn t() { common::setup(); let s: Server = Server; }
""",
        "examples/demo.rs": "mod common;\nfn main() { common::setup(); }\n",
        # Neither declares `mod valuable;` nor `mod json;`: external crates, no modules.
        "benches/valuable.rs": "pub fn helper() -> u8 { 0 }\n",
        "benches/other.rs": "fn run() { valuable::helper(); }\n",
        "tests/json.rs": "pub fn from_str(s: &str) -> u8 { 0 }\n",
        "tests/parse.rs": "use serde_json as json;\nfn t() { json::from_str(\"1\"); }\n",
    })
    assert world.resolve("tests/a.rs", "function:t", "common::setup") == \
        "tests/common|crate::setup"
    assert world.resolve("tests/a.rs", "function:t", "Server") == \
        "tests/common|crate::server::Server"
    # Only a module of the crate's own folder: examples/ has no common/.
    assert world.resolve("examples/demo.rs", "function:main", "common::setup") is None
    assert world.resolve("benches/other.rs", "function:run", "valuable::helper") is None
    assert world.resolve("tests/parse.rs", "function:t", "json::from_str") is None


def test_a_path_declared_module_resolves_to_the_file_it_names() -> None:
    """`#[path = "…"] mod x;` makes the file it names module x: `x::f` is found in that
    file, at its own place (ripgrep's cfg'd `#[path = "disabled.rs"] mod imp;`; winit's
    examples' `#[path = "util/fill.rs"] mod fill;`, another crate by the conventions).
    Before, neither resolved."""
    world = World({
        "src/lib.rs": "pub mod index;\n",
        "src/index/mod.rs": """\
#[cfg(unix)]
#[path = "unix.rs"]
mod imp;
pub fn open() -> imp::Handle { imp::start() }
""",
        "src/index/unix.rs": "pub struct Handle;\npub fn start() -> Handle { Handle }\n",
        "examples/util/fill.rs": "pub fn fill_window() {}\n",
        "examples/window.rs": """\
#[path = "util/fill.rs"]
mod fill;
use fill::*;
fn main() { fill::fill_window(); }
fn again() { fill_window(); }
""",
    })
    assert world.resolve("src/index/mod.rs", "function:open", "imp::start") == \
        ".|crate::index::unix::start"
    assert world.resolve("src/index/mod.rs", "function:open", "imp::Handle") == \
        ".|crate::index::unix::Handle"
    assert world.resolve("examples/window.rs", "function:main", "fill::fill_window") == \
        "examples/util|crate::fill::fill_window"
    assert world.resolve("examples/window.rs", "function:again", "fill_window") == \
        "examples/util|crate::fill::fill_window"
    # The declaration gone, so is the module.
    world.add("src/index/mod.rs", "pub fn open() -> imp::Handle { imp::start() }\n")
    assert world.resolve("src/index/mod.rs", "function:open", "imp::start") is None
    assert list(world.table.path_mods) == [("examples/window", "crate::fill")]


def test_a_paths_first_segment_is_a_child_module_before_a_crate_wide_name() -> None:
    """`mod message;` then `message::Field::new`: the child module, not the crate's one
    function named `message` (prost-derive's proc macro; 41 item versions of prost bound
    it, and their packs showed the macro instead of `field::message::Field`)."""
    world = World({
        "src/lib.rs": "pub mod field;\npub fn message(input: u8) -> u8 { input }\n",
        "src/field/mod.rs": "mod message;\nfn parse() { message::Field::new(); }\n",
        "src/field/message.rs": ("pub struct Field;\n"
                                 "impl Field {\n    pub fn new() -> Self { Field }\n}\n"),
    })
    assert world.resolve("src/field/mod.rs", "function:parse", "message::Field::new") == \
        ".|crate::field::message::Field::new"
    # Gone with its last symbol: unresolved (a function is never a path's head).
    world.add("src/field/message.rs", "")
    assert world.resolve("src/field/mod.rs", "function:parse", "message::Field::new") is None
    assert ".|crate::field::message" not in world.table.module_heads


def test_a_paths_head_names_a_module_or_type_never_a_function() -> None:
    """A path's head is in the type namespace. warp's lib.rs re-exports the function
    `reply::reply` as `crate::reply`: `reply::with_header` under `use crate::reply::{self}`
    had bound that function (and lost `with_header`), `log::trace!` (recorded without its
    `!` then) the crate's one function `log`, and the external `http::header::LOCATION` walked
    up to `crate::redirect`, another re-exported function: 877 of warp's 5,680 item
    versions."""
    world = World({
        "src/lib.rs": ("pub mod reply;\npub mod redirect;\npub mod filters;\n"
                       "pub use self::reply::reply;\npub use self::redirect::redirect;\n"
                       "pub use self::filters::log::log;\n"),
        "src/reply.rs": "pub fn reply() -> u32 { 1 }\npub fn with_header() -> u32 { 2 }\n",
        "src/filters/mod.rs": "pub mod log;\n",
        "src/filters/log.rs": "pub fn log(name: &str) -> usize { name.len() }\n",
        "src/redirect.rs": (
            "use crate::reply::{self};\n"
            "pub fn redirect() -> u32 { reply::with_header() }\n"
            "pub fn traced() -> u32 { log::trace!(\"x\"); 3 }\n"
            "pub fn logged() -> u32 { log::trace(); 3 }\n"
            "pub fn status() -> http::StatusCode { http::header::LOCATION; todo!() }\n"
            "pub fn direct() -> u32 { reply() + crate::reply() }\n"),
    })
    resolve = world.resolve
    assert resolve("src/redirect.rs", "function:redirect", "reply::with_header") == \
        ".|crate::reply::with_header"
    assert resolve("src/redirect.rs", "function:traced", "log::trace!") is None
    assert resolve("src/redirect.rs", "function:logged", "log::trace") is None
    assert resolve("src/redirect.rs", "function:status", "http::header::LOCATION") is None
    # Called, the re-exported function is still found.
    assert resolve("src/redirect.rs", "function:direct", "crate::reply") == \
        ".|crate::reply::reply"
    # A function that becomes a struct of the same path is a head again.
    world.add("src/reply.rs", "pub struct reply;\nimpl reply { pub fn with_header() {} }\n")
    assert ".|crate::reply::reply" not in world.table.value_owners
    world.add("src/filters/log.rs", "pub struct log;\n")
    assert resolve("src/redirect.rs", "function:logged", "log::trace") == \
        ".|crate::filters::log::log"
    # A macro by its path is a macro's, never the type's (`log::trace!` is log's).
    assert resolve("src/redirect.rs", "function:traced", "log::trace!") is None


def test_a_function_with_a_macro_of_its_name_is_no_paths_head() -> None:
    """warp's filters/path.rs defines `fn path` and `macro_rules! path`, and lib.rs re-exports
    the module and the function as `path`: `warp::path::end` (a name of an older version) had
    bound the function, since the macro made its definitions more than its values."""
    world = World({
        "src/lib.rs": "pub mod filters;\npub use self::filters::{path, path::path};\n",
        "src/filters/mod.rs": "pub mod path;\n",
        "src/filters/path.rs": ("pub fn path(p: &str) -> u8 { 0 }\n#[macro_export]\n"
                                "macro_rules! path { () => {} }\npub fn param() -> u8 { 1 }\n"),
        "examples/hello.rs": "fn main() { warp::path::end(); warp::path(\"x\"); }\n",
    })
    world.table.crate_folders.update({"warp": "."})
    assert world.resolve("examples/hello.rs", "function:main", "warp::path::end") is None
    assert world.resolve("examples/hello.rs", "function:main", "warp::path") == \
        ".|crate::filters::path::path"


def test_a_bare_macro_is_an_enclosing_modules_before_the_crates_others() -> None:
    """A `macro_rules!` of an enclosing module is in textual scope in its children (quick-
    xml's src/de/mod.rs defines `deserialize_primitives!` before `mod map;`): bound there,
    the nearest first, though other modules define macros so named (which had left it
    unbound)."""
    world = World({
        "src/lib.rs": ("macro_rules! prim { () => { 0 } }\npub mod de;\npub mod se;\n"),
        "src/de/mod.rs": ("macro_rules! prim { () => { 1 } }\npub mod map;\n"),
        "src/de/map.rs": "pub struct Map;\nimpl Map {\n    fn get(&self) -> u8 { prim!() }\n}\n",
        "src/se/mod.rs": ("macro_rules! prim { () => { 2 } }\npub mod other;\n"),
        "src/se/other.rs": "pub fn put() -> u8 { prim!() }\n",
    })
    assert world.resolve("src/de/map.rs", "method:impl Map::get", "prim!") == \
        ".|crate::de::prim"
    assert world.resolve("src/se/other.rs", "function:put", "prim!") == ".|crate::se::prim"


def test_an_item_a_plain_build_leaves_out_gives_way_to_a_private_import_of_its_name(
        ) -> None:
    """parking_lot's `cfg_if!`: a wasm-only `struct TimeoutInstant` in one branch, `use
    std::time::Instant as TimeoutInstant;` in the other, which x86_64 compiles: the name is
    std's (7 samples showed the wasm struct), as for a `cfg(not(…))` fallback."""
    source = ("cfg_if::cfg_if! {\n"
              "    if #[cfg(all(target_family = \"wasm\", target_os = \"unknown\"))] {\n"
              "        struct TimeoutInstant;\n        impl TimeoutInstant {\n"
              "            fn now() -> TimeoutInstant {\n                TimeoutInstant\n"
              "            }\n        }\n    } else {\n"
              "        use std::time::Instant as TimeoutInstant;\n    }\n}\n\n"
              "pub struct FairTimeout {\n    timeout: TimeoutInstant,\n}\n\n"
              "fn expired() -> bool {\n    let _now = TimeoutInstant::now();\n    true\n}\n")
    world = World({"src/lib.rs": "mod parking_lot;\n", "src/parking_lot.rs": source},
                  roots=CrateRoots())
    assert world.resolve("src/parking_lot.rs", "struct:FairTimeout", "TimeoutInstant") is None
    assert world.resolve("src/parking_lot.rs", "function:expired",
                         "TimeoutInstant::now") is None


def test_glob_uses_in_a_body_import_and_an_enums_glob_brings_its_variants() -> None:
    """just's `Error::fmt` says `use Error::*;` and matches `Signal { .. }`, its variant:
    the crate's one `enum Signal` had been bound (484 such bindings in its history), and the
    glob itself was not seen. A glob `use` in a body imports as the file's own do (`helper`
    is defined twice in the crate: only the glob tells which); an enum's glob brings its
    variants (bound to the enum), never its methods (a bare `fmt` had bound `Error::fmt`)."""
    from dataset_builder.symbols import with_local_globs

    world = World({
        "src/lib.rs": "mod error;\nmod util;\nmod other;\nmod signal;\n",
        "src/util.rs": "pub fn helper() -> i32 { 1 }\n",
        "src/other.rs": "pub fn helper() -> i32 { 2 }\n",
        "src/signal.rs": "pub enum Signal { Hup }\n",
        "src/error.rs": ("pub enum Error {\n    /// Killed, {braces} in a doc\n"
                         "    #[allow(unused)]\n    Signal { n: i32 },\n    Code(Vec<(i32, u8)>),\n"
                         "}\n"
                         "impl Error {\n    fn fmt(&self) -> i32 { 0 }\n"
                         "    fn show(&self) -> i32 {\n        use Error::*;\n"
                         "        use crate::util::*;\n        fmt();\n"
                         "        match self { Signal { n } => *n, Code(_) => helper() }\n"
                         "    }\n}\n"
                         "fn other() -> Signal { todo!() }\n"),
    })
    loc = locate_module("src/error.rs")
    item = world.item("src/error.rs", "method:impl Error::show")
    imports = with_local_globs(Imports.of(world.parsed["src/error.rs"].uses, loc), item,
                               loc.join(item.module))
    assert {ref: world.table.resolve(ref, item, loc, imports) for ref in item.references} == {
        "Error::*": ".|crate::error::Error", "crate::util::*": None,  # a module: no symbol
        "fmt": None, "Signal": ".|crate::error::Error", "helper": ".|crate::util::helper"}
    assert world.resolve("src/error.rs", "function:other", "Signal") == ".|crate::signal::Signal"
    # A variant renamed: the glob brings the new name only.
    world.add("src/error.rs", world.parsed_text["src/error.rs"].replace(
        "Signal { n: i32 }", "Killed { n: i32 }"))
    item = world.item("src/error.rs", "method:impl Error::show")
    assert world.table.resolve("Signal", item, loc, imports) == ".|crate::signal::Signal"


def test_enum_variant_names_past_comments_literals_and_attributes() -> None:
    from dataset_builder.symbols import enum_variant_names

    source = ("/// Example: `Error::Signal { n: 1 }`, and [x]\n"
              '#[cfg_attr(x, doc = "see [a]")]\n'
              "pub enum Error<'a, T: Into<u8>> where T: Clone {\n"
              '    /// With { braces } and "quotes, here": it\'s\n'
              '    #[error("bad [x] {n}")]\n'
              "    Config { message: String, x: HashMap<u8, (i32, i32)> },\n"
              "    Signal(i32, Vec<(u8, u8)>, &'a str, char),\n"
              "    Io = 3 << 2,\n    r#Type,\n    Läuft,\n    Last\n}\n")
    assert enum_variant_names(source.encode()) == {
        "Config", "Signal", "Io", "Type", "Läuft", "Last"}
    assert enum_variant_names(b"enum X { A(':', '}'), B }") == {"A", "B"}
    assert enum_variant_names(b"pub enum Empty {}") == frozenset()


def test_variants_of_cfg_twins_and_of_an_imported_enum() -> None:
    """Two `#[cfg]` definitions of one enum in a file: the variants of both, and editing a
    body leaves the generation be (each had read the other's and moved it). A glob of an
    enum the file imports (`use crate::error::Error;`, then `use Error::*;`) finds it."""

    sig = ("#[cfg(unix)]\npub enum Sig {{ Hup, Int }}\n#[cfg(windows)]\npub enum Sig {{ CtrlC }}\n"
           "pub fn f() -> u8 {{ {} }}\n")
    world = World({
        "src/lib.rs": "mod sig;\nmod error;\nmod run;\nmod hup;\n",
        "src/hup.rs": "pub struct Hup;\npub struct CtrlC;\n",
        "src/sig.rs": sig.format(1),
        "src/error.rs": "pub enum Error { Hup { n: u8 } }\n",
        "src/run.rs": ("use crate::error::Error;\n"
                       "fn go(e: Error) -> u8 { use Error::*; match e { Hup { n } => n } }\n"),
    })
    assert world.table.enum_variants[".|crate::sig::Sig"][1] == {"Hup", "Int", "CtrlC"}
    before = world.table.generation
    world.add("src/sig.rs", sig.format(2))
    assert world.table.generation == before
    assert world.resolve_in_item("src/run.rs", "function:go", "Hup") == ".|crate::error::Error"


def test_a_named_use_in_a_body_is_a_reference_and_shadows_the_modules_names() -> None:
    """`use a::b;` (`use a::b as c;`) inside a function: a reference to what it names, and
    the name the body's calls bind, before the module's own (nom's tests: `fn take_while()
    { use crate::bytes::streaming::take_while; … }` had bound its calls to the test function
    itself or to the module's `complete::tag`, where the body imported `streaming::tag`)."""

    world = World({
        "src/lib.rs": "mod streaming;\nmod complete;\nmod tests;\n",
        "src/streaming.rs": "pub fn tag(t: &str) -> u8 { 0 }\npub fn take(n: u8) -> u8 { n }\n",
        "src/complete.rs": "pub fn tag(t: &str) -> u8 { 1 }\n",
        "src/tests.rs": ("use crate::complete::tag;\n"
                         "fn incomplete() -> u8 {\n    use crate::streaming::tag;\n"
                         "    tag(\"a\")\n}\n"
                         "fn take_while() -> u8 { tag(\"b\") }\n"
                         "fn utf8() -> u8 {\n"
                         "    use crate::streaming::{tag as take_while, take as _, self};\n"
                         "    take_while(\"c\") + streaming::take(1)\n}\n"),
    })
    def resolve(key: str, ref: str) -> str | None:
        return world.resolve_in_item("src/tests.rs", key, ref)

    streaming_tag = ".|crate::streaming::tag"
    assert resolve("function:incomplete", "use crate::streaming::tag") == streaming_tag
    assert resolve("function:incomplete", "tag") == streaming_tag
    assert resolve("function:take_while", "tag") == ".|crate::complete::tag"
    utf8 = world.item("src/tests.rs", "function:utf8").references
    assert "use crate::streaming::tag as take_while" in utf8
    assert not [ref for ref in utf8 if ref.endswith(" as _")]
    assert resolve("function:utf8", "take_while") == streaming_tag
    assert resolve("function:utf8", "use crate::streaming::tag as take_while") == streaming_tag
    assert resolve("function:utf8", "streaming::take") == ".|crate::streaming::take"


def test_a_body_use_leaves_the_items_own_type_and_fields_be_and_hides_the_files() -> None:
    """A body's `use` does not rename the item's `Self` nor its receivers' declared types,
    which its module names (tokio's `use crate::time::wheel::Stack;`, a trait, in
    `DelayQueue::remove` had bound `self.expired.remove(…)`, on the file's own struct
    `Stack`, to the trait); and a name it imports from another crate hides the file's
    (`use std::io::Error;`, then `Error::new`, is not the crate's `Error`). A review of
    0.1.81."""

    world = World({
        "src/lib.rs": "mod wheel;\nmod queue;\nmod error;\n",
        "src/wheel.rs": "pub trait Stack {\n    fn remove(&mut self, at: usize);\n}\n",
        "src/error.rs": "pub struct Error;\nimpl Error {\n    pub fn new() -> Self { Error }\n}\n",
        "src/queue.rs": ("use crate::wheel;\nuse crate::error::Error;\n"
                         "pub struct Queue { expired: Stack }\n"
                         "struct Stack { items: Vec<u8> }\n"
                         "impl wheel::Stack for Stack {\n"
                         "    fn remove(&mut self, at: usize) { self.items.remove(at); }\n}\n"
                         "impl Stack {\n    fn push(&mut self) {}\n}\n"
                         "impl Queue {\n    pub fn remove(&mut self, at: usize) {\n"
                         "        use crate::wheel::Stack;\n"
                         "        self.expired.remove(at);\n    }\n"
                         "    fn local(&mut self) {\n        use crate::wheel::Stack;\n"
                         "        let s: &mut dyn Stack = todo!();\n        s.remove(1);\n    }\n"
                         "    fn other(&mut self, other: &mut Queue) {\n"
                         "        use crate::wheel::Stack;\n        other.expired.remove(1);\n"
                         "    }\n"
                         "    fn through(&mut self) -> Option<Box<dyn Stack>> {\n"
                         "        use wheel::Stack;\n        None::<Box<dyn Stack>>\n    }\n}\n"
                         "impl Stack {\n    fn again(&mut self) {\n"
                         "        use crate::wheel::Stack;\n        Self::push(self);\n    }\n}\n"
                         "pub fn io() -> std::io::Error {\n    use std::io::Error;\n"
                         "    Error::new(std::io::ErrorKind::Other, \"x\")\n}\n")})
    def resolve(key: str, ref: str) -> str | None:
        return world.resolve_in_item("src/queue.rs", key, ref)

    assert resolve("method:impl Queue::remove", "Self.expired.remove(1)") == \
        ".|crate::queue::Stack::remove"
    # A local's declared type is named in the body: the body's `use` applies.
    assert resolve("method:impl Queue::local", "Stack.remove(1)") == ".|crate::wheel::Stack::remove"
    # A body `use` through a name the file imports (`use crate::wheel;`, then `use wheel::Stack;`).
    assert resolve("method:impl Queue::through", "Stack") == ".|crate::wheel::Stack"
    # Another value's field: its struct's module names the field's type.
    assert resolve("method:impl Queue::other", "Queue.expired.remove(1)") == \
        ".|crate::queue::Stack::remove"
    assert resolve("method:impl Stack::again", "Self::push") == ".|crate::queue::Stack::push"
    assert resolve("function:io", "Error::new") is None


def test_a_body_use_through_the_files_import_of_a_nested_module() -> None:
    """`use crate::time::wheel;` in the file, `use wheel::Stack;` in a body: the file's
    import leads the way (a review of 0.1.82)."""

    world = World({
        "src/lib.rs": "mod time;\nmod queue;\n",
        "src/time/mod.rs": "pub mod wheel;\n",
        "src/time/wheel.rs": "pub struct Stack;\n",
        "src/queue.rs": ("use crate::time::wheel;\npub struct Stack;\n"
                         "pub fn through() -> Option<Box<Stack>> {\n"
                         "    use wheel::Stack;\n    None::<Box<Stack>>\n}\n")})
    assert world.resolve_in_item("src/queue.rs", "function:through", "Stack") == \
        ".|crate::time::wheel::Stack"


def test_a_renamed_sibling_imported_from_leaves_a_same_named_call_unbound() -> None:
    """A file importing from a workspace sibling by the name its package renames it to
    (`use proto::Library;`) may call that sibling's method: `.populate()` on an unknown
    receiver is not the crate's own `Site::populate` (zola's rule, through a rename; a
    review of 0.1.82)."""
    world = World({
        "library/src/lib.rs": "pub struct Library;\nimpl Library { pub fn populate(&self) {} }\n",
        "site/src/lib.rs": ("use proto::Library;\npub struct Site { library: Library }\n"
                            "impl Site {\n    pub fn populate(&self) {}\n}\n"
                            "pub fn run(l: Library) { l_of().populate() }\n")})
    world.table.crate_folders.update({"library": "library", "site": "site"})
    world.table.crate_renames.update({"site": {"proto": "library"}})
    assert world.resolve("site/src/lib.rs", "function:run", ".populate") is None


def test_an_extern_crate_alias_names_that_library_in_its_crate() -> None:
    """`extern crate quinn_proto as quinn;` in a crate's root: `quinn::…` there is
    quinn-proto's, not the library named quinn (an acceptance sweep: 84 quinn samples);
    elsewhere `quinn::…` stays the quinn crate's, and an alias of another crate than the
    repository's names none of its libraries."""
    files = {
        "quinn/src/lib.rs": "pub struct Endpoint;\n",
        "quinn-proto/src/lib.rs": ("pub struct Endpoint;\nimpl Endpoint {\n"
                                   "    pub fn new() -> Self { Endpoint }\n}\n"),
        "examples/connect.rs": ("extern crate quinn_proto as quinn;\n"
                                "extern crate tokio as quinn_io;\n"
                                "fn main() {\n    let e = quinn::Endpoint::new();\n"
                                "    let t = quinn_io::Endpoint;\n}\n"),
        "examples/plain.rs": "fn main() {\n    let e = quinn::Endpoint;\n}\n"}
    world = World({})
    world.table.crate_folders.update({"quinn": "quinn", "quinn_proto": "quinn-proto",
                                      "quinn_io": "quinn"})
    for path, text in files.items():
        world.add(path, text)
    assert world.resolve("examples/connect.rs", "function:main", "quinn::Endpoint::new") == \
        "quinn-proto|crate::Endpoint::new"
    assert world.resolve("examples/plain.rs", "function:main", "quinn::Endpoint") == \
        "quinn|crate::Endpoint"
    assert world.resolve("examples/connect.rs", "function:main", "quinn_io::Endpoint") is None
    generation = world.table.generation
    world.add("examples/connect.rs", files["examples/connect.rs"].replace(
        "extern crate quinn_proto as quinn;\n", ""))
    assert world.table.generation > generation  # the quinn crate's again
    assert world.resolve("examples/connect.rs", "function:main", "quinn::Endpoint::new") == \
        "quinn|crate::Endpoint"


def test_a_method_call_binds_no_trait_impl_and_no_method_it_cannot_reach() -> None:
    """`.name()` binds the crate's one method so named. Not a trait's method implemented for
    a type (serde_json's `visitor.visit_string(v)` on a generic `V: Visitor` had bound its
    one impl of serde's method; a local trait's own declaration is bound instead), nor one
    of a test module's type from outside it, nor one of a private type from outside its
    module (tracing: `span_builder` bound to `layer::tests::TestTracer::span_builder`)."""
    world = World({
        "src/lib.rs": "mod de;\nmod shape;\nmod layer;\nmod tracer;\n",
        "src/de.rs": ("struct NumberOrObject;\n"
                      "impl<'de> Visitor<'de> for NumberOrObject {\n"
                      "    fn visit_string(self, s: String) -> u8 { 0 }\n}\n"
                      "pub fn read<V: Visitor<'static>>(v: V) -> u8 { v_of().visit_string(x) }\n"),
        "src/shape.rs": ("pub trait Shape { fn area(&self) -> u32; }\npub struct Sq;\n"
                         "impl Shape for Sq { fn area(&self) -> u32 { 1 } }\n"
                         "pub fn total<S: Shape>(s: &S) -> u32 { s_of().area() }\n"),
        "src/layer.rs": ("struct Hidden;\nimpl Hidden { fn reveal(&self) -> u8 { 0 } }\n"
                         "pub fn here(h: Hidden) -> u8 { h_of().reveal() }\n"
                         "#[cfg(test)]\nmod tests {\n    pub struct TestTracer;\n"
                         "    impl TestTracer { pub fn span_builder(&self) -> u8 { 0 } }\n"
                         "    fn inside(t: TestTracer) -> u8 { t_of().span_builder() }\n}\n"),
        "src/tracer.rs": ("pub fn build(t: Tracer) -> u8 {\n"
                          "    t_of().span_builder() + t_of().reveal()\n}\n"
                          "pub struct Current;\nimpl Current { pub fn enter(&self) {} }\n"
                          "impl Subscriber for Tracer { fn enter(&self) {} }\n"
                          "pub fn on_enter<S: Subscriber>(s: &S) { s_of().enter() }\n"
                          "struct Running;\nimpl Subscriber for Running { fn record(&self) {} }\n"
                          "pub struct Mock;\nimpl Mock { pub fn record(&self) {} }\n"
                          "#[cfg(test)]\nmod tests {\n"
                          "    fn other(t: TestTracer, s: Span) -> u8 {\n"
                          "        s_of().record();\n        t_of().span_builder()\n    }\n"
                          "}\n"),
        "src/user.rs": "pub fn on_event(e: Event) { e_of().record() }\n",
    })
    resolve = world.resolve
    assert resolve("src/de.rs", "function:read", ".visit_string") is None
    assert resolve("src/shape.rs", "function:total", ".area") == ".|crate::shape::Shape::area"
    assert resolve("src/tracer.rs", "function:build", ".span_builder") is None
    assert resolve("src/tracer.rs", "function:build", ".reveal") is None
    # An inherent method beside an impl of another trait's: the call may be either, also
    # where that impl is a private type's (tracing's `event.record(..)`).
    assert resolve("src/tracer.rs", "function:on_enter", ".enter") is None
    assert resolve("src/user.rs", "function:on_event", ".record") is None
    # A test module's type from another module's tests (tracing-subscriber's MockMakeWriter).
    assert resolve("src/tracer.rs", "function:tests::other", ".span_builder") == \
        ".|crate::layer::tests::TestTracer::span_builder"
    assert resolve("src/layer.rs", "function:tests::inside", ".span_builder") == \
        ".|crate::layer::tests::TestTracer::span_builder"
    assert resolve("src/layer.rs", "function:here", ".reveal") == ".|crate::layer::Hidden::reveal"


def test_a_method_call_with_another_argument_count_than_the_method_is_unbound() -> None:
    """Rust has no overloading: a call passing another number of arguments than the
    method's parameters after `self` is some other method, on a receiver of unknown type or
    of a known one (eza's `colours.no_repo().paint("-")`, ansiterm's `Style::paint`, had
    bound its own `FileName::paint(&self)`). A changed signature re-binds the calls."""
    files = {
        "src/lib.rs": "mod name;\nmod view;\n",
        "src/name.rs": ("pub struct FileName;\n"
                        "impl FileName {\n    pub fn paint(&self) -> u8 { 0 }\n"
                        "    pub fn cell<F: Fn(u8, u8) -> u8>(&self, f: F, (a, b): (u8, u8),"
                        " g: Vec<(u8, u8)>) -> u8 { 0 }\n}\n"),
        "src/view.rs": ("use crate::name::FileName;\n"
                        "pub fn render(f: &FileName) -> u8 {\n"
                        "    colours.no_repo().paint(\"-\") + f.paint(/* none */) + x.paint()\n}\n"
                        "pub fn cells(f: &FileName) -> u8 {\n"
                        "    f.cell(|a, b| a, (1, 2), vec![]) + f.cell(1)\n"
                        "        + g().cell(h, i, j)\n}\n"),
    }
    world = World(files)
    render = world.item("src/view.rs", "function:render")
    assert {".no_repo(0)", ".paint(1)", "FileName.paint(0)", ".paint(0)"} <= set(
        render.references)
    resolve = world.table.resolve
    loc = locate_module("src/view.rs")
    imports = Imports.of(world.parsed["src/view.rs"].uses, loc)
    paint = ".|crate::name::FileName::paint"
    assert resolve(".paint(1)", render, loc, imports) is None
    assert resolve(".paint(0)", render, loc, imports) == paint
    assert resolve("FileName.paint(0)", render, loc, imports) == paint
    assert resolve("FileName.paint(2)", render, loc, imports) is None
    cells = world.item("src/view.rs", "function:cells")
    cell = ".|crate::name::FileName::cell"
    assert {"FileName.cell(3)", "FileName.cell(1)", ".cell(3)"} <= set(cells.references)
    assert resolve("FileName.cell(3)", cells, loc, imports) == cell
    assert resolve("FileName.cell(1)", cells, loc, imports) is None
    assert resolve(".cell(3)", cells, loc, imports) == cell
    generation = world.table.generation
    world.add("src/name.rs", files["src/name.rs"].replace("paint(&self)", "paint(&self, s: &str)"))
    assert world.table.generation > generation  # resolutions kept per generation are stale
    assert resolve(".paint(1)", render, loc, imports) == paint
    # The count replaced binds a while yet (the walk mixes lines of history: a branch
    # walked after the change may still call it so), then no more, in a new generation.
    assert resolve(".paint(0)", render, loc, imports) == paint
    for k in range(REPLACED_PARAMS_FILES):
        generation = world.table.generation
        world.add("src/other.rs", f"pub fn other() -> u8 {{ {k % 2} }}\n")
    assert world.table.generation > generation
    assert resolve(".paint(0)", render, loc, imports) is None
    assert resolve(".paint(1)", render, loc, imports) == paint


def test_a_method_with_cfg_alternatives_takes_the_counts_of_each() -> None:
    """Definitions of one method id with other counts (a `#[cfg(unix)]` impl beside a
    `#[cfg(windows)]` one, a feature's module beside its stub in another file): a call
    with any of their counts binds it (eza's stub `Git::status(&self, _)` beside the real
    `status(&self, index, prefix_lookup)`; mio's `IoSourceState::reregister`)."""
    unix = ("pub struct State;\n#[cfg(unix)]\nimpl State {\n"
            "    pub fn register(&self, a: u8, b: u8) {}\n}\n"
            "#[cfg(windows)]\nimpl State {\n    pub fn register(&self, a: u8) {}\n}\n")
    world = World({"src/lib.rs": "mod state;\nmod feature;\nmod user;\n",
                   "src/state.rs": unix,
                   "src/feature/git.rs": ("pub struct Git;\nimpl Git {\n"
                                          "    pub fn status(&self, a: u8, b: bool) {}\n}\n"),
                   "src/feature/mod.rs": (
                       '#[cfg(feature = "git")]\npub mod git;\n'
                       '#[cfg(not(feature = "git"))]\npub mod git {\n    pub struct Git;\n'
                       "    impl Git {\n        pub fn status(&self, a: u8) {}\n    }\n}\n"),
                   "src/user.rs": ("use crate::state::State;\nuse crate::feature::git::Git;\n"
                                   "pub fn go(s: &State, g: &Git) {\n"
                                   "    s.register(1, 2); s.register(1); s.register();\n"
                                   "    g.status(1, true); g.status(1); g.status();\n}\n")})
    go = world.item("src/user.rs", "function:go")
    loc = locate_module("src/user.rs")
    imports = Imports.of(world.parsed["src/user.rs"].uses, loc)
    register = ".|crate::state::State::register"
    for ref, expected in (("State.register(2)", register), ("State.register(1)", register),
                          ("State.register(0)", None)):
        assert ref in go.references
        assert world.table.resolve(ref, go, loc, imports) == expected, ref
    status = ".|crate::feature::git::Git::status"
    for ref, expected in (("Git.status(2)", status), ("Git.status(1)", status),
                          ("Git.status(0)", None)):
        assert world.table.resolve(ref, go, loc, imports) == expected, ref


def test_a_method_calling_the_free_function_of_its_name_depends_on_it() -> None:
    """A bare `name(…)` in a method is the free function so named, never the method itself
    (itertools' `Itertools::interleave` delegates to `interleave`; the reference was left
    out as a recursive call's is); in a function it is a recursive call."""
    world = World({
        "src/lib.rs": ("mod adaptors;\nuse adaptors::interleave;\n"
                       "pub trait Itertools: Iterator {\n"
                       "    fn interleave(self, other: u8) -> u8 where Self: Sized {\n"
                       "        interleave(self, other)\n    }\n}\n"),
        "src/adaptors.rs": ("pub fn interleave<I>(i: I, other: u8) -> u8 {\n"
                            "    if other > 0 { interleave(i, other - 1) } else { 0 }\n}\n")})
    method = world.item("src/lib.rs", "method:Itertools::interleave")
    assert "interleave" in method.references
    assert world.resolve("src/lib.rs", method.key, "interleave") == \
        ".|crate::adaptors::interleave"
    assert "interleave" not in world.item("src/adaptors.rs", "function:interleave").references


def test_parameter_counts_of_method_signatures() -> None:
    assert parameter_count("pub fn paint(&self) -> Paint") == 0
    assert parameter_count("fn go<T: Fn(u8) -> u8>(&mut self, t: T, v: Vec<(A, B)>,) -> u8") == 2
    assert parameter_count("fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>") == 1
    assert parameter_count("pub(crate) async unsafe fn r#type(&self, (a, b): (u8, u8))") == 1
    assert parameter_count("fn each<'a>(&'a self, f: impl Fn(&str) -> Result<(), E>)") == 1
    assert parameter_count("fn $name(&self, $arg: $ty)") is None  # a macro's


def test_a_method_call_that_a_workspace_sibling_imported_from_also_has_is_unbound() -> None:
    """The crate's one method of the name was bound where the file imports from a sibling
    crate with a method of that name too: zola's `config.serialize(…)` bound
    TaxonomyItem::serialize. Not where the method is the caller's own type's, most often
    called on `self` (zola: 156 of 165 such calls of Site::populate_sections)."""
    world = World({
        "library/src/lib.rs": ("pub struct Library;\n"
                               "impl Library { pub fn populate(&self) {} }\n"),
        "site/src/lib.rs": ("use library::Library;\npub struct Site { library: Library }\n"
                            "impl Site {\n    pub fn populate(&self) {}\n"
                            "    pub fn build(&self) { self.populate() }\n}\n"
                            "pub fn run(l: Library) { l_of().populate() }\n"),
        "other/src/lib.rs": ("pub struct Alone;\nimpl Alone { pub fn populate(&self) {} }\n"
                             "pub fn run(a: Alone) { a_of().populate() }\n"),
    })
    world.table.crate_folders.update({"library": "library", "site": "site", "other": "other"})
    assert world.resolve("site/src/lib.rs", "function:run", ".populate") is None
    # Declared with the sibling's type, the call binds its method there.
    world.add("site/src/run.rs", "use library::Library;\n"
              "pub fn typed(l: &Library) { l.populate() }\n")
    assert world.resolve("site/src/run.rs", "function:typed", "Library.populate") == \
        "library|crate::Library::populate"
    assert world.resolve("site/src/lib.rs", "method:impl Site::build", "Self.populate") == \
        "site|crate::Site::populate"
    # A file that imports from no sibling with such a method binds its crate's one.
    assert world.resolve("other/src/lib.rs", "function:run", ".populate") == \
        "other|crate::Alone::populate"


def test_a_2015_use_path_starts_at_the_crates_root() -> None:
    """`use with::with;` in a 2015-edition crate names the module `with` at the root and its
    function (actix-web); a path's head is a module, so the function is not taken for it."""
    world = World({
        "src/lib.rs": "mod with;\nmod app;\n",
        "src/with.rs": "pub fn with() -> u8 { 0 }\npub struct WithHandler;\n",
        "src/app.rs": "use with::{with, WithHandler};\nfn f() -> u8 { with() }\n",
    })
    uses = [i for i in world.parsed["src/app.rs"].items if i.kind == "use"]
    loc = locate_module("src/app.rs")
    imports = Imports.of(world.parsed["src/app.rs"].uses, loc)
    resolved = {ref: world.table.resolve(ref, uses[0], loc, imports)
                for ref in uses[0].references}
    assert resolved == {"with::with": ".|crate::with::with",
                        "with::WithHandler": ".|crate::with::WithHandler"}, resolved


def test_prelude_names_and_methods_without_self_are_no_crate_wide_names() -> None:
    """A bare prelude name is std's (sqlx's `F: Send + Sync` had bound its protocol message
    `struct Sync`), unless the module defines or imports one; `x.name()` binds only a method
    with a `self` receiver (ratatui's `area.right()` had bound `Padding::right(value)`)."""
    world = World({
        "src/lib.rs": "pub mod message;\npub mod layout;\npub mod run;\n",
        "src/message.rs": "pub struct Sync;\nfn local(s: Sync) {}\n",
        "src/layout.rs": ("pub struct Padding;\nimpl Padding {\n"
                          "    pub fn right(value: u16) -> Self { Padding }\n"
                          "    pub fn top(&self) -> u16 { 0 }\n}\n"),
        "src/run.rs": ("use crate::message::Sync as Msg;\n"
                       "fn spawn<F: Send + Sync>(f: F, m: Msg, r: R) {\n"
                       "    r_of().right();\n    r_of().top();\n}\n"),
    })
    resolve = world.resolve
    assert resolve("src/run.rs", "function:spawn", "Sync") is None
    assert resolve("src/run.rs", "function:spawn", "Msg") == ".|crate::message::Sync"
    assert resolve("src/message.rs", "function:local", "Sync") == ".|crate::message::Sync"
    assert resolve("src/run.rs", "function:spawn", ".right") is None
    assert resolve("src/run.rs", "function:spawn", ".top") == ".|crate::layout::Padding::top"
    # A method that gains a receiver is bound again.
    world.add("src/layout.rs", ("pub struct Padding;\nimpl Padding {\n"
                                "    pub fn right(&self) -> u16 { 0 }\n}\n"))
    assert resolve("src/run.rs", "function:spawn", ".right") == \
        ".|crate::layout::Padding::right"
    # A receiver with an attribute is a receiver (actix's `#[allow(unused_mut)] mut self`).
    world.add("src/layout.rs", ("pub struct Padding;\nimpl Padding {\n"
                                "    pub fn right(#[allow(unused_mut)] mut self) -> u16 { 0 }\n"
                                "}\n"))
    assert resolve("src/run.rs", "function:spawn", ".right") == \
        ".|crate::layout::Padding::right"
    # pin-project's methods, made on every #[pin_project] struct, are no crate-wide names.
    world.add("src/layout.rs", "pub struct Either;\nimpl Either {\n"
              "    pub fn project(&self) -> u8 { 0 }\n}\n")
    world.add("src/run.rs", "fn poll(s: S) { s_of().project(); }\n")
    assert resolve("src/run.rs", "function:poll", ".project") is None


def test_a_private_item_is_no_crate_wide_name_outside_its_module() -> None:
    """A name no path or import resolves falls back to the crate's one symbol so named, but
    a private item is seen only from its module and those inside it: reqwest's parameter
    `url` was bound to `proxy::tests::url`, a private test helper, in 90 items elsewhere."""
    world = World({
        "src/lib.rs": "pub mod proxy;\npub mod util;\nfn root_helper() -> u8 { 0 }\n",
        "src/proxy.rs": """\
pub fn intercept(url: &str) -> usize { url.len() }
#[cfg(test)]
mod tests {
    fn url(s: &str) -> String { s.to_owned() }
    fn check() { let u = url("x"); }
    mod deeper {
        fn nested() { url("y"); }
    }
}
""",
        "src/util.rs": "pub fn parse(s: &str) -> url::Url { root_helper(); url::Url::parse(s) }\n",
    })
    helper = ".|crate::proxy::tests::url"
    # The external crate `url`'s path: its head was the helper.
    assert world.resolve("src/util.rs", "function:parse", "url::Url::parse") is None
    assert world.resolve("src/util.rs", "function:parse", "url::Url") is None
    assert world.resolve("src/proxy.rs", "function:tests::check", "url") == helper
    assert world.resolve("src/proxy.rs", "function:tests::deeper::nested", "url") == helper
    # A private item at the crate's root is seen from every module of the crate.
    assert world.resolve("src/util.rs", "function:parse", "root_helper") == \
        ".|crate::root_helper"
    # Made public, it is a crate-wide name again (the table follows a visibility change),
    # though never a path's head.
    world.add("src/proxy.rs", "pub fn url(s: &str) -> String { s.to_owned() }\n")
    world.add("src/util.rs", "pub fn parse(s: &str) -> url::Url { url(s); todo!() }\n")
    assert world.resolve("src/util.rs", "function:parse", "url") == ".|crate::proxy::url"
    assert world.resolve("src/util.rs", "function:parse", "url::Url") is None


def test_library_folders_read_the_revisions_manifests(tmp_path: Path) -> None:
    from dataset_builder.gitio import BlobReader, open_repo
    from dataset_builder.modules import crate_roots
    from tests.dataset_builder.conftest import Commit, make_repo

    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": '[package]\nname = "my-app"\n\n[workspace]\nmembers = ["core"]\n',
        "core/Cargo.toml": '[package]\nname = "futures-core"\n[lib]\nname = "fcore"\n',
        "bad/Cargo.toml": "[package\n", "virtual/Cargo.toml": "[workspace]\n"})])
    info = open_repo(repo.path)
    with BlobReader(info.git_dir) as reader:
        assert crate_roots(info, reader).libraries == {"my_app": ".", "fcore": "core"}


def test_a_method_call_on_a_receiver_declared_with_a_type_binds_that_types_method() -> None:
    """`x.name()` where `x` is a parameter or `let` with a written type (or `self`) reads
    `Type.name` and binds that type's method: in whatever module its impl block is, through
    an `as` import, through a local `Deref` (rustls's ConnectionCommon to CommonState) or
    type alias, and
    never another type's so named (zola's `tera.render(…)` on its dependency's Tera had bound
    its own ShortCode::render; rustls's `registry.register(…)` on a mio::Registry its
    Connection::register). A type without one binds the crate's one trait declaration so
    named (a default method), else nothing; a call on an untyped name stays `.name`."""
    world = World({
        "src/lib.rs": "mod page;\nmod site;\nmod render;\nmod common;\nmod conn;\n",
        "src/page.rs": "pub struct Page;\nimpl Page { pub fn render(&self) -> u8 { 0 } }\n",
        "src/site.rs": ("use tera::Tera;\nuse crate::page::Page as Doc;\n"
                        "pub struct Site<S> {\n    /// The page, first\n    pub page: Rc<Doc>,\n"
                        "    tera: tera::Tera,\n    any: S,\n}\n"
                        "impl Site {\n    pub fn render(&self) -> u8 { 1 }\n"
                        "    fn fields(&self) { self.page.render(); self.tera.render(); "
                        "self.other.render(); self.any.extra(); }\n"
                        "    pub fn build(&self, tera: &Tera, page: &Doc, reg: &mio::Registry,"
                        " list: Vec<u8>) {\n"
                        "        self.render();\n        tera.render();\n        page.render();\n"
                        "        reg.render();\n        list.render();\n"
                        "        let page = make();\n        page.render();\n        page.wrap();\n"
                        "        let text: String = x;\n        text.wrap();\n    }\n}\n"),
        "src/render.rs": ("use crate::page::Page;\n"
                          "impl Page { pub fn extra(&self) -> u8 { 2 } }\n"
                          "pub trait Wrap { fn wrap(&self) -> u8 { 3 } }\n"
                          "pub fn show(p: Box<Page>) { p.extra(); p.wrap(); p.missing(); }\n"),
        "src/common.rs": ("pub struct CommonState;\n"
                          "impl CommonState { pub fn send_alert(&self) {} }\n"),
        "src/conn.rs": ("use crate::common::CommonState;\npub struct Conn { c: CommonState }\n"
                        "impl std::ops::Deref for Conn {\n    type Target = CommonState;\n"
                        "    fn deref(&self) -> &CommonState { &self.c }\n}\n"
                        "impl Conn { fn close(&self) { self.send_alert() } }\n"
                        "fn other(c: &Conn) { c.send_alert() }\n"
                        "pub type State<'a> = crate::common::CommonState<'a>;\n"
                        "fn aliased(s: State) { s.send_alert() }\n"
                        "pub struct Retrieved<T> { value: T }\n"
                        "impl<T> std::ops::Deref for Retrieved<T> {\n    type Target = T;\n"
                        "    fn deref(&self) -> &T { &self.value }\n}\n"
                        "fn wrapped(r: Retrieved<u8>) { r.send_alert() }\n"),
    })
    resolve = world.resolve
    build = "method:impl Site::build"
    assert resolve("src/site.rs", build, "Self.render") == ".|crate::site::Site::render"
    assert resolve("src/site.rs", build, "Tera.render") is None
    assert resolve("src/site.rs", build, "Doc.render") == ".|crate::page::Page::render"
    assert resolve("src/site.rs", build, "mio::Registry.render") is None
    assert resolve("src/site.rs", build, "Vec.render") is None
    assert resolve("src/site.rs", build, ".render") is None  # Page's or Site's: unbound
    # A field's declared type: the struct's definition says (`page: Rc<Doc>`); a field
    # it does not declare is as `.name`.
    fields = "method:impl Site::fields"
    assert resolve("src/site.rs", fields, "Self.page.render") == ".|crate::page::Page::render"
    assert resolve("src/site.rs", fields, "Self.tera.render") is None
    assert resolve("src/site.rs", fields, "Self.other.render") is None  # two `render`s
    # A field of a generic parameter's type holds any type: as `.name`.
    assert resolve("src/site.rs", fields, "Self.any.extra") == ".|crate::render::Page::extra"
    assert resolve("src/site.rs", build, ".wrap") == ".|crate::render::Wrap::wrap"
    assert resolve("src/site.rs", build, "String.wrap") == ".|crate::render::Wrap::wrap"
    # Box<Page> is a Page; an impl block in another module is the type's too.
    assert resolve("src/render.rs", "function:show", "Page.extra") == \
        ".|crate::render::Page::extra"
    assert resolve("src/render.rs", "function:show", "Page.wrap") == \
        ".|crate::render::Wrap::wrap"
    assert resolve("src/render.rs", "function:show", "Page.missing") is None
    assert resolve("src/conn.rs", "method:impl Conn::close", "Self.send_alert") == \
        ".|crate::common::CommonState::send_alert"
    assert resolve("src/conn.rs", "function:other", "Conn.send_alert") == \
        ".|crate::common::CommonState::send_alert"
    assert resolve("src/conn.rs", "function:aliased", "State.send_alert") == \
        ".|crate::common::CommonState::send_alert"
    # A wrapper that derefs to its generic parameter holds any type: the crate's one
    # method so named, as for `.name` (rustls's `Retrieved<T>`).
    assert resolve("src/conn.rs", "function:wrapped", "Retrieved.send_alert") == \
        ".|crate::common::CommonState::send_alert"
    # The Deref impl gone, the call binds nothing.
    world.add("src/conn.rs", "use crate::common::CommonState;\npub struct Conn;\n"
              "fn other(c: &Conn) { c.send_alert() }\n")
    assert resolve("src/conn.rs", "function:other", "Conn.send_alert") is None


def test_a_typed_receiver_of_another_crates_type_binds_no_inherent_method() -> None:
    """A type the crate does not define (imported, written as a path, std's, a generic)
    has no inherent method of the crate's, whatever type of the crate shares its name
    (hyper's `tokio::io::ReadBuf` had bound its own `ReadBuf::filled`); an impl of the
    crate's trait for it is its own. Its trait declaration binds only where it is the
    crate's one method so named (tracing-subscriber's `metadata.level()` on tracing-core's
    Metadata had bound `Match::level` beside `Span::level`). Found by a review of 0.1.64."""
    world = World({
        "src/lib.rs": "mod value;\nmod user;\nmod lvl;\n",
        "src/value.rs": ("pub struct Value;\nimpl Value {\n"
                         "    pub fn get(&self, k: u8) -> u8 { k }\n"
                         "    pub fn pointer(&self) -> u8 { 0 }\n}\n"
                         "pub trait ResourcePath { fn path(&self) -> u8; }\n"
                         "impl ResourcePath for http::Uri { fn path(&self) -> u8 { 1 } }\n"),
        "src/user.rs": ("use serde_json::Value;\n"
                        "fn f(v: &Value, u: http::Uri) { v.get(1); v.pointer(); u.path(); }\n"
                        "fn g(v: &serde_json::Value) { v.pointer(); }\n"
                        "fn h<T>(t: T) { t.pointer(); }\n"),
        "src/lvl.rs": ("pub(crate) trait Match { fn level(&self) -> u8; }\n"
                       "pub trait Instrument { fn instrument(&self) -> u8 { 0 } }\n"
                       "struct Span;\nimpl Span { fn level(&self) -> u8 { 1 } }\n"
                       "fn enabled(m: &tracing_core::Metadata<'_>, f: FutureObj) {\n"
                       "    m.level();\n    f.instrument();\n}\n"),
    })
    resolve = world.resolve
    assert resolve("src/user.rs", "function:f", "Value.get") is None
    assert resolve("src/user.rs", "function:f", "Value.pointer") is None
    assert resolve("src/user.rs", "function:g", "serde_json::Value.pointer") is None
    assert resolve("src/user.rs", "function:h", "*.pointer") is None
    assert resolve("src/user.rs", "function:f", "http::Uri.path") == \
        ".|crate::value::Uri::path"
    assert resolve("src/lvl.rs", "function:enabled", "tracing_core::Metadata.level") is None
    assert resolve("src/lvl.rs", "function:enabled", "FutureObj.instrument") == \
        ".|crate::lvl::Instrument::instrument"
    # A path that ends as one of the crate's is the crate's type, written from elsewhere
    # (a field's `value::Value`, 2015's `::value::Value`); an associated type is any type.
    world.add("src/hold.rs", ("pub struct Holder {\n    inner: value::Value,\n}\n"
                              "impl Holder {\n    fn f(&self, v: &::value::Value) {\n"
                              "        self.inner.pointer();\n        v.pointer();\n    }\n"
                              "    fn g(&self, r: Self::Item) { r.pointer(); }\n}\n"))
    assert resolve("src/hold.rs", "method:impl Holder::f", "Self.inner.pointer") == \
        ".|crate::value::Value::pointer"
    assert resolve("src/hold.rs", "method:impl Holder::f", "::value::Value.pointer") == \
        ".|crate::value::Value::pointer"
    assert resolve("src/hold.rs", "method:impl Holder::g", "Self::Item.pointer") == \
        ".|crate::value::Value::pointer"


def test_a_deref_to_a_type_named_in_the_impls_bounds_is_that_type() -> None:
    """Only the impl's own parameters make a Deref target any type: `Vec` in `impl<T:
    Into<Vec<u8>>>` is a bound's (found by a review of 0.1.64)."""
    world = World({
        "src/lib.rs": ("pub struct Vec;\nimpl Vec { pub fn grow(&self) {} }\n"
                       "pub struct Other;\nimpl Other { pub fn grow(&self) {} }\n"
                       "pub struct W<T> { v: Vec, t: T }\n"
                       "impl<T: Into<Vec>> std::ops::Deref for W<T> {\n"
                       "    type Target = Vec;\n    fn deref(&self) -> &Vec { &self.v }\n}\n"
                       "fn f(w: W<u8>) { w.grow() }\n"),
    })
    assert world.resolve("src/lib.rs", "function:f", "W.grow") == ".|crate::Vec::grow"


def test_a_typed_receiver_imported_from_the_crates_own_module_is_the_crates_type() -> None:
    """A name the file imports from one of the crate's modules is the crate's type even
    where the look-up does not find it there (hyper's 2015 `use proto::Conn;`, a
    re-export: `self.conn.is_write_closed()` had lost its binding); one imported from
    another crate is not."""
    world = World({
        "src/lib.rs": "mod proto;\nmod dispatch;\nmod net;\n",
        "src/proto/mod.rs": "pub mod h1;\n",
        "src/proto/h1.rs": "pub struct Conn;\nimpl Conn { pub fn ready(&self) {} }\n",
        "src/dispatch.rs": "use proto::Conn;\nfn f(c: &Conn) { c.ready() }\n",
        "src/net.rs": "use tokio::net::Conn;\nfn g(c: &Conn) { c.ready() }\n",
    })
    assert world.resolve("src/dispatch.rs", "function:f", "Conn.ready") == \
        ".|crate::proto::h1::Conn::ready"
    assert world.resolve("src/net.rs", "function:g", "Conn.ready") is None


def test_typed_receivers_found_by_the_second_review() -> None:
    """Found by a review of 0.1.64's field receivers: a generic parameter binds its bound's
    declaration beside a same-named inherent method (image: 81 bindings); `pub(crate)`
    structs and fields named `pub…` have their fields; the caller crate's trait impl on a
    sibling's type is found; a dropped file's fields go; a relative import of a child
    module is the crate's; another crate's type's fields are not the crate's same-named
    struct's; a field typed `Box<Self>` is the struct's own type."""
    world = World({
        "src/lib.rs": "mod view;\nmod conn;\nmod crypto;\n",
        "src/view.rs": ("pub trait View { fn dims(&self) -> u32; }\n"
                        "pub struct Buf;\nimpl Buf { pub fn dims(&self) -> u32 { 0 } }\n"
                        "impl View for Buf { fn dims(&self) -> u32 { 0 } }\n"
                        "pub fn rotate<I: View>(image: &I) -> u32 { image.dims() }\n"),
        "src/conn.rs": ("pub struct Io;\nimpl Io { pub fn flush_all(&self) {} }\n"
                        "pub struct Net;\nimpl Net { pub fn flush_all(&self) {} }\n"
                        "pub(crate) struct Conn {\n    io: Io,\n    pubkey: Net,\n"
                        "    next: Option<Box<Conn>>,\n    me: Box<Self>,\n}\n"
                        "impl Conn {\n    pub fn walk(&self) {}\n"
                        "    fn f(&self, c: &other_crate::Conn) {\n"
                        "        self.io.flush_all();\n        self.pubkey.flush_all();\n"
                        "        self.me.walk();\n        c.io.flush_all();\n    }\n}\n"),
        "src/crypto/mod.rs": "mod kx;\nuse kx::Named;\nfn f(n: &Named) { n.usable() }\n",
        "src/crypto/kx.rs": "pub struct Named;\nimpl Named { pub fn usable(&self) {} }\n",
        "library/src/lib.rs": "pub struct Page;\n",
        "site/src/lib.rs": ("use library::Page;\ntrait Ext { fn extra(&self); fn go(&self); }\n"
                            "impl Ext for Page {\n    fn extra(&self) {}\n"
                            "    fn go(&self) { self.extra() }\n}\n"
                            "fn run(p: &Page) { p.extra() }\n"),
    })
    world.table.crate_folders.update({"library": "library", "site": "site"})
    resolve = world.resolve
    assert resolve("src/view.rs", "function:rotate", "*.dims") == ".|crate::view::View::dims"
    f = "method:impl Conn::f"
    assert resolve("src/conn.rs", f, "Self.io.flush_all") == ".|crate::conn::Io::flush_all"
    assert resolve("src/conn.rs", f, "Self.pubkey.flush_all") == \
        ".|crate::conn::Net::flush_all"
    assert resolve("src/conn.rs", f, "Self.me.walk") == ".|crate::conn::Conn::walk"
    assert resolve("src/conn.rs", f, "other_crate::Conn.io.flush_all") is None
    assert resolve("src/crypto/mod.rs", "function:f", "Named.usable") == \
        ".|crate::crypto::kx::Named::usable"
    assert resolve("site/src/lib.rs", "method:impl Ext for Page::go", "Self.extra") == \
        "site|crate::Page::extra"
    assert resolve("site/src/lib.rs", "function:run", "Page.extra") == "site|crate::Page::extra"
    # The file gone (renamed, say), its fields go with it.
    world.table.drop_file("src/conn.rs")
    assert (".", "Conn") not in world.table.struct_fields


def test_generic_parameters_name_no_item_of_the_crate() -> None:
    """serde's `pub struct T;` (crate::actually_private) had become a dependency of every
    item with a generic `T` (130 samples, its definition in 117 headers): a parameter of the
    item or of its block names no item, nor does a path from it; a method call on a value of
    its type binds its bound's declaration."""
    world = World({
        "src/private.rs": "pub struct T;\nimpl T { pub fn go(&self) {} }\n",
        "src/de.rs": ("use crate::private::T;\npub trait Seed { fn go(&self); }\n"
                      "pub fn seed<T: Seed>(t: T) -> T::Value { t.go(); T::make() }\n"
                      "pub struct Visitor<T>(T);\n"
                      "impl<T: Seed> Visitor<T> {\n    fn visit(&self, t: T) { t.go() }\n}\n"
                      "pub fn plain(t: T) -> T { t.go(); t }\n"),
    })
    seed = world.item("src/de.rs", "function:seed")
    assert "T" not in seed.references and not any(
        ref.startswith("T::") for ref in seed.references)
    assert world.resolve("src/de.rs", "function:seed", "*.go") == ".|crate::de::Seed::go"
    visit = world.item("src/de.rs", "method:impl Visitor<T>::visit")
    assert "T" not in visit.references
    assert world.resolve("src/de.rs", "method:impl Visitor<T>::visit", "*.go") == \
        ".|crate::de::Seed::go"
    assert "T" not in world.item("src/de.rs", "struct:Visitor").references
    # Where no parameter is named T, T is the struct.
    assert world.resolve("src/de.rs", "function:plain", "T") == ".|crate::private::T"
    assert world.resolve("src/de.rs", "function:plain", "T.go") == ".|crate::private::T::go"


def test_a_fallback_definition_gives_way_to_a_re_export_of_its_name() -> None:
    """`#[cfg(not(feature = "git"))] pub struct Git;` beside `#[cfg(feature = "git")] pub
    use self::git::Git;`: a name defined only as a fallback is the re-export's (eza: 89
    samples showed the stub); one defined outright too, or with no re-export, stays."""
    world = World({
        "src/lib.rs": "pub mod feature;\npub mod plain;\n",
        "src/feature/mod.rs": '#[cfg(feature = "git")]\nmod git;\n'
                              '#[cfg(feature = "git")]\npub use self::git::Git;\n'
                              '#[cfg(not(feature = "git"))]\npub struct Git;\n'
                              '#[cfg(not(unix))]\npub struct Attr;\n',
        "src/feature/git.rs": "pub struct Git { pub n: u8 }\n",
        "src/plain.rs": "pub mod inner;\npub use self::inner::Both;\npub struct Both;\n",
        "src/plain/inner.rs": "pub struct Both;\n",
        "src/use.rs": "use crate::feature::{Attr, Git};\nuse crate::plain::Both;\n"
                      "fn f(g: Git, a: Attr, b: Both) {}\n",
    })
    assert world.resolve("src/use.rs", "function:f", "Git") == ".|crate::feature::git::Git"
    assert world.resolve("src/use.rs", "function:f", "Attr") == ".|crate::feature::Attr"
    assert world.resolve("src/use.rs", "function:f", "Both") == ".|crate::plain::Both"


def test_a_fallback_gives_way_to_an_import_of_its_name_from_outside() -> None:
    """anyhow's `#[cfg(feature = "std")] use std::error::Error as StdError;` beside
    `#[cfg(not(feature = "std"))] trait StdError { fn source(&self) … }` (later `all(not(
    feature = "std"), …)`), and `pub(crate) use std::backtrace::Backtrace;` beside a stub
    `enum Backtrace {}`: `use crate::StdError;` names std's trait, so neither the stub nor
    its method binds (166 of anyhow's 880 samples showed the stub); a fallback with no
    import of its name beside it stays."""
    world = World({
        "src/lib.rs": ("mod backtrace;\nmod error;\n"
                       '#[cfg(feature = "std")]\nuse std::error::Error as StdError;\n'
                       '#[cfg(all(not(feature = "std"), no_core_error))]\n'
                       "trait StdError {\n    fn source(&self) -> Option<&dyn StdError> "
                       "{ None }\n}\n"
                       '#[cfg(not(feature = "std"))]\npub struct Lone;\n'),
        "src/backtrace.rs": ('#[cfg(feature = "std")]\npub(crate) use std::backtrace::Backtrace;\n'
                             '#[cfg(not(feature = "std"))]\npub(crate) enum Backtrace {}\n'),
        "src/error.rs": ("use crate::backtrace::Backtrace;\nuse crate::{Lone, StdError};\n"
                         "fn f(e: &dyn StdError, b: Backtrace, l: Lone) -> bool {\n"
                         "    e.source().is_some() && make().source().is_none()\n}\n"),
    })
    assert world.resolve("src/error.rs", "function:f", "StdError") is None
    assert world.resolve("src/error.rs", "function:f", "Backtrace") is None
    assert world.resolve("src/error.rs", "function:f", "StdError.source") is None
    assert world.resolve("src/error.rs", "function:f", ".source") is None
    assert world.resolve("src/error.rs", "function:f", "Lone") == ".|crate::Lone"


def test_a_name_the_crate_root_imports_privately_is_importable_from_it() -> None:
    """A crate root's private `use crate::inner::Inner;` lets every module of the crate
    write `use crate::Inner;` (rusqlite's `use crate::{…, InnerConnection};`: 43 samples
    had no dependency on it); a name it imports from outside stays unbound, not the
    crate's one so named elsewhere."""
    world = World({
        "src/lib.rs": ("mod ext;\nmod inner;\nmod map;\nuse crate::inner::Inner;\n"
                       "use std::collections::HashMap;\n"),
        "src/inner.rs": "pub struct Inner {\n    pub x: u32,\n}\n",
        "src/map.rs": "pub struct HashMap;\n",
        "src/ext.rs": ("use crate::{HashMap, Inner};\n"
                       "fn f(i: Inner, m: HashMap) -> u32 { i.x }\n"),
    })
    assert world.resolve("src/ext.rs", "function:f", "Inner") == ".|crate::inner::Inner"
    assert world.resolve("src/ext.rs", "function:f", "HashMap") is None
    # `use super::*;` in a child module brings them too (chumsky's `Sealed`).
    world.add("src/glob.rs", "use super::*;\nfn h(i: Inner, m: HashMap) {}\n")
    assert world.resolve("src/glob.rs", "function:h", "Inner") == ".|crate::inner::Inner"
    assert world.resolve("src/glob.rs", "function:h", "HashMap") is None
    # src/main.rs, a root of the same crate here, importing what lib.rs re-exports, takes
    # nothing from lib.rs's `pub use` (a review).
    world.add("src/lib.rs", "mod ext;\nmod inner;\nmod config;\npub use config::Config;\n"
              "use crate::inner::Inner;\n")
    world.add("src/config.rs", "pub struct Config;\n")
    world.add("src/main.rs", "use demo::Config;\nfn main() {}\n")
    world.add("src/ext.rs", "use crate::{Config, Inner};\nfn f(i: Inner, c: Config) {}\n")
    assert world.resolve("src/ext.rs", "function:f", "Config") == ".|crate::config::Config"
    assert world.resolve("src/ext.rs", "function:f", "Inner") == ".|crate::inner::Inner"


def test_an_exported_macro_is_found_from_other_crates() -> None:
    """A `#[macro_export]` macro_rules lies at its crate's root for other crates: bare
    after `#[macro_use] extern crate a;` (pest's tests: `parses_to!`, 266 samples had no
    dependency on it), by its path (`a::hello!`) or imported (`use a::hello;`). A macro not
    exported is not; a bare name that two crates export is the one of the crate `#[macro_use]
    extern crate` names, else neither."""
    world = World({
        "crates/a/src/lib.rs": ("mod macros;\nmacro_rules! private_m { () => {} }\n"),
        "crates/a/src/macros.rs": ("#[macro_export]\nmacro_rules! hello { () => {} }\n"
                                   "#[macro_export]\nmacro_rules! twice { () => {} }\n"),
        "crates/c/src/lib.rs": "#[macro_export]\nmacro_rules! twice { () => {} }\n",
        "src/lib.rs": ("#[macro_use]\nextern crate a;\nmod uses;\n"
                       "fn f() { hello!(); a::hello!(); private_m!(); twice!(); }\n"),
        "src/uses.rs": "use a::hello;\nfn g() { hello!(); crate::local!(); }\n",
        "src/local.rs": "#[macro_export]\nmacro_rules! local { () => {} }\n",
        "tests/t.rs": "fn t() { twice!(); hello!(); ::a::hello!(); }\n",
        # a file importing from the library (chumsky's examples: `use chumsky::prelude::*;`)
        "examples/e.rs": "use a::macros;\nfn e() { hello!(); }\n",
    })
    assert world.resolve("src/lib.rs", "function:f", "hello!") == "crates/a|crate::macros::hello"
    assert world.resolve("src/lib.rs", "function:f", "a::hello!") == \
        "crates/a|crate::macros::hello"
    assert world.resolve("src/lib.rs", "function:f", "private_m!") is None
    assert world.resolve("src/lib.rs", "function:f", "twice!") == "crates/a|crate::macros::twice"
    assert world.resolve("tests/t.rs", "function:t", "twice!") is None
    # Bare, only from a library `#[macro_use] extern crate` names (a review: a crate using
    # `log`'s `info!` had bound a sibling's exported `info!`); by its path, from any.
    assert world.resolve("tests/t.rs", "function:t", "hello!") is None
    assert world.resolve("tests/t.rs", "function:t", "::a::hello!") == \
        "crates/a|crate::macros::hello"
    assert world.resolve("examples/e.rs", "function:e", "hello!") == \
        "crates/a|crate::macros::hello"
    assert world.resolve("src/uses.rs", "function:g", "hello!") == \
        "crates/a|crate::macros::hello"
    assert world.resolve("src/uses.rs", "function:g", "crate::local!") == \
        ".|crate::local::local"


def test_a_definition_a_plain_build_leaves_out_gives_way_to_a_re_export() -> None:
    """salsa's `pub use shim::*;` over a test-only `#[cfg(feature = "shuttle")] mod shim {
    pub struct Mutex<T>(…); }` and `#[cfg(not(feature = "shuttle"))] mod shim { pub use
    parking_lot::Mutex; }`: `crate::sync::Mutex` is parking_lot's in a plain build, not the
    wrapper (137 samples showed it). With the feature on by default, the wrapper; a
    definition left out with no re-export beside it stays."""
    sync = ("pub use shim::*;\n#[cfg(feature = \"shuttle\")]\npub mod shim {\n"
            "    pub struct Mutex<T>(T);\n    impl<T> Mutex<T> { pub fn lock(&self) {} }\n"
            "    pub struct OnlyHere;\n}\n"
            "#[cfg(not(feature = \"shuttle\"))]\npub mod shim {\n"
            "    pub use parking_lot::Mutex;\n}\n")
    files = {"src/lib.rs": "mod sync;\nmod user;\nmod glob;\n", "src/sync.rs": sync,
             "src/user.rs": ("use crate::sync::{Mutex, OnlyHere};\n"
                             "fn f(m: Mutex<u8>, o: OnlyHere) { m.lock(); }\n"),
             # the compiled twin takes it from a glob of another library's
             "src/glob.rs": ("#[cfg(feature = \"shuttle\")]\nmod shim {\n"
                             "    pub struct OnceLock(u8);\n}\n"
                             "#[cfg(not(feature = \"shuttle\"))]\nmod shim {\n"
                             "    pub use std::sync::*;\n}\n"
                             "fn g(o: shim::OnceLock) {}\n")}
    plain = World(files, CrateRoots(features={".": frozenset()}))
    assert plain.resolve("src/user.rs", "function:f", "Mutex") is None
    assert plain.resolve("src/glob.rs", "function:g", "shim::OnceLock") is None
    assert plain.resolve("src/user.rs", "function:f", "OnlyHere") == \
        ".|crate::sync::shim::OnlyHere"
    on = World(files, CrateRoots(features={".": frozenset({"shuttle"})}))
    assert on.resolve("src/user.rs", "function:f", "Mutex") == ".|crate::sync::shim::Mutex"


def test_a_name_imported_under_another_is_not_the_crates_one_so_named() -> None:
    """pest's `use crate::ast::{Expr, Rule as AstRule};`, then a bare `Rule`, the generated
    grammar's enum (`include!`): not `ast::Rule`, the crate's one so named (a sweep: 34
    samples showed it). Another file without the alias still finds it, as does a file that
    imports another item of the name so (a review)."""
    world = World({
        "src/lib.rs": "pub mod ast;\nmod parser;\nmod other;\nmod error;\nmod io;\n",
        "src/ast.rs": "pub struct Rule {\n    pub name: String,\n}\n",
        "src/parser.rs": ("use crate::ast::Rule as AstRule;\n"
                          "fn convert(rule: Rule, ast: AstRule) -> u8 { 0 }\n"),
        "src/other.rs": "fn f(rule: Rule) -> u8 { 0 }\n",
        # Another item imported under another name leaves the crate's one so named
        "src/error.rs": "pub struct Error;\n",
        "src/io.rs": ("use std::io::Error as IoError;\nuse crate::ast::Rule as _;\n"
                      "fn g(e: Error, r: Rule) -> u8 { 0 }\n"),
    })
    assert world.resolve("src/parser.rs", "function:convert", "Rule") is None
    assert world.resolve("src/parser.rs", "function:convert", "AstRule") == ".|crate::ast::Rule"
    assert world.resolve("src/other.rs", "function:f", "Rule") == ".|crate::ast::Rule"
    assert world.resolve("src/io.rs", "function:g", "Error") == ".|crate::error::Error"
    assert world.resolve("src/io.rs", "function:g", "Rule") == ".|crate::ast::Rule"


def test_stds_own_method_of_a_std_typed_field_is_not_a_crate_traits() -> None:
    """salsa's `impl<T> SalsaAsRef for Option<T> { fn as_ref(&self) … }`: `self.page.as_ref()`
    on an `Option` field is std's inherent `Option::as_ref`, looked up first (a sweep: 19
    samples bound the trait's). A name std's types lack still binds the crate's impl."""
    world = World({
        "src/lib.rs": ("pub trait SalsaAsRef {\n    fn as_ref(&self) -> u8;\n"
                       "    fn salsa_only(&self) -> u8;\n}\n"
                       "impl<T> SalsaAsRef for Option<T> {\n    fn as_ref(&self) -> u8 { 0 }\n"
                       "    fn salsa_only(&self) -> u8 { 1 }\n}\n"
                       "pub struct Table {\n    page: Option<u32>,\n}\n"
                       "impl Table {\n    fn f(&self) -> u8 {\n"
                       "        self.page.as_ref();\n        self.page.salsa_only()\n    }\n}\n"),
    })
    assert world.resolve("src/lib.rs", "method:impl Table::f", "Self.page.as_ref") is None
    assert world.resolve("src/lib.rs", "method:impl Table::f", "Self.page.salsa_only") == \
        ".|crate::Option::salsa_only"


def test_crate_only_items_stay_seen_where_rust_sees_them() -> None:
    """What the check against another crate's private items leaves alone (a review): a
    shared test module's `pub(crate)` item (a module of each test crate in Rust), and a
    trait impl's const, as public as its trait."""
    world = World({
        "tests/a.rs": "mod common;\nuse common::fixtures;\nfn t() { fixtures::make(); }\n",
        "tests/common/mod.rs": "pub mod fixtures;\n",
        "tests/common/fixtures.rs": "pub(crate) fn make() {}\n",
        "crates/other/src/lib.rs": "pub mod types;\n",
        "crates/other/src/types.rs": ("pub trait Tr {\n    const N: usize;\n}\npub struct Foo;\n"
                                      "impl Tr for Foo {\n    const N: usize = 3;\n}\n"),
        "src/lib.rs": ("use other::types;\nuse other::types::Tr;\n"
                       "fn f() -> usize { types::Foo::N }\n"),
    })
    assert world.resolve("tests/a.rs", "function:t", "fixtures::make") == \
        "tests/common|crate::fixtures::make"
    assert world.resolve("src/lib.rs", "function:f", "types::Foo::N") == \
        "crates/other|crate::types::Foo::N"


def test_an_item_made_pub_is_seen_from_other_crates_at_once() -> None:
    """`pub(crate) fn helper` made `pub` changes the file's symbols (a review: prost's
    `DecodeError::new`, made public, bound nothing from its tests crate)."""
    world = World({
        "crates/other/src/lib.rs": "pub mod util;\n",
        "crates/other/src/util.rs": "pub(crate) fn helper() {}\n",
        "src/lib.rs": "use other::util;\nfn f() { util::helper(); }\n",
    })
    assert world.resolve("src/lib.rs", "function:f", "util::helper") is None
    world.add("crates/other/src/util.rs", "pub fn helper() {}\n")
    assert world.resolve("src/lib.rs", "function:f", "util::helper") == \
        "crates/other|crate::util::helper"


def test_a_glob_of_a_module_brings_the_names_its_uses_re_export() -> None:
    """time 0.2: `use crate::internal_prelude::*;`, the prelude `pub(crate) use crate::{
    Date, Duration, …};`, and a second `Duration` (a serde shadow) in the crate: the name
    bound only where the crate had one so named (an acceptance sweep: 27 of 109 uses)."""
    world = World({
        "src/lib.rs": ("mod duration;\nmod serde;\nmod user;\npub use duration::Duration;\n"
                       "mod internal_prelude {\n    pub(crate) use crate::Duration;\n}\n"),
        "src/duration.rs": "pub struct Duration(i64);\n",
        "src/serde.rs": "pub(crate) struct Duration(i64, i32);\n",
        "src/user.rs": "use crate::internal_prelude::*;\nfn f(d: Duration) {}\n",
    })
    assert world.resolve("src/user.rs", "function:f", "Duration") == \
        ".|crate::duration::Duration"
    # A name the prelude re-exports from outside is that one, not the crate's one so named.
    world = World({
        "src/lib.rs": ("mod cache;\nmod user;\n"
                       "mod prelude {\n    pub(crate) use std::collections::HashMap;\n}\n"),
        "src/cache.rs": "pub struct HashMap;\n",
        "src/user.rs": "use crate::prelude::*;\nfn f(m: HashMap<u8, u8>) {}\n",
    })
    assert world.resolve("src/user.rs", "function:f", "HashMap") is None


def test_an_imported_macros_name_does_not_lead_into_another_crates_private_items(
        tmp_path: Path) -> None:
    """time's tests: `use time::macros::{format_description, time};` beside `use
    time::{format_description, Time};`. A path through the macro's import reached the
    proc-macro crate's private modules of those names: `Time` bound its `pub(crate)
    struct Time`, `format_description::parse` its private `fn parse` (an acceptance sweep:
    95 samples). Another crate's private or `pub(crate)` item is no path's end there."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main
    from tests.dataset_builder.conftest import Commit, make_repo

    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": '[workspace]\nmembers = ["time", "time-macros"]\n',
        "time/Cargo.toml": ('[package]\nname = "time"\nversion = "0.1.0"\nedition = "2021"\n'
                            '[dependencies]\ntime-macros = { path = "../time-macros" }\n'),
        "time-macros/Cargo.toml": ('[package]\nname = "time-macros"\nversion = "0.1.0"\n'
                                   'edition = "2021"\n[lib]\nproc-macro = true\n'),
        "time-macros/src/lib.rs": ("mod format_description;\nmod time;\n"
                                   "pub fn time() {}\npub fn format_description() {}\n"),
        "time-macros/src/time.rs": "pub(crate) struct Time {\n    pub(crate) hour: u8,\n}\n",
        "time-macros/src/format_description.rs": "fn parse(input: u8) -> u8 {\n    input\n}\n",
        "time/src/lib.rs": ("pub mod format_description;\nmod time;\npub use crate::time::Time;\n"
                            "pub mod macros {\n"
                            "    pub use time_macros::{format_description, time};\n}\n"),
        "time/src/time.rs": "pub struct Time {\n    hour: u8,\n}\n",
        "time/src/format_description.rs": "pub fn parse(s: &str) -> usize {\n    s.len()\n}\n",
        "time/tests/fmt.rs": ("use time::macros::{format_description, time};\n"
                              "use time::{format_description, Time};\n\n"
                              "fn check(t: Time) -> usize {\n"
                              "    format_description::parse(\"[hour]\")\n}\n"),
    })])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["path", "name", "resolved"]).to_pylist()
    check = next(i for i in items if i["path"] == "time/tests/fmt.rs" and i["name"] == "check")
    assert sorted(check["resolved"]) == ["time|crate::format_description::parse",
                                         "time|crate::time::Time"]


@pytest.mark.parametrize("default", ["", '"verbose"'])
def test_of_cfg_twin_imports_the_compiled_one_is_found(tmp_path: Path, default: str) -> None:
    """Of two `use`s of a name under opposite cfgs, the one a plain build compiles (the
    package's default features) binds: an import, a glob and a `pub use` (nom's
    `#[cfg(feature = "verbose-errors")] use verbose_errors::Err;` beside `#[cfg(not(…))] use
    simple_errors::Err;` had bound the verbose `Err`, its feature off: 116 samples)."""
    import pyarrow.parquet as pq

    from dataset_builder.cli import main
    from tests.dataset_builder.conftest import Commit, make_repo

    twin = "pub struct Err;\npub struct Context;\npub struct Kind;\n"
    on, off = '#[cfg(feature = "verbose")]', '#[cfg(not(feature = "verbose"))]'
    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "Cargo.toml": ('[package]\nname = "twins"\nversion = "0.1.0"\nedition = "2021"\n'
                       f"[features]\ndefault = [{default}]\nverbose = []\n"),
        "src/lib.rs": (f"{on}\npub mod verbose;\n{off}\npub mod simple;\npub mod internal;\n"
                       f"{on}\npub use self::verbose::Err;\n{off}\npub use self::simple::Err;\n"),
        "src/verbose.rs": twin, "src/simple.rs": twin,
        "src/internal.rs": (f"{on}\nuse crate::verbose::Context;\n{off}\n"
                            "use crate::simple::Context;\n"
                            f"{on}\nuse crate::verbose::*;\n{off}\nuse crate::simple::*;\n\n"
                            "pub fn context() -> Context {\n    Context\n}\n"
                            "pub fn error(e: crate::Err) {}\n"
                            "pub fn kind(k: Kind) {}\n")})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["name", "resolved"]).to_pylist()
    module = "verbose" if default else "simple"
    resolved = {i["name"]: i["resolved"] for i in items
                if i["name"] in ("context", "error", "kind")}
    assert resolved == {"context": [f".|crate::{module}::Context"],
                        "error": [f".|crate::{module}::Err"],
                        "kind": [f".|crate::{module}::Kind"]}, resolved


def test_a_path_through_a_reexported_module_is_followed() -> None:
    """`pub use crate::graph_impl::stable_graph;`, then `crate::stable_graph::StableGraph`
    (petgraph: 48 of 63 such imports had bound nothing), also another crate's path to it
    and one through two such modules; a name the module does not define binds nothing."""
    world = World({
        "src/lib.rs": ("mod graph_impl;\nmod algo;\npub use crate::graph_impl::stable_graph;\n"
                       "pub use self::stable_graph as sg;\n"),
        "src/graph_impl/mod.rs": "pub mod stable_graph;\n",
        "src/graph_impl/stable_graph/mod.rs": "pub struct StableGraph;\n",
        "src/algo.rs": ("use crate::stable_graph::StableGraph;\n\n"
                        "pub fn count(g: &StableGraph) -> usize {\n"
                        "    let _ = crate::sg::StableGraph;\n"
                        "    let _ = crate::stable_graph::Missing;\n    0\n}\n"),
        "tests/quick.rs": ("use petgraph::stable_graph::StableGraph;\n\n"
                           "fn build(g: StableGraph) {}\n")})
    world.table.crate_folders.update({"petgraph": "."})
    expected = ".|crate::graph_impl::stable_graph::StableGraph"
    assert world.resolve("src/algo.rs", "function:count", "StableGraph") == expected
    assert world.resolve("src/algo.rs", "function:count", "crate::sg::StableGraph") == expected
    assert world.resolve("src/algo.rs", "function:count", "crate::stable_graph::Missing") is None
    assert world.resolve("tests/quick.rs", "function:build", "StableGraph") == expected


def test_a_glob_reexport_makes_the_names_it_brings() -> None:
    """`pub use app_builder::*;` (clap's lib.rs since the clap_builder split: 792 of 969
    samples using its API had no dependency in clap_builder) and a module's `pub use
    inner::*;` (Rocket's `http`) make the names they bring; and a type imported from a
    sibling crate finds its method in that crate (`use app::Command;`, then
    `Command::new`, had looked for it in the importing crate)."""
    world = World({
        "app_builder/src/lib.rs": ("pub struct Command;\nimpl Command {\n"
                                   "    pub fn new() -> Self { Command }\n}\n"),
        "src/lib.rs": "pub use app_builder::*;\npub mod http;\n",
        "src/http/mod.rs": "mod status;\npub use status::*;\n",
        "src/http/status/mod.rs": "pub struct Status;\n",
        "tests/t.rs": ("use app::Command;\nuse app::http::Status;\n\n"
                       "fn by_use() {\n    Command::new();\n    app::Command::new();\n"
                       "    let s: Status = app::http::Status;\n    app::Missing::new();\n}\n")})
    world.table.crate_folders.update({"app": ".", "app_builder": "app_builder"})
    new = "app_builder|crate::Command::new"
    assert world.resolve("tests/t.rs", "function:by_use", "Command::new") == new
    assert world.resolve("tests/t.rs", "function:by_use", "app::Command::new") == new
    assert world.resolve("tests/t.rs", "function:by_use", "Status") == \
        ".|crate::http::status::Status"
    assert world.resolve("tests/t.rs", "function:by_use", "app::Missing::new") is None


def test_a_modules_glob_reexport_gives_way_to_its_imports_and_brings_no_enum_methods() -> None:
    """Inside a module an explicit `use` hides a name its `pub use inner::*;` brings (a
    review of 0.1.88: the glob had won); an enum's glob (`pub use self::Kind::*;`) brings
    its variants, never its methods: `token::width` names nothing, and `parse` in the
    module stays the imported function."""
    world = World({
        "src/lib.rs": "pub mod error;\npub mod inner;\npub mod api;\npub mod token;\n"
                      "pub mod util;\npub mod user;\n",
        "src/error.rs": "pub struct Error;\n",
        "src/inner.rs": "pub struct Error;\npub struct Other;\n",
        "src/api.rs": ("pub use crate::inner::*;\nuse crate::error::Error;\n\n"
                       "pub fn f(e: Error) -> Other { Other }\n"),
        "src/util.rs": "pub fn parse(s: &str) -> u8 { 0 }\n",
        "src/token.rs": ("pub use self::Kind::*;\nuse crate::util::parse;\n\n"
                         "pub enum Kind { Word, Number }\n"
                         "impl Kind {\n    pub fn parse(s: &str) -> Kind { Word }\n"
                         "    pub fn width(&self) -> u8 { 1 }\n}\n\n"
                         "pub fn lex(s: &str) -> u8 { parse(s) }\n"),
        "src/user.rs": ("use crate::token;\nuse crate::api::Other;\n\n"
                        "pub fn g() -> u8 { token::width(); crate::api::Error; 0 }\n")})
    assert world.resolve("src/api.rs", "function:f", "Error") == ".|crate::error::Error"
    assert world.resolve("src/api.rs", "function:f", "Other") == ".|crate::inner::Other"
    assert world.resolve("src/user.rs", "function:g", "crate::api::Error") == \
        ".|crate::inner::Error"  # from outside, the glob's (the import is private)
    assert world.resolve("src/token.rs", "function:lex", "parse") == ".|crate::util::parse"
    assert world.resolve("src/user.rs", "function:g", "token::width") is None


def test_a_path_goes_on_through_a_module_a_glob_brings() -> None:
    """`clap::builder::Command`, `rocket::http::uri::Origin`: a glob brings a module, and
    the path goes on inside it (a review of 0.1.89's first version: 1,123 of Rocket's
    bindings lost); two globs chained across crates; an enum's glob re-exported by name or
    from another crate brings no methods; a module's own code finds a name its glob of
    another crate brings, after its imports."""
    world = World({
        "app_builder/src/lib.rs": "pub mod builder;\npub mod error;\npub use builder::Command;\n",
        "app_builder/src/builder/mod.rs": "mod command;\npub use command::Command;\n",
        "app_builder/src/builder/command.rs": ("pub struct Command;\nimpl Command {\n"
                                               "    pub fn new() -> Self { Command }\n}\n"),
        "app_builder/src/error.rs": "mod kind;\npub use kind::ErrorKind;\n",
        "app_builder/src/error/kind.rs": "pub enum ErrorKind { A }\n",
        "mid/src/lib.rs": "pub use app_builder::*;\n",
        "deep/src/lib.rs": "pub use mid::*;\n",
        "src/lib.rs": ("pub use app_builder::*;\npub mod http { pub use web_http::*; }\n"
                       "pub mod kinds;\npub mod a;\npub mod b;\npub mod c;\n"),
        "web_http/src/lib.rs": "pub mod uri;\n",
        "web_http/src/uri/mod.rs": "mod origin;\npub use origin::Origin;\n",
        "web_http/src/uri/origin.rs": "pub struct Origin;\nimpl Origin { pub fn parse() {} }\n",
        "src/kinds.rs": ("pub enum Kind { Word }\n"
                         "impl Kind { pub fn parse(s: &str) -> Kind { Kind::Word } }\n"),
        "src/a.rs": "pub use crate::kinds::Kind;\n",
        "src/b.rs": "pub use crate::a::Kind::*;\n",
        "src/c.rs": "pub use app_builder::*;\n\npub fn make() -> Command { Command::new() }\n",
        "tests/t.rs": ("fn f() {\n    app::builder::Command::new();\n"
                       "    app::error::ErrorKind::A;\n"
                       "    app::http::uri::Origin::parse();\n    deep::builder::Command::new();\n"
                       "    app::b::parse(\"\");\n}\n")})
    world.table.crate_folders.update({"app": ".", "app_builder": "app_builder",
                                      "web_http": "web_http", "mid": "mid", "deep": "deep"})
    new = "app_builder|crate::builder::command::Command::new"
    assert world.resolve("tests/t.rs", "function:f", "app::builder::Command::new") == new
    assert world.resolve("tests/t.rs", "function:f", "deep::builder::Command::new") == new
    assert world.resolve("tests/t.rs", "function:f", "app::error::ErrorKind::A") == \
        "app_builder|crate::error::kind::ErrorKind"
    assert world.resolve("tests/t.rs", "function:f", "app::http::uri::Origin::parse") == \
        "web_http|crate::uri::origin::Origin::parse"
    assert world.resolve("tests/t.rs", "function:f", "app::b::parse") is None
    assert world.resolve("src/c.rs", "function:make", "Command") == \
        "app_builder|crate::builder::command::Command"
