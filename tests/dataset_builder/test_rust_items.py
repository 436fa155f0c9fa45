"""dataset_builder.rust_items: items of one Rust file, fresh and incremental parses."""

from __future__ import annotations

import pickle
import random
from typing import Any

import pytest

from dataset_builder.rust_items import (
    Item,
    ParsedFile,
    Previous,
    UsePath,
    _common_prefix,
    _common_run,
    _common_tail,
    _line_hunks,
    _point,
    as_parsed,
    new_parser,
    parse_rust,
)

SOURCE = """\
//! Crate docs (inner: belong to no item).
use std::collections::{HashMap, HashSet as Set};
use super::*;
use crate::shapes::{self, area::Area as A};
use self::inner::Thing;

/// A point.
/// Second line.
#[derive(Debug, Clone)]
pub struct Point<'a, T: Clone> where T: Send {
    x: &'a T,
}

#[doc = "Colours."]
pub(crate) enum Colour { Red, Green }

union Bits { a: u32, b: f32 }

pub type Grid<T> = Vec<Vec<T>>;

const MAX: usize = 10;
static mut COUNTER: u32 = 0;

macro_rules! square { ($x:expr) => { $x * $x }; }

mod decl;

mod inner {
    pub fn inner_fn() -> u8 { 1 }
}

/// Shapes.
pub trait Shape: Clone + Send {
    type Output;
    fn area(&self) -> f64;
    fn name(&self) -> String { String::new() }
}

impl<'a, T: Clone> Point<'a, T> {
    /// Makes one.
    pub fn new(x: &'a T) -> Self { Self { x } }
}

impl Shape for Colour {
    type Output = u8;
    fn area(&self) -> f64 {
        helper(MAX);
        self.paint();
        let m: HashMap<u8, u8> = HashMap::new();
        square!(2);
        Point::new(&1);
        Colour::Red;
        0.0
    }
}

fn helper<T>(n: T) -> usize where T: Into<usize> + Copy { n.into() }
"""
SRC = SOURCE.encode()


@pytest.fixture(scope="module")
def parsed() -> ParsedFile:
    result, _ = parse_rust(SRC)
    return result


def by_key(pf: ParsedFile) -> dict[str, Item]:
    return {item.key: item for item in pf.items}


def test_clean_file_has_no_errors(parsed: ParsedFile) -> None:
    assert parsed.error_nodes == 0
    assert not parsed.has_errors
    assert not any(item.has_error for item in parsed.items)


def test_every_kind_and_key(parsed: ParsedFile) -> None:
    kinds = {(item.kind, item.key) for item in parsed.items}
    expected = {
        ("use", "use:std::collections::{HashMap, HashSet as Set}"),
        ("use", "use:super::*"),
        ("use", "use:crate::shapes::{self, area::Area as A}"),
        ("use", "use:self::inner::Thing"),
        ("struct", "struct:Point"),
        ("enum", "enum:Colour"),
        ("union", "union:Bits"),
        ("type_alias", "type_alias:Grid"),
        ("const", "const:MAX"),
        ("static", "static:COUNTER"),
        ("macro_rules", "macro_rules:square"),
        ("mod", "mod:decl"),
        ("mod", "mod:inner"),
        ("function", "function:inner::inner_fn"),
        ("trait", "trait:Shape"),
        ("associated_type", "associated_type:Shape::Output"),
        ("method", "method:Shape::area"),
        ("method", "method:Shape::name"),
        ("impl", "impl:impl Point<'a, T>"),
        ("method", "method:impl Point<'a, T>::new"),
        ("impl", "impl:impl Shape for Colour"),
        ("associated_type", "associated_type:impl Shape for Colour::Output"),
        ("method", "method:impl Shape for Colour::area"),
        ("function", "function:helper"),
    }
    assert kinds == expected
    # Items come in file order.
    starts = [item.start_byte for item in parsed.items]
    assert starts == sorted(starts)
    assert len({item.key for item in parsed.items}) == len(parsed.items)


def test_struct_details(parsed: ParsedFile) -> None:
    point = by_key(parsed)["struct:Point"]
    assert point.name == "Point"
    assert point.module == "" and point.parent == ""
    assert point.visibility == "pub"
    assert point.signature == "pub struct Point<'a, T: Clone> where T: Send"
    assert point.generics == "<'a, T: Clone>"
    assert point.trait_bounds == ("T: Clone", "T: Send")
    assert point.where_clause == "where T: Send"
    assert point.lifetimes == ("'a",)
    assert point.doc == "A point.\nSecond line."
    assert point.attributes == ("#[derive(Debug, Clone)]",)
    assert point.symbol == "Point"
    # Its generic parameter `T` names nothing of the crate: not a reference.
    assert {"Clone", "Send"} <= set(point.references) and "T" not in point.references


def test_spans_include_docs_and_attributes(parsed: ParsedFile) -> None:
    items = by_key(parsed)
    point = items["struct:Point"]
    text = SOURCE.encode()[point.start_byte : point.end_byte].decode()
    assert text.startswith("/// A point.\n/// Second line.\n#[derive(Debug, Clone)]\npub struct")
    assert text.endswith("}")
    lines = SOURCE.splitlines()
    assert lines[point.start_line - 1] == "/// A point."
    assert lines[point.end_line - 1] == "}"

    colour = items["enum:Colour"]
    assert SRC[colour.start_byte : colour.end_byte].decode().startswith('#[doc = "Colours."]')
    assert colour.doc == "Colours."
    assert colour.visibility == "pub(crate)"

    new = items["method:impl Point<'a, T>::new"]
    assert SRC[new.start_byte : new.end_byte].decode().startswith("/// Makes one.\n    pub fn")
    assert new.doc == "Makes one."
    for item in parsed.items:
        body = SRC[item.start_byte : item.end_byte].decode()
        first = lines[item.start_line - 1].strip()
        last = lines[item.end_line - 1]
        assert body.startswith(first), item.key
        assert body.splitlines()[-1].strip() == last.strip() or last.strip().startswith(
            body.splitlines()[-1].strip()), item.key


def test_enum_union_alias_const_static_macro(parsed: ParsedFile) -> None:
    items = by_key(parsed)
    assert items["union:Bits"].signature == "union Bits"
    grid = items["type_alias:Grid"]
    assert grid.generics == "<T>"
    assert grid.visibility == "pub"
    assert "Vec" in grid.references
    assert items["const:MAX"].signature == "const MAX: usize"
    assert items["static:COUNTER"].signature == "static mut COUNTER: u32"
    assert items["macro_rules:square"].name == "square"
    assert items["macro_rules:square"].symbol == "square"
    for key in ("enum:Colour", "union:Bits", "type_alias:Grid", "const:MAX", "static:COUNTER"):
        assert items[key].symbol == key.split(":", 1)[1]


def test_mod_declaration_and_inline_module(parsed: ParsedFile) -> None:
    items = by_key(parsed)
    assert items["mod:decl"].signature == "mod decl;"
    assert items["mod:inner"].signature == "mod inner"
    assert parsed.mods == [("", "decl")]  # only `mod x;` declarations name other files
    inner_fn = items["function:inner::inner_fn"]
    assert inner_fn.module == "inner"
    assert inner_fn.parent == ""
    assert inner_fn.symbol == "inner::inner_fn"
    assert items["mod:decl"].symbol == ""  # modules are not referable symbols here


def test_trait_and_its_methods(parsed: ParsedFile) -> None:
    items = by_key(parsed)
    shape = items["trait:Shape"]
    assert shape.trait_bounds == ("Self: Clone + Send",)
    assert shape.doc == "Shapes."
    area = items["method:Shape::area"]
    assert area.parent == "trait:Shape"
    assert area.self_type == "Shape"
    assert area.signature == "fn area(&self) -> f64;"
    assert area.symbol == "Shape::area"
    output = items["associated_type:Shape::Output"]
    assert output.parent == "trait:Shape"
    assert output.symbol == ""
    assert items["method:Shape::name"].references == ("String", "String::new")


def test_impl_blocks_and_methods(parsed: ParsedFile) -> None:
    items = by_key(parsed)
    inherent = items["impl:impl Point<'a, T>"]
    assert inherent.self_type == "Point" and inherent.trait_name == ""
    assert inherent.signature == "impl<'a, T: Clone> Point<'a, T>"
    assert inherent.generics == "<'a, T: Clone>"
    assert inherent.trait_bounds == ("T: Clone",)
    assert inherent.lifetimes == ("'a",)
    assert inherent.symbol == ""
    new = items["method:impl Point<'a, T>::new"]
    assert new.parent == "impl:impl Point<'a, T>"
    assert new.self_type == "Point"
    assert new.symbol == "Point::new"
    assert new.lifetimes == ("'a",)
    assert new.signature == "pub fn new(x: &'a T) -> Self"

    trait_impl = items["impl:impl Shape for Colour"]
    assert (trait_impl.self_type, trait_impl.trait_name) == ("Colour", "Shape")
    area = items["method:impl Shape for Colour::area"]
    assert (area.self_type, area.trait_name) == ("Colour", "Shape")
    assert area.symbol == "Colour::area"
    assert items["associated_type:impl Shape for Colour::Output"].parent == trait_impl.key


def test_references(parsed: ParsedFile) -> None:
    area = by_key(parsed)["method:impl Shape for Colour::area"]
    refs = area.references
    for expected in ("helper", "MAX", "Self.paint(0)", "HashMap", "HashMap::new", "square!",
                     "Point::new", "Colour::Red"):
        assert expected in refs, expected
    assert len(refs) == len(set(refs))  # unique, first-seen order
    assert refs.index("helper") < refs.index("Self.paint(0)") < refs.index("square!")
    # An impl block's own references are those of its header; its members carry the rest.
    impl_refs = by_key(parsed)["impl:impl Shape for Colour"].references
    assert {"Shape", "Colour"} <= set(impl_refs)
    assert not {"helper", "Point::new"} & set(impl_refs)


def test_a_method_calls_reference_counts_its_arguments() -> None:
    """`.name(n)`: the expressions in its parentheses, comments and attributes apart
    (alacritty's `handle_event(#[cfg(target_os = "macos")] event_loop, …)`)."""
    pf, _ = parse_rust(b"fn f(w: W) {\n    w.handle(#[cfg(unix)] a, b /* , c */, // d\n    e);\n"
                       b"    x.go().then(|a, b| a + b);\n}\n")
    assert pf.items[0].references == ("W", "W.handle(3)", ".go(0)", ".then(1)")


def test_where_clause_bounds_and_lifetimes_of_a_function() -> None:
    src = (b"pub(crate) fn f<'a, 'b: 'a, T>(x: &'a T, y: &'b str) -> Vec<T>\n"
           b"where T: Clone + 'a, for<'c> &'c T: Into<u8>\n"
           b"{ let v = Vec::new(); other::call(x); v }\n"
           b"fn helper<T>(n: T) -> usize where T: Into<usize> + Copy { n.into() }\n")
    pf, _ = parse_rust(src)
    f, helper = pf.items
    assert f.visibility == "pub(crate)"
    assert f.generics == "<'a, 'b: 'a, T>"
    assert f.where_clause == "where T: Clone + 'a, for<'c> &'c T: Into<u8>"
    assert f.trait_bounds == ("'b: 'a", "T: Clone + 'a", "for<'c> &'c T: Into<u8>")
    assert f.lifetimes == ("'a", "'b", "'c")
    assert {"Vec", "Vec::new", "other::call", "Clone", "Into"} <= set(f.references)
    assert helper.trait_bounds == ("T: Into<usize> + Copy",)
    assert helper.where_clause == "where T: Into<usize> + Copy"
    assert "*.into(0)" in helper.references  # on a receiver declared as `T`, a parameter


def test_line_comments_leave_signatures_and_clauses() -> None:
    """Squashed onto one line, a line comment swallowed the rest of a signature (reqwest's
    `fn new(res: http::Response<web_sys::Response>, //url: Url) -> Response`); a `//` in a
    string literal is not one."""
    src = (b"pub fn new(\n    res: Response, // the reply\n    //url: Url,\n) -> Response\n"
           b"where\n    T: Clone, // cloned per retry\n{ todo!() }\n"
           b"#[doc = \"see http://example.com\"]\npub struct S<T: Copy // small\n> { t: T }\n")
    pf, _ = parse_rust(src)
    new, s = pf.items
    assert new.signature == "pub fn new( res: Response, ) -> Response where T: Clone,"
    assert new.where_clause == "where T: Clone,"
    assert new.trait_bounds == ("T: Clone",)
    assert s.generics == "<T: Copy >"
    assert s.attributes == ('#[doc = "see http://example.com"]',)
    # What a line comment cannot start inside: a block comment, a character literal, a
    # string continued over a line break, a raw string (a review's cases).
    from dataset_builder.rust_items import _squash
    for text, squashed in [
            ("fn a(x: u8 /* see http://x.y */, y: u8) -> u8",
             "fn a(x: u8 /* see http://x.y */, y: u8) -> u8"),
            ("m!('\"', x) // c\nm!(\"http://a\")", "m!('\"', x) m!(\"http://a\")"),
            ('f("x \\\n y"); h("http://z") // tail', 'f("x \\ y"); h("http://z")'),
            ('const P: &str = r#"a // b"#; // c', 'const P: &str = r#"a // b"#;'),
            ("fn f<'a>(x: &'a str) // c\n -> u8", "fn f<'a>(x: &'a str) -> u8")]:
        assert _squash(text) == squashed, text


def test_use_paths(parsed: ParsedFile) -> None:
    uses = [(u.path, u.alias) for u in parsed.uses]
    assert uses == [
        ("std::collections::HashMap", "HashMap"),
        ("std::collections::HashSet", "Set"),
        ("super::*", ""),
        ("crate::shapes", "shapes"),
        ("crate::shapes::area::Area", "A"),
        ("self::inner::Thing", "Thing"),
    ]
    assert all(u.module == "" for u in parsed.uses)
    use = by_key(parsed)["use:crate::shapes::{self, area::Area as A}"]
    assert use.references == ("crate::shapes", "crate::shapes::area::Area")
    assert parsed.uses[3].item == use.key


def test_use_inside_inline_module() -> None:
    pf, _ = parse_rust(b"mod tests {\n    use super::*;\n    use crate::a::b as c;\n}\n")
    assert pf.uses == [
        UsePath("tests", "super::*", "", "use:tests::super::*"),
        UsePath("tests", "crate::a::b", "c", "use:tests::crate::a::b as c"),
    ]


def test_use_self_with_alias() -> None:
    pf, _ = parse_rust(b"use crate::shapes::{self as sh};\n")
    assert [(u.path, u.alias) for u in pf.uses] == [("crate::shapes", "sh")]


def test_doc_attribute_keeps_brackets_and_quotes() -> None:
    src = b'#[doc = "Links to [Foo]"]\nfn linked() {}\n#[doc = "It\'s \'quoted\'"]\nfn q() {}\n'
    pf, _ = parse_rust(src)
    assert [i.doc for i in pf.items] == ["Links to [Foo]", "It's 'quoted'"]


def test_block_doc_comment_and_plain_comments() -> None:
    src = b"/** Block doc */\nfn blocky() {}\n// plain comment\nfn plain() {}\n" \
          b"//// not a doc\nfn four() {}\n"
    pf, _ = parse_rust(src)
    assert [(i.name, i.doc) for i in pf.items] == [("blocky", "Block doc"), ("plain", ""),
                                                   ("four", "")]
    assert SRC is not src
    blocky = pf.items[0]
    assert src[blocky.start_byte : blocky.end_byte].startswith(b"/** Block doc */")
    plain = pf.items[1]
    assert src[plain.start_byte : plain.end_byte].startswith(b"fn plain")


def test_syntax_error_keeps_good_items() -> None:
    src = (b"fn good_before() -> u8 { 1 }\n\nfn broken( { let x = ; }\n\n"
           b"struct Fine { a: u8 }\n\nfn good_after() {}\n")
    pf, _ = parse_rust(src)
    assert pf.error_nodes > 0
    assert pf.has_errors
    items = by_key(pf)
    assert {"function:good_before", "struct:Fine", "function:good_after"} <= set(items)
    assert not items["function:good_before"].has_error
    assert not items["struct:Fine"].has_error
    assert any(i.has_error for i in pf.items)


@pytest.mark.parametrize("src", [
    b"", b"\n\n", b"fn", b"}}}}", b"impl", b"/* unterminated", b"\"unterminated",
    b"\xff\xfe garbage", "fn caf\u00e9() { let \u00e9 = '\u00e9'; }\n".encode(),
    b"mod a { mod b { mod c { fn deep() {} } } }",
])
def test_odd_inputs_never_raise(src: bytes) -> None:
    pf, tree = parse_rust(src)
    assert tree.root_node is not None
    for item in pf.items:
        assert 0 <= item.start_byte <= item.end_byte <= len(src)
        assert 1 <= item.start_line <= item.end_line


def test_nested_modules_path() -> None:
    pf, _ = parse_rust(b"mod a { mod b { mod c { fn deep() {} } } }")
    deep = by_key(pf)["function:a::b::c::deep"]
    assert deep.module == "a::b::c"
    assert deep.symbol == "a::b::c::deep"


def test_method_key_inside_inline_module() -> None:
    pf, _ = parse_rust(b"mod m {\n    trait T { fn f(); }\n    impl S { fn g() {} }\n}\n")
    keys = [i.key for i in pf.items]
    assert keys == ["mod:m", "trait:m::T", "method:m::T::f", "impl:m::impl S",
                    "method:m::impl S::g"]


def test_duplicate_keys_get_suffix() -> None:
    src = (b"struct Fine { a: u8 }\nimpl Fine { fn m(&self) {} }\nimpl Fine { fn m(&self) {} }\n"
           b"#[cfg(unix)]\nfn os() {}\n#[cfg(windows)]\nfn os() {}\n")
    pf, _ = parse_rust(src)
    keys = [i.key for i in pf.items]
    # Members are named under the block's header, not its ordinal: a method keeps its key
    # when a block of the same header is added before its own.
    assert keys == ["struct:Fine", "impl:impl Fine", "method:impl Fine::m", "impl:impl Fine#2",
                    "method:impl Fine::m#2", "function:os", "function:os#2"]
    assert pf.items[4].parent == "impl:impl Fine#2"
    assert pf.items[3].digest == pf.items[1].digest  # same text, same digest


def test_scoped_type_is_not_also_a_bare_name() -> None:
    pf, _ = parse_rust(b"fn f(x: &mut fmt::Formatter<'_>) -> fmt::Result { Ok(()) }\n")
    refs = pf.items[0].references
    assert "fmt::Formatter" in refs and "fmt::Result" in refs
    assert "Formatter" not in refs and "Result" not in refs


def test_associated_type_binding_names_are_not_references() -> None:
    # warp: `impl Filter<Extract = (T,), Error = Rejection>` had bound crate::error::Error.
    pf, _ = parse_rust(b"fn f() -> impl Filter<Extract = (T,), Error = Rejection> {}\n"
                       b"fn g(i: impl Iterator<Item = Error>) {}\n")
    assert pf.items[0].references == ("Filter", "T", "Rejection")
    assert pf.items[1].references == ("Iterator", "Error")


def test_glob_uses_in_a_body_are_references() -> None:
    pf, _ = parse_rust(b"use a::b::*;\nfn f() { use Error::*; use super::Kind::*; g() }\n"
                       b"fn h() { use std::io::{self, ErrorKind::*}; use x::{self, *}; }\n")
    assert pf.items[0].references == ("a::b::*",)  # a `use` item's own paths, as before
    assert pf.items[1].references == ("Error::*", "super::Kind::*", "g")
    # Since 0.1.81 a glob inside a list is one, and a named `use` a reference of its own.
    assert pf.items[2].references == ("std::io::ErrorKind::*", "use std::io", "use x", "x::*")


def test_only_outermost_paths_outside_use_items_are_references() -> None:
    pf, _ = parse_rust(b"use std::collections::HashMap;\n"
                       b"use crate::a::{b::C, d as e};\n"
                       b"fn f() -> std::io::Result<()> { a::b::c::g(); Ok(()) }\n")
    assert [i.kind for i in pf.items] == ["use", "use", "function"]
    refs = pf.items[2].references
    assert "std::io::Result" in refs and "a::b::c::g" in refs
    assert not {"std::io", "a::b::c", "a::b", "std::collections::HashMap", "b::C"} & set(refs)


def test_digest_tracks_text_only() -> None:
    a, _ = parse_rust(b"fn a() { 1 }\nfn b() {}\n")
    b, _ = parse_rust(b"\n\nfn a() { 1 }\nfn b() { 2 }\n")
    assert a.items[0].digest == b.items[0].digest
    assert a.items[1].digest != b.items[1].digest


# --- incremental parse -----------------------------------------------------------------------

BASE = """\
//! Docs
use std::fmt;
use crate::geo::{Line, Plane as P};

/// The point.
#[derive(Debug)]
pub struct Point { x: i32, y: i32 }

impl Point {
    pub fn new(x: i32, y: i32) -> Self { Self { x, y } }
    fn len(&self) -> i32 { self.x + self.y }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { write!(f, "{}", self.x) }
}

const MAX: i32 = 10;

fn helper(p: &Point) -> i32 { p.len() + MAX }

mod inner {
    pub fn deep() -> i32 { LIMIT }
    impl super::Point { fn other(&self) {} }
}

trait Shape { fn area(&self) -> f64; }
"""


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _versions() -> list[tuple[str, str]]:
    v: list[tuple[str, str]] = [("base", BASE)]

    def add(name: str, text: str) -> None:
        v.append((name, text))

    add("insert item at top", "fn first() -> Point { Point::new(0, 0) }\n" + v[-1][1])
    add("change a body", _edit(v[-1][1], "self.x + self.y", "self.x * 2 + self.y + MAX"))
    add("delete an item", _edit(v[-1][1], "const MAX: i32 = 10;\n\n", ""))
    add("introduce syntax error", _edit(v[-1][1], "fn helper(p: &Point)", "fn helper(p: &Point"))
    add("fix syntax error", _edit(v[-1][1], "fn helper(p: &Point", "fn helper(p: &Point)"))
    add("duplicate impl at the end", v[-1][1] + "impl Point { fn z(&self) {} }\n")
    add("duplicate impl before the first", _edit(
        v[-1][1], "impl Point {\n", "impl Point { fn w(&self) {} }\n\nimpl Point {\n"))
    add("doc comment added", _edit(v[-1][1], "fn helper", "/// Helps.\nfn helper"))
    add("attribute added", _edit(v[-1][1], "trait Shape", "#[allow(dead_code)]\ntrait Shape"))
    add("rename item", _edit(v[-1][1], "fn helper", "fn helper2"))
    add("edit inside inline module", _edit(v[-1][1], "{ LIMIT }", "{ LIMIT + 1 }"))
    add("add use to inline module", _edit(v[-1][1], "mod inner {\n",
                                          "mod inner {\n    use super::Point as Q;\n"))
    add("unbalanced brace", _edit(v[-1][1], "trait Shape {", "trait Shape {{"))
    add("balanced again", _edit(v[-1][1], "trait Shape {{", "trait Shape {"))
    add("remove the top item", _edit(v[-1][1],
                                     "fn first() -> Point { Point::new(0, 0) }\n", ""))
    add("empty file", "")
    add("back to base", BASE)
    add("same text again", BASE)
    add("open string literal", _edit(v[-1][1], "self.x + self.y", "self.x \"+ self.y"))
    add("close it", BASE)
    return v


VERSIONS = _versions()


def _fresh(text: str) -> ParsedFile:
    return parse_rust(text.encode(), new_parser())[0]


def test_incremental_chain_equals_fresh_parse() -> None:
    """Each version parsed incrementally from the previous one (as the miner does, chaining the
    incremental results) equals a fresh parse of that version."""
    parser = new_parser()
    first, tree = parse_rust(VERSIONS[0][1].encode(), parser)
    previous = Previous(VERSIONS[0][1].encode(), tree, first)
    for name, text in VERSIONS[1:]:
        src = text.encode()
        incremental, tree = parse_rust(src, parser, previous)
        assert incremental == _fresh(text), name
        previous = Previous(src, tree, incremental)


@pytest.mark.parametrize("index", range(1, len(VERSIONS)), ids=[n for n, _ in VERSIONS[1:]])
def test_incremental_single_edit_equals_fresh_parse(index: int) -> None:
    (_, old), (name, new) = VERSIONS[index - 1], VERSIONS[index]
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old.encode(), parser)
    incremental, _ = parse_rust(new.encode(), parser,
                                Previous(old.encode(), old_tree, old_parsed))
    assert incremental == _fresh(new), name


def test_incremental_edit_shifts_positions() -> None:
    parser = new_parser()
    old_parsed, old_tree = parse_rust(BASE.encode(), parser)
    new = "// one\n// two\n" + BASE
    inc, _ = parse_rust(new.encode(), parser, Previous(BASE.encode(), old_tree, old_parsed))
    old_items, new_items = by_key(old_parsed), by_key(inc)
    shift = len("// one\n// two\n")
    for key, item in old_items.items():
        assert new_items[key].start_byte == item.start_byte + shift
        assert new_items[key].start_line == item.start_line + 2
        assert new_items[key].digest == item.digest


_SNIPPETS = ["fn extra() {}\n", "impl Point { fn z(&self) {} }\n", "/// doc\n", "#[inline]\n",
             "{", "}", "(", ";", "fn", " ", "\n", "struct Point;\n", "x", "MAX", "// c\n", "'a",
             "\"", "use foo::*;\n", "mod inner { fn deep() {} }\n"]


def _random_edit(rng: random.Random, src: bytes) -> bytes:
    op = rng.random()
    pos = rng.randrange(len(src) + 1)
    if op < 0.4:
        return src[:pos] + rng.choice(_SNIPPETS).encode() + src[pos:]
    if op < 0.7:
        return src[:pos] + src[pos + rng.randrange(1, 30) :]
    if op < 0.9:
        lines = src.split(b"\n")
        lines.insert(rng.randrange(len(lines)), lines[rng.randrange(len(lines))])
        return b"\n".join(lines)
    return BASE.encode()


def test_incremental_item_truncated_at_edit_start() -> None:
    old = b"fn a() {}\nimpl Display for Point {\n    fn fmt(&self) {}\n}\n"
    new = b"fn a() {}\nimpl Di    fn fmt(&self) {}\n}\n"
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old, parser)
    incremental, _ = parse_rust(new, parser, Previous(old, old_tree, old_parsed))
    assert incremental == _fresh(new.decode())


@pytest.mark.parametrize("new", [
    b"fn a() {}\n/// The point.\n#ive(Debug)]\npub struct Point;\n",
    # No syntax error at all: tree-sitter reads `#[derive(Debug)] ;` as an empty statement.
    b"fn a() {}\n/// The point.\n#[derive(Debug)]\n;pub struct Point;\n",
], ids=["attribute-broken", "empty-statement"])
def test_incremental_attribute_broken_by_edit(new: bytes) -> None:
    old = b"fn a() {}\n/// The point.\n#[derive(Debug)]\npub struct Point;\n"
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old, parser)
    incremental, _ = parse_rust(new, parser, Previous(old, old_tree, old_parsed))
    fresh = _fresh(new.decode())
    assert incremental == fresh
    assert fresh.items[1].start_byte == new.index(b"pub struct")


# Seeds whose chains hit the two bugs above (same root causes).
@pytest.mark.parametrize("seed", range(40))
def test_incremental_random_edits_equal_fresh_parse(seed: int) -> None:
    """Seeded random edit chains (insertions, deletions, duplicated lines, resets)."""
    _random_edit_chain(BASE, seed)


def _random_edit_chain(base: str, seed: int) -> None:
    rng = random.Random(seed)
    parser = new_parser()
    src = base.encode()
    parsed, tree = parse_rust(src, parser)
    previous = Previous(src, tree, parsed)
    for step in range(10):
        new = _random_edit(rng, previous.source)
        incremental, tree = parse_rust(new, parser, previous)
        fresh, _ = parse_rust(new, new_parser())
        assert incremental == fresh, (seed, step, new.decode("utf-8", "replace"))
        previous = Previous(new, tree, incremental)


# Blocks whose keys take ordinals (`impl S#2`, `use std::fmt#2`) and members named under
# their header: adding, removing or swapping blocks renumbers the later ones.
_DUPLICATE_BLOCKS = [
    "impl S {{\n    fn m{n}(&self) {{}}\n    const C{n}: u8 = {n};\n}}\n",
    "impl S {{\n    fn m(&self) {{ {n} }}\n}}\n",
    "impl T for S {{\n    type A = u{n};\n}}\n",
    "mod inner {{\n    impl S {{ fn n{n}() {{}} }}\n    use std::fmt;\n}}\n",
    "use std::fmt;\n",
    "#[cfg(unix)]\nfn os() -> u8 {{ {n} }}\n",
    "struct S;\n",
]


# Macro invocations whose bodies hold items (_Collector._macro_bodies), or do not.
_MACRO_BLOCKS = [
    "cfg_net! {{\n    impl S {{ fn q{n}(&self) {{}} }}\n    pub mod m{n};\n}}\n",
    "cfg_if::cfg_if! {{\n    if #[cfg(unix)] {{\n        fn os() -> u8 {{ {n} }}\n    }} else {{\n"
    "        fn os() -> u8 {{ 0 }}\n    }}\n}}\n",
    "impl S {{\n    cfg_io! {{ fn io{n}(&self) {{}} }}\n}}\n",
    "bitflags! {{ struct F: u8 {{ const A = {n}; }} }}\n",
    "enum_builder! {{\n    pub struct A{n}(pub u8);\n    pub unsafe trait T {{}}\n"
    "    enum B {{ X => {n}, }}\n}}\n",
    # Holding no item: the block's references take the invocation's.
    "impl S {{\n    iterator_methods!(Bucket::key);\n    fn k{n}(&self) {{ helper!(u{n}) }}\n}}\n",
    "trait Tr{n} {{\n    declare!(u{n});\n}}\n",
]


def test_a_call_with_a_turbofish_is_a_reference() -> None:
    """`from_str::<Text>(…)` and `reader.read::<u8>(…)` name their callee as the plain calls
    do (quick-xml: 70 samples lacked `from_str`, called so, in their dependencies)."""
    parsed = _fresh("struct Reader;\nfn f(reader: Reader) {\n"
                    "    let t = from_str::<Text>(\"x\");\n"
                    "    let u = reader.read::<u8>(1, 2);\n}\n")
    refs = next(item.references for item in parsed.items if item.name == "f")
    assert {"from_str", "Text", "Reader.read(2)"} <= set(refs), refs


def test_a_blocks_references_take_its_body_macros_that_hold_no_item() -> None:
    """`impl Iterator for Drain { iterator_methods!(Bucket::key); }` (indexmap): the macro is
    the block's reference, a member's own macros its own; an invocation holding items
    (`cfg_io! { fn io() {} }`) gives them, not a reference of the block."""
    parsed = _fresh("struct Drain;\nimpl Iterator for Drain {\n    type Item = u8;\n"
                    "    iterator_methods!(Bucket::key);\n}\n"
                    "impl Drain {\n    helper!(Other);\n    fn g(&self) { inner!(Z) }\n"
                    "    cfg_io! { fn io(&self) {} }\n}\n"
                    "trait Shape {\n    declare!(u8);\n    fn area(&self) -> u8;\n}\n")
    refs = {item.name: item.references for item in parsed.items}
    assert refs["impl Iterator for Drain"] == ("Iterator", "Drain", "iterator_methods!")
    assert refs["impl Drain"] == ("Drain", "helper!")
    assert refs["g"] == ("inner!",) and refs["io"] == ()
    assert refs["Shape"] == ("declare!",)


_BLOCK_WITH_MACROS = ("struct S;\nimpl S {\n    fn a(&self) -> u8 { 1 }\n    helper!(u8);\n"
                      "    fn b(&self) -> u8 { 2 }\n    other!(u16);\n"
                      "    fn c(&self) -> u8 { 3 }\n    last!(u32);\n}\n")


@pytest.mark.parametrize("old, new", [("{ 1 }", "{ 5 }"), ("{ 2 }", "{ 6 }"), ("{ 3 }", "{ 7 }"),
                                      ("other!(u16)", "other!(u64)"),
                                      ("    last!(u32);\n", ""),
                                      ("fn c(", "more!(i8);\n    fn c(")])
def test_incremental_edits_beside_a_blocks_item_less_macros_equal_fresh_parse(
        old: str, new: str) -> None:
    """An impl whose one method changed is walked again with its other members carried over
    in runs: the item-less invocations a run passes over are the block's references still
    (quick-xml: `deserialize_primitives!` between carried methods was lost from the impl's
    references where a fresh parse found it)."""
    parser = new_parser()
    first, tree = parse_rust(_BLOCK_WITH_MACROS.encode(), parser)
    text = _edit(_BLOCK_WITH_MACROS, old, new)
    incremental, _ = parse_rust(text.encode(), parser,
                                Previous(_BLOCK_WITH_MACROS.encode(), tree, first))
    assert incremental == _fresh(text)


@pytest.mark.parametrize("seed", range(20))
def test_incremental_random_edits_around_a_blocks_macros_equal_fresh_parse(seed: int) -> None:
    """Seeded random edit chains over an impl whose members stand between item-less macro
    invocations."""
    _random_edit_chain(_BLOCK_WITH_MACROS, seed)


@pytest.mark.parametrize("seed", range(30))
def test_incremental_renumbered_blocks_equal_fresh_parse(seed: int) -> None:
    """Seeded chains that add, remove and swap blocks of repeated headers: the carried-over
    items take the keys and parent keys a fresh parse gives (and their `use` paths the
    renumbered `use` items' keys)."""
    _renumbered_chain(seed, _DUPLICATE_BLOCKS)


@pytest.mark.parametrize("seed", range(30))
def test_incremental_chains_around_macro_bodies_equal_fresh_parse(seed: int) -> None:
    """As above, with blocks of items inside macro invocations among them: those items are
    walked again each time, and the items after them are carried as a fresh parse finds
    them."""
    _renumbered_chain(seed, _DUPLICATE_BLOCKS + _MACRO_BLOCKS * 2)


def _renumbered_chain(seed: int, pool: list[str]) -> None:
    rng = random.Random(seed)
    blocks = [rng.choice(pool).format(n=rng.randrange(4)) for _ in range(8)]
    parser = new_parser()
    src = "".join(blocks).encode()
    parsed, tree = parse_rust(src, parser)
    previous = Previous(src, tree, parsed)
    for step in range(12):
        action = rng.randrange(3)
        at = rng.randrange(len(blocks) + (action == 0))
        if action == 0 or len(blocks) < 2:
            blocks.insert(at, rng.choice(pool).format(n=rng.randrange(4)))
        elif action == 1:
            del blocks[min(at, len(blocks) - 1)]
        else:
            other = rng.randrange(len(blocks))
            at = min(at, len(blocks) - 1)
            blocks[at], blocks[other] = blocks[other], blocks[at]
        src = "".join(blocks).encode()
        incremental, tree = parse_rust(src, parser, previous)
        fresh, _ = parse_rust(src, new_parser())
        assert incremental == fresh, (seed, step, src.decode())
        previous = Previous(src, tree, incremental)


def _random_lines(rng: random.Random, n: int) -> list[bytes]:
    words = [b"fn", b"let", b"x", b"}", b"{", b"", b"    y += 1;", b"// note", b"struct S;"]
    return [b" ".join(rng.choice(words) for _ in range(rng.randrange(1, 4))) for _ in range(n)]


def test_common_run_and_tail_find_the_first_difference() -> None:
    """Block comparison with the XOR shortcut agrees with a byte-by-byte scan, across block
    boundaries and at the limit."""
    rng = random.Random(5)
    for _ in range(400):
        a = bytes(rng.choice(b"ab\n") for _ in range(rng.randrange(0, 9000)))
        flipped = bytearray(a)
        for _ in range(rng.randrange(0, 3)):
            if flipped:
                flipped[rng.randrange(len(flipped))] ^= 1
        b = bytes(flipped) + bytes(rng.randrange(0, 3))
        a_at = rng.randrange(len(a) + 1)
        b_at = a_at if rng.random() < 0.7 else rng.randrange(len(b) + 1)
        limit = rng.randrange(min(len(a) - a_at, len(b) - b_at) + 1)
        run = 0
        while run < limit and a[a_at + run] == b[b_at + run]:
            run += 1
        assert _common_run(a, a_at, b, b_at, limit) == run
        limit = rng.randrange(min(a_at, b_at) + 1)
        tail = 0
        while tail < limit and a[a_at - 1 - tail] == b[b_at - 1 - tail]:
            tail += 1
        assert _common_tail(a, a_at, b, b_at, limit) == tail


def test_line_hunks_rebuild_the_new_version() -> None:
    """Applying the hunks to the old bytes gives the new bytes exactly; they are ordered and
    disjoint, for random line edits at several places (repeated lines included)."""
    rng = random.Random(3)
    for _ in range(300):
        old_lines = _random_lines(rng, rng.randrange(1, 60))
        new_lines = list(old_lines)
        for _ in range(rng.randrange(1, 5)):
            at = rng.randrange(len(new_lines) + 1)
            op = rng.randrange(3)
            if op == 0 and at < len(new_lines):
                del new_lines[at]
            elif op == 1:
                new_lines[at:at] = _random_lines(rng, rng.randrange(1, 4))
            elif at < len(new_lines):
                new_lines[at] += b" changed"
        old = b"\n".join(old_lines) + rng.choice([b"", b"\n"])
        new = b"\n".join(new_lines) + rng.choice([b"", b"\n"])
        limit = min(len(old), len(new))
        prefix = _common_prefix(old, new, limit)
        suffix = _common_tail(old, len(old), new, len(new), limit - prefix)
        hunks = _line_hunks(old, new, prefix, len(old) - suffix, len(new) - suffix)
        rebuilt, at_old = b"", 0
        for h in hunks:
            assert at_old <= h.old_start <= h.old_end and h.new_start <= h.new_end
            rebuilt += old[at_old:h.old_start] + new[h.new_start:h.new_end]
            at_old = h.old_end
            # Points in the old version's rows and columns, as tree-sitter's edit wants them.
            assert h.start_point == _point(old, h.old_start)
            assert h.old_end_point == _point(old, h.old_end)
            inserted = new[h.new_start:h.new_end]
            assert h.new_end_point == _point(old[:h.old_start] + inserted,
                                             h.old_start + len(inserted))
        assert rebuilt + old[at_old:] == new


def test_incremental_parse_with_edits_far_apart_equals_fresh_parse() -> None:
    """One version edits several distant items at once (several hunks): the incremental parse
    equals a fresh one."""
    functions = [f"/// f{i}\nfn f{i}(a: u32) -> u32 {{\n    let b = a + {i};\n    b * 2\n}}\n"
                 for i in range(30)]
    old = "use std::fmt;\n\n" + "\n".join(functions)
    edited = list(functions)
    edited[3] = edited[3].replace("b * 2", "b * 3 + helper()")
    edited[15] = "#[inline]\n" + edited[15]
    del edited[22]
    edited.insert(27, "struct Added<'a> { x: &'a str }\n")
    new = "use std::fmt;\n\n" + "\n".join(edited)
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old.encode(), parser)
    incremental, _ = parse_rust(new.encode(), parser,
                                Previous(old.encode(), old_tree, old_parsed))
    assert incremental == _fresh(new)
    a, b = old.encode(), new.encode()
    limit = min(len(a), len(b))
    prefix = _common_prefix(a, b, limit)
    suffix = _common_tail(a, len(a), b, len(b), limit - prefix)
    assert len(_line_hunks(a, b, prefix, len(a) - suffix, len(b) - suffix)) == 4


def test_incremental_error_count_recounts_only_what_the_edit_touched() -> None:
    # Same length before and after, so only the edit says that fn c must be counted again.
    head = b"fn a() { let x = ; }\nfn b() -> i32 { 1 }\n"
    tail = b"\nfn d() { let = ; }\n"
    old = head + b"fn c() { (;); (;); (;); (;); }" + tail
    new = head + b"fn c() { let = ; 1; 2; 3; 4; }" + tail
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old, parser)
    incremental, _ = parse_rust(new, parser, Previous(old, old_tree, old_parsed))
    fresh = parse_rust(new, new_parser())[0]
    assert incremental == fresh
    assert (old_parsed.error_nodes, incremental.error_nodes) == (6, 3)
    assert [count for _, _, count in incremental.error_spans] == [1, 1, 1]


def test_parses_pickle_field_for_field() -> None:
    """Items, use paths and parsed files travel from the parse workers pickled by their own
    __reduce__ (fields by position): every field must come back in its place."""
    source = b"""use crate::a::{b as c};
/// Doc.
#[inline]
pub fn f<'a, T: Clone>(x: &'a T) -> T where T: Default { x.clone() }
impl<T> Trait for S<T> { fn g(&self) {} }
"""
    parsed, _ = parse_rust(source)
    parsed.carried, parsed.carried_from = [(0, 1, 2)], "abc"
    back = pickle.loads(pickle.dumps(parsed, protocol=5))
    for name in ParsedFile.__slots__:
        assert getattr(back, name) == getattr(parsed, name), name
    assert back.items and back.uses  # compared field for field above (dataclass equality)


# Rust 2015 code: `try!` is a keyword-named macro there (see rust_items.as_parsed).
TRY_2015 = b"""use std::io;

fn read(r: &mut Reader) -> io::Result<u32> {
    let n = try!(r.read_u32(Endian::Little));
    try!(check(n));
    Ok(n)
}

fn raw() -> u8 { r#try!(x); my_try!(Endian::Big) }

impl Header for Host {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        try!(f.write_str(&self.hostname));
        write!(f, ":{}", self.port)
    }
}
"""


def test_rust_2015_try_macro_parses_without_errors() -> None:
    """`try!(expr)` is read as a call of its argument expression: no ERROR nodes, the
    references inside it are found, names and texts come from the real source, and other
    macros whose names end in `try` (or `r#try!`) are left as macros."""
    parsed, _ = parse_rust(TRY_2015)
    assert parsed.error_nodes == 0
    items = {item.name: item for item in parsed.items}
    assert items["read"].references == ("Reader", "io::Result", "try!", "Reader.read_u32(1)",
                                        "Endian::Little", "check", "Ok")
    assert not items["read"].has_error
    assert items["raw"].references == ("r#try!", "my_try!")  # token trees: nothing inside
    assert "fmt::Formatter.write_str(1)" in items["fmt"].references
    assert items["fmt"].signature == "fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result"
    assert b"try!(check(n));" in TRY_2015[items["read"].start_byte:items["read"].end_byte]
    assert as_parsed(TRY_2015).count(b"try_(") == 3 and len(as_parsed(TRY_2015)) == len(TRY_2015)
    assert as_parsed(b"fn f() {}") == b"fn f() {}"


EXPRESSION_MACROS = b"""use crate::ansi;

fn prepare(x: &str, out: &mut String) -> String {
    let s = format!("{}", ansi::ansi_preserving_slice(x, 1));
    assert_eq!(helper(2), Foo::new().len(), "m {}", x);
    debug_assert!(check(x) && x.len() > 1);
    write!(out, "{}", Wrap(x)).unwrap();
    println!("{x}");
    std::println!("{}", hidden());
    let v = vec![made(1); 3];
    assert!(matches!(v.first(), Some(Kind { .. })));
    s
}
"""


def test_std_expression_macros_arguments_are_references() -> None:
    """`assert_eq!(f(x), …)`, `format!("{}", g(y))`, `write!(out, …)`: their arguments are
    read as the expressions they are (delta: 455 of 459 function samples calling a crate
    function only inside such a macro had no dependency on it); a macro whose arguments are
    no expressions (`vec![x; n]`, `matches!`) and a path's (`std::println!`) stay token
    trees."""
    parsed, _ = parse_rust(EXPRESSION_MACROS)
    assert parsed.error_nodes == 0
    [prepare] = [item for item in parsed.items if item.name == "prepare"]
    refs = set(prepare.references)
    assert {"format!", "ansi::ansi_preserving_slice", "assert_eq!", "helper", "Foo::new",
            "debug_assert!", "check", "write!", "Wrap", "println!", "vec!",
            "assert!", "matches!"} <= refs, refs
    assert not {"hidden", "made", "Kind"} & refs, refs
    assert len(as_parsed(EXPRESSION_MACROS)) == len(EXPRESSION_MACROS)
    assert prepare.signature == "fn prepare(x: &str, out: &mut String) -> String"


def _edit_chain_equals_fresh(source: bytes, snippets: list[bytes], seed: int) -> None:
    """Twelve random edits (inserting snippets, deleting bytes), each parsed incrementally
    from the version before and fresh: the two parses are equal."""
    rng = random.Random(seed)
    parser = new_parser()
    parsed, tree = parse_rust(source, parser)
    previous = Previous(source, tree, parsed)
    for step in range(12):
        pos = rng.randrange(len(previous.source) + 1)
        if rng.random() < 0.6:
            new = previous.source[:pos] + rng.choice(snippets) + previous.source[pos:]
        else:
            new = previous.source[:pos] + previous.source[pos + rng.randrange(1, 6):]
        incremental, tree = parse_rust(new, parser, previous)
        fresh, _ = parse_rust(new, new_parser())
        assert incremental == fresh, (seed, step, new.decode("utf-8", "replace"))
        previous = Previous(new, tree, incremental)


@pytest.mark.parametrize("seed", range(8))
def test_incremental_edits_of_expression_macros_equal_fresh_parse(seed: int) -> None:
    """Edits that make, break or move `assert_eq!(` and its kin keep the incremental parse
    equal to a fresh one."""
    _edit_chain_equals_fresh(EXPRESSION_MACROS, [
        b"assert_eq!(", b"format!", b"!(", b"(", b"::", b"x", b"println!(g(1));\n", b"\n",
        b"_"], seed)


@pytest.mark.parametrize("seed", range(12))
def test_incremental_edits_of_rust_2015_try_equal_fresh_parse(seed: int) -> None:
    """Edits that make, break or move `try!(` (the parsed bytes differ from the source there)
    keep the incremental parse equal to a fresh one."""
    _edit_chain_equals_fresh(TRY_2015, [b"try!(", b"try!", b"!(", b"(", b"r#", b"x",
                                        b"try!(g(1));\n", b"\n"], seed)


def test_screaming_case_names_are_references_in_code_only() -> None:
    """A SCREAMING_CASE word in a comment or string named a crate's symbol of that name
    (lsd's "/// … JSON"), and `SearchMode::JSON` in a macro's tokens named ripgrep's `struct
    JSON` (a flag), not the variant: the path is the reference after a type. After a
    module the bare name stays too (resolved as the crate's only symbol so named where the
    path is not: rust-sdl2's `ffi::TTF_HINTING_NORMAL` in an old layout)."""
    src = b'''/// Returns JSON as HTTP text; see MAX_SIZE.
fn stats(low: &LowArgs) -> u32 {
    let s = "NOT_A_REF here";
    let r = r#"RAW_WORD"#;
    if matches!(low.mode, Mode::Search(SearchMode::JSON)) { return MAX_SIZE; }
    let c = crate::flags::LIMIT + ffi::TTF_X + u32::MAX + _sys::FLAG;
    /* BLOCK_WORD */ // LINE_WORD
    Self::DEFAULT + OTHER
}
'''
    [item] = parse_rust(src)[0].items
    assert item.references == (
        "LowArgs", "matches!", "SearchMode::JSON", "MAX_SIZE", "crate::flags::LIMIT", "LIMIT",
        "ffi::TTF_X", "TTF_X", "u32::MAX", "_sys::FLAG", "FLAG", "Self::DEFAULT", "OTHER")


def test_a_plain_comment_among_attributes_belongs_to_the_item() -> None:
    """The walk up from an item stopped at a plain comment: `#[rstest]` above `// a case`
    and a trailing `// why` after `#[allow(...)]` were left out of the item (68 targets of
    ratatui, sqlx and rust-postgres), and sat in the code before it."""
    src = (b"fn a() {}\n#[rstest]\n// a case\n#[case(1)]\nfn b(x: u8) {}\n\n"
           b"#[allow(deprecated)] // For Cell::symbol\nimpl Cell {}\n\n"
           b"// plain, above everything\n#[test]\nfn c() {}\n\n"
           b"struct A; // trailing\nfn d() {}\n/// doc\n// note\nfn e() {}\n")
    parsed, _ = parse_rust(src)
    text = {item.name: src[item.start_byte:item.end_byte].decode() for item in parsed.items}
    assert text["b"] == "#[rstest]\n// a case\n#[case(1)]\nfn b(x: u8) {}"
    assert text["impl Cell"].startswith("#[allow(deprecated)] // For Cell::symbol\n")
    assert text["c"] == "#[test]\nfn c() {}"
    assert text["d"] == "fn d() {}"
    assert text["e"] == "/// doc\n// note\nfn e() {}"
    b = next(item for item in parsed.items if item.name == "b")
    assert b.attributes == ("#[rstest]", "#[case(1)]") and b.start_line == 2


def test_a_method_calls_receiver_type_is_the_one_its_name_was_declared_with() -> None:
    """`x.name()` reads `Type.name` where `x` was last bound, inside the function around the
    call, by a parameter or `let` with a written type (references, lifetimes, `mut`, a
    path's generics and Box/Rc/Arc taken off; `dyn`/`impl Trait` give the trait), and
    `self.name()` reads `Self.name`. A name bound since without a type (`let`, a pattern, a
    closure's parameter), a type that names no type (a tuple, a slice) or a name the function
    never bound reads `.name`; a `let` binds from its end (`let node = node.root();` calls
    the earlier `node`'s `root`). A call on a field of such a name reads `Type.field.name`
    (`self.io.flush()`: `Self.io.flush`)."""
    src = b"""
struct Site;
impl Site {
    fn build(&mut self, page: &'a mut Page<T>, reg: &mio::Registry, node: Rc<Node>,
             pair: (u8, u8), bytes: &[u8], out: &mut dyn Write, r: impl Read) {
        self.render();
        page.render();
        reg.register();
        node.children();
        pair.first();
        bytes.decode();
        out.flush_all();
        r.read_all();
        self.io.flush();
        page.meta.title();
        self.cfg.inner.deep();
        if let Some(page) = next() { page.render(); }
        let f = |reg| reg.register();
        let node: Arc<Tree> = tree();
        node.children();
        let node = node.root();
        node.children();
    }
}
fn other() { page.render(); }
"""
    parsed, _ = parse_rust(src)
    items = {item.name: item for item in parsed.items}
    assert items["build"].references == (
        "Page", "T", "mio::Registry", "Rc", "Node", "Write", "Read", "Self.render(0)",
        "Page.render(0)", "mio::Registry.register(0)", "Node.children(0)", ".first(0)",
        ".decode(0)", "Write.flush_all(0)", "Read.read_all(0)", "Self.io.flush(0)",
        "Page.meta.title(0)", ".deep(0)", "next", ".render(0)", ".register(0)", "Arc", "Tree",
        "tree", "Tree.children(0)", "Tree.root(0)", ".children(0)")
    assert items["other"].references == (".render(0)",)


def test_a_binding_reaches_only_calls_inside_its_own_function_closure_or_signature() -> None:
    """A closure's, a nested function's or a function pointer type's parameter leaves a
    later call on the outer name as it was, and `self` inside a function nested in another
    (a local impl block's) is not the item's `Self` (found by a review of 0.1.64)."""
    src = b"""
struct Foo;
impl Foo {
    fn m(&self) { struct L; impl L { fn a(&self) { self.b() } } self.c(); }
}
fn a(page: &Page) { let g = |page: &Other| page.render(); page.render(); }
fn b(page: &Page) { fn helper(page: Other) {} page.render(); }
fn c(page: &Page, cb: fn(page: Other)) { page.render(); }
fn e(page: &Page) { let g = |q| { let page: Other = q; page.go() }; page.render(); }
"""
    parsed, _ = parse_rust(src)
    refs = {item.name: item.references for item in parsed.items if item.kind in (
        "function", "method")}
    assert refs["m"] == ("L", ".b(0)", "Self.c(0)")
    assert refs["a"] == ("Page", "Other", "Other.render(0)", "Page.render(0)")
    assert refs["b"] == ("Page", "Other", "Page.render(0)")
    assert refs["c"] == ("Page", "Other", "Page.render(0)")
    assert refs["e"] == ("Page", "Other", "Other.go(0)", "Page.render(0)")


MACRO_SOURCE = """\
use std::io;

cfg_net! {
    /// Binds.
    #[inline]
    pub fn bind<'a>(addr: &'a Addr) -> io::Result<Socket> { open(addr) }

    impl Socket {
        fn close(&self) { self.shutdown() }
    }

    pub mod net;
}

cfg_if::cfg_if! {
    if #[cfg(unix)] {
        mod unix;
    } else if #[cfg(windows)] {
        mod windows;
    } else {
        compile_error!("no");
    }
}

cfg_select! {
    target_os = "linux" => {
        mod linux;
    }
    _ => {
        pub type Pid = usize;
    }
}

core::cfg_match! {
    cfg(unix) => { mod posix; }
    _ => { mod other; }
}

impl Socket {
    cfg_io! { pub fn peek(&self) -> usize { 0 } }
}

bitflags! { pub struct Flags: u32 { const A = 1; } }
collect! { fn a, fn b }
tests! { fn t() {} 1 + 2 }
"""


def test_items_inside_macro_bodies_are_items() -> None:
    """An item-level macro invocation whose body is items (`cfg_net! { … }`), or a
    `cfg_if!`'s or `cfg_select!`'s branches, gives those items, with the file's positions,
    docs, attributes, references and lifetimes, and its `mod` declarations; a body that is
    not items alone (`bitflags!`, a list, items beside an expression) gives none of its
    items (`bitflags!`'s struct is one the invocation makes: see the next test)."""
    parsed = _fresh(MACRO_SOURCE)
    src = MACRO_SOURCE.encode()
    items = by_key(parsed)
    bind = items["function:bind"]
    assert src[bind.start_byte:bind.end_byte].startswith(b"/// Binds.\n    #[inline]\n")
    assert src[bind.start_byte:bind.end_byte].endswith(b"{ open(addr) }")
    assert (bind.start_line, bind.end_line) == (4, 6)
    assert bind.doc == "Binds." and bind.attributes == ("#[inline]",)
    assert {"Addr", "Socket", "open", "io::Result"} <= set(bind.references)
    assert bind.lifetimes == ("'a",) and bind.module == "" and bind.parent == ""
    close = items["method:impl Socket::close"]
    assert close.parent == "impl:impl Socket" and "Self.shutdown(0)" in close.references
    assert items["method:impl Socket::peek"].parent == "impl:impl Socket#2"
    assert parsed.mods == [("", "net"), ("", "unix"), ("", "windows"), ("", "linux"),
                           ("", "posix"), ("", "other")]
    assert "type_alias:Pid" in items
    # Each branch's items hold under its predicate and none of the earlier ones'
    # (curve25519-dalek's 64-bit and 32-bit `FieldElement`s had been unconditioned twins).
    assert items["mod:unix"].attributes == ("#[cfg(unix)]",)
    assert items["mod:windows"].attributes == ("#[cfg(all(windows, not(any(unix))))]",)
    assert items["type_alias:Pid"].attributes == ('#[cfg(not(any(target_os = "linux")))]',)
    assert items["mod:posix"].attributes == ("#[cfg(unix)]",)
    assert items["mod:other"].attributes == ("#[cfg(not(any(unix)))]",)
    assert items["mod:net"].attributes == ()
    assert not {"A", "a", "b", "t"} & {item.name for item in parsed.items}
    assert items["struct:Flags"].signature == "pub struct Flags: u32"
    assert parsed.error_nodes == 0


MADE_SOURCE = """\
use crate::codec::Codec;

#[cfg(unix)]
bitflags! {
    /// Open flags.
    #[derive(Debug)]
    pub struct Flags: u32 {
        const READ = 1;
    }

    pub(crate) struct Mode: u8 { const X = 1; }
}

enum_builder! {
    /// The `AlertLevel` TLS protocol enum.
    pub struct AlertLevel(pub u8);

    enum AlertLevelName {
        Warning => 0x01,
    }
}

trait_template! {
    pub trait GraphBase {
        @escape [type NodeId]
    }

    pub unsafe trait Marker {}
}

forward_to_deserialize_any! { bool i8 map struct enum identifier ignored_any }
define_keywords! {
    "as" pub struct As /// `as`
}
mod inner {
    bitflags! { struct Inner: u8 { const Y = 2; } }
}
impl Flags {
    fn level(&self) -> AlertLevel { AlertLevel(1) }
}
"""


def test_types_a_macro_invocation_makes_are_items() -> None:
    """A struct, enum, union or trait that an item-level macro invocation writes in its body
    (`bitflags!`, rustls's `enum_builder!`, petgraph's `trait_template!`) is an item whose
    text is the invocation, with the attributes before it: its uses had no definition to
    show. Its signature, visibility, doc comment and attributes are the body's. A keyword
    that does not begin an item there (a list of words, syn's `"as" pub struct As`) makes
    none."""
    parsed = _fresh(MADE_SOURCE)
    src = MADE_SOURCE.encode()
    items = by_key(parsed)
    made = {key: item for key, item in items.items()
            if item.kind in ("struct", "enum", "union", "trait")}
    assert sorted(made) == ["enum:AlertLevelName", "struct:AlertLevel", "struct:Flags",
                            "struct:Mode", "struct:inner::Inner", "trait:GraphBase",
                            "trait:Marker"]
    assert made["trait:Marker"].signature == "pub unsafe trait Marker"
    flags, mode = made["struct:Flags"], made["struct:Mode"]
    text = src[flags.start_byte:flags.end_byte]
    assert text.startswith(b"#[cfg(unix)]\nbitflags! {") and text.endswith(b"X = 1; }\n}")
    assert (flags.start_byte, flags.end_byte) == (mode.start_byte, mode.end_byte)
    assert (flags.signature, flags.visibility, flags.doc) == (
        "pub struct Flags: u32", "pub", "Open flags.")
    assert flags.attributes == ("#[cfg(unix)]", "#[derive(Debug)]")
    assert (mode.signature, mode.visibility, mode.doc) == (
        "pub(crate) struct Mode: u8", "pub(crate)", "")
    assert made["struct:AlertLevel"].signature == "pub struct AlertLevel(pub u8)"
    assert made["struct:AlertLevel"].doc == "The `AlertLevel` TLS protocol enum."
    assert made["enum:AlertLevelName"].signature == "enum AlertLevelName"
    assert made["trait:GraphBase"].signature == "pub trait GraphBase"
    assert made["struct:inner::Inner"].module == "inner"
    assert made["struct:inner::Inner"].symbol == "inner::Inner"
    assert "AlertLevel" in items["method:impl Flags::level"].references


def test_an_unnamed_const_and_an_inferred_type_name_nothing() -> None:
    """`const _: () = …;` defines no symbol, and the type left to inference (`as _`,
    `Vec<_>`) is no reference: salsa's `x as _` had bound its `const _` (a sweep)."""
    items = by_key(_fresh(
        "const _: () = assert!(1 == 1);\n\npub fn second(v: &[u32]) -> usize {\n"
        "    let w: Vec<_> = v.to_vec();\n    w.len() as _\n}\n"))
    assert items["const:_"].symbol == ""
    assert "_" not in items["function:second"].references
    assert "Vec" in items["function:second"].references


def test_a_dsl_header_with_an_arrow_makes_no_type() -> None:
    """`=>` after a name is a macro's own language, not a Rust item's header: minijinja's
    `type_erase! { pub trait Object => DynObject { … } }` had made a second `trait Object`
    beside the real one (a sweep). A type written after it in the body is still made."""
    items = by_key(_fresh(
        "type_erase! {\n    pub trait Object => DynObject {\n        fn repr(&self) -> u32;\n"
        "    }\n    pub struct After(u8);\n}\n"))
    assert sorted(k for k in items if k.split(":")[0] in ("struct", "trait")) == [
        "struct:After"]


@pytest.mark.parametrize("seed", range(10))
def test_incremental_random_edits_of_made_types_equal_fresh_parse(seed: int) -> None:
    _random_edit_chain(MADE_SOURCE, seed)


@pytest.mark.parametrize("seed", range(20))
def test_incremental_random_edits_of_macro_bodies_equal_fresh_parse(seed: int) -> None:
    _random_edit_chain(MACRO_SOURCE, seed)


@pytest.mark.parametrize("old, new", [
    (b"impl<T> Tr for S {\n    fn m(&self, x: T) -> T { x }\n}\n",
     b"impl Tr for S {\n    fn m(&self, x: T) -> T { x }\n}\n"),
    (b"impl Tr for S {\n    fn m(&self, x: T) -> T { x }\n}\n",
     b"impl<T> Tr for S {\n    fn m(&self, x: T) -> T { x }\n}\n"),
])
def test_a_members_generic_references_follow_its_blocks_generics(old: bytes, new: bytes) -> None:
    """A member leaves out its block's generic parameters: where the block gains or loses
    one (the same key), the unchanged member is not carried over with its old references."""
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old, parser)
    incremental, _ = parse_rust(new, parser, Previous(old, old_tree, old_parsed))
    fresh = _fresh(new.decode())
    assert incremental == fresh
    method = by_key(fresh)["method:impl Tr for S::m"]
    assert ("T" in method.references) == (b"impl<T>" not in new)


def test_an_untouched_macro_body_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """An edit elsewhere carries a macro invocation's items over, as an untouched item's,
    and leaves a macro that held none unparsed: re-parsing each of a file's macro bodies in
    every version took mio's macro-holding files' histories 36% longer, and a one-line edit
    beside an 80 KB table macro 0.075 s."""
    from dataset_builder import rust_items

    parses: list[int] = []
    real = rust_items._Collector._items_parse

    def counted(self: Any, tokens: Any) -> Any:
        parses.append(tokens.start_byte)
        return real(self, tokens)

    monkeypatch.setattr(rust_items._Collector, "_items_parse", counted)
    old = (b"cfg_net! {\n    pub fn a() -> u8 { 1 }\n    impl S { fn m(&self) {} }\n}\n"
           b"table! { fn 1, 2, 3 }\nfn b() -> u8 { 2 }\n")
    new = old.replace(b"{ 2 }", b"{ 3 }")
    parser = new_parser()
    old_parsed, old_tree = parse_rust(old, parser)
    assert len(parses) == 2  # both bodies parsed fresh
    parses.clear()
    incremental, tree = parse_rust(new, parser, Previous(old, old_tree, old_parsed))
    assert parses == []
    # An edit inside the body parses it again (and only it).
    newer = new.replace(b"{ 1 }", b"{ 4 }")
    again, _ = parse_rust(newer, parser, Previous(new, tree, incremental))
    assert parses == [new.index(b"{\n")]
    assert incremental == _fresh(new.decode())
    assert [i.name for i in incremental.items] == ["a", "impl S", "m", "b"]
    assert again == _fresh(newer.decode())


def test_macro_bodies_inside_one_another_are_parsed_to_a_depth() -> None:
    """Each level of nested macro bodies parses the text of the levels within it again:
    they are read MAX_MACRO_DEPTH deep (400 levels, 8 KB, had taken 0.9 s)."""
    from dataset_builder.rust_items import MAX_MACRO_DEPTH

    depth = MAX_MACRO_DEPTH + 3
    src = "".join(f"m{k}! {{\nfn f{k}() {{}}\n" for k in range(depth)) + "}\n" * depth
    names = {item.name for item in _fresh(src).items}
    assert names == {f"f{k}" for k in range(MAX_MACRO_DEPTH)}


def test_a_macro_body_of_a_nested_macro_or_with_a_macro_statement_is_items() -> None:
    """tokio's `cfg_unstable_metrics! { cfg_64bit_metrics! { fn … } }` (a body whose only
    child is a macro) and `cfg_loom! { mod loom_blocking; … compile_error!("…"); }` (a macro
    statement beside the items) had lost their items: 18 at tokio's HEAD, 6 of them `mod`
    declarations."""
    src = ("impl S {\n    cfg_a! { cfg_b! { fn f(&self) {} } }\n}\n"
           "cfg_loom! {\n    mod loom_a;\n    compile_error!(\"no\");\n}\n")
    parsed = _fresh(src)
    items = by_key(parsed)
    assert set(items) == {"impl:impl S", "method:impl S::f", "mod:loom_a"}
    assert items["method:impl S::f"].parent == "impl:impl S"
    assert parsed.mods == [("", "loom_a")]
