"""The guard, rejections, probes and baselines on small Rust texts."""

from __future__ import annotations

import pytest

from analysis import candidates as c

FN = "fn add(a: u32, b: u32) -> u32 {\n    let s = a + b;\n    s\n}\n"


@pytest.mark.parametrize("text", [
    "", "   \n", "fn f() {}", "fn f() -> u8 { todo!() }", "fn f() { todo!(); }",
    "fn f() { unimplemented!(\"x\") }", "fn f() -> u8 { std::unreachable!() }",
    "fn f() { panic!(\"no\") }", "fn f() -> ! { loop {} }", "fn f() { /* later */ todo!() }",
    "impl A { fn a(&self) { todo!() } fn b(&self) -> u8 { unimplemented!() } }",
])
def test_degenerate(text: str) -> None:
    assert c.degenerate(text)


@pytest.mark.parametrize("text", [
    FN, "fn f() { loop { break; } }", "fn f() -> u8 { if x { todo!() } else { 1 } }",
    "impl A { fn a(&self) { todo!() } fn b(&self) -> u8 { 1 } }",
    "struct S { a: u8 }",  # no function bodies: not degenerate, compiled as it is
])
def test_not_degenerate(text: str) -> None:
    assert not c.degenerate(text)


def test_todo_baseline_is_degenerate_and_mutate_changes_code() -> None:
    assert c.degenerate(c.todo_baseline(FN))
    assert c.todo_baseline("struct S;") == ""
    mutated = {c.mutate_baseline(FN, str(seed)) for seed in range(20)}
    assert FN not in mutated and len(mutated) > 1
    assert c.mutate_baseline(FN, "7") == c.mutate_baseline(FN, "7")  # seeded per target


@pytest.mark.parametrize(("text", "why"), [
    ('const P: &str = include_str!("/etc/passwd");', "include_outside_crate"),
    ('const P: &[u8] = include_bytes!("../../../secret");', "include_outside_crate"),
    ('include!("../../x.rs");', "include_outside_crate"),
    ('const P: &str = include_str!(concat!("/etc/", "passwd"));', "include_not_a_literal"),
    ("macro_rules! m { ($p:expr) => { include_str!($p) } }", "include_not_a_literal"),
    ('#[path = "/tmp/evil.rs"] mod evil;', "include_outside_crate"),
    ('#[cfg_attr(unix, path = "../../../evil.rs")] mod evil;', "include_outside_crate"),
    ("extern crate libc;", "undeclared_extern_crate"),
])
def test_rejections(text: str, why: str) -> None:
    assert c.rejection(text, "src", set(), {"std", "core", "alloc"}) == why


def test_includes_inside_the_crate_and_the_originals_own_are_allowed() -> None:
    assert c.rejection('const A: &str = include_str!("data.txt");', "src", set(), set()) == ""
    assert c.rejection('const A: &str = include_str!("../README.md");', "src", set(), set()) == ""
    own = 'concat!(env!("OUT_DIR"), "/gen.rs")'
    assert c.rejection(f"include!({own});", "src", {own}, set()) == ""
    assert c.rejection("extern crate alloc;", "src", set(), {"alloc"}) == ""


def test_probe_plants_an_error_inside_the_target() -> None:
    probed = c.probe(FN, "function")
    assert probed is not None and c.PROBE_STMT in probed and "a + b" not in probed
    impl = "impl S {\n    fn a(&self) {}\n}\n"
    probed = c.probe(impl, "impl")
    assert probed is not None and probed.index("__ferric_probe") > probed.index("impl S {")
    assert c.probe("struct S;", "function") is None
    assert c.probe("mod a;\n", "module").endswith(c.PROBE_FN)  # type: ignore[union-attr]


def test_item_complete_stops_after_the_first_item() -> None:
    assert c.item_complete("fn f() {\n    let x = {") == 0
    text = "fn f() -> u8 {\n    1\n}\nfn g() {}"
    assert text[:c.item_complete(text)] == "fn f() -> u8 {\n    1\n}"
    assert c.item_complete("/// doc\n#[inline]\nfn f() {}\nrest") > 0


def test_a_candidate_must_define_the_target_item() -> None:
    assert c.degenerate("// only a comment\n/* and another */")
    assert c.missing_item("// nothing", FN, "function")
    assert c.missing_item("fn other(a: u32, b: u32) -> u32 { a }", FN, "function")
    assert not c.missing_item("/// doc\n#[inline]\n" + FN, FN, "function")
    assert c.missing_item("fn f() {}", "impl S { fn f() {} }", "impl")
    assert not c.missing_item("impl S { fn g() {} }", "impl S { fn f() {} }", "impl")
    assert not c.missing_item("anything", "mod a;", "module")
