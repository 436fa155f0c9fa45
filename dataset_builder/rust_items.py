"""Rust items from one source file, through tree-sitter-rust.

`parse_rust(source)` returns every item of the file (functions, methods, impl blocks, traits,
structs, enums, unions, type aliases, consts/statics, macro_rules, mod, use) with its module path
inside the file, span, signature, generics, trait bounds, where-clause, lifetimes, referenced
names and doc comment. Files with syntax errors still yield the items tree-sitter recovered; the
error count is reported, never raised.

Speed matters (a history holds thousands of blob versions): references and lifetimes are
collected by one tree-sitter query per file (the walk runs in C), then assigned to items by byte
range with bisect, instead of walking every item's subtree in Python.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from operator import attrgetter
from typing import Any, cast

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Range, Tree

ITEM_KINDS = (
    "function",
    "method",
    "impl",
    "trait",
    "struct",
    "enum",
    "union",
    "type_alias",
    "associated_type",
    "const",
    "static",
    "macro_rules",
    "mod",
    "use",
)

# Kinds whose name is a symbol other items can reference (used by the commit DAG).
DEFINING_KINDS = frozenset(
    {"function", "method", "trait", "struct", "enum", "union", "type_alias", "const", "static",
     "macro_rules"}
)

_NODE_KIND = {
    "function_item": "function",
    "function_signature_item": "function",
    "impl_item": "impl",
    "trait_item": "trait",
    "struct_item": "struct",
    "enum_item": "enum",
    "union_item": "union",
    "type_item": "type_alias",
    "associated_type": "associated_type",
    "const_item": "const",
    "static_item": "static",
    "macro_definition": "macro_rules",
    "mod_item": "mod",
    "use_declaration": "use",
}

# Captures that count as "names this item references". Plain identifiers are too noisy (locals),
# so only identifiers in call position, paths, type names and macro names are taken here;
# SCREAMING_CASE constants are found by _CONST_NAME (a `#match?` predicate would run a Python
# callback per identifier and nearly double the query time).
_CONST_NAME = re.compile(rb"\b[A-Z][A-Z0-9_]+\b")  # \b: ASCII word bounds (bytes)

_PATH_PARENTS_SKIPPED = frozenset({"scoped_identifier", "scoped_type_identifier",
                                   "scoped_use_list", "use_declaration", "use_as_clause",
                                   "use_list", "use_wildcard"})

# Where a method call's receiver is a plain name (`page.render()`), what that name was last
# bound to before the call, inside the function around it: a parameter or `let` with a written
# type (`page: &Page`), or a pattern that gives none (`let page = …`, `Some(page)`, `|page|`).
# A `let` binds from its end on (`let page = page.parse();` calls the earlier `page`'s); a
# binding reaches calls inside the function, closure or signature it is made in (`|page:
# &Other| …` and `fn(page: Other)` leave a later `page` as it was).
# Part of the references' query: a second pass over the tree cost as much as the first.
_BINDING_PATTERNS = """
(function_item) @function
(closure_expression) @scope
(function_signature_item) @scope
(function_type) @scope
(let_declaration) @let
(parameter pattern: (identifier) @param_name type: (_) @param_type)
(let_declaration pattern: (identifier) @let_name type: (_) @let_type)
(let_declaration pattern: (identifier) @let_untyped)
(let_condition pattern: (identifier) @bound)
(for_expression pattern: (identifier) @bound)
(closure_parameters (identifier) @bound)
(match_pattern (identifier) @bound)
(tuple_struct_pattern (identifier) @bound)
(tuple_pattern (identifier) @bound)
(slice_pattern (identifier) @bound)
(ref_pattern (identifier) @bound)
(mut_pattern (identifier) @bound)
(captured_pattern (identifier) @bound)
(or_pattern (identifier) @bound)
(field_pattern (shorthand_field_identifier) @bound)
(field_pattern pattern: (identifier) @bound)
"""
# `inner_ref` and `inner_path` name the captures _collect_refs leaves out, by their parent:
# asking a node for its parent walks down from the tree's root (tree-sitter 0.22 on), which
# took 7% of a parse worker's time on gfx-rs/naga's deeply nested code.
_REFERENCE_QUERY = """
(type_identifier) @ref
(call_expression function: (identifier) @ref)
(call_expression function: (field_expression field: (field_identifier) @method)
                 arguments: (arguments) @method_args)
(call_expression function: (field_expression value: [(identifier) (self)] @receiver
                                             field: (field_identifier) @receiver_method))
(call_expression function: (field_expression
  value: (field_expression value: [(identifier) (self)] @field_owner
                           field: (field_identifier) @owner_field)
  field: (field_identifier) @field_method))
(call_expression function: (generic_function function: (identifier) @ref))
(call_expression function: (generic_function function: (field_expression
                                                         field: (field_identifier) @method))
                 arguments: (arguments) @method_args)
(call_expression function: (generic_function function: (field_expression
  value: [(identifier) (self)] @receiver field: (field_identifier) @receiver_method)))
(scoped_identifier) @path
(scoped_type_identifier) @path
(macro_invocation macro: (identifier) @macro)
(macro_invocation macro: (scoped_identifier) @scoped_macro)
(lifetime) @lifetime
(scoped_type_identifier (type_identifier) @inner_ref)
(type_binding name: (type_identifier) @inner_ref)
(use_declaration argument: (use_wildcard) @glob)
(use_declaration argument: [(identifier) (scoped_identifier) (use_as_clause)
                            (scoped_use_list) (use_list)] @body_use)
""" + _BINDING_PATTERNS + "".join(
    f"({parent} [(scoped_identifier) (scoped_type_identifier)] @inner_path)\n"
    for parent in sorted(_PATH_PARENTS_SKIPPED))
# Smart pointers a method call sees through (`node: Rc<Node>`, then `node.children()`).
_SEEN_THROUGH = frozenset({"Box", "Rc", "Arc"})
# Comments and literals, asked for only where a span holds a SCREAMING_CASE word (see
# _const_refs): captured with the references, every comment and string of every span was a
# Node made in Python (rust-sdl2's history: 7.0 -> 7.6 s).
_TEXT_QUERY = "[(line_comment) (block_comment) (string_literal) (raw_string_literal) " \
    "(char_literal)] @text"


# Rust 2015's `try!(expr)`: `try` is a keyword from the 2018 edition on and tree-sitter-rust
# parses that grammar, so each `try!` of older code was an ERROR node (hyper's history:
# file versions with parse errors, manifest counts, 2,972 before and 1,327 after), and error
# recovery could take the code after it apart too.
# The parser is given `try_(expr)` there instead: a call of the same length, so every byte
# offset holds, and its argument is parsed as the expression it is (a macro's would be an
# opaque token tree); names and texts are always read from the real source, where the call's
# name reads `try!` (the reference a macro's name gives).
# So are std's macros whose arguments are expressions (`assert_eq!(f(x), …)`, `format!("{}",
# g(y))`, `write!(out, …)`): their calls, paths and types had not been references (an
# acceptance sweep: delta's function samples calling a crate function only inside such a
# macro, 455 of 459 with no dependency on it). Not `vec!` (`vec![x; n]`), `matches!` (a
# pattern) or the log crates' (`target: …`, `%x`), whose arguments are no expressions.
_EXPRESSION_MACROS = frozenset(
    b"try assert assert_eq assert_ne debug_assert debug_assert_eq debug_assert_ne print "
    b"println eprint eprintln write writeln format format_args panic unreachable todo "
    b"unimplemented dbg".split())
_LONGEST_MACRO = max(map(len, _EXPRESSION_MACROS))
_MACRO_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz_")
# Bytes that make such a name the end of a longer one (`my_try!(`), a raw one (`r#try!(`)
# or a path's (`std::println!(`).
_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_#:"
                        + bytes(range(0x80, 0x100)))


@lru_cache(maxsize=8)  # a version is asked for again as the next one's previous
def as_parsed(source: bytes) -> bytes:
    """The bytes tree-sitter parses for a Rust source: the same, but for Rust 2015's
    `try!(…)` and std's expression macros (_EXPRESSION_MACROS), which become calls of
    `try_`, `assert_eq_`, … (`r#try!`, `my_try!` and `std::println!` stay). Found from each
    `!(` with bytes.find, not a regular expression: this runs on both versions of every
    parse (a regular expression took 8 times as long)."""
    at = source.find(b"!(")
    if at < 0:
        return source
    found: list[int] = []
    while at >= 0:
        start = at
        while start > 0 and source[start - 1] in _MACRO_NAME_BYTES and \
                at - start <= _LONGEST_MACRO:
            start -= 1
        if source[start:at] in _EXPRESSION_MACROS and (
                start == 0 or source[start - 1] not in _NAME_BYTES):
            found.append(at)
        at = source.find(b"!(", at + 2)
    if not found:
        return source
    parsed = bytearray(source)
    for at in found:
        parsed[at] = 0x5F  # "!" -> "_"
    return bytes(parsed)


@lru_cache(maxsize=1)
def _language() -> Language:
    return Language(tree_sitter_rust.language())


@lru_cache(maxsize=1)
def _query() -> Query:
    return Query(_language(), _REFERENCE_QUERY)


@lru_cache(maxsize=1)
def _text_query() -> Query:
    return Query(_language(), _TEXT_QUERY)


@lru_cache(maxsize=1)
def _node_kinds_by_id() -> dict[int, str]:
    """_NODE_KIND keyed by the grammar's symbol ids."""
    language = _language()
    return {i: _NODE_KIND[language.node_kind_for_id(i) or ""]
            for i in range(language.node_kind_count)
            if language.node_kind_is_named(i) and language.node_kind_for_id(i) in _NODE_KIND}


@lru_cache(maxsize=1)
def _macro_invocation_id() -> int:
    found = _language().id_for_node_kind("macro_invocation", True)
    return -1 if found is None else found


# Macros whose body is branches of items under conditions: the cfg-if crate's `cfg_if!`,
# std's `cfg_select!` and its earlier name `cfg_match!` (bottom rewrote its `cfg_if!`s as
# `cfg_select!` at 3542c0bc: 22 `mod` declarations and 40 items seemed removed).
_BRANCHING_MACROS = ("cfg_if", "cfg_select", "cfg_match")
# Macro bodies parsed inside one another at most (`cfg_if!` in `cfg_net!` in an impl): each
# level parses the text of those within it again (400 levels, 8 KB, took 0.9 s).
MAX_MACRO_DEPTH = 4
# Item keywords a macro's body may define a type or trait with (_macro_definitions).
_DEFINING_WORDS = {b"struct": "struct", b"enum": "enum", b"union": "union", b"trait": "trait"}
_DEFINING_WORD = re.compile(rb"\b(?:" + b"|".join(_DEFINING_WORDS) + rb")\b")
# A word that begins an item: a macro body without one is not parsed as items.
_ITEM_WORD = re.compile(
    rb"\b(?:fn|struct|enum|union|impl|trait|type|const|static|mod|use|macro_rules)\b")
# What may stand beside items in a macro body taken as items.
_BESIDE_ITEMS = frozenset({"attribute_item", "inner_attribute_item", "line_comment",
                           "block_comment", "macro_invocation", "empty_statement"})


def _macro_statement(node: Node) -> bool:
    """`name!(…);`: an expression statement of a macro invocation alone."""
    return node.type == "expression_statement" and node.named_child_count == 1 and \
        node.named_children[0].kind_id == _macro_invocation_id()


def new_parser() -> Parser:
    return Parser(_language())


@dataclass(slots=True)
class Item:
    """One Rust item of a file. Spans are byte offsets into the file (end exclusive) and
    1-based inclusive line numbers; the span includes the item's outer doc comments and
    attributes."""

    kind: str
    name: str
    key: str  # unique within the file: "<kind>:<qualified name inside the file>"
    module: str  # module path inside the file ("" at top level, "tests" for `mod tests {}`)
    parent: str  # key of the enclosing impl/trait, "" if none
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    signature: str
    generics: str
    trait_bounds: tuple[str, ...]
    where_clause: str
    lifetimes: tuple[str, ...]
    references: tuple[str, ...]
    doc: str
    attributes: tuple[str, ...]
    visibility: str
    self_type: str  # impl blocks and methods: the implementing type's simple name
    trait_name: str  # impl blocks and methods: the implemented trait's simple name
    has_error: bool
    digest: str  # hash of the item's text: equal digests mean an unchanged item
    # The name other items use for this one, relative to the file's module ("" when the kind
    # defines nothing referable). Stored, not derived: the history walk asks for it constantly.
    symbol: str
    # A struct's named fields: (name as written, the path of the type a method call on it
    # looks in, _receiver_type) for each that has one.
    fields: tuple[tuple[str, str], ...] = ()

    def moved(self, start_byte: int, end_byte: int, start_line: int, end_line: int) -> Item:
        """The same item at another position (positional construction: much cheaper than
        dataclasses.replace or copy.copy on this hot path). Items are never mutated, so an
        item that did not move is shared rather than copied."""
        if (start_byte == self.start_byte and end_byte == self.end_byte
                and start_line == self.start_line and end_line == self.end_line):
            return self
        return Item(self.kind, self.name, self.key, self.module, self.parent, start_byte,
                    end_byte, start_line, end_line, self.signature, self.generics,
                    self.trait_bounds, self.where_clause, self.lifetimes, self.references,
                    self.doc, self.attributes, self.visibility, self.self_type, self.trait_name,
                    self.has_error, self.digest, self.symbol, self.fields)

    def __reduce__(self) -> tuple[type[Item], tuple[Any, ...]]:
        # The fields positionally: the parse workers pickle every new item version for the
        # main process, which unpickles it; the dataclass default (a state list set field by
        # field) takes about 1.4x as long both ways.
        return Item, _ITEM_FIELDS(self)


_ITEM_FIELDS = attrgetter(*Item.__slots__)


@dataclass(slots=True)
class UsePath:
    """One leaf of a `use` tree: `use crate::a::{b as c}` gives path "crate::a::b", alias "c"."""

    module: str
    path: str
    alias: str
    item: str  # key of the `use` item it belongs to

    def __reduce__(self) -> tuple[type[UsePath], tuple[Any, ...]]:
        return UsePath, (self.module, self.path, self.alias, self.item)  # see Item.__reduce__


@dataclass(slots=True)
class ParsedFile:
    items: list[Item] = field(default_factory=list)
    error_nodes: int = 0  # ERROR and MISSING nodes; > 0 means the file does not parse cleanly
    mods: list[tuple[str, str]] = field(default_factory=list)  # (module, declared child name)
    uses: list[UsePath] = field(default_factory=list)
    # One entry per item node, nested ones too: (node start byte, first item index, end item
    # index). Lets the next version's incremental parse carry over whole untouched items
    # (parse workers keep them: the main process's copies of their parses have none).
    groups: list[tuple[int, int, int]] = field(default_factory=list)
    # (start byte, end byte, ERROR and MISSING nodes) of each top-level node that has any:
    # the next version's incremental parse counts again only the nodes its edits touched.
    # Worker-side like `groups`.
    error_spans: list[tuple[int, int, int]] = field(default_factory=list)
    # Main-process side, for a parse made incrementally from a previous version: that
    # version's blob, and (first index here, first index there, end index there) of each run
    # of items carried over unchanged (same key and digest). A commit whose old blob is that
    # version compares only the other items.
    carried_from: str = field(default="", compare=False)
    carried: list[tuple[int, int, int]] = field(default_factory=list, compare=False)
    # Parse-worker side, for an incremental parse: (first index here, first index in the
    # previous version, end index there, bytes and lines moved) of each run of items carried
    # over under the same keys, so unchanged items need not be compared one by one.
    carried_runs: list[tuple[int, int, int, int, int]] = field(default_factory=list,
                                                              compare=False)

    @property
    def has_errors(self) -> bool:
        return self.error_nodes > 0

    def __reduce__(self) -> tuple[type[ParsedFile], tuple[Any, ...]]:
        return ParsedFile, _PARSED_FILE_FIELDS(self)  # see Item.__reduce__


_PARSED_FILE_FIELDS = attrgetter(*ParsedFile.__slots__)


def _ref_spans(stub: _Stub) -> list[tuple[int, int]]:
    """Where an item's references are read: impl, trait and inline-mod blocks take those of
    their header (type, trait, generics, bounds), an impl or trait block also those of the
    macro invocations in its body that hold no item (indexmap's `impl Iterator for Drain {
    iterator_methods!(Bucket::key); }`: the macro was a dependency of nothing, 122
    samples); their members are items with their own."""
    node = stub.node
    if stub.kind in ("impl", "trait", "mod"):
        body = node.child_by_field_name("body")
        if body is not None:
            return [(node.start_byte, body.start_byte), *stub.macro_spans]
    return [(node.start_byte, node.end_byte)]


def _merge_spans(spans: list[tuple[int, int]], gap: int = 256) -> list[tuple[int, int]]:
    """Sorted spans joined when less than `gap` bytes apart: one query over both costs less
    than two. References found in between are harmless: each item takes only those inside
    its own span."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _symbol_of(kind: str, module: str, name: str, self_type: str, parent: _Stub | None) -> str:
    if kind not in DEFINING_KINDS or name == "_":  # `const _: () = …;` names nothing
        return ""
    # A method, or an associated const, is named under its type (or trait): cortex-m's 16
    # `impl X { const PTR }` were one module-level `PTR` beside each other.
    if kind == "method" or (parent is not None and parent.kind in ("impl", "trait")):
        owner = self_type or (parent.qual if parent is not None else "")
        return _join(module, owner, name)
    return _join(module, name)


def _join(*parts: str) -> str:
    return "::".join(p for p in parts if p)


def _text(src: bytes, node: Node | None) -> str:
    if node is None:
        return ""
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _const_refs(src: bytes, found: list[re.Match[bytes]], texts: Iterable[Node]
                ) -> Iterator[tuple[int, str]]:
    """(position, reference) of the SCREAMING_CASE names `found` that are code, not in a
    comment or a string literal (`texts`: "/// Returns JSON" named lsd's `struct JSON`).
    A name after `Type::` (or `u32::`) is that type's (`SearchMode::JSON` is a variant, not
    ripgrep's `struct JSON`): the path is the reference (captured already outside a macro's
    tokens; a path the pattern cannot read, `<T>::MAX`, is left out), never the bare name.
    After `module::` the bare name stays a reference beside the path: where the path does
    not resolve (a module an old layout put elsewhere: rust-sdl2's `ffi::TTF_HINTING_NORMAL`)
    the crate's only symbol of that name is taken, as for any bare name."""
    spans = sorted((node.start_byte, node.end_byte) for node in texts)
    starts = [start for start, _ in spans]
    for match in found:
        at = match.start()
        k = bisect.bisect_right(starts, at) - 1
        if k >= 0 and at < spans[k][1]:
            continue
        name = match.group().decode()
        if src[at - 2:at] != b"::":
            yield at, name
            continue
        head = _PATH_HEAD.search(src, max(0, at - 256), at)
        if head is not None:
            yield head.start(), head.group().decode() + name
            qualifier = head.group()[:-2].rsplit(b"::", 1)[-1]
            if not qualifier[:1].isupper() and qualifier not in _PRIMITIVE_TYPES:
                yield at, name


# The `a::b::` before a name that ends at the search's end (see _const_refs).
_PATH_HEAD = re.compile(rb"(?<![A-Za-z0-9_:])(?:[A-Za-z_][A-Za-z0-9_]*::)+\Z")
_PRIMITIVE_TYPES = frozenset(b"u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64 "
                             b"char bool str".split())


# A line comment, or what one cannot start inside (group 1): a string literal (a raw one
# with its hashes), a character literal (`'"'`), a block comment.
_LINE_COMMENT = re.compile(
    r"""(r(#*)".*?"\2|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\\n])'|/\*.*?\*/)|//[^\n]*""",
    re.S)


def _receiver_type(node: Node, src: bytes) -> str:
    """The type a method call on a value declared as `node`'s type looks in, as written:
    `&'a mut Foo<T>` -> `Foo`, `mio::Registry` -> `mio::Registry`, `Rc<Node>` -> `Node`,
    `&dyn Render` and `impl Render` -> `Render`; "" where it is no named type (a tuple, a
    slice, a function pointer, several bounds)."""
    kind = node.type
    if kind in ("type_identifier", "scoped_type_identifier", "primitive_type"):
        return _squash(_text(src, node))
    if kind == "reference_type":
        inner = node.child_by_field_name("type")
        return _receiver_type(inner, src) if inner is not None else ""
    if kind in ("abstract_type", "dynamic_type"):
        inner = node.child_by_field_name("trait")
        return _receiver_type(inner, src) if inner is not None else ""
    if kind == "generic_type":
        base = node.child_by_field_name("type")
        if base is None:
            return ""
        written = _receiver_type(base, src)
        arguments = node.child_by_field_name("type_arguments")
        if written.rpartition("::")[2] in _SEEN_THROUGH and arguments is not None:
            first = next((c for c in arguments.named_children if c.type != "lifetime"), None)
            return _receiver_type(first, src) if first is not None else ""
        return written
    return ""


class _Extents:
    """Nested extents (start, end) of nodes: the innermost one around a position."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        extents = sorted((n.start_byte, n.end_byte) for n in nodes)
        self.starts = [start for start, _ in extents]
        self.ends = [end for _, end in extents]
        # Each one's parent: the innermost around it (-1 for none).
        self.parents: list[int] = []
        around: list[int] = []  # the extents around the one at hand, innermost last
        for k, (start, _) in enumerate(extents):
            while around and self.ends[around[-1]] <= start:
                around.pop()
            self.parents.append(around[-1] if around else -1)
            around.append(k)

    def innermost(self, position: int) -> int:
        """The index of the innermost extent around `position`, -1 for none: the latest to
        start before it that has not ended (they nest)."""
        k = bisect.bisect_right(self.starts, position) - 1
        # One that ended before the position: what holds the position holds it too.
        while k >= 0 and self.ends[k] <= position:
            k = self.parents[k]
        return k

    def nested(self, k: int) -> bool:
        """Whether extent k lies inside another."""
        return self.parents[k] >= 0


class _Receivers:
    """The written types of the plain names method calls are made on (`names`), by where
    the name was last bound before the call inside the function around it, by a binding
    whose own function, closure or signature holds the call (_BINDING_PATTERNS): a binding
    without a written type, or none found, gives ""."""

    def __init__(self, src: bytes, captures: dict[str, list[Node]], names: set[bytes],
                 functions: _Extents) -> None:
        # Only the receivers' names are looked at (most bindings are of other names).
        self.functions = functions
        scopes = _Extents([*captures.get("function", ()), *captures.get("scope", ())])
        lets = sorted((n.start_byte, n.end_byte) for n in captures.get("let", ()))
        let_starts = [s for s, _ in lets]

        def let_end(start: int) -> int:
            """Where the `let` whose pattern starts at `start` ends: the nearest to start
            before it (its pattern comes first; a `let` in its value, after)."""
            k = bisect.bisect_right(let_starts, start) - 1
            return lets[k][1] if k >= 0 else start

        def scope_end(start: int) -> int:
            k = scopes.innermost(start)
            return scopes.ends[k] if k >= 0 else start

        # name -> position -> (written type or "", where the binding's scope ends)
        bindings: dict[bytes, dict[int, tuple[str, int]]] = {}
        for capture, untyped_let in (("bound", False), ("let_untyped", True)):
            for node in captures.get(capture, ()):
                start = node.start_byte
                name = src[start:node.end_byte]
                if name in names:
                    bindings.setdefault(name, {}).setdefault(
                        let_end(start) if untyped_let else start, ("", scope_end(start)))
        # A typed name and its type pair up in order: nothing but `:` lies between them.
        for typed, types, of_let in (("param_name", "param_type", False),
                                     ("let_name", "let_type", True)):
            named = sorted(captures.get(typed, ()), key=attrgetter("start_byte"))
            written = sorted(captures.get(types, ()), key=attrgetter("start_byte"))
            for node, type_node in zip(named, written, strict=True) \
                    if len(named) == len(written) else ():
                start = node.start_byte
                name = src[start:node.end_byte]
                if name in names:
                    bindings.setdefault(name, {})[let_end(start) if of_let else start] = (
                        _receiver_type(type_node, src), scope_end(start))
        self.bindings = {name: sorted((at, *bound) for at, bound in found.items())
                         for name, found in bindings.items()}

    def type_at(self, name: bytes, position: int) -> str:
        found = self.bindings.get(name)
        if not found:
            return ""
        # Inside the innermost function around the call: a parameter of another function
        # never reaches it.
        k = self.functions.innermost(position)
        if k < 0:
            return ""
        start = self.functions.starts[k]
        j = bisect.bisect_left(found, (position,)) - 1
        while j >= 0 and found[j][0] >= start:
            if found[j][2] > position:  # its scope holds the call
                return found[j][1]
            j -= 1
        return ""


def _squash(text: str) -> str:
    """Code on one line: its whitespace runs one space each, its line comments gone (kept,
    `fn new(res: Response, //url: Url) -> Self` swallowed the rest of the line: 1 to 21
    samples' headers or packs a history in reqwest, insta, axum and gitui)."""
    if "//" in text:
        text = _LINE_COMMENT.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split())


def _simple_type_name(node: Node | None, src: bytes) -> str:
    """`&'a mut foo::Bar<T>` -> `Bar`: the name used to refer to an impl's self type."""
    if node is None:
        return ""
    if node.type in ("type_identifier", "identifier", "primitive_type"):
        return _text(src, node)
    for name in ("type", "name"):
        child = node.child_by_field_name(name)
        if child is not None:
            return _simple_type_name(child, src)
    for child in reversed(node.named_children):
        found = _simple_type_name(child, src)
        if found:
            return found
    return _squash(_text(src, node))


def _is_outer_doc(node: Node, src: bytes) -> bool:
    text = src[node.start_byte : node.start_byte + 4]
    if node.type == "line_comment":
        return text.startswith(b"///") and not text.startswith(b"////")
    if node.type == "block_comment":
        return text.startswith(b"/**") and not text.startswith(b"/***") and text != b"/**/"
    return False


def _doc_line(node: Node, src: bytes) -> str:
    text = _text(src, node)
    if text.startswith("///"):
        return text[3:].removeprefix(" ").rstrip("\n")
    return text[3:-2].strip()


def _leads_to_trivia(comment: Node, src: bytes) -> bool:
    """Whether an attribute or outer doc comment lies above a plain comment, past any other
    plain comments."""
    above = comment.prev_sibling
    while above is not None and above.type in ("line_comment", "block_comment") \
            and not _is_outer_doc(above, src):
        above = above.prev_sibling
    return above is not None and (above.type == "attribute_item" or _is_outer_doc(above, src))


def _leading_trivia(node: Node, src: bytes) -> tuple[int, int, list[str], list[str]]:
    """Outer doc comments and attributes right before an item: (start byte, start line, doc
    lines, attributes)."""
    start_byte, start_line = node.start_byte, node.start_point[0]
    docs: list[str] = []
    attrs: list[str] = []
    prev = node.prev_sibling
    while prev is not None:
        if prev.type == "attribute_item":
            attrs.append(_squash(_text(src, prev)))
        elif _is_outer_doc(prev, src):
            docs.append(_doc_line(prev, src))
        elif prev.type in ("line_comment", "block_comment") and _leads_to_trivia(prev, src):
            # A plain comment among the attributes and doc comments is the item's too
            # (`#[rstest]`, `// a case`, `#[case(…)]`; `#[allow(deprecated)] // why`): the
            # walk stopped there, and left `#[test]` out of 68 targets of three histories.
            pass
        else:
            break
        start_byte, start_line = prev.start_byte, prev.start_point[0]
        prev = prev.prev_sibling
    docs.reverse()
    attrs.reverse()
    for attr in attrs:  # #[doc = "..."] is a doc comment too
        if attr.startswith("#[doc") and "=" in attr and attr.endswith("]"):
            value = attr[: -1].split("=", 1)[1].strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            docs.append(value)
    return start_byte, start_line, docs, attrs


def _bounds(node: Node, src: bytes) -> list[str]:
    """`T: Clone + Send` strings from type parameters, where-clauses and supertraits."""
    found: list[str] = []
    params = node.child_by_field_name("type_parameters")
    if params is not None:
        for param in params.named_children:
            bounds = param.child_by_field_name("bounds")
            name = param.child_by_field_name("name")
            if bounds is not None and name is not None:
                found.append(f"{_text(src, name)}: {_squash(_text(src, bounds)).lstrip(': ')}")
    if node.type == "trait_item":
        supertraits = node.child_by_field_name("bounds")
        if supertraits is not None:
            found.append(f"Self: {_squash(_text(src, supertraits)).lstrip(': ')}")
    for child in node.children:
        if child.type == "where_clause":
            for pred in child.named_children:
                if pred.type == "where_predicate":
                    found.append(_squash(_text(src, pred)))
    return found


def _expand_use(node: Node | None, src: bytes, prefix: str, out: list[tuple[str, str]]) -> None:
    """Flatten a use tree into (path, alias) pairs."""
    if node is None:
        return
    kind = node.type
    if kind == "scoped_use_list":
        path_node = node.child_by_field_name("path")
        new_prefix = _join(prefix, _squash(_text(src, path_node))) if path_node else prefix
        _expand_use(node.child_by_field_name("list"), src, new_prefix, out)
    elif kind == "use_list":
        for child in node.named_children:
            _expand_use(child, src, prefix, out)
    elif kind == "use_as_clause":
        path_text = _squash(_text(src, node.child_by_field_name("path")))
        # `use m::{self as alias}` imports m itself.
        aliased = prefix if path_text == "self" else _join(prefix, path_text)
        out.append((aliased, _text(src, node.child_by_field_name("alias"))))
    elif kind == "use_wildcard":
        inner = _squash(_text(src, node)).removesuffix("*").removesuffix("::")
        out.append((_join(prefix, inner, "*"), ""))
    elif kind == "self":
        out.append((prefix, prefix.rsplit("::", 1)[-1]))
    elif kind in ("identifier", "scoped_identifier", "crate", "super", "metavariable"):
        full = _join(prefix, _squash(_text(src, node)))
        out.append((full, full.rsplit("::", 1)[-1]))


@dataclass(slots=True)
class _Stub:
    """What the first, cheap pass knows of an item: enough to tell whether it changed."""

    node: Node
    kind: str
    module: str
    parent: _Stub | None
    outer: _Stub | None  # outermost enclosing item (None: this one is outermost)
    name: str
    key: str
    # The qualified name inside the file, without the key's ordinal: members of a block are
    # named under it, so a method keeps its key when a block of the same header is added or
    # removed before its own (ash's generated `impl StructureType { .. }` blocks).
    qual: str
    start_byte: int
    start_line: int
    docs: list[str]
    attrs: list[str]
    self_type: str
    trait_name: str
    digest: str
    use_pairs: list[tuple[str, str]]
    # A definition a macro invocation makes (_macro_definitions): (its signature, its
    # visibility); the node is then the invocation's.
    made: tuple[str, str] | None = None
    # An impl or trait block's: the spans of the macro invocations in its body that hold no
    # item (`iterator_methods!(Bucket::key);`), whose references are the block's.
    macro_spans: list[tuple[int, int]] = field(default_factory=list)


class _Collector:
    """Two passes: stubs for every item (name, key, span, digest), then full details only for
    items that are new or changed against `previous` (the parse of the file's prior version);
    unchanged ones are copied with their new position. References come from one tree-sitter
    query over the whole file, or over just the changed items when a previous parse exists."""

    def __init__(self, src: bytes, root: Node, previous: ParsedFile | None,
                 parsed_src: bytes | None = None) -> None:
        self.src = src
        self.root = root
        self.parsed_src = as_parsed(src) if parsed_src is None else parsed_src  # as_parsed's
        # The roots of the item lists inside item-level macro invocations, each parsed on
        # its own (_macro_bodies; a node keeps its tree alive).
        self.sub_roots: list[Node] = []
        self.sub_parser: Parser | None = None
        self.line_starts: list[int] = []
        self.macro_depth = 0  # macro bodies walked inside one another here
        # The `#[cfg(…)]` of each `cfg_if!` branch the walk is in (_macro_bodies): every item
        # there has it among its attributes.
        self.branch_cfgs: list[str] = []
        self.previous = {i.key: i for i in previous.items} if previous is not None else None
        self.previous_uses: dict[str, list[UsePath]] = {}
        if previous is not None:
            for use in previous.uses:
                self.previous_uses.setdefault(use.item, []).append(use)
        # In file order: stubs to analyse, or items carried over whole from the previous parse.
        self.entries: list[_Stub | Item] = []
        # Where the stubs are in `entries`: finish takes the items carried over between them
        # a run at a time (rust-sdl2's versions: most entries are carried items).
        self.stub_at: list[int] = []
        self.groups: list[tuple[int, int, int]] = []
        self.carried_runs: list[tuple[int, int, int, int, int]] = []  # see ParsedFile
        self.old_keys: dict[str, str] = {}  # carried items' new keys -> their previous keys
        self.untouched: _Untouched | None = None
        self.keys: dict[str, int] = {}
        self.ref_pos: list[int] = []
        self.ref_names: list[str] = []
        self.lt_pos: list[int] = []
        self.lt_names: list[str] = []

    def _collect_refs(self, spans: list[tuple[int, int]]) -> None:
        src = self.src
        refs: list[tuple[int, str]] = []
        lifetimes: list[tuple[int, str]] = []
        for start, end in spans:
            captures = self._captures(_query(), start, end)
            # `fmt::Formatter` is one path reference, not also a bare `Formatter` (a type name
            # inside a scoped type is always its last part). Nor is `Error` in
            # `Filter<Error = Rejection>` a reference: it names the trait's associated type
            # (warp's `Error = …` bindings had bound crate::error::Error).
            inner = {node.id for node in captures.get("inner_ref", ())}
            for node in captures.get("ref", ()):
                # Not the type left to inference (`x as _`, `Vec<_>`), which had bound an
                # unnamed `const _` (salsa: 39 samples).
                if node.id not in inner and (node.end_byte - node.start_byte != 1
                                             or src[node.start_byte] != 0x5F):  # `_`
                    refs.append((node.start_byte, _text(src, node)))
            for node in captures.get("macro", ()):
                refs.append((node.start_byte, _text(src, node) + "!"))
            # A call on a plain name declared with a type is `Type.method` (`page: &Page`,
            # `page.render()`: `Page.render`), on `self` `Self.method`: what the call may
            # bind is that type's method, never another type's so named (zola's
            # `tera.render(…)`, tera's Tera, had bound its own `ShortCode::render`).
            # With its argument count (`.paint(1)`): Rust has no overloading, so a call
            # whose count differs from a method's parameters is not that method (eza's
            # `colours.no_repo().paint("-")`, ansiterm's Style::paint, had bound its own
            # `FileName::paint(&self)`).
            typed = self._receiver_types(captures)
            arguments = sorted((n.start_byte, n) for n in captures.get("method_args", ()))
            argument_starts = [at for at, _ in arguments]
            for node in captures.get("method", ()):
                written = typed.get(node.start_byte, "")
                # Its arguments the nearest after it: only trivia lie between.
                k = bisect.bisect_left(argument_starts, node.end_byte)
                count = _argument_count(src, arguments[k][1]) if k < len(arguments) else 0
                refs.append((node.start_byte, f"{written}.{_text(src, node)}({count})"))
            # Only outermost paths (`a::b::c`, not also `a::b`), and not inside `use` items,
            # whose paths are recorded separately.
            inner = {node.id for node in captures.get("inner_path", ())}
            # A macro named by its path (`a::hello!(…)`, `$crate::log!`) is a macro's: its
            # own namespace, as a bare `hello!` is (pest's tests call `pest::parses_to!`).
            macros = {node.id for node in captures.get("scoped_macro", ())}
            for node in captures.get("path", ()):
                if node.id not in inner:
                    refs.append((node.start_byte, _squash(_text(src, node))
                                 + "!" * (node.id in macros)))
            # A glob `use` inside a body (a module's own `use` items record their paths
            # apart), as `Error::*`: the function depends on what it names, and its bare
            # names may be what the glob brings in (symbols.with_local_globs).
            for node in captures.get("glob", ()):
                refs.append((node.start_byte, _squash(_text(src, node))))
            # A named `use` inside a body, as `use a::b` (`use a::b as c`): the function
            # depends on what it names, and the name shadows the module's (nom's tests:
            # `fn take_while() { use crate::bytes::streaming::take_while; … }` had bound
            # the calls to the test function itself, or to `complete::` where the body
            # imported `streaming::`; symbols.with_local_globs).
            for node in captures.get("body_use", ()):
                pairs: list[tuple[str, str]] = []
                _expand_use(node, src, "", pairs)
                for path, alias in pairs:
                    if path.endswith("*"):  # a glob inside a list: as a glob `use`
                        refs.append((node.start_byte, path))
                    elif alias and alias != "_":
                        refs.append((node.start_byte, f"use {path}" if path.endswith(
                            f"::{alias}") or path == alias else f"use {path} as {alias}"))
            lifetimes.extend((n.start_byte, _text(src, n)) for n in captures.get("lifetime", ()))
            consts = list(_CONST_NAME.finditer(src, start, end))
            if consts:
                refs.extend(_const_refs(src, consts, self._captures(
                    _text_query(), start, end).get("text", ())))
        refs.sort()
        lifetimes.sort()
        self.ref_pos = [pos for pos, _ in refs]
        self.ref_names = [name for _, name in refs]
        self.lt_pos = [pos for pos, _ in lifetimes]
        self.lt_names = [name for _, name in lifetimes]

    def _captures(self, query: Query, start: int, end: int) -> dict[str, list[Node]]:
        """The query's captures between `start` and `end`: in the file's tree, and in the
        trees of the macro bodies that overlap the range (where the file's tree holds only
        tokens)."""
        cursor = QueryCursor(query)
        cursor.set_byte_range(start, end)
        captures = cursor.captures(self.root)
        # Appended out of position order: every reader sorts what it takes.
        for root in self.sub_roots:
            if root.start_byte < end and root.end_byte > start:
                cursor = QueryCursor(query)
                cursor.set_byte_range(start, end)
                for name, nodes in cursor.captures(root).items():
                    captures.setdefault(name, []).extend(nodes)
        return captures

    def _macro_bodies(self, node: Node) -> list[tuple[Node, str | None]]:
        """The item lists an item-level macro invocation holds, each parsed on its own: its
        body (`cfg_net! { pub mod net; … }`, `pin_project! { struct … }`) where that parses
        as items and nothing else, else the branches of a `cfg_if!` or `cfg_select!`.
        tree-sitter leaves a macro's body as tokens, which held 14% of mio's items (its
        `cfg_*!` blocks) and hid its modules' `mod` declarations from the module graph.
        Each with the `#[cfg(…)]` its branch holds under (None: a plain body)."""
        body = node.named_children[-1] if node.named_children else None
        if body is None or body.type != "token_tree":
            return []
        found = self._items_parse(body)
        if found is not None:
            return [(found, None)]
        name = node.child_by_field_name("macro")
        if name is None or not _text(self.src, name).endswith(_BRANCHING_MACROS):
            return []
        # `cfg_if! { if #[cfg(unix)] { … } else if #[cfg(windows)] { … } else { … } }`,
        # `cfg_select! { unix => { … } _ => { … } }`: each branch's braces, under its own
        # predicate and none of the earlier ones' (curve25519-dalek's `if #[cfg(
        # target_pointer_width = "64")] { type FieldElement = …u64… } else { …u32… }`: both
        # had been unconditioned twins, and the later, 32-bit one shown: 44 samples).
        src = self.src
        branches: list[tuple[Node, str | None]] = []
        earlier: list[str] = []
        predicate: str | None = None  # the one read for the next branch
        words: list[bytes] = []  # cfg_select's tokens before `=>`
        for token in body.children[1:-1]:
            text = src[token.start_byte:token.end_byte]
            if token.type == "token_tree" and text.startswith(b"{"):
                if predicate is None and words and words != [b"_"]:
                    predicate = _squash(b" ".join(words).decode("utf-8", "replace"))
                    if predicate.startswith("cfg (") and predicate.endswith(")"):
                        predicate = predicate[5:-1].strip()  # cfg_match!'s `cfg(unix) =>`
                before = f"not(any({', '.join(earlier)}))" if earlier else None
                if predicate is None:  # `else`, `_ =>`
                    cfg = before
                else:
                    cfg = f"all({predicate}, {before})" if before else predicate
                    earlier.append(predicate)
                found = self._items_parse(token)
                if found is not None:
                    branches.append((found, f"#[cfg({cfg})]" if cfg else None))
                predicate, words = None, []
            elif token.type == "token_tree" and text.startswith(b"[") and (
                    attribute := _squash(text[1:-1].decode("utf-8", "replace"))
                    ).startswith("cfg("):
                predicate = attribute[4:-1].strip()
            elif token.type == "=>" or text in (b"if", b"else", b"#", b","):
                continue
            else:
                words.append(text)
        return branches

    def _macro_definitions(self, node: Node
                           ) -> list[tuple[str, str, str, str, list[str], list[str]]]:
        """The types and traits an item-level macro invocation whose body is not items
        defines, as its body writes them: `bitflags! { pub struct Flags: u32 { … } }`,
        rustls's `enum_builder! { pub struct AlertLevel(pub u8); enum AlertLevelName { … }
        }`, petgraph's `trait_template! { pub trait GraphBase { … } }`. Each is (kind, name,
        signature, visibility, doc lines, attributes): a `struct`, `enum`, `union` or
        `trait` keyword and a name that begin an item there, at the body's start or after
        an item's end (`;` or a `{ … }`), behind doc comments, attributes and a
        visibility. Other words do not (`forward_to_deserialize_any! { … map struct enum
        identifier }`, syn's `define_keywords! { "as" pub struct As }`). Their uses had no
        definition to show: a quarter of rustls's function samples name such an enum."""
        body = node.named_children[-1] if node.named_children else None
        if body is None or body.type != "token_tree" or \
                _DEFINING_WORD.search(self.src, body.start_byte, body.end_byte) is None:
            return []
        src = self.src
        tokens = body.children[1:-1]  # less the delimiters
        found: list[tuple[str, str, str, str, list[str], list[str]]] = []
        docs: list[str] = []
        attrs: list[str] = []
        visibility, head_at = "", -1  # head_at: where `pub` or `unsafe` begins the item
        begins = True  # whether an item may begin at this token
        i = 0
        while i < len(tokens):
            token = tokens[i]
            word = src[token.start_byte:token.end_byte]
            if token.type in ("line_comment", "block_comment"):
                if begins and _is_outer_doc(token, src):
                    docs.append(_doc_line(token, src))
                i += 1
                continue
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if begins and word == b"#" and nxt is not None and nxt.type == "token_tree":
                attrs.append(_squash("#" + _text(src, nxt)))
                i += 2
                continue
            if begins and word == b"pub" and not visibility:
                visibility, head_at = "pub", token.start_byte
                if nxt is not None and nxt.type == "token_tree" and \
                        src[nxt.start_byte:nxt.start_byte + 1] == b"(":
                    visibility += _squash(_text(src, nxt))
                    i += 1
                i += 1
                continue
            if begins and word == b"unsafe" and nxt is not None and \
                    src[nxt.start_byte:nxt.end_byte] == b"trait":  # `pub unsafe trait`
                head_at = token.start_byte if head_at < 0 else head_at
                i += 1
                continue
            kind = _DEFINING_WORDS.get(word) if begins else None
            if kind is not None and nxt is not None and nxt.type == "identifier":
                start = head_at if head_at >= 0 else token.start_byte
                j = i + 2  # to its end: a `;`, or its body's `{ … }` (left out of the signature)
                while j < len(tokens) and not (tokens[j].type == ";" or (
                        tokens[j].type == "token_tree"
                        and src[tokens[j].start_byte:tokens[j].start_byte + 1] == b"{")):
                    j += 1
                end = tokens[j].start_byte if j < len(tokens) else tokens[-1].end_byte
                if any(tokens[k].type == "=>" for k in range(i + 2, j)):
                    # A DSL's, not Rust's: minijinja's `type_erase! { pub trait Object =>
                    # DynObject { … } }` had become a second `trait Object`, and packs
                    # showed it for the real trait (155 samples).
                    i = j + 1
                    docs, attrs, visibility, head_at = [], [], "", -1
                    begins = True
                    continue
                found.append((kind, _text(src, nxt),
                              _squash(src[start:end].decode("utf-8", "replace")), visibility,
                              docs, attrs))
                i = j + 1
            else:
                i += 1
                begins = word == b";" or (token.type == "token_tree"
                                          and src[token.start_byte:token.start_byte + 1] == b"{")
                if not begins:
                    docs, attrs, visibility, head_at = [], [], "", -1
                continue
            docs, attrs, visibility, head_at = [], [], "", -1
            begins = True
        return found

    def _made_stub(self, node: Node, module: str, outer: _Stub | None, kind: str, name: str,
                   signature: str, visibility: str, docs: list[str], attrs: list[str]
                   ) -> _Stub:
        """The stub of a definition a macro invocation makes (_macro_definitions): its text
        is the invocation's, with the attributes and doc comments before it."""
        start_byte, start_line, _, outer_attrs = _leading_trivia(node, self.src)
        qual = _join(module, name)
        digest = hashlib.blake2b(self.src[start_byte:node.end_byte], digest_size=10)
        digest.update("".join(self.branch_cfgs).encode())
        return _Stub(node, kind, module, None, outer, name, self._key(kind, qual), qual,
                     start_byte, start_line, docs, [*outer_attrs, *attrs, *self.branch_cfgs],
                     "", "", digest.hexdigest(), [], (signature, visibility))

    def _items_parse(self, tokens: Node) -> Node | None:
        """The root of the parse of a token tree's inside (less its delimiters) on its own,
        where that is items (with their attributes and comments) and nothing else, without
        errors; positions stay the file's (tree-sitter's included ranges)."""
        start, end = tokens.start_byte + 1, tokens.end_byte - 1
        if end - start < 4 or _ITEM_WORD.search(self.parsed_src, start, end) is None:
            return None
        if self.sub_parser is None:
            self.sub_parser = new_parser()
            self.line_starts = [0, *(m.end() for m in re.finditer(b"\n", self.parsed_src))]
        self.sub_parser.included_ranges = [
            Range(self._point(start), self._point(end), start, end)]
        tree = self.sub_parser.parse(self.parsed_src)
        root = tree.root_node
        kinds = _node_kinds_by_id()
        macro = _macro_invocation_id()
        # Items, or a macro invocation that may hold them (tokio's `cfg_unstable_metrics! {
        # cfg_64bit_metrics! { fn … } }`), beside attributes, comments and macro statements
        # (`compile_error!("…");` after `cfg_loom!`'s `mod` declarations).
        if root.has_error or not any(child.kind_id in kinds or child.kind_id == macro
                                     for child in root.named_children) \
                or any(child.kind_id not in kinds and child.type not in _BESIDE_ITEMS
                       and not _macro_statement(child) for child in root.named_children):
            return None
        self.sub_roots.append(root)
        return root

    def _point(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.line_starts, offset) - 1
        return row, offset - self.line_starts[row]

    def _receiver_types(self, captures: dict[str, list[Node]]) -> dict[int, str]:
        """The written type of the receiver of each method call on a plain name or `self`
        among the `captures` of a span that has one, by the method name's position; of a
        call on a field of one (`self.io.flush()`), that type and the field's name
        (`Self.io`)."""
        src = self.src
        found: dict[int, str] = {}
        extents: list[_Extents] = []

        def functions() -> _Extents:
            if not extents:
                extents.append(_Extents(captures.get("function", ())))
            return extents[0]

        # (method at, receiver at, its name, the field called on or "")
        calls: list[tuple[int, int, bytes, str]] = []
        for receiver, method, field_name in (("receiver", "receiver_method", ""),
                                             ("field_owner", "field_method", "owner_field")):
            receivers = sorted((n.start_byte, src[n.start_byte:n.end_byte])
                               for n in captures.get(receiver, ()))
            if not receivers:
                continue
            starts = [start for start, _ in receivers]
            fields = sorted((n.start_byte, _text(src, n))
                            for n in captures.get(field_name, ())) if field_name else []
            field_starts = [start for start, _ in fields]
            for node in captures.get(method, ()):
                # Its receiver (and field) the nearest before it: only `.` and trivia lie
                # between.
                at = before = node.start_byte
                field = ""
                if field_name:
                    j = bisect.bisect_left(field_starts, at) - 1
                    if j < 0:
                        continue
                    before, field = fields[j]
                    field = "." + field
                k = bisect.bisect_left(starts, before) - 1
                if k < 0:
                    continue
                start, name = receivers[k]
                if name == b"self":
                    # Not in a function nested in another: there `self` is a local impl
                    # block's, which the item's type does not say.
                    inside = functions().innermost(start)
                    if inside >= 0 and not functions().nested(inside):
                        found[at] = "Self" + field
                else:
                    calls.append((at, start, name, field))
        if calls:
            bound = _Receivers(src, captures, {name for _, _, name, _ in calls}, functions())
            for at, start, name, field in calls:
                written = bound.type_at(name, start)
                if written:
                    found[at] = written + field
        return found

    def _in_span(self, pos: list[int], names: list[str], start: int, end: int) -> tuple[str, ...]:
        lo = bisect.bisect_left(pos, start)
        hi = bisect.bisect_left(pos, end)
        return tuple(dict.fromkeys(names[lo:hi]))  # unique, first-seen order

    def _key(self, kind: str, qual: str) -> str:
        key = f"{kind}:{qual}"
        seen = self.keys.get(key, 0)
        self.keys[key] = seen + 1
        return key if seen == 0 else f"{key}#{seen + 1}"

    def walk_top(self, root: Node, untouched: _Untouched | None) -> None:
        """The file's top level: untouched item nodes (outside every edited or re-structured
        range) take their items from the previous parse, shifted; the rest are walked."""
        self.untouched = untouched
        self.walk(root, "", None, None, top=True)

    def _carry_run(self, children: list[Node], i: int, region_start: int, module: str,
                   parent: _Stub | None) -> tuple[int, int]:
        """Carry over the untouched item nodes from children[i] on, as many in a row as
        there are: (the index after the last one carried, its end byte), or (i,
        region_start) when children[i] cannot be. A node is untouched when no edited or
        re-structured range touches it or the doc comments and attributes before it (its
        region, from the end of the item before); its items, and those nested in it, are
        then those of the previous parse at the same place, shifted. A run takes their
        items and groups in one step: a generated file of thousands of items that one
        commit touches in a few places (ash's vk/extensions.rs: 3,700 items a version) no
        longer costs a carry-over per item."""
        untouched = self.untouched
        assert untouched is not None
        if parent is not None and not self._same_parent_generics(parent):
            return i, region_start  # its members' references change with them
        # Nodes that end before the next dirty range after region_start are untouched (the
        # ranges are merged and sorted); up to the next edit's end the shift stays the same.
        k = bisect.bisect_left(untouched.dirty_ends, region_start)
        limit = untouched.dirty_starts[k] if k < len(untouched.dirty_starts) else _NO_LIMIT
        first_node = children[i]
        m = bisect.bisect_right(untouched.edit_ends, first_node.start_byte)
        if m < len(untouched.edit_ends):
            limit = min(limit, untouched.edit_ends[m])
        dbytes, dlines = untouched.shifts[m]
        groups, group_list, items = untouched.groups, untouched.group_list, untouched.items
        kinds = _node_kinds_by_id()
        parent_key = parent.key if parent else ""
        positions: list[int] = []
        old_first = old_end = -1  # the run's items: old items[old_first:old_end]
        end, run_end = i, region_start
        macro_id = _macro_invocation_id()
        # Item-less invocations passed over, and how many of them lie inside the run: a
        # block's own references take theirs (_ref_spans), as where the walk meets them.
        passed: list[tuple[int, int]] = []
        inside = 0
        for j in range(i, len(children)):
            node = children[j]
            macro = node.kind_id == macro_id
            if node.kind_id not in kinds and not macro:
                continue  # not an item: inside the next item's region
            if node.end_byte >= limit:
                break
            position = groups.get(node.start_byte - dbytes)
            if position is None:
                if macro:  # it held no items, nor does it now (the same text)
                    passed.append((node.start_byte, node.end_byte))
                    continue
                break
            _, group_first, group_end = group_list[position]
            # Its items follow the run's so far, and sit in the same container (same module
            # and parent key: their keys are derived from them).
            if group_first >= group_end or (old_end >= 0 and group_first != old_end):
                break
            first_old = items[group_first]
            if first_old.module != module or first_old.parent != parent_key:
                break
            if old_first < 0:
                old_first = group_first
            old_end = group_end
            positions.append(position)
            end, run_end = j + 1, node.end_byte
            inside = len(passed)
        if not positions:
            return i, region_start
        if parent is not None:
            parent.macro_spans.extend(passed[:inside])
        # The nodes' nested groups (post-order: each one's run just before its own) come
        # along, so the result equals a fresh parse's, groups included. A macro invocation's
        # has no entry of its own: its first item's group starts where its own does.
        nested = positions[0]
        while nested > 0 and group_list[nested - 1][1] >= old_first:
            nested -= 1
        index_shift = len(self.entries) - old_first
        run_groups = group_list[nested:positions[-1] + 1]
        if dbytes or index_shift:
            run_groups = [(start + dbytes, first + index_shift, last + index_shift)
                          for start, first, last in run_groups]
        self.groups.extend(run_groups)
        keys = self.keys
        carried = items[old_first:old_end]
        # Keys as a fresh parse gives them, in the same order: the n-th item of a kind and
        # name has the ordinal #n, which shifts when such an item is added or removed before
        # it (a carried item then takes its new key; its members, their new parent key).
        rekeyed: dict[str, str] = {}
        check_ordinals = not untouched.unique_keys
        for old in carried:
            base, ordinal = old.key, 1
            if check_ordinals and "#" in base:
                head, _, suffix = base.rpartition("#")
                if head and suffix.isdigit():
                    base, ordinal = head, int(suffix)
            seen = keys.get(base, 0) + 1
            keys[base] = seen
            if seen != ordinal:
                rekeyed[old.key] = base if seen == 1 else f"{base}#{seen}"
        if rekeyed:  # not the same items: compared one by one
            self.entries.extend([self._rekey(old, rekeyed, dbytes, dlines) for old in carried])
            return end, run_end
        self.carried_runs.append((len(self.entries), old_first, old_end, dbytes, dlines))
        if dbytes or dlines:
            self.entries.extend([old.moved(old.start_byte + dbytes, old.end_byte + dbytes,
                                           old.start_line + dlines, old.end_line + dlines)
                                 for old in carried])
        else:
            self.entries.extend(carried)
        return end, run_end

    def _rekey(self, old: Item, rekeyed: dict[str, str], dbytes: int, dlines: int) -> Item:
        """A carried item, moved, under the keys that changed (its own, its parent's)."""
        item = old.moved(old.start_byte + dbytes, old.end_byte + dbytes,
                         old.start_line + dlines, old.end_line + dlines)
        key = rekeyed.get(old.key, old.key)
        parent = rekeyed.get(old.parent, old.parent)
        if key == old.key and parent == old.parent:
            return item
        if key != old.key:
            self.old_keys[key] = old.key  # its `use` paths are filed under the old key
        return replace(item, key=key, parent=parent)

    def walk(self, container: Node, module: str, parent: _Stub | None,
             outer: _Stub | None, top: bool = False) -> None:
        """Items of a container (the file, or an impl/trait/mod body). Untouched item nodes
        (outside every edited or re-structured range) take their items from the previous
        parse, shifted; the rest are walked. Inside a large impl whose one method changed,
        only that method is analysed again."""
        untouched = self.untouched
        # The root may start after leading trivia; its first region still starts at byte 0.
        # (`top` rather than asking for the container's parent, which walks from the root.)
        region_start = 0 if top else container.start_byte
        kinds = _node_kinds_by_id()
        macro_id = _macro_invocation_id()
        children = container.named_children
        i = 0
        while i < len(children):
            node = children[i]
            kind = kinds.get(node.kind_id)  # by symbol id: no type string made per node
            macro = kind is None and node.kind_id == macro_id
            if kind is None and not macro:
                # Not an item (trivia, ERROR nodes, stray `;`): it stays inside the region of
                # the next item, so an edit here keeps that item from being carried over.
                i += 1
                continue
            if untouched is not None:
                after, run_end = self._carry_run(children, i, region_start, module, parent)
                if after > i:
                    i, region_start = after, run_end
                    continue
            first = len(self.entries)
            if macro:
                # The items a macro invocation holds (_macro_bodies), walked afresh inside
                # it; carried whole where the invocation is untouched, as an item is. One
                # that holds none stays inside the next item's region, as trivia does; an
                # untouched one that held none before holds none now (the same text): not
                # parsed again (an 80 KB table macro took 0.075 s a version).
                if untouched is not None and untouched.clean(node.start_byte, node.end_byte) \
                        and node.start_byte - untouched.shift(node.start_byte)[0] \
                        not in untouched.groups:
                    if parent is not None:
                        parent.macro_spans.append((node.start_byte, node.end_byte))
                    i += 1
                    continue
                if self.macro_depth < MAX_MACRO_DEPTH:
                    bodies = self._macro_bodies(node)
                    if bodies:
                        self.macro_depth += 1
                        untouched, self.untouched = self.untouched, None
                        for body, cfg in bodies:
                            if cfg is not None:
                                self.branch_cfgs.append(cfg)
                            self.walk(body, module, parent, outer)
                            if cfg is not None:
                                self.branch_cfgs.pop()
                        self.untouched = untouched
                        self.macro_depth -= 1
                    elif parent is None:
                        for made in self._macro_definitions(node):
                            self.stub_at.append(len(self.entries))
                            self.entries.append(self._made_stub(node, module, outer, *made))
                if len(self.entries) > first:
                    self.groups.append((node.start_byte, first, len(self.entries)))
                    region_start = node.end_byte
                elif parent is not None:
                    parent.macro_spans.append((node.start_byte, node.end_byte))
                i += 1
                continue
            assert kind is not None
            self._walk_node(node, kind, module, parent, outer)
            self.groups.append((node.start_byte, first, len(self.entries)))
            region_start = node.end_byte
            i += 1

    def _walk_node(self, node: Node, kind: str, module: str, parent: _Stub | None,
                   outer: _Stub | None) -> None:
        if kind == "function" and parent is not None:
            kind = "method"
        elif kind == "type_alias" and parent is not None:
            kind = "associated_type"
        stub = self._stub(node, kind, module, parent, outer)
        self.stub_at.append(len(self.entries))
        self.entries.append(stub)
        body = node.child_by_field_name("body")
        if kind in ("impl", "trait") and body is not None:
            self.walk(body, module, stub, outer or stub)
        elif kind == "mod" and body is not None:
            self.walk(body, _join(module, stub.name), None, outer or stub)

    def _stub(self, node: Node, kind: str, module: str, parent: _Stub | None,
              outer: _Stub | None) -> _Stub:
        src = self.src
        start_byte, start_line, docs, attrs = _leading_trivia(node, src)
        self_type = trait_name = ""
        use_pairs: list[tuple[str, str]] = []
        if kind == "impl":
            type_node = node.child_by_field_name("type")
            trait_node = node.child_by_field_name("trait")
            self_type = _simple_type_name(type_node, src)
            trait_name = _simple_type_name(trait_node, src) if trait_node is not None else ""
            type_text = _squash(_text(src, type_node))
            name = (f"impl {_squash(_text(src, trait_node))} for {type_text}"
                    if trait_node is not None else f"impl {type_text}")
        elif kind == "use":
            argument = node.child_by_field_name("argument")
            _expand_use(argument, src, "", use_pairs)
            name = _squash(_text(src, argument))
        else:
            name = _text(src, node.child_by_field_name("name"))
        if parent is not None:
            self_type, trait_name = parent.self_type, parent.trait_name
            if parent.kind == "trait":
                self_type = parent.name
        # A parent's name already holds the module path.
        qual = _join(parent.qual, name) if parent is not None else _join(module, name)
        digest = hashlib.blake2b(src[start_byte : node.end_byte], digest_size=10)
        if self.branch_cfgs:  # a branch's cfg is the item's own; changed, the item changed
            attrs = [*attrs, *self.branch_cfgs]
            digest.update("".join(self.branch_cfgs).encode())
        return _Stub(node, kind, module, parent, outer, name, self._key(kind, qual), qual,
                     start_byte, start_line, docs, attrs, self_type, trait_name,
                     digest.hexdigest(), use_pairs)

    def finish(self) -> tuple[list[Item], list[UsePath]]:
        previous = self.previous
        entries = self.entries
        reusable: dict[int, Item] = {}
        changed: list[_Stub] = []
        for i in self.stub_at:
            entry = cast(_Stub, entries[i])
            old = previous.get(entry.key) if previous is not None else None
            if old is not None and old.digest == entry.digest and old.parent == (
                    entry.parent.key if entry.parent is not None else "") and (
                    entry.parent is None or self._same_parent_generics(entry.parent)):
                reusable[i] = old
            else:
                changed.append(entry)
        if changed:
            if previous is None:
                self._collect_refs([(self.root.start_byte, self.root.end_byte)])
            else:
                self._collect_refs(_merge_spans(sorted({span for s in changed
                                                        for span in _ref_spans(s)})))
        items: list[Item] = []
        uses: list[UsePath] = []
        previous_uses, old_keys = self.previous_uses, self.old_keys
        at = 0
        for i in [*self.stub_at, len(entries)]:
            if at < i:  # items carried over whole, in a row
                run = cast(list[Item], entries[at:i])
                items.extend(run)
                for carried in run if previous_uses else ():
                    old_key = old_keys.get(carried.key) if old_keys else None
                    if old_key is None:
                        uses.extend(previous_uses.get(carried.key, ()))
                    else:
                        uses.extend(UsePath(u.module, u.path, u.alias, carried.key)
                                    for u in previous_uses.get(old_key, ()))
            if i == len(entries):
                break
            at = i + 1
            entry = cast(_Stub, entries[i])
            old = reusable.get(i)
            if old is None:
                items.append(self._item(entry))
                uses.extend(UsePath(entry.module, path, alias, entry.key)
                            for path, alias in entry.use_pairs)
                continue
            node = entry.node
            items.append(old.moved(entry.start_byte, node.end_byte, entry.start_line + 1,
                                   node.end_point[0] + 1))
            uses.extend(previous_uses.get(entry.key, ()))
        return items, uses

    def _same_parent_generics(self, parent: _Stub) -> bool:
        """Whether a member's block has the generics it had in the previous parse: its
        references leave out the block's generic parameters (`impl<T> Tr for S` that
        becomes `impl Tr for S`, same key, makes a member's `T` a type again)."""
        assert self.previous is not None
        old = self.previous.get(parent.key)
        return old is not None and old.generics == _squash(
            _text(self.src, parent.node.child_by_field_name("type_parameters")))

    def _item(self, stub: _Stub) -> Item:
        src = self.src
        node, kind, name = stub.node, stub.kind, stub.name
        # The signature is everything before the body (or before a const's value).
        cut = node.child_by_field_name("body") or node.child_by_field_name("value")
        sig_end = cut.start_byte if cut is not None else node.end_byte
        signature = _squash(src[node.start_byte : sig_end].decode("utf-8", "replace"))
        signature = signature.removesuffix("=").rstrip()
        where = next((c for c in node.children if c.type == "where_clause"), None)
        visibility = _squash(_text(src, next(
            (c for c in node.children if c.type == "visibility_modifier"), None)))
        if stub.made is not None:  # a macro's: the node is the invocation
            signature, visibility = stub.made
        if kind == "use":
            references: tuple[str, ...] = tuple(path for path, _ in stub.use_pairs)
        else:
            # Less the item's own name (a recursive call, a type holding itself), but for a
            # method: a bare `name(…)` in one is the free function so named, which itertools'
            # `Itertools::interleave` and url's `Serializer::append_pair` delegate to.
            own = name if kind != "method" else None
            references = tuple(
                r for start, end in _ref_spans(stub)
                for r in self._in_span(self.ref_pos, self.ref_names, start, end) if r != own)
            generic = _generic_params(node, src)
            if stub.parent is not None:
                generic |= _generic_params(stub.parent.node, src)
            if generic:
                references = _without_generics(references, generic)
        return Item(
            kind=kind,
            name=name,
            key=stub.key,
            module=stub.module,
            parent=stub.parent.key if stub.parent is not None else "",
            start_byte=stub.start_byte,
            end_byte=node.end_byte,
            start_line=stub.start_line + 1,
            end_line=node.end_point[0] + 1,
            signature=signature,
            generics=_squash(_text(src, node.child_by_field_name("type_parameters"))),
            trait_bounds=tuple(_bounds(node, src)),
            where_clause=_squash(_text(src, where)),
            lifetimes=self._in_span(self.lt_pos, self.lt_names, node.start_byte, sig_end),
            references=references,
            doc="\n".join(stub.docs),
            attributes=tuple(stub.attrs),
            visibility=visibility,
            self_type=stub.self_type,
            trait_name=stub.trait_name,
            has_error=node.has_error,
            digest=stub.digest,
            symbol=_symbol_of(kind, stub.module, name, stub.self_type, stub.parent),
            fields=_field_types(node, src) if kind == "struct" else (),
        )


# The receiver type a method call on a value of a generic parameter's type is written with
# (`fn f<T: Tr>(t: T) { t.go() }`: `*.go`): any type, whose methods are its bounds'.
GENERIC_RECEIVER = "*"


def _generic_params(node: Node, src: bytes) -> set[str]:
    """The names of an item's own type and const parameters (`<'a, T: Clone, const N:
    usize>` -> {T, N})."""
    params = node.child_by_field_name("type_parameters")
    if params is None:
        return set()
    return {_text(src, name) for param in params.named_children
            if param.type != "lifetime_parameter"
            and (name := param.child_by_field_name("name")) is not None}


def _argument_count(src: bytes, arguments: Node) -> int:
    """The expressions a call's `(…)` holds, comments and attributes apart (alacritty's
    `handle_event(#[cfg(target_os = "macos")] event_loop, …)`)."""
    count = arguments.named_child_count
    if count:
        text = src[arguments.start_byte:arguments.end_byte]
        if b"//" in text or b"/*" in text or b"#" in text:
            count = sum(1 for child in arguments.named_children
                        if child.type not in _NOT_ARGUMENTS)
    return count


_NOT_ARGUMENTS = frozenset({"line_comment", "block_comment", "attribute_item"})


@lru_cache(maxsize=1 << 14)  # the walk asks for every version of every method
def parameter_count(signature: str) -> int | None:
    """The parameters a method's signature takes after its receiver (`fn paint(&self, s:
    &str)`: 1), or None where it cannot be read (a macro's `$name` in it)."""
    found = _FN_NAME.search(signature)
    if found is None or "$" in signature:
        return None
    plain = _PLAIN_PARAMETERS.match(signature, found.end())
    if plain is not None:  # no brackets inside: the commas separate the parameters
        return max(len([p for p in plain[1].split(",") if p.strip()]) - 1, 0)
    depth, at, segments, filled = 0, found.end(), 0, False
    # Past the generics `<…>` to the parameter list's `(`.
    while at < len(signature) and (depth or signature[at] != "("):
        char = signature[at]
        if char in "<([{":
            depth += 1
        elif char in ">)]}" and signature[at - 1] != "-":
            depth -= 1
        at += 1
    depth = 0
    for char, before in zip(signature[at + 1:], signature[at:], strict=False):
        if char in "<([{":
            depth += 1
        elif char in ">)]}" and before != "-":
            if depth == 0:  # the list's closing `)`
                return max(segments + filled - 1, 0)
            depth -= 1
        elif char == "," and depth == 0:
            segments, filled = segments + filled, False
            continue
        if not char.isspace():
            filled = True
    return None


_FN_NAME = re.compile(r"\bfn\s+(?:r#)?\w+")
_PLAIN_PARAMETERS = re.compile(r"\s*\(([^()<>\[\]{}]*)\)")


def _without_generics(references: tuple[str, ...], generic: set[str]) -> tuple[str, ...]:
    """References less the item's (and its block's) generic parameters: a parameter `T`
    named nothing of the crate, though serde's `struct T` (`crate::actually_private::T`)
    had become a dependency of 130 of its samples with a `<T>`. Nor does a path from one
    (`T::Value`, `T::default`); a method call on a value of one is on GENERIC_RECEIVER, on
    a field of one on any receiver (`.name`)."""
    kept: list[str] = []
    for ref in references:
        if "." in ref:
            written, _, method = ref.rpartition(".")
            owner, field_dot, _ = written.partition(".")
            if owner in generic:
                ref = f".{method}" if field_dot else f"{GENERIC_RECEIVER}.{method}"
        elif ref.partition("::")[0] in generic:
            continue
        kept.append(ref)
    return tuple(dict.fromkeys(kept))


def _field_types(node: Node, src: bytes) -> tuple[tuple[str, str], ...]:
    """A struct's named fields with the types their methods are looked up in (none for a
    tuple or unit struct)."""
    body = node.child_by_field_name("body")
    if body is None or body.type != "field_declaration_list":
        return ()
    found = []
    for declaration in body.named_children:
        name = declaration.child_by_field_name("name")
        written = declaration.child_by_field_name("type")
        if declaration.type == "field_declaration" and name is not None and written is not None:
            path = _receiver_type(written, src)
            if path:
                found.append((_text(src, name), path))
    return tuple(found)


def _error_spans(root: Node, untouched: _Untouched | None,
                 previous: ParsedFile | None) -> list[tuple[int, int, int]]:
    """`ParsedFile.error_spans` of a tree: a top-level node outside every edited or
    re-structured range keeps its previous count (same size, same position but for the
    shift), the others are counted."""
    if not root.has_error:
        return []
    known: dict[int, tuple[int, int]] = {}
    if untouched is not None and previous is not None:
        known = {start: (end, count) for start, end, count in previous.error_spans}
    spans: list[tuple[int, int, int]] = []
    for node in root.children:
        if not node.has_error:
            continue
        start, end = node.start_byte, node.end_byte
        count = -1
        if known and untouched is not None and untouched.clean(start, end):
            dbytes = untouched.shift(start)[0]
            old = known.get(start - dbytes)
            if old is not None and old[0] == end - dbytes:
                count = old[1]
        if count < 0:
            count = _count_errors(node)
        spans.append((start, end, count))
    return spans


def _count_errors(root: Node) -> int:
    if not root.has_error:
        return 0
    count = 0
    cursor = root.walk()
    # Iterative pre-order walk that only descends into subtrees that contain errors.
    while True:
        node = cursor.node
        assert node is not None
        if node.is_error or node.is_missing:
            count += 1
        if node.has_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return count


def _point(src: bytes, offset: int) -> tuple[int, int]:
    row = src.count(b"\n", 0, offset)
    return row, offset - (src.rfind(b"\n", 0, offset) + 1)


def _common_run(a: bytes, a_start: int, b: bytes, b_start: int, limit: int) -> int:
    """Length of the common prefix of a[a_start:] and b[b_start:], at most limit: blocks
    compared in C, and within the first unequal block the first differing byte is the lowest
    set bit of the XOR of the blocks read as little-endian integers."""
    same = 0
    while same < limit:
        span = min(4096, limit - same)
        x = a[a_start + same : a_start + same + span]
        y = b[b_start + same : b_start + same + span]
        if x != y:
            diff = int.from_bytes(x, "little") ^ int.from_bytes(y, "little")
            return same + (((diff & -diff).bit_length() - 1) >> 3)
        same += span
    return same


def _common_tail(a: bytes, a_end: int, b: bytes, b_end: int, limit: int) -> int:
    """Length of the common suffix of a[:a_end] and b[:b_end], at most limit (as _common_run,
    backwards: big-endian, so the lowest set bit is the last differing byte)."""
    same = 0
    while same < limit:
        span = min(4096, limit - same)
        x = a[a_end - same - span : a_end - same]
        y = b[b_end - same - span : b_end - same]
        if x != y:
            diff = int.from_bytes(x, "big") ^ int.from_bytes(y, "big")
            return same + (((diff & -diff).bit_length() - 1) >> 3)
        same += span
    return same


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common prefix, at most limit."""
    return _common_run(a, 0, b, 0, limit)


@dataclass(slots=True)
class _Untouched:
    """Where the new version differs from the previous one, for carrying items over."""

    dirty_starts: list[int]  # new-version byte ranges edited or re-structured: merged,
    dirty_ends: list[int]  # sorted, inclusive ends
    edit_ends: list[int]  # new-version end of each edit, ascending
    shifts: list[tuple[int, int]]  # (bytes, lines) added by the first k edits, k = 0..n
    group_list: list[tuple[int, int, int]]  # the previous parse's groups (post-order)
    groups: dict[int, int]  # old node start -> its index in group_list
    items: list[Item]
    unique_keys: bool  # no key of the previous parse has an ordinal (`#2`)

    def clean(self, start: int, end: int) -> bool:
        # Touching counts: a node that now ends exactly where the edit starts may have been
        # cut short by it.
        k = bisect.bisect_left(self.dirty_ends, start)
        return k == len(self.dirty_ends) or self.dirty_starts[k] > end

    def shift(self, new_start: int) -> tuple[int, int]:
        """(bytes, lines) to subtract from a clean new-version position to find it in the
        previous version: the sum over the edits that end at or before it."""
        return self.shifts[bisect.bisect_right(self.edit_ends, new_start)]


_NO_LIMIT = 1 << 62  # beyond any byte offset


@dataclass(frozen=True, slots=True)
class _Hunk:
    """One edit: bytes [old_start, old_end) of the old version became [new_start, new_end) of
    the new one; rows and columns as tree-sitter's edit wants them."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _single_hunk(old: bytes, new: bytes, prefix: int, old_end: int, new_end: int) -> _Hunk:
    return _Hunk(prefix, old_end, prefix, new_end, _point(new, prefix), _point(old, old_end),
                 _point(new, new_end))


# Where, as fractions of an unmatched range of either version, lines are tried as anchors;
# an anchor needs this many non-blank bytes (`}` lines are never unique).
_ANCHOR_AT = (0.5, 0.25, 0.75, 0.125, 0.375, 0.625, 0.875)
ANCHOR_MIN_BYTES = 4
# Equal runs found per file version at most; what is left stays in larger hunks.
MAX_RUNS = 256


def _whole_line_starts(buf: bytes, line: bytes, lo: int, hi: int) -> list[int]:
    """Where `line` (ending in a newline) occurs as a whole line inside buf[lo:hi], lo being a
    line start: the first two occurrences at most."""
    found = [lo] if buf.startswith(line, lo, hi) else []
    needle = b"\n" + line
    at = lo
    while len(found) < 2:
        hit = buf.find(needle, at, hi)
        if hit < 0:
            break
        found.append(hit + 1)
        at = hit + 1
    return found


def _anchor(old: bytes, o_lo: int, o_hi: int, new: bytes, n_lo: int,
            n_hi: int) -> tuple[int, int] | None:
    """A line that occurs exactly once in old[o_lo:o_hi] and once in new[n_lo:n_hi] (both
    ranges whole lines): its start in each. Tried: the first line with some text at the
    middle of the old range, then at its quarters and eighths, then the same in the new one."""
    for buf, lo, hi in ((old, o_lo, o_hi), (new, n_lo, n_hi)):
        tried: set[int] = set()
        for fraction in _ANCHOR_AT:
            start = buf.rfind(b"\n", lo, lo + int((hi - lo) * fraction)) + 1 or lo
            end = buf.find(b"\n", start, hi) + 1
            for _ in range(8):  # skip blank and brace lines
                if end <= 0 or len(buf[start:end].strip()) >= ANCHOR_MIN_BYTES:
                    break
                start, end = end, buf.find(b"\n", end, hi) + 1
            if end <= 0 or start in tried:
                continue
            tried.add(start)
            line = buf[start:end]
            in_old = _whole_line_starts(old, line, o_lo, o_hi)
            if len(in_old) == 1:
                in_new = _whole_line_starts(new, line, n_lo, n_hi)
                if len(in_new) == 1:
                    return in_old[0], in_new[0]
    return None


def _line_hunks(old: bytes, new: bytes, prefix: int, old_end: int, new_end: int,
                min_lines: int = 8) -> list[_Hunk]:
    """Edits that turn old into new, finer than the one edit between the common prefix and
    the common suffix: a line that occurs once in each version's unmatched range anchors a
    run of equal lines (grown both ways by comparing bytes), and the ranges on either side are
    matched the same way (patience diff, with anchors looked up by bytes.find instead of
    counting every line in Python). A commit that touches two functions far apart then
    re-parses two small regions instead of everything between them (on ripgrep's history: 7%
    of a file dirty on average instead of 32%)."""
    def single() -> list[_Hunk]:
        return [_single_hunk(old, new, prefix, old_end, new_end)]

    # Whole lines on both sides (the prefix and suffix are common, so both versions agree).
    line_start = old.rfind(b"\n", 0, prefix) + 1
    newline = old.find(b"\n", old_end)
    if newline < 0:
        return single()
    o_end = newline + 1
    n_end = new_end + (o_end - old_end)
    if old.count(b"\n", line_start, o_end) < min_lines or \
            new.count(b"\n", line_start, n_end) < min_lines:
        return single()
    runs: list[tuple[int, int, int]] = []  # (old start, new start, bytes) of equal lines
    todo = [(line_start, o_end, line_start, n_end)]
    while todo and len(runs) < MAX_RUNS:
        o_lo, o_hi, n_lo, n_hi = todo.pop()
        # A single line on either side has no anchor worth finding (it differs, or the run
        # beside it would have taken it).
        found = _anchor(old, o_lo, o_hi, new, n_lo, n_hi) \
            if old.find(b"\n", o_lo, o_hi) + 1 < o_hi and new.find(b"\n", n_lo, n_hi) + 1 < n_hi \
            else None
        if found is None:
            continue
        oi, nj = found
        # Equal bytes on both sides of the anchor, trimmed to whole lines: the run ends after
        # its last newline and starts after a newline (or at a range start) in both versions.
        ahead = _common_run(old, oi, new, nj, min(o_hi - oi, n_hi - nj))
        back = _common_tail(old, oi, new, nj, min(oi - o_lo, nj - n_lo))
        end = old.rfind(b"\n", oi, oi + ahead) + 1
        start, shift = oi - back, nj - oi
        if not ((start == 0 or old[start - 1] == 10) and
                (start + shift == 0 or new[start + shift - 1] == 10)):
            start = old.find(b"\n", start, oi) + 1
        runs.append((start, start + shift, end - start))
        todo.append((o_lo, start, n_lo, start + shift))
        todo.append((end, o_hi, end + shift, n_hi))
    if not runs:
        return single()
    runs.sort()
    # Hunks start and end at line starts (column 0); rows are those of the old version, as
    # the edits are applied last first.
    row = old.count(b"\n", 0, line_start)  # the old row at po
    hunks: list[_Hunk] = []
    po = pn = line_start
    for ro, rn, length in [*runs, (o_end, n_end, 0)]:
        if ro > po or rn > pn:
            end_row = row + old.count(b"\n", po, ro)
            hunks.append(_Hunk(po, ro, pn, rn, (row, 0), (end_row, 0),
                               (row + new.count(b"\n", pn, rn), 0)))
            row = end_row
        row += old.count(b"\n", ro, ro + length)
        po, pn = ro + length, rn + length
    return hunks or single()


def _edit(old_src: bytes, old_tree: Tree, new_src: bytes, parser: Parser,
          previous: ParsedFile) -> tuple[Tree, _Untouched]:
    """Re-parse incrementally after the edits that turn old_src into new_src, and say which
    ranges of the new version those edits touched."""
    limit = min(len(old_src), len(new_src))
    prefix = _common_prefix(old_src, new_src, limit)
    suffix = _common_tail(old_src, len(old_src), new_src, len(new_src), limit - prefix)
    hunks = _line_hunks(old_src, new_src, prefix, len(old_src) - suffix, len(new_src) - suffix)
    edited = old_tree.copy()
    # Last edit first: the positions before it are then still those of old_src.
    for hunk in reversed(hunks):
        edited.edit(
            start_byte=hunk.old_start,
            old_end_byte=hunk.old_end,
            new_end_byte=hunk.old_start + (hunk.new_end - hunk.new_start),
            start_point=hunk.start_point,
            old_end_point=hunk.old_end_point,
            new_end_point=hunk.new_end_point,
        )
    tree = parser.parse(new_src, edited)
    # Ranges whose syntax changed beyond the edits themselves (error recovery can reach far).
    dirty = [(h.new_start, max(h.new_end, h.new_start + 1)) for h in hunks]
    dirty += [(r.start_byte, r.end_byte) for r in edited.changed_ranges(tree)]
    merged = _merge_spans(sorted(dirty), gap=0)
    shifts = [(0, 0)]
    for h in hunks:
        dbytes, dlines = shifts[-1]
        shifts.append((dbytes + (h.new_end - h.new_start) - (h.old_end - h.old_start),
                       dlines + h.new_end_point[0] - h.old_end_point[0]))
    untouched = _Untouched(
        dirty_starts=[lo for lo, _ in merged],
        dirty_ends=[hi for _, hi in merged],
        edit_ends=[h.new_end for h in hunks],
        shifts=shifts,
        group_list=previous.groups,
        groups={start: i for i, (start, _, _) in enumerate(previous.groups)},
        items=previous.items,
        unique_keys=not any("#" in item.key for item in previous.items),
    )
    return tree, untouched


@dataclass(slots=True)
class Previous:
    """A file's earlier version, for an incremental parse of the next one."""

    source: bytes
    tree: Tree
    parsed: ParsedFile


def parse_rust(source: bytes, parser: Parser | None = None,
               previous: Previous | None = None) -> tuple[ParsedFile, Tree]:
    """Items of one Rust file, and its syntax tree. Never raises on bad syntax: see
    `ParsedFile.error_nodes`. With `previous` (the file's prior version), tree-sitter re-parses
    incrementally and unchanged items are carried over; the result is the same as a fresh
    parse."""
    parser = parser or new_parser()
    untouched = None
    parsed_src = as_parsed(source)
    if previous is None:
        tree = parser.parse(parsed_src)
    else:
        # The edits are those between the parsed bytes, which the previous tree is of.
        tree, untouched = _edit(as_parsed(previous.source), previous.tree, parsed_src,
                                parser, previous.parsed)
    root = tree.root_node
    old = previous.parsed if previous is not None else None
    collector = _Collector(source, root, old, parsed_src)
    collector.walk_top(root, untouched)
    items, uses = collector.finish()
    mods = [(i.module, i.name) for i in items if i.kind == "mod" and i.signature.endswith(";")]
    if root.is_error or root.is_missing:  # not a source_file: count the whole tree
        errors: list[tuple[int, int, int]] = [(root.start_byte, root.end_byte,
                                               _count_errors(root))]
    else:
        errors = _error_spans(root, untouched, old)
    return ParsedFile(items, sum(count for _, _, count in errors), mods, uses,
                      collector.groups, errors, carried_runs=collector.carried_runs), tree
