"""The symbol table that the commit dependency DAG is built from.

A symbol id is "<crate folder>|<absolute path>", e.g. ".|crate::lexer::Token" or, for a method,
".|crate::lexer::Lexer::next_token". The table follows history in processing order: it knows
which symbols the current version of every file defines and which commit last defined each.

Name resolution is what a reader without a compiler can do soundly: an exact path, the file's own
module, the file's `use` imports (aliases and globs), and finally a name that only one symbol of
the crate carries. Anything else (external crates, ambiguous names, locals) stays unresolved
rather than inventing an edge.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dataset_builder.cargo_manifest import attributes_compiled
from dataset_builder.modules import (
    CrateRoots,
    ModuleLocation,
    package_dir,
    path_mod_declarations,
    path_mod_locations,
    resolve_use_path,
    shared_module_crate,
    target_crate,
)
from dataset_builder.rust_items import GENERIC_RECEIVER, Item, UsePath, parameter_count

_NOT_SAVED = ("path_ids", "glob_prefixes", "module_heads", "top_modules")
EARLIER_DEFS = 7  # earlier definers kept per symbol (SymbolTable.earlier_defs)
_EXTERN_CRATE_AS = re.compile(
    rb"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?extern[ \t]+crate[ \t]+(\w+)[ \t]+as[ \t]+(\w+)[ \t]*;",
    re.MULTILINE)
# `#[macro_use] extern crate pest;`: the library whose exported macros a crate's code calls
# by their bare names.
_MACRO_USE_CRATE = re.compile(
    rb"#\[\s*macro_use\s*(?:\([^)]*\))?\s*\]\s*(?:#\[[^\]\n]*\]\s*)*"
    rb"(?:pub(?:\([^)\n]*\))?\s+)?extern\s+crate\s+(\w+)")
# How long a method's replaced count of parameters still binds calls, in files defined
# since (SymbolTable.replaced_params): the walk mixes lines of history, and a branch walked
# after another's change still calls the method as it was (eza's `row_for_file`, alacritty's
# `Grid::scroll_up`).
REPLACED_PARAMS_FILES = 96
UNREAD_PARAMS = -1  # a definition's count that parameter_count could not read: any binds


def _std_method_names() -> frozenset[str]:
    text = (Path(__file__).with_name("std_method_names.txt")).read_text()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


# Method names of std, core and alloc (scripts/std_method_names.py): a call `.as_mut()` may
# be any of them, so it is not bound to the crate's one method so named (futures-rs: `.as_mut()`
# on a Pin read as `Window::as_mut`, `.set(None)` as `Window::set`).
STD_METHOD_NAMES = _std_method_names()
# Methods a widely used macro makes on many types, which the parser does not see: `.project()`
# is pin-project's on each `#[pin_project]` struct, not the crate's one hand-written
# `project` (futures-rs: `Either::project` in 197 samples' packs).
MACRO_METHOD_NAMES = frozenset({"project", "project_ref", "project_replace"})
_ASSOCIATED_IN = ("impl:", "trait:")  # the keys of the blocks whose members are associated


# What Rust's prelude names (and the derives written without an import): a bare `Sync` is
# std's, not the crate's one item so named (sqlx's `F: Send + Sync` had bound its protocol
# message `struct Sync`, which then sat in 2,221 of 18,423 samples' context packs).
PRELUDE_NAMES = frozenset({
    "Copy", "Send", "Sized", "Sync", "Unpin", "Drop", "Fn", "FnMut", "FnOnce", "drop", "Box",
    "ToOwned", "Clone", "PartialEq", "PartialOrd", "Eq", "Ord", "AsRef", "AsMut", "Into",
    "From", "Default", "Iterator", "Extend", "IntoIterator", "DoubleEndedIterator",
    "ExactSizeIterator", "Option", "Some", "None", "Result", "Ok", "Err", "String",
    "ToString", "Vec", "TryFrom", "TryInto", "FromIterator", "Debug", "Hash"})

# Types a method call may be made on that no crate defines.
_PRIMITIVES = frozenset({
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
    "i64", "i128", "isize", "f32", "f64"})

# std's types most often declared for a receiver, whose own methods come before any trait's
# the crate implements for them (_typed_method).
_STD_TYPES = _PRIMITIVES | frozenset({
    "Option", "Result", "Vec", "String", "Box", "Cow", "Rc", "Arc", "HashMap", "HashSet",
    "BTreeMap", "BTreeSet", "VecDeque", "Path", "PathBuf", "Duration", "Instant"})

_VALUE_KINDS = frozenset({"function", "const", "static"})
# Modules of tests by the names `#[cfg(test)] mod tests;` is given: what they define is not
# compiled with the rest of the crate.
_TEST_MODULES = frozenset({"tests", "test"})


_FALLBACK_CFG = re.compile(r"#\[\s*cfg\s*\(\s*(?:all\s*\(\s*)?not\s*\(\s*(?:any\s*\(\s*)?feature\b")


def _is_fallback(item: Item) -> bool:
    """Whether the item is compiled only where a feature is off (`#[cfg(not(feature =
    "git"))]`, `#[cfg(not(any(feature = …, …)))]`): a stub, most often, for what the
    feature compiles. Not `not(test)` or `not(unix)`, where the not-branch is as often the
    real code (a test's mock beside it)."""
    return any(_FALLBACK_CFG.match(attribute) for attribute in item.attributes)


def _off_by_default(items: list[Item], features: Callable[[], frozenset[str]]) -> set[str]:
    """Keys of the items a plain build of the package leaves out (`features()`: its default
    features): a `#[cfg(…)]` of theirs or of an inline module around them that does not
    hold (cargo_manifest.eval_item_cfg). Like a fallback, such a definition gives way to a
    re-export of its name: salsa's test-only `#[cfg(feature = "shuttle")] mod shim { pub
    struct Mutex<T>(shuttle::sync::Mutex<T>); }` beside `#[cfg(not(feature = "shuttle"))]
    mod shim { pub use parking_lot::Mutex; }` (137 samples showed the shuttle wrapper)."""
    cfgd = [item for item in items
            if any(attribute.startswith("#[cfg(") for attribute in item.attributes)]
    if not cfgd:
        return set()
    on = features()
    off = {item.key for item in cfgd if not attributes_compiled(item.attributes, on)}
    # By span: two inline modules of one name (cfg alternatives) hold items of one path.
    spans = [(item.start_byte, item.end_byte) for item in cfgd
             if item.kind == "mod" and item.key in off and not item.signature.endswith(";")]
    if spans:
        off.update(item.key for item in items if item.module and any(
            start < item.start_byte < end for start, end in spans))
    return off


# What a fallback may stand in for beside an import of its name.
_FALLBACK_KINDS = frozenset({"struct", "enum", "union", "trait", "type_alias", "function",
                             "const", "static", "macro_rules"})


def _crate_only(item: Item) -> bool:
    """Whether an item is seen only inside its crate: `pub(crate)`, `pub (super)`, `pub(in
    …)`, or no `pub` at a module's level (a trait's or impl's const is as public as its
    block: a review)."""
    visibility = item.visibility.replace(" ", "")
    return visibility.startswith("pub(") or (
        not visibility and not item.parent and item.kind not in ("method", "macro_rules"))


def _exported(item: Item) -> bool:
    """Whether an item is a `#[macro_export]` macro_rules."""
    return item.kind == "macro_rules" and any(
        attr.startswith("#[macro_export") for attr in item.attributes)


def _is_value_item(item: Item) -> bool:
    """A function, const or static outside any impl or trait (the value namespace)."""
    return item.kind in _VALUE_KINDS and not item.parent.startswith(_ASSOCIATED_IN)


# `(&self`, `(&'a mut self`, `(mut self`, `(self: Box<Self>`, and with attributes before it
# (actix's `fn prep_for_sending(#[allow(unused_mut)] mut self)`).
_SELF_RECEIVER = re.compile(
    r"\(\s*(?:#\[[^\]]*\]\s*)*(?:&\s*(?:'\w+\s+)?)?(?:mut\s+)?self\b")


def _in_trait_impl(item: Item) -> bool:
    """Whether a method is a trait's, implemented for a type (`impl Trait for X`)."""
    return item.parent.startswith("impl:") and bool(item.trait_name)


def _method_kind(item: Item) -> str:
    """SymbolTable.method_kinds' value of a method with a receiver."""
    if item.parent.startswith("trait:"):
        return "decl"
    return f"impl:{item.trait_name}" if _in_trait_impl(item) else "inherent"


def takes_self(item: Item) -> bool:
    """Whether a method has a `self` receiver: only such a one is called as `x.name()`
    (ratatui's `area.right()` on a Rect had bound `Padding::right(value: u16) -> Self`)."""
    return _SELF_RECEIVER.search(item.signature) is not None


def symbol_id(crate: str, path: str) -> str:
    return f"{crate}|{path}"


def _crate_and_name(sid: str) -> tuple[str, str]:
    crate, rest = sid.split("|", 1)
    return crate, rest.rsplit("::", 1)[-1]


def _seen_from(sid: str, crate: str, module: str) -> bool:
    """Whether a private item `sid` of `crate` is seen from `module`: its own module or one
    inside it."""
    owner = sid[len(crate) + 1:].rpartition("::")[0]
    return module == owner or module.startswith(owner + "::")


_DEREF_TARGET = re.compile(r"=\s*(?:[A-Za-z_]\w*::)*([A-Za-z_]\w*)\s*(?:<.*)?;?$")


def _deref_target(signature: str) -> str:
    """The simple name of the type `type Target = …;` names (`CommonState<T>` ->
    `CommonState`), "" for none (a slice, a tuple)."""
    found = _DEREF_TARGET.search(signature)
    return found.group(1) if found else ""


def _top_level_split(text: str) -> list[str]:
    """`text` split at its commas outside brackets (`HashMap<K, V>`, `(A, B)`, `[T; 2]`;
    the `>` of `->` closes nothing)."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        if char in "<([{":
            depth += 1
        elif char in ")]}" or (char == ">" and (at == 0 or text[at - 1] != "-")):
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    parts.append(text[start:])
    return parts


def _fields_of(crate: str, items: list[Item]) -> dict[tuple[str, str], dict[str, str]]:
    """SymbolTable.struct_fields' entries of a file's structs (top-level or in inline
    modules). A field of a generic parameter's type holds any type: left out, so a call on
    it is as `.name` (hyper's `MessageHead<S>`'s `subject`)."""
    made: dict[tuple[str, str], dict[str, str]] = {}
    for item in items:
        if item.fields and not item.parent:
            generic = _generic_names(item.generics)
            fields = {name: written for name, written in item.fields if written not in generic}
            if fields:
                made[(crate, item.name)] = fields
    return made


def _generic_names(generics: str) -> set[str]:
    """The type (and const) parameters' names of `<…>` generics (`<'a, T: Into<Vec<u8>>,
    const N: usize>` -> {T, N}; not the names in their bounds)."""
    inner = generics.strip()
    if not (inner.startswith("<") and inner.endswith(">")):
        return set()
    names = set()
    for part in _top_level_split(inner[1:-1]):
        found = re.match(r"\s*(?:const\s+)?([A-Za-z_]\w*)", part)
        if found is not None:
            names.add(found.group(1))
    return names


# What a type derefs to where that is a generic parameter of its impl (rustls's
# `impl<T> Deref for Retrieved<T> { type Target = T; }`): any type, as for `.name`.
DEREF_TO_ANY = "?"


def _derefs_of(crate: str, items: list[Item]) -> dict[tuple[str, str], str]:
    """SymbolTable.deref_targets' entries of a file's items: each `impl Deref for T`'s
    `Target` and each type alias, (crate, T's simple name) -> the simple name of what it
    names, DEREF_TO_ANY for its impl's generic parameter."""
    made: dict[tuple[str, str], str] = {}
    generics = {item.key: _generic_names(item.generics) for item in items
                if item.kind == "impl" and item.generics}
    for item in items:
        if item.kind == "type_alias":
            target = _deref_target(item.signature)
            if target:
                made[(crate, item.name)] = target
        elif item.kind == "associated_type" and item.name == "Target" and \
                item.trait_name == "Deref" and item.self_type:
            target = _deref_target(item.signature)
            if target:
                made[(crate, item.self_type)] = DEREF_TO_ANY \
                    if target in generics.get(item.parent, ()) else target
    return made


def _top_module(head: str) -> str:
    """The top-level module of a symbol's head (`.|crate::a::b` -> `.|crate::a`), "" for
    the crate's root."""
    crate, _, path = head.rpartition("|")
    parts = path.split("::", 2)
    return f"{crate}|crate::{parts[1]}" if len(parts) > 1 and parts[0] == "crate" else ""


def _owner_name(method_sid: str) -> str:
    """The simple name of a method's type or trait (`.|crate::a::Page::render` -> `Page`)."""
    return method_sid.rpartition("::")[0].rpartition("::")[2].rpartition("|")[2]


def _release_one(counts: dict[str, int], sid: str) -> bool:
    """One definer less of `sid`; True (and `sid` gone from `counts`) when none is left."""
    count = counts[sid] - 1
    if count:
        counts[sid] = count
        return False
    del counts[sid]
    return True


def _unindex(index: dict[tuple[str, str], set[str]], sid: str) -> None:
    """Take `sid` out of a (crate, simple name) index, and its key once empty."""
    key = _crate_and_name(sid)
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(sid)
        if not bucket:
            del index[key]


@dataclass(slots=True)
class Imports:
    """A file's `use` imports made absolute: alias -> paths, and glob prefixes."""

    aliases: dict[str, list[str]]
    globs: list[str]
    # The first names of its use paths but crate/self/super: the other crates it may
    # import from (a workspace sibling's library among them).
    heads: frozenset[str] = frozenset()
    # An item's own `use`s in its body: alias -> paths, before the module's own names.
    local: dict[str, list[str]] = field(default_factory=dict)
    # The names it imports under another -> those (`use crate::ast::Rule as AstRule;`): a
    # bare `Rule` there is not the item so imported, where the crate's one so named is it
    # (_simple).
    renamed: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, uses: list[UsePath], loc: ModuleLocation) -> Imports:
        aliases: dict[str, list[str]] = {}
        globs: list[str] = []
        heads: set[str] = set()
        renamed: dict[str, list[str]] = {}
        for use in uses:
            use_module = loc.join(use.module)
            heads.add(use.path.partition("::")[0])
            if use.path.endswith("::*"):
                globs.append(resolve_use_path(use.path[:-3], use_module))
            elif use.alias:
                aliases.setdefault(use.alias, []).extend(use_targets(use.path, use_module))
                name = use.path.rpartition("::")[2]
                if name != use.alias and use.alias != "_" and \
                        name not in ("self", "crate", "super"):
                    renamed.setdefault(name, []).append(use.alias)
        return cls(aliases, globs, frozenset(heads - {"crate", "self", "super"}),
                   renamed=renamed)


_ENUM_NOISE = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])\'', re.S)
_ATTRIBUTE_START = re.compile(r"#\s*!?\s*\[")
_ENUM_BODY_START = re.compile(r"\benum\b[^{]*\{")
_ENUM_PUNCTUATION = re.compile(r"[()\[\]{},]")
_VARIANT_NAME = re.compile(r"\s*(?:r#)?([^\W\d]\w*)")


def _without_attributes(text: str) -> str:
    """`text` with each `#[…]` (brackets balanced) replaced by a space."""
    pieces: list[str] = []
    at = 0
    for found in _ATTRIBUTE_START.finditer(text):
        if found.start() < at:
            continue  # inside an attribute already taken out
        depth, end = 0, len(text)
        for bracket in re.finditer(r"[\[\]]", text[found.end() - 1:]):
            depth += 1 if bracket.group() == "[" else -1
            if depth == 0:
                end = found.end() - 1 + bracket.end()
                break
        pieces.append(text[at:found.start()])
        pieces.append(" ")
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def enum_variant_names(source: bytes) -> frozenset[str]:
    """The variants' names of an enum's definition (doc comments and attributes included):
    the first word of each part of its body between commas outside brackets, with
    comments, literals and attributes taken out first (a doc comment may show `Error::Signal
    { n: 1 }`, an attribute `#[error("bad [x] {n}")]`)."""
    text = _without_attributes(_ENUM_NOISE.sub(" ", source.decode("utf-8", "replace")))
    opening = _ENUM_BODY_START.search(text)
    if opening is None:
        return frozenset()
    body_start = opening.end()
    names: set[str] = set()
    depth = 0
    part_start = body_start
    for mark in _ENUM_PUNCTUATION.finditer(text, body_start):
        char = mark.group()
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:  # the body's closing brace
                found = _VARIANT_NAME.match(text, part_start, mark.start())
                if found is not None:
                    names.add(found.group(1))
                break
            depth -= 1
        elif depth == 0:  # a comma between variants
            found = _VARIANT_NAME.match(text, part_start, mark.start())
            if found is not None:
                names.add(found.group(1))
            part_start = mark.end()
    return frozenset(names)


def compiled_uses_first(uses: list[UsePath], items: list[Item],
                        features: Callable[[], frozenset[str]]) -> list[UsePath]:
    """A file's `use` leaves with those of `use` items a plain build leaves out (a leading
    `#[cfg(…)]` that does not hold with the package's default features, `features()`) last:
    of two imports of a name, or two globs that both hold it, the compiled one is found
    first (nom's `#[cfg(feature = "verbose-errors")] use verbose_errors::Err;` beside
    `#[cfg(not(…))] use simple_errors::Err;` bound the verbose `Err`, its feature off). The
    others stay, for code under the same cfg (a `#[cfg(windows)]` function's import)."""
    cfg_items = [item for item in items if item.kind == "use" and any(
        attribute.startswith("#[cfg(") for attribute in item.attributes)]
    if not cfg_items:
        return uses
    on = features()
    left_out = {item.key for item in cfg_items if not attributes_compiled(item.attributes, on)}
    if not left_out:
        return uses
    return [use for use in uses if use.item not in left_out] + \
        [use for use in uses if use.item in left_out]


def with_local_globs(imports: Imports, item: Item, module: str) -> Imports:
    """A file's imports and the `use`s inside the item's body: globs (`use Error::*;` in a
    function: its references ending in `::*`, made absolute from the item's `module`, or
    through the file's import of their first name: `use crate::error::Error;`, then
    `use Error::*;` in another module's function) and named ones (`use a::b as c`: its
    references `use a::b as c`, `use a::b`), whose names come before the module's."""
    local: list[str] = []
    named: dict[str, list[str]] = {}
    for ref in item.references:
        if ref.startswith("use "):
            path, _, alias = ref[4:].partition(" as ")
            head, _, rest = path.partition("::")
            imported = imports.aliases.get(head) if rest else None
            # Through a name the file imports (`use crate::util::error;`, then `use
            # error::Error;` in a body), as for a glob.
            named.setdefault(alias or path.rpartition("::")[2], []).extend(
                [f"{target}::{rest}" for target in imported] if imported
                else use_targets(path, module))
            continue
        if not ref.endswith("::*"):
            continue
        path = ref[:-3]
        head, _, rest = path.partition("::")
        imported = imports.aliases.get(head)
        if imported:
            local.extend(f"{target}::{rest}" if rest else target for target in imported)
        else:
            local.append(resolve_use_path(path, module))
    if not local and not named:
        return imports
    return Imports(imports.aliases, [*imports.globs, *local], imports.heads, named,
                   imports.renamed)


def use_targets(path: str, use_module: str) -> list[str]:
    """What a `use` path may name, in the order tried: relative to its module (2018), then
    from the crate's root (2015: `use {SqliteResult, SqliteConnection};` in rusqlite), then
    as `@name::…`, a path that starts with a crate's name (a workspace sibling, or a
    package's own library from its binary: `use hyperfine::timer::Timer`)."""
    if path.split("::", 1)[0] in ("crate", "self", "super"):
        return [resolve_use_path(path, use_module)]
    relative = resolve_use_path(path, use_module)
    rooted = f"crate::{path}"
    return [relative, f"@{path}"] if relative == rooted else [relative, rooted, f"@{path}"]


def _reexports_of(loc: ModuleLocation, items: list[Item], uses: list[UsePath],
                  off: Collection[str] = ()) -> dict[str, list[str]]:
    """The re-exports a file's `pub use` leaves make: the symbol id of each name made ->
    what it names (use_targets); a glob's under `<module>::*` -> the paths it may name,
    whose names it makes (clap's lib.rs is `pub use clap_builder::*;`). `off`: keys of the
    items a plain build leaves out (_off_by_default)."""
    public = {item.key for item in items
              if item.kind == "use" and item.visibility.startswith("pub")}
    # A private `use` too where it makes the name of a fallback beside it (anyhow's
    # `#[cfg(feature = "std")] use std::error::Error as StdError;` beside `#[cfg(not(feature
    # = "std"))] trait StdError`): `use crate::StdError;` names what it imports (SymbolTable.
    # _find), not the stub (166 of anyhow's 880 samples showed the stub); or of an item a
    # plain build leaves out (parking_lot's wasm-only `struct TimeoutInstant` beside `use
    # std::time::Instant as TimeoutInstant;` in a `cfg_if!`'s other branch: 7 samples).
    fallbacks = {(item.module, item.name) for item in items
                 if not item.parent and item.kind in _FALLBACK_KINDS
                 and (_is_fallback(item) or item.key in off)}
    made: dict[str, list[str]] = {}
    for use in uses if public or fallbacks else ():
        if use.item not in public and (use.module, use.alias) not in fallbacks:
            continue
        use_module = loc.join(use.module)
        if use.path.endswith("::*"):
            made.setdefault(symbol_id(loc.crate, f"{use_module}::*"), []).extend(
                use_targets(use.path[:-3], use_module))
        elif use.alias:
            made.setdefault(symbol_id(loc.crate, f"{use_module}::{use.alias}"),
                            []).extend(use_targets(use.path, use_module))
    return made


def _root_imports_of(loc: ModuleLocation, items: list[Item], uses: list[UsePath]
                     ) -> dict[str, list[str]]:
    """A crate root's private `use` leaves of a name (not a glob's), as _reexports_of makes
    them: every module of the crate lies below the root and may import the name from there
    (`use crate::{Connection, InnerConnection};` in rusqlite's modules, the root's `use
    crate::inner_connection::InnerConnection;` private: 43 samples had no dependency on
    it). Kept apart from the `pub use` re-exports: src/main.rs is a root of the same crate
    as src/lib.rs here, and its `use demo::Config;` had taken the place of lib.rs's `pub use
    config::Config;` (a review)."""
    if loc.module != "crate":
        return {}
    public = {item.key for item in items
              if item.kind == "use" and item.visibility.startswith("pub")}
    made: dict[str, list[str]] = {}
    for use in uses:
        if use.module or use.item in public or not use.alias or use.alias == "_" or \
                use.path.endswith("::*"):
            continue
        made.setdefault(symbol_id(loc.crate, f"crate::{use.alias}"), []).extend(
            use_targets(use.path, "crate"))
    return made


@dataclass
class SymbolTable:
    # symbol id -> number of current file versions defining it (cfg'd duplicates, a.rs + a/mod.rs)
    owners: dict[str, int] = field(default_factory=dict)
    # symbol id -> sha of the commit that last added or changed its definition
    latest_def: dict[str, str] = field(default_factory=dict)
    # symbol id -> the commits that defined it before latest_def's, oldest first (at most
    # EARLIER_DEFS): on another line of history the latest may not be an ancestor
    earlier_defs: dict[str, list[str]] = field(default_factory=dict)
    # (crate, simple name) -> symbol ids; methods are indexed apart since `.name()` calls
    # are only resolvable when the method name is unique in the crate
    by_name: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    by_method: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # Macros live in a namespace of their own: `name!` names a macro_rules only (futures-rs's
    # `ready!` read as its function `ready`), and a bare name never names one.
    by_macro: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    # symbol id -> number of current file versions defining a macro_rules so named
    macro_owners: dict[str, int] = field(default_factory=dict)
    # A `#[macro_export]` macro_rules lies at its crate's root for other crates (`a::hello!`,
    # `use a::hello;`, or bare after `#[macro_use] extern crate a;`): that root's symbol id
    # ("a|crate::hello") -> the ids of its current definitions, one per file version;
    # and each such name -> the root ids (pest's tests call `parses_to!` of the pest crate:
    # 266 samples had no dependency on it).
    exported_macros: dict[str, list[str]] = field(default_factory=dict)
    exported_names: dict[str, set[str]] = field(default_factory=dict)
    file_exported: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # path -> the macro symbol ids its current version defines
    file_macros: dict[str, list[str]] = field(default_factory=dict)
    # The `pub use` re-exports: the symbol id of the name a `pub use` makes -> what it names
    # (use_targets, in its crate). futures-util imports `futures_core::Stream`, which
    # futures-core re-exports from `crate::stream::Stream`.
    reexports: dict[str, list[str]] = field(default_factory=dict)
    file_reexports: dict[str, list[str]] = field(default_factory=dict)  # path -> their ids
    # A crate root's private imports of names (_root_imports_of): symbol id -> root path ->
    # what it names; followed after the re-exports.
    root_imports: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    file_root_imports: dict[str, list[str]] = field(default_factory=dict)
    # A library's name as `use` writes it -> its crate folder (gitio's manifests at the
    # revision, and a folder's name for a `src/lib.rs` the revision lacks).
    crate_folders: dict[str, str] = field(default_factory=dict)
    # A library's name -> every folder the history's manifests gave it (CrateRoots.
    # library_folders), and each crate -> the paths of its root files live in the walk:
    # `petgraph::…` before the library moved to crates/petgraph is the top folder's.
    library_folders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    live_roots: dict[str, set[str]] = field(default_factory=dict)
    # A package's folder -> the names it renames path dependencies to -> their folders
    # (modules.CrateRoots.renames): `proto::…` in that package's crates only.
    crate_renames: dict[str, dict[str, str]] = field(default_factory=dict)
    # `extern crate quinn_proto as quinn;` in a crate's root file: crate -> alias -> the
    # library's name (its root file's path -> its own, to rebuild that on a change).
    extern_aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    file_extern_aliases: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    # path -> symbol ids its current version defines
    file_symbols: dict[str, list[str]] = field(default_factory=dict)
    # The symbols (not methods, not macros) whose definition is private: seen only from
    # their own module and the modules inside it.
    private: set[str] = field(default_factory=set)
    # Those seen only inside their crate (_crate_only).
    crate_only: set[str] = field(default_factory=set)
    # A test, example or bench crate -> (its root file, the modules it declares with
    # `mod x;`): only those may be modules its folder's crates share (modules.
    # shared_module_crate); `use serde_json as json;` then `json::…` is no `tests/json`.
    root_mods: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    # `#[path = "…"] mod x;` (modules.path_mod_target): (crate, module x) -> (crate, module)
    # of each file so named, by the files that declare it (path -> its declarations). The
    # file keeps its conventional place; `x::Foo` is looked up there (ripgrep's
    # `#[path = "disabled.rs"] mod imp;`, winit's examples' `#[path = "util/fill.rs"]`).
    path_mods: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    file_path_mods: dict[str, list[tuple[tuple[str, str], tuple[str, str]]]] = field(
        default_factory=dict)
    # crate -> its modules in path_mods, each with "::" after it: what a failed lookup
    # compares its path with (most crates have none)
    path_mod_prefixes: dict[str, list[str]] = field(default_factory=dict)
    # symbol id -> number of current file versions defining it as a function, const or static
    # (not associated): the value namespace. A path's head (`a::b`) names a module or type,
    # never such a value: warp's `reply::with_header` under `use crate::reply::{self}` had
    # bound the function `crate::reply::reply` that lib.rs re-exports as `crate::reply`.
    value_owners: dict[str, int] = field(default_factory=dict)
    file_values: dict[str, list[str]] = field(default_factory=dict)  # path -> their ids
    # symbol id -> number of current file versions defining it as an enum: a glob import of
    # one (`use Error::*;`) brings its variants in by their bare names (_simple).
    enum_owners: dict[str, int] = field(default_factory=dict)
    file_enums: dict[str, list[str]] = field(default_factory=dict)  # path -> their ids
    # enum symbol id -> (the digest of the definition read, its variants' names): what a
    # glob of it (`use Error::*;`) brings in by bare name (just's `Signal { .. }`, a
    # variant of its Error, had bound the crate's one `enum Signal`).
    enum_variants: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    # symbol id -> number of current file versions whose every definition of it is a
    # fallback (`#[cfg(not(feature = …))]`: compiled where a feature is off, _is_fallback);
    # where all are, a `pub use` of the same name is followed instead (_find).
    fallback_owners: dict[str, int] = field(default_factory=dict)
    file_fallbacks: dict[str, list[str]] = field(default_factory=dict)  # path -> their ids
    # method in by_method -> "decl" (a trait's), "inherent" or "impl:<trait>" (_method_kind)
    method_kinds: dict[str, str] = field(default_factory=dict)
    # method with a receiver -> path -> the counts of parameters after `self` of its
    # definitions there (rust_items.parameter_count; cfg alternatives may differ): a call
    # with none of these counts, nor a lately replaced one, is not it.
    method_params: dict[str, dict[str, frozenset[int]]] = field(default_factory=dict)
    file_methods: dict[str, list[str]] = field(default_factory=dict)  # path -> its methods
    # (file versions defined when replaced, method, count) in that order, and per method
    # how many of its counts are there: those replaced in the last REPLACED_PARAMS_FILES.
    replaced_params: deque[tuple[int, str, int]] = field(default_factory=deque)
    replaced_counts: dict[str, Counter[int]] = field(default_factory=dict)
    files_defined: int = 0  # define_file calls: the clock of replaced_params
    # `impl Deref for T { type Target = U; }` and `type T = U;`: (crate, T's simple name) ->
    # path -> U's: a method call on a T that T lacks is U's (rustls's ConnectionCommon
    # derefs to its CommonState, whose `send_fatal_alert` its methods call on `self`; its
    # `type ClientContext<'a> = Context<'a, …>` has Context's `receive_plaintext`).
    deref_targets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    file_derefs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # their keys
    # A struct's named fields: (crate, its simple name) -> path -> field -> the path of the
    # field's type (Item.fields): `self.io.flush()` calls the field's type's method.
    struct_fields: dict[tuple[str, str], dict[str, dict[str, str]]] = field(
        default_factory=dict)
    file_structs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # path -> its items' symbols as the parser gives them (inside the file): compared first,
    # since most edits change bodies, not the set of symbols
    file_item_symbols: dict[str, list[str]] = field(default_factory=dict)
    # Bumped whenever the defined symbols change: a resolution made at one generation holds
    # until the next.
    generation: int = 0

    # path -> item symbol -> its id there (a path's module location never changes): ids are
    # made once per path, not again for every version. Not saved with the state.
    path_ids: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)
    # last path segment -> the ids of the symbols in `owners` that end in it, without that
    # segment ("crate|crate::a" for ".|crate::a::Foo"; split at the last "::", since a crate
    # folder may hold "|"): a glob import's name is found among the few symbols so named,
    # not by trying every glob of the file (ash's files glob a dozen modules each: 3.6
    # million ids made and looked up in its history). Rebuilt from `owners`, not saved with
    # the state.
    glob_prefixes: dict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set), compare=False, repr=False)
    # The id of each module (or type) some defined symbol lies in ("crate|crate::a" for
    # ".|crate::a::Foo") -> how many do: `a::Foo` from a module that declares `mod a;`
    # names that module, whatever else of the crate is called `a`. Rebuilt from `owners`.
    module_heads: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # The id of each top-level module some defined symbol lies in or below ("crate|crate::a"
    # for ".|crate::a::b::Foo") -> how many do. Rebuilt from `owners`.
    top_modules: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_SAVED}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("file_item_symbols", {})  # a state saved before it existed
        self.__dict__.setdefault("generation", 0)
        self.__dict__.setdefault("by_macro", defaultdict(set))
        for name in ("macro_owners", "file_macros", "reexports", "file_reexports",
                     "crate_folders", "crate_renames", "extern_aliases",
                     "file_extern_aliases", "earlier_defs", "value_owners",
                     "file_values",
                     "enum_owners", "file_enums", "enum_variants", "method_kinds",
                     "method_params", "file_methods", "replaced_counts",
                     "deref_targets", "file_derefs", "struct_fields", "file_structs",
                     "fallback_owners", "file_fallbacks", "library_folders", "live_roots",
                     "exported_macros", "exported_names", "file_exported", "root_imports",
                     "file_root_imports"):
            self.__dict__.setdefault(name, {})
        self.__dict__.setdefault("private", set())
        self.__dict__.setdefault("crate_only", set())
        self.__dict__.setdefault("replaced_params", deque())
        self.__dict__.setdefault("files_defined", 0)
        self.__dict__.setdefault("root_mods", {})
        self.__dict__.setdefault("path_mods", {})
        self.__dict__.setdefault("file_path_mods", {})
        self.__dict__.setdefault("path_mod_prefixes", {})
        self.__dict__["path_ids"] = {}
        self.__dict__["glob_prefixes"] = defaultdict(set)
        self.__dict__["module_heads"] = {}
        self.__dict__["top_modules"] = {}
        for sid in self.owners:
            self._index_prefix(sid)

    def _index_prefix(self, sid: str) -> None:
        head, _, last = sid.rpartition("::")
        self.glob_prefixes[last].add(head)
        self.module_heads[head] = self.module_heads.get(head, 0) + 1
        top = _top_module(head)
        if top:
            self.top_modules[top] = self.top_modules.get(top, 0) + 1

    def _unindex_prefix(self, sid: str) -> None:
        head, _, last = sid.rpartition("::")
        bucket = self.glob_prefixes.get(last)
        if bucket is not None:
            bucket.discard(head)
            if not bucket:
                del self.glob_prefixes[last]
        _release_one(self.module_heads, head)
        top = _top_module(head)
        if top:
            _release_one(self.top_modules, top)

    def define_file(self, path: str, loc: ModuleLocation, items: list[Item],
                    uses: list[UsePath] | None = None, roots: CrateRoots | None = None,
                    source: bytes | None = None) -> None:
        """Replace what `path` defines with the symbols of `items`, the re-exports of its
        `pub use` leaves (`uses`) and its `#[path]` declarations (`roots`: where the files
        they name lie, see modules.locate_module). `source`: the file's bytes, which its
        enums' variants are read from."""
        self._expire_replaced_params()
        off = _off_by_default(items, lambda: roots.features.get(
            package_dir(path, loc.crate, roots) or ".", frozenset())) \
            if roots is not None else set()
        self._set_reexports(path, _reexports_of(loc, items, uses or [], off))
        self._set_root_imports(path, _root_imports_of(loc, items, uses or []))
        if source is not None:  # before the shortcut below: no item of its own
            self._set_extern_aliases(path, loc.crate, {
                **{alias.decode(): name.decode() for name, alias in _EXTERN_CRATE_AS.findall(
                    source)},
                # and the libraries whose exported macros it brings in (_exported_macro),
                # under keys no identifier has
                **{f"!{name.decode()}": name.decode() for name in _MACRO_USE_CRATE.findall(
                    source)}} if loc.module == "crate" and b"extern" in source else {})
        if source is not None:
            # Before the shortcut below: a variant added leaves the file's symbols as they
            # were. The definitions of one id (`#[cfg(unix)] enum Sig`, `#[cfg(windows)]
            # enum Sig`) are read together.
            enums: dict[str, list[Item]] = {}
            for item in items:
                if item.kind == "enum" and item.symbol:
                    enums.setdefault(symbol_id(loc.crate, loc.join(item.symbol)), []).append(item)
            for enum, definitions in enums.items():
                digest = "".join(item.digest for item in definitions)
                known_variants = self.enum_variants.get(enum)
                if known_variants is None or known_variants[0] != digest:
                    variants = frozenset().union(*(
                        enum_variant_names(source[item.start_byte:item.end_byte])
                        for item in definitions))
                    if known_variants is None or known_variants[1] != variants:
                        self.generation += 1
                    self.enum_variants[enum] = (digest, variants)
        self._set_derefs(path, _derefs_of(loc.crate, items))
        self._set_fields(path, _fields_of(loc.crate, items))
        self._set_path_mods(path, [
            ((loc.crate, declared), (named.crate, named.module)) for declared, named in
            path_mod_locations(path, loc, path_mod_declarations(items), roots)])
        if loc.module == "crate" and target_crate(loc.crate) is not None:
            self.root_mods[loc.crate] = (path, frozenset(
                item.name for item in items if item.kind == "mod" and not item.module
                and item.signature.endswith(";")))
        if loc.module == "crate":
            self.live_roots.setdefault(loc.crate, set()).add(path)
        if loc.module == "crate" and path.endswith("src/lib.rs") and loc.crate != ".":
            self.crate_folders.setdefault(
                PurePosixPath(loc.crate).name.replace("-", "_"), loc.crate)
        # A macro's marked: a function turned into a macro of its name changes the macros;
        # a private or `pub(crate)` item too: made `pub`, it is seen from more modules or
        # crates; a method's count of parameters: calls with another count do not bind it.
        item_symbols = [item.symbol + "!" * (item.kind == "macro_rules") + "@" * _exported(item)
                        + "-" * (not item.visibility) + "^" * _crate_only(item)
                        + "=" * _is_value_item(item)
                        + (f".{parameter_count(item.signature)}" if item.kind == "method"
                           and takes_self(item) else "")
                        + (f"+{item.trait_name}" if item.kind == "method"
                           and _in_trait_impl(item) else "")
                        + "~" * (item.kind == "enum")
                        + "?" * (_is_fallback(item) or item.key in off)
                        for item in items if item.symbol]
        if self.file_item_symbols.get(path) == item_symbols:
            return  # the same path has the same module location: the same ids
        # Any change of what the file defines, its kinds and visibilities too (a struct
        # become a macro, a private item made `pub`), is a new generation: a resolution
        # kept from before could differ from one a resumed run makes afresh.
        self.generation += 1
        self.file_item_symbols[path] = item_symbols
        ids: list[str] = []
        macros: list[str] = []
        exported: list[tuple[str, str]] = []  # (its id at the crate's root, its own id)
        defined: dict[str, Item] = {}  # a symbol's first definition in the file
        not_fallback: set[str] = set()  # symbols with a definition here that is no fallback
        # A fallback's members are fallbacks too (anyhow's stub `trait StdError`'s `source`).
        fallback_blocks = {item.key for item in items if item.kind in ("trait", "impl")
                           and (_is_fallback(item) or item.key in off)}
        params: dict[str, set[int]] = {}  # methods with a receiver -> their counts here
        known = self.path_ids.setdefault(path, {})
        for item in items:
            if item.symbol:
                sid = known.get(item.symbol)
                if sid is None:
                    sid = known[item.symbol] = symbol_id(loc.crate, loc.join(item.symbol))
                ids.append(sid)
                defined.setdefault(sid, item)
                if item.kind == "method" and takes_self(item):
                    count = parameter_count(item.signature)
                    params.setdefault(sid, set()).add(UNREAD_PARAMS if count is None else count)
                if item.kind == "macro_rules":
                    macros.append(sid)
                    if _exported(item):
                        exported.append((symbol_id(loc.crate, f"crate::{item.name}"), sid))
                if not (_is_fallback(item) or item.key in off) and \
                        item.parent not in fallback_blocks:
                    not_fallback.add(sid)
        self._define_macros(path, macros, exported)
        self._define_counted(path, [sid for sid, item in defined.items()
                                    if _is_value_item(item)], self.value_owners,
                             self.file_values)
        self._define_counted(path, [sid for sid, item in defined.items()
                                    if item.kind == "enum"], self.enum_owners, self.file_enums)
        self._define_counted(path, [sid for sid in defined if sid not in not_fallback],
                             self.fallback_owners, self.file_fallbacks)
        for sid, item in defined.items():
            # Only a method with a receiver is called as `x.name()`; one that gains or loses
            # it keeps its id, so every version is indexed again.
            if item.kind == "method":
                if takes_self(item):
                    self.by_method[(loc.crate, item.name)].add(sid)
                    self.method_kinds[sid] = _method_kind(item)
                else:
                    _unindex(self.by_method, sid)
        self._set_params(path, params)
        for sid, item in defined.items():
            if item.visibility or item.kind in ("method", "macro_rules"):
                self.private.discard(sid)
            else:
                self.private.add(sid)
            if _crate_only(item):
                self.crate_only.add(sid)
            else:
                self.crate_only.discard(sid)
        before = self.file_symbols.get(path, [])
        if before == ids:
            return
        self.generation += 1
        # Only what changed: an edit adds or removes a few of a file's symbols.
        before_set, ids_set = set(before), set(ids)
        if len(before_set) == len(before) and len(ids_set) == len(ids):  # the usual case
            removed: Iterable[str] = [sid for sid in before if sid not in ids_set]
            added: Iterable[str] = [sid for sid in ids if sid not in before_set]
        else:  # a symbol defined twice in the file: counted
            old_counts, new_counts = Counter(before), Counter(ids)
            removed, added = (old_counts - new_counts).elements(), \
                (new_counts - old_counts).elements()
        self._release(removed)
        for sid in added:
            count = self.owners.get(sid, 0)
            self.owners[sid] = count + 1
            if count == 0:
                self._index_prefix(sid)
                item = defined[sid]
                # Methods are indexed above. An associated const is named through its type
                # (`Self::N`), never bare.
                if item.kind not in ("method", "macro_rules") and \
                        not item.parent.startswith(_ASSOCIATED_IN):
                    self.by_name[(loc.crate, item.name)].add(sid)
        self.file_symbols[path] = ids

    def defined(self, sid: str, commit: str) -> None:
        """`commit` added or changed the definition of `sid`."""
        latest = self.latest_def.get(sid)
        if latest is not None and latest != commit:
            earlier = self.earlier_defs.setdefault(sid, [])
            earlier.append(latest)
            if len(earlier) > EARLIER_DEFS:
                del earlier[0]
        self.latest_def[sid] = commit

    def definer_for(self, sid: str, commit: str, is_ancestor: Callable[[str, str], bool] | None
                    ) -> str | None:
        """The commit whose definition of `sid` a change in `commit` builds on: the latest
        that is an ancestor of `commit` (`is_ancestor`; without it, the latest). The walk's
        order mixes lines of history: the latest definition walked may be another line's
        (rusqlite: 1,165 of 10,541 edges came from a commit that was not an ancestor)."""
        latest = self.latest_def.get(sid)
        if latest is None or is_ancestor is None:
            return latest
        for definer in [latest, *reversed(self.earlier_defs.get(sid, ()))]:
            if definer != commit and is_ancestor(definer, commit):
                return definer
        return None

    def _define_macros(self, path: str, macros: list[str],
                       exported: list[tuple[str, str]]) -> None:
        """Replace the macro symbols `path` defines (by_macro, macro_owners) and those of
        them it exports (exported_macros)."""
        was_exported = self.file_exported.get(path, [])
        if was_exported != exported:
            for root, sid in was_exported:
                held = self.exported_macros.get(root, [])
                if sid in held:
                    held.remove(sid)
                if not held:
                    self.exported_macros.pop(root, None)
                    names = self.exported_names.get(root.rpartition("::")[2], set())
                    names.discard(root)
            for root, sid in exported:
                self.exported_macros.setdefault(root, []).append(sid)
                self.exported_names.setdefault(root.rpartition("::")[2], set()).add(root)
            if exported:
                self.file_exported[path] = exported
            else:
                self.file_exported.pop(path, None)
        before = self.file_macros.get(path, [])
        if before == macros:
            return
        for sid in before:
            if _release_one(self.macro_owners, sid):
                _unindex(self.by_macro, sid)
        for sid in macros:
            count = self.macro_owners.get(sid, 0)
            self.macro_owners[sid] = count + 1
            if count == 0:
                self.by_macro[_crate_and_name(sid)].add(sid)
        if macros:
            self.file_macros[path] = macros
        else:
            self.file_macros.pop(path, None)

    def _set_fields(self, path: str, made: dict[tuple[str, str], dict[str, str]]) -> None:
        """Replace the struct fields `path` defines (struct_fields) with `made`."""
        self._set_by_path(path, made, self.struct_fields, self.file_structs)

    def _field_type(self, crate: str, owner: str, name: str) -> str:
        """The path of the type of field `name` of the crate's struct `owner`, as written,
        where every definition of a struct so named agrees; "" for none."""
        types = {fields.get(name, "") for fields in
                 self.struct_fields.get((crate, owner), {}).values()}
        return types.pop() if len(types) == 1 else ""

    def _set_derefs(self, path: str, made: dict[tuple[str, str], str]) -> None:
        """Replace the Deref targets `path` declares (deref_targets) with `made`."""
        self._set_by_path(path, made, self.deref_targets, self.file_derefs)

    def _set_by_path(self, path: str, made: dict[tuple[str, str], Any],
                     values: dict[tuple[str, str], dict[str, Any]],
                     keys_of: dict[str, list[tuple[str, str]]]) -> None:
        """Replace what `path` says of each key (`values`: key -> path -> value, `keys_of`:
        path -> its keys) with `made`, a new generation where that changes anything."""
        before = keys_of.get(path, [])
        if before == list(made) and all(values[key].get(path) == value
                                        for key, value in made.items()):
            return
        self.generation += 1
        for key in before:
            said = values.get(key, {})
            said.pop(path, None)
            if not said:
                values.pop(key, None)
        for key, value in made.items():
            values.setdefault(key, {})[path] = value
        if made:
            keys_of[path] = list(made)
        else:
            keys_of.pop(path, None)

    def _set_reexports(self, path: str, made: dict[str, list[str]]) -> None:
        """Replace the re-exports `path` makes (_reexports_of) with `made`."""
        before = self.file_reexports.get(path, [])
        if before == list(made) and all(self.reexports.get(sid) == made[sid] for sid in made):
            return
        self.generation += 1
        for sid in before:
            self.reexports.pop(sid, None)
        self.reexports.update(made)
        if made:
            self.file_reexports[path] = list(made)
        else:
            self.file_reexports.pop(path, None)

    def _set_root_imports(self, path: str, made: dict[str, list[str]]) -> None:
        """Replace the private root imports `path` makes (_root_imports_of) with `made`."""
        before = self.file_root_imports.get(path, [])
        if before == list(made) and all(
                self.root_imports.get(sid, {}).get(path) == made[sid] for sid in made):
            return
        self.generation += 1
        for sid in before:
            held = self.root_imports.get(sid, {})
            held.pop(path, None)
            if not held:
                self.root_imports.pop(sid, None)
        for sid, targets in made.items():
            self.root_imports.setdefault(sid, {})[path] = targets
        if made:
            self.file_root_imports[path] = list(made)
        else:
            self.file_root_imports.pop(path, None)

    def _set_path_mods(self, path: str,
                       made: list[tuple[tuple[str, str], tuple[str, str]]]) -> None:
        """Replace the `#[path]` declarations of `path` with `made` ((crate, declared
        module), (crate, module) of the file named)."""
        before = self.file_path_mods.get(path, [])
        if before == made:
            return
        self.generation += 1
        for key, named in before:
            targets = self.path_mods[key]
            targets.remove(named)
            if not targets:
                del self.path_mods[key]
        for key, named in made:
            self.path_mods.setdefault(key, []).append(named)
        if made:
            self.file_path_mods[path] = made
        else:
            self.file_path_mods.pop(path, None)
        prefixes: dict[str, list[str]] = defaultdict(list)
        for crate, module in self.path_mods:
            prefixes[crate].append(module + "::")
        for modules in prefixes.values():
            modules.sort(key=len, reverse=True)  # the innermost declaration first
        self.path_mod_prefixes = dict(prefixes)

    def _via_path_mod(self, crate: str, path: str, macro: bool, hops: int,
                      types: bool = False) -> str | None:
        """The symbol `path` names through a `#[path]` declaration of one of its modules."""
        for prefix in self.path_mod_prefixes.get(crate, ()):
            if path.startswith(prefix):
                rest = path[len(prefix):]
                for named_crate, named_module in self.path_mods[(crate, prefix[:-2])]:
                    found = self._find(named_crate, f"{named_module}::{rest}", macro, hops,
                                       types)
                    if found is not None:
                        return found
        return None

    def drop_file(self, path: str) -> None:
        for crate in [c for c, (root, _) in self.root_mods.items() if root == path]:
            del self.root_mods[crate]
        for crate in [c for c, paths in self.live_roots.items() if path in paths]:
            self.live_roots[crate].discard(path)
            if not self.live_roots[crate]:
                del self.live_roots[crate]
        self._set_path_mods(path, [])
        self._define_macros(path, [], [])
        self._define_counted(path, [], self.value_owners, self.file_values)
        self._define_counted(path, [], self.enum_owners, self.file_enums)
        self._define_counted(path, [], self.fallback_owners, self.file_fallbacks)
        self._set_reexports(path, {})
        self._set_root_imports(path, {})
        self._set_derefs(path, {})
        self._set_fields(path, {})
        self._set_params(path, {})
        self._set_extern_aliases(path, "", {})
        self.file_item_symbols.pop(path, None)
        self.path_ids.pop(path, None)
        dropped = self.file_symbols.pop(path, ())
        if dropped:
            self.generation += 1
            self._release(dropped)

    def _release(self, sids: Iterable[str]) -> None:
        for sid in sids:
            if not _release_one(self.owners, sid):
                continue
            self.private.discard(sid)
            self.crate_only.discard(sid)
            self._unindex_prefix(sid)
            _unindex(self.by_name, sid)
            _unindex(self.by_method, sid)
            self.method_kinds.pop(sid, None)

    def _set_params(self, path: str, params: dict[str, set[int]]) -> None:
        """The counts of parameters of the methods `path` defines; one it no longer does,
        or does with other counts, keeps the counts replaced a while (replaced_params)."""
        for sid in self.file_methods.get(path, ()):
            if sid not in params:
                self._replace_params(sid, path, frozenset())
        for sid, counts in params.items():
            self._replace_params(sid, path, frozenset(counts))
        if params:
            self.file_methods[path] = list(params)
        else:
            self.file_methods.pop(path, None)

    def _replace_params(self, sid: str, path: str, counts: frozenset[int]) -> None:
        by_path = self.method_params.setdefault(sid, {})
        before = by_path.get(path, frozenset())
        if before == counts:
            return
        for count in before - counts:
            self.replaced_params.append((self.files_defined, sid, count))
            self.replaced_counts.setdefault(sid, Counter())[count] += 1
        if counts:
            by_path[path] = counts
        else:
            del by_path[path]
            if not by_path:
                del self.method_params[sid]

    def _expire_replaced_params(self) -> None:
        """One more file defined: counts replaced REPLACED_PARAMS_FILES files ago bind no
        more (a new generation: calls resolved before may differ)."""
        self.files_defined += 1
        replaced = self.replaced_params
        while replaced and replaced[0][0] <= self.files_defined - REPLACED_PARAMS_FILES:
            _, sid, count = replaced.popleft()
            counts = self.replaced_counts[sid]
            counts[count] -= 1
            if not counts[count]:
                del counts[count]
                if not counts:
                    del self.replaced_counts[sid]
                self.generation += 1

    def _takes(self, sid: str, count: int) -> bool:
        """Whether a method may be called with `count` arguments: a count of one of its
        definitions, or one replaced lately; any where it is not known."""
        by_path = self.method_params.get(sid)
        if not by_path:
            return True
        replaced = self.replaced_counts.get(sid)
        return (replaced is not None and (count in replaced or UNREAD_PARAMS in replaced)) or any(
            count in counts or UNREAD_PARAMS in counts for counts in by_path.values())

    def _set_extern_aliases(self, path: str, crate: str, aliases: dict[str, str]) -> None:
        before = self.file_extern_aliases.get(path)
        if before == ((crate, aliases) if aliases else None):
            return
        if aliases:
            self.file_extern_aliases[path] = (crate, aliases)
        else:
            del self.file_extern_aliases[path]
        for changed in {crate, before[0] if before else crate} - {""}:
            merged = {alias: name for owner, found in self.file_extern_aliases.values()
                      if owner == changed for alias, name in found.items()}
            if merged:
                self.extern_aliases[changed] = merged
            else:
                self.extern_aliases.pop(changed, None)
        self.generation += 1  # a path's head may name another library now

    def _library_folder(self, crate: str, name: str) -> str | None:
        """The folder of the library `crate` names `name` (`name::…`): the one its root's
        `extern crate x as name;` names (quinn-proto's example `extern crate quinn_proto as
        quinn;` had bound `quinn::Endpoint` to the quinn crate's own, 84 samples), else
        the dependency its package renames to it, else the library of that name."""
        aliases = self.extern_aliases.get(crate)
        named = aliases.get(name) if aliases else None
        if named is not None:
            return crate if named == "self" else self._live_folder(named)
        return self._renamed(crate, name) or self._live_folder(name)

    def _live_folder(self, name: str) -> str | None:
        """The folder of the library so named: the revision's, unless no root file of it is
        live in the walk and one of another folder the history gave the name is."""
        folder = self.crate_folders.get(name)
        if folder is None or folder in self.live_roots:
            return folder
        return next((other for other in self.library_folders.get(name, ())
                     if other in self.live_roots), folder)

    def _renamed(self, crate: str, name: str) -> str | None:
        """The folder of the dependency that `crate`'s package renames to `name`: the
        renames of the nearest package folder at or above the crate's (a test crate's
        `quinn/tests/x` is quinn's; every package has an entry, renames or none, so a
        member's crates never take the root package's)."""
        if not self.crate_renames:
            return None
        folder = crate
        while True:
            renamed = self.crate_renames.get(folder or ".")
            if renamed is not None:  # the nearest package's, renames or none
                return renamed.get(name)
            if folder in ("", "."):
                return None
            folder = folder.rpartition("/")[0]

    def _declares(self, crate: str, module: str) -> bool:
        """Whether the root file of a test, example or bench crate declares `mod module;`."""
        declared = self.root_mods.get(crate)
        return declared is not None and module in declared[1]

    def _unique(self, index: dict[tuple[str, str], set[str]], crate: str, name: str,
                module: str | None = None) -> str | None:
        """The one symbol of the crate so named, among those seen from `module` (given):
        a private item only from its own module and those inside it (reqwest's parameter
        `url` bound to `proxy::tests::url`, a private test helper, in 90 items of other
        files)."""
        bucket = index.get((crate, name))
        if not bucket:
            return None
        if module is not None and len(bucket) <= 8:
            seen = [sid for sid in bucket if sid not in self.private
                    or _seen_from(sid, crate, module)]
            return seen[0] if len(seen) == 1 else None
        if len(bucket) == 1:
            return next(iter(bucket))
        return None

    def _unique_method(self, crate: str, name: str, module: str) -> str | None:
        """What a call `.name()` in `module` binds: the crate's one method so named (with a
        receiver) that it may reach, its type seen from there and a test module's only
        from inside it (tracing-opentelemetry's tracer.rs had bound `span_builder` to
        `layer::tests::TestTracer::span_builder`). A trait's method implemented for a type
        is never the one: the call names the trait's method (serde_json's
        `visitor.visit_string(v)` on a `V: Visitor` had bound `NumberOrObject::visit_string`,
        the crate's one impl of serde's method; tracing's `subscriber.clone_span(id)`
        `FmtSubscriber::clone_span`). A trait's own declaration is, where the other methods
        so named are its impls; any other method leaves the call unbound."""
        bucket = self.by_method.get((crate, name))
        if not bucket or len(bucket) > 8:
            return None
        kinds = self.method_kinds
        chosen = [sid for sid in bucket if not kinds.get(sid, "").startswith("impl:")
                  and self._method_seen_from(sid, crate, module)]
        if len(chosen) != 1:
            return None
        only = chosen[0]
        # Every trait impl's method so named competes, a private type's too: the call may
        # reach it through the trait (tracing's `event.record(..)` had bound its one
        # public `MockSubscriber::record` once a private type's impl was left out).
        impls = {kinds.get(sid, "") for sid in bucket
                 if sid != only and kinds.get(sid, "").startswith("impl:")}
        if not impls:
            return only
        trait = only.rpartition("::")[0].rpartition("::")[2]
        return only if kinds.get(only) == "decl" and impls == {f"impl:{trait}"} else None

    def _method_seen_from(self, sid: str, crate: str, module: str) -> bool:
        owner = sid.rpartition("::")[0]  # the method's type (or trait)
        if owner in self.private and not _seen_from(owner, crate, module):
            return False
        if self.fallback_owners.get(sid, 0) >= self.owners.get(sid, 1):
            # A fallback block's, where an import stands in for the block (anyhow's stub
            # `trait StdError`'s `source`: `.source()` is std's `Error::source`).
            home, _, path = sid.partition("|")
            if self._find(home, path) != sid:
                return False
        segments = owner[len(crate) + 1:].split("::")
        for end in range(1, len(segments) - 1):
            if segments[end] in _TEST_MODULES:
                # Compiled for tests only: seen from test code alone (tracing-subscriber's
                # `fmt::test::MockMakeWriter` from its other modules' tests).
                return not _TEST_MODULES.isdisjoint(module.split("::"))
        return True

    def _define_counted(self, path: str, sids: list[str], owners: dict[str, int],
                        by_file: dict[str, list[str]]) -> None:
        """Replace the symbols of one kind that `path` defines (value_owners and
        file_values, or enum_owners and file_enums). Its callers start a new generation
        (define_file on any change of the file's item symbols, drop_file)."""
        before = by_file.get(path, [])
        if before == sids:
            return
        for sid in before:
            _release_one(owners, sid)
        for sid in sids:
            owners[sid] = owners.get(sid, 0) + 1
        if sids:
            by_file[path] = sids
        else:
            by_file.pop(path, None)

    def _is_value(self, sid: str) -> bool:
        """Whether every current definition of `sid` but a macro is a function, const or
        static (a macro is in a namespace of its own: warp's `fn path` and `macro_rules!
        path` had made `warp::path::param` bind the function as the path's head)."""
        values = self.value_owners.get(sid, 0)
        return values > 0 and values >= self.owners.get(sid, 0) - self.macro_owners.get(sid, 0)

    def _defines(self, sid: str, macro: bool) -> bool:
        """Whether a current file defines `sid` as a macro (`macro`) or as something else."""
        macros = self.macro_owners.get(sid, 0)
        return macros > 0 if macro else self.owners.get(sid, 0) > macros

    def _find(self, crate: str, path: str, macro: bool = False, hops: int = 3,
              types: bool = False, globs: bool = True) -> str | None:
        """The symbol id an absolute `path` of `crate` names (`@name::…`: starting with a
        crate's name): one defined there, or one a `pub use` there re-exports (`hops`: how
        many re-exports deep; `globs`: a glob one too, for a path from outside its module:
        inside, an explicit `use` hides a glob's name, and the file's globs come after its
        imports, _simple). `types`: a module or type only (what a path's head names),
        not a function, const or static."""
        if path.startswith("@"):
            located = self._in_library(crate, path)
            if located is None or located[1] == "crate":
                return None
            crate, path = located
        sid = symbol_id(crate, path)
        if macro and sid in self.exported_macros and not self._defines(sid, macro):
            return self.exported_macros[sid][0]  # `#[macro_export]`: at its crate's root
        if self._defines(sid, macro) and not (types and self._is_value(sid)):
            if hops and self.fallback_owners.get(sid, 0) >= self.owners.get(sid, 0):
                # Defined only as a fallback (`#[cfg(not(feature = "git"))] pub struct
                # Git;`) beside `#[cfg(feature = "git")] pub use self::git::Git;`: the
                # re-export's (eza: 89 samples showed the stub for the real struct). Where
                # that names nothing here (`use std::error::Error as StdError;`), nothing: a
                # name from outside, as without the stub. So for a member of a fallback
                # block (`StdError::source`), through its block's re-export.
                owner, _, member = path.rpartition("::")
                targets = [(target, "") for target in self.reexports.get(sid, ())] or [
                    (target, f"::{member}") for target in self.reexports.get(
                        symbol_id(crate, owner), ()) if owner]
                if not targets:
                    # Or a glob its module re-exports (salsa's compiled twin `mod shim {
                    # pub use std::sync::*; }` beside the feature's `struct OnceLock`), for
                    # a member its block's module's.
                    head, _, block = owner.rpartition("::")
                    targets = [(f"{target}::{member}", "") for target in self.reexports.get(
                        symbol_id(crate, f"{owner}::*"), ())] or [
                        (f"{target}::{block}::{member}", "") for target in self.reexports.get(
                            symbol_id(crate, f"{head}::*"), ())
                        if head and symbol_id(crate, owner) in self.owners]
                for target, rest in targets:
                    found = self._find(crate, target + rest, macro, hops - 1, types)
                    if found is not None:
                        return found
                if targets:
                    return None
            return sid
        if hops:
            # The re-exports, then a crate root's private imports (by root path).
            for target in [*self.reexports.get(sid, ()), *(
                    target for _, targets in sorted(self.root_imports.get(sid, {}).items())
                    for target in targets)]:
                found = self._find(crate, target, macro, hops - 1, types)
                if found is not None and not self._private_elsewhere(crate, target, found):
                    return found
            # Through a module a `pub use` re-exports (`pub use crate::graph_impl::
            # stable_graph;`, then `crate::stable_graph::StableGraph`: petgraph, 48 of 63
            # such imports bound nothing), or a glob one makes names in (`pub use
            # clap_builder::*;`, then `clap::Command`: 792 of 969 of clap's samples using
            # its API since the split had no dependency in clap_builder; Rocket's `pub use
            # rocket_http::*;` in its `http` module), the longest such head first.
            cut = path.rfind("::")
            while cut > 0:
                head = path[:cut]
                if globs and symbol_id(crate, head + "::*") in self.reexports:
                    found = self._through_glob(crate, head, path[cut + 2:], macro, hops,
                                               types)
                    if found is not None:
                        return found
                for target in self.reexports.get(symbol_id(crate, head), ()) \
                        if "::" in head else ():  # a module: two segments at least
                    found = self._find(crate, target + path[cut:], macro, hops - 1, types)
                    if found is not None and not self._private_elsewhere(crate, target, found):
                        return found
                cut = path.rfind("::", 0, cut)
            # A module the folder's test (example, bench) crates share: `mod common;` in
            # tests/a.rs, then `common::setup()` (reqwest's tests/support, anyhow's
            # tests/common).
            shared = shared_module_crate(crate, path)
            if shared is not None and self._declares(crate, path.split("::", 2)[1]):
                found = self._find(*shared, macro, 0, types)
                if found is not None:
                    return found
            if crate in self.path_mod_prefixes:
                return self._via_path_mod(crate, path, macro, hops - 1, types)
        return None

    def _private_elsewhere(self, crate: str, target: str, found: str) -> bool:
        """Whether a re-export's `target` in `crate`, a path into another library, ends at
        that library's private or `pub(crate)` item, which no path from outside reaches:
        a crate root's private `use time::macros::time;` (a macro) had led `time::Time`
        into the proc-macro crate's `pub(crate) struct Time`."""
        return target.startswith("@") and found in self.crate_only and \
            found.partition("|")[0] != crate

    def _in_library(self, crate: str, path: str) -> tuple[str, str] | None:
        """(crate, absolute path) of `@name::…` written in `crate`: the library's folder and
        `crate::…` there (`crate` for `@name` alone), or None where no library is so named."""
        name, _, rest = path[1:].partition("::")
        folder = self._library_folder(crate, name)
        return None if folder is None else (folder, f"crate::{rest}" if rest else "crate")

    def _through_glob(self, crate: str, module: str, rest: str, macro: bool, hops: int,
                      types: bool) -> str | None:
        """`rest` (`Command`, `builder::Command`) through a glob `module` re-exports
        (`pub use clap_builder::*;`): only where the glob's target has something by the
        rest's first name (a module with items or re-exports, a type), so that no head is
        walked in vain (walking every head through every glob had cost nom's 19 root globs
        14 times the history's time), and never an enum's glob, which brings its variants,
        never its methods."""
        for target in self.reexports.get(symbol_id(crate, module + "::*"), ()):
            located = self._in_library(crate, target) if target.startswith("@") else (
                crate, target)
            if located is None:
                continue
            target_crate, target_path = located
            module_sid = symbol_id(target_crate, target_path)
            first = rest.partition("::")[0]
            head = f"{module_sid}::{first}"
            # Something by that name there (cheap look-ups first: most of a crate's failed
            # names meet every glob of its root), or the target's own glob.
            if head not in self.reexports and f"{module_sid}::*" not in self.reexports and (
                    module_sid not in self.glob_prefixes.get(first, ()) if "::" not in rest
                    else head not in self.module_heads and head not in self.top_modules
                    and f"{head}::*" not in self.reexports):
                continue
            if module_sid in self.enum_owners or (
                    self._find(target_crate, target_path, hops=1, types=True, globs=False)
                    in self.enum_owners):  # an enum re-exported by name
                continue
            found = self._find(crate, f"{target}::{rest}", macro, hops - 1, types)
            if found is not None:
                return found
        return None

    def _simple(self, name: str, crate: str, module: str, imports: Imports,
                macro: bool = False, types: bool = False) -> str | None:
        """A name (`macro`: of a macro call) resolved through the module, the imports, the
        globs, then as the crate's only symbol so named (of its namespace; `types`: a
        module or type, see _find)."""
        local_paths = imports.local.get(name)
        if local_paths is not None:  # the item's own `use`: another crate's where none here
            for path in local_paths:
                found = self._find(crate, path, macro, types=types)
                if found is not None:
                    return found
            return None
        local = self._find(crate, f"{module}::{name}", macro, types=types, globs=False)
        if local is not None:
            return local
        imported = imports.aliases.get(name)
        if imported:
            for path in imported:
                found = self._find(crate, path, macro, types=types)
                if found is not None:
                    return found
            return None  # imported from elsewhere (another crate): not a crate-wide name
        if imports.globs:
            if ":" in name:  # a path (`a::b!`): its last segment is not `name`
                for prefix in imports.globs:
                    found = self._find(crate, f"{prefix}::{name}", macro, types=types)
                    if found is not None:
                        return found
            else:
                # The first glob whose module defines `name`, as trying each in turn would
                # find it.
                heads = self.glob_prefixes.get(name)
                if heads:
                    for prefix in imports.globs:
                        head = symbol_id(crate, prefix)
                        # An enum's glob brings its variants in, never its methods
                        # (just's `use Error::*;` in Error::fmt had bound `fmt` to it).
                        if head in heads and head not in self.enum_owners:
                            sid = symbol_id(crate, f"{prefix}::{name}")
                            if self._defines(sid, macro) and \
                                    not (types and self._is_value(sid)):
                                return sid
                        elif crate in self.path_mod_prefixes:  # `use imp::*;`, imp `#[path]`
                            found = self._via_path_mod(crate, f"{prefix}::{name}", macro, 0,
                                                       types)
                            if found is not None:
                                return found
                # Or whose `pub use` names it (time's `use crate::internal_prelude::*;`,
                # the prelude re-exporting `Date`, `Time`, `Duration`: 27 of 109 uses of
                # its names that were not the crate's only ones bound).
                brought = False  # by a glob's re-export: from outside where none binds here
                for prefix in imports.globs:
                    glob_sid = symbol_id(crate, f"{prefix}::{name}")
                    # (a root's private imports too: `use super::*;` in its child modules
                    # brings them, chumsky's `Sealed`)
                    if glob_sid in self.reexports or (
                            prefix == "crate" and glob_sid in self.root_imports):
                        found = self._find(crate, f"{prefix}::{name}", macro, types=types)
                        if found is not None:
                            return found
                        brought = True
                if brought:
                    # A prelude's `pub use std::collections::HashMap;`: std's, not the
                    # crate's one `HashMap` elsewhere (a review).
                    return None
            # Not a path's head: `List::new` names the type, which code that compiles has
            # in scope (here perhaps only as the crate's one so named).
            if not macro and not types and ":" not in name:
                enum = self._enum_glob_with_variant(crate, imports.globs, name)
                if enum is not None:
                    return enum  # the variant's enum: what the code depends on
        # A name the module's own glob re-export brings, after its imports (another
        # crate's: `pub use base::*;`, which the file's globs do not follow).
        found = self._through_glob(crate, module, name, macro, 3, types)
        if found is not None:
            return found
        if macro:
            # A `macro_rules!` of an enclosing module is in textual scope (quick-xml's
            # src/de/mod.rs defines `deserialize_primitives!` before `mod map;`, whose impls
            # invoke it; where another module defined one so named, it was left unbound),
            # the nearest first.
            parent = module
            while "::" in parent:
                parent = parent.rpartition("::")[0]
                found = self._find(crate, f"{parent}::{name}", macro, globs=False)
                if found is not None:
                    return found
            return self._unique(self.by_macro, crate, name) or self._exported_macro(
                crate, name, imports)
        if name in PRELUDE_NAMES:
            return None  # std's, unless the module defines or imports its own (above)
        found = self._unique(self.by_name, crate, name, module)
        if found is not None and name in imports.renamed and any(
                self._find(crate, path, types=types) == found
                for alias in imports.renamed[name] for path in imports.aliases.get(alias, ())):
            # The file imports that very item under another name (pest's `use
            # crate::ast::Rule as AstRule;`, its bare `Rule` the generated grammar's enum:
            # 34 samples showed `ast::Rule`).
            return None
        return None if found is not None and types and self._is_value(found) else found

    def _exported_macro(self, crate: str, name: str, imports: Imports) -> str | None:
        """The `#[macro_export]` macro so named of a library of the repository that the
        crate's root brings in with `#[macro_use] extern crate …;`: a bare `name!` the crate
        neither defines nor imports by name (pest's tests: `parses_to!`), or that the file
        imports from (`use chumsky::prelude::*;`, the prelude's `pub use crate::select;`,
        followed no further here). Only such a library's: a crate that depends on no
        sibling exporting `info!` calls `log`'s (a review)."""
        roots = self.exported_names.get(name)
        if not roots:
            return None
        named = {self._live_folder(library) for key, library in
                 self.extern_aliases.get(crate, {}).items() if key.startswith("!")} | {
            self._library_folder(crate, head) for head in imports.heads}
        found = [root for root in roots
                 if root.rpartition("|")[0] in named and root.rpartition("|")[0] != crate]
        return self.exported_macros[found[0]][0] if len(found) == 1 else None

    def _path_macro(self, path: str, crate: str, module: str, imports: Imports) -> str | None:
        """A macro named by its path (`a::hello!`, `crate::log!`, `$crate::log!`,
        `super::m!`): through the crate or module its head names."""
        head, _, rest = path.removeprefix("::").partition("::")  # `::a::hello!`
        if head in ("crate", "$crate", "self", "super"):
            return self._find(crate, resolve_use_path(
                f"crate::{rest}" if head == "$crate" else path, module), macro=True)
        for base in imports.local.get(head) or imports.aliases.get(head) or ():
            found = self._find(crate, f"{base}::{rest}", macro=True)
            if found is not None:
                return found
        return self._find(crate, f"@{head}::{rest}", macro=True)  # a library by its name

    def _enum_glob_with_variant(self, crate: str, globs: list[str], name: str) -> str | None:
        """The first of `globs` that names a current enum (directly or re-exported) with a
        variant `name`."""
        for prefix in globs:
            if not prefix.rpartition("::")[2][:1].isupper():
                continue  # a module (enums are CamelCase): most globs
            sid = symbol_id(crate, prefix)
            if sid not in self.enum_variants:
                sid = self._find(crate, prefix, types=True) or sid
            known = self.enum_variants.get(sid)
            if known is not None and name in known[1] and self.enum_owners.get(sid):
                return sid
        return None

    def resolve(self, ref: str, item: Item, loc: ModuleLocation,
                imports: Imports) -> str | None:
        """The symbol id a reference in `item` (of the file at `loc`) names, if resolvable."""
        crate = loc.crate
        module = loc.join(item.module)
        if imports.local and (ref.startswith("Self") or "." in ref.rpartition(".")[0]):
            # The item's own type and fields' declared types are named in their module,
            # whatever its body imports (tokio's `use crate::wheel::Stack;` in
            # `DelayQueue::remove` had bound `self.expired.remove(…)` to the trait); a
            # local's declared type (`let s: Stack`) is named in the body, and so, as the
            # reference does not tell them apart, is a parameter's.
            imports = Imports(imports.aliases, imports.globs, imports.heads,
                              renamed=imports.renamed)
        if "." in ref:  # a method call: `.name(n)`, or `Type.name(n)` on a receiver of
            # known type, with n arguments
            written, _, call = ref.rpartition(".")
            name, _, arguments = call.partition("(")
            if written:
                found = self._typed_method(written, name, item, loc, imports)
            else:
                found = self._any_receivers_method(name, item, crate, module, imports)
            if found is not None and arguments and not self._takes(found, int(arguments[:-1])):
                return None
            return found
        if ref.endswith("!"):
            if "::" in ref:
                return self._path_macro(ref[:-1], crate, module, imports)
            return self._simple(ref[:-1], crate, module, imports, macro=True)
        if ref.startswith("use "):  # a `use` in the item's body: what a `use` item's names
            return self.resolve(ref[4:].partition(" as ")[0], item, loc, imports)
        if ref.endswith("::*"):  # a glob `use` in a body: what it imports from
            ref = ref[:-3]
            if "::" not in ref:
                return self._simple(ref, crate, module, imports, types=True)
        if "::" not in ref:
            return self._simple(ref, crate, module, imports)
        segments = ref.split("::")
        if segments[0] == "Self":
            segments[0] = item.self_type or item.name
        if segments[0] in ("crate", "self", "super"):
            absolute = resolve_use_path("::".join(segments), module)
            head = None
        elif symbol_id(crate, f"{module}::{segments[0]}") in self.module_heads and \
                segments[0][:1].islower():
            # A child module (`mod message;`, then `message::Field::new`): a path's first
            # segment names a module or type first, never the crate's function so named
            # (prost-derive's `message::Field` bound `crate::message`, a proc macro).
            absolute = "::".join([module, *segments])
            head = None
        else:
            # `Type::method`, `Enum::Variant`, `module::function`: resolve the first segment
            # as a name, then walk down.
            head = self._simple(segments[0], crate, module, imports, types=True)
            if head is None:
                # A module by the name it was imported as (`use futures_core::stream;` then
                # `stream::Stream`), or a crate by its name.
                rest = "::".join(segments[1:])
                # The item's own `use` of the name hides the file's (`use std::io::Error;`
                # in a body, then `Error::new`).
                bases = imports.local.get(segments[0])
                for base in [*(bases if bases is not None
                               else imports.aliases.get(segments[0], ())), f"@{segments[0]}"]:
                    found = self._exact_prefix(crate, f"{base}::{rest}")
                    # Not another crate's private or `pub(crate)` item: `use
                    # time::macros::time;` imports a macro, and `time::Time` beside it
                    # names the crate, not the proc-macro crate's private module `time`
                    # (time: 95 samples' packs listed its `pub(crate) struct Time`).
                    if found is not None and self._private_elsewhere(crate, base, found):
                        continue
                    if found is not None:
                        return found
                if item.kind == "use":
                    # A 2015-edition `use` path starts at the crate's root (`use with::with;`
                    # in actix's lib.rs: the module `with` and its function `with`).
                    found = self._exact_prefix(crate, f"crate::{ref}")
                    if found is not None:
                        return found
                module_sid = symbol_id(crate, f"{module}::{segments[0]}")
                absolute = "::".join([module, *segments])
                if module_sid not in self.owners and segments[0] not in imports.aliases:
                    return self._exact_prefix(crate, absolute)
            else:
                # In the head's crate: a type imported from a workspace sibling (`use
                # app::Command;`, then `Command::new`) had looked for its method here.
                crate, head_path = head.split("|", 1)
                absolute = "::".join([head_path, *segments[1:]])
        return self._exact_prefix(crate, absolute) or head

    def _any_receivers_method(self, name: str, item: Item, crate: str, module: str,
                              imports: Imports) -> str | None:
        """What `.name()` binds on a receiver of unknown type: the crate's one method so
        named (_unique_method), but none of std's names."""
        if name in STD_METHOD_NAMES or name in MACRO_METHOD_NAMES:
            return None
        found = self._unique_method(crate, name, module)
        # A workspace sibling the file imports from with a method of that name: the
        # receiver may well be its type (zola's `config.serialize(…)` had bound
        # TaxonomyItem::serialize), unless the method is the caller's own type's, most
        # often called on `self` (zola's Site methods: `self.populate_sections()` 156
        # times, `library.populate_sections()` 9).
        if found is not None and item.self_type != found.rpartition("::")[0].rpartition(
                "::")[2] and any(
                (folder, name) in self.by_method for head in imports.heads
                for folder in [self._library_folder(crate, head)]
                if folder is not None and folder != crate):
            return None
        return found

    def _typed_method(self, written: str, name: str, item: Item, loc: ModuleLocation,
                      imports: Imports) -> str | None:
        """What `x.name()` binds where `x` was declared with the type `written` (`Self`
        for `self`, `Type.field` for a field of one; rust_items._receiver_type): that
        type's method so named (its inherent one or its impl of a trait, in whatever module
        the impl block is), else a trait's declaration so named (a default method, a
        blanket impl, a generic's bound), else nothing: never another type's method
        (rustls's `registry.register(…)` on a `mio::Registry` had bound its own
        `Connection::register`)."""
        crate = loc.crate
        module = loc.join(item.module)
        from_field = "." in written
        if from_field:  # a field of a receiver: `Self.io`, `Page.meta`
            owner, _, field_name = written.partition(".")
            if owner != "Self" and self._kind_of_type(owner, item, loc, imports,
                                                      False)[1] != "crate":
                # Another crate's type, or a generic: its fields are not the crate's
                # same-named struct's.
                return self._any_receivers_method(name, item, crate, module, imports)
            owner = item.self_type if owner == "Self" else owner.rpartition("::")[2]
            written = self._field_type(crate, owner, field_name) if owner else ""
            if not written:  # a field of no struct known here: as `.name`
                return self._any_receivers_method(name, item, crate, module, imports)
            if written == "Self":  # `next: Box<Self>`: the struct's own type
                written = owner
        if written == "Self":
            if not item.self_type:
                return None
            written = item.self_type
            own_type, kind = self._simple(written, crate, module, imports, types=True), "crate"
        elif written == GENERIC_RECEIVER:  # a generic parameter: its bounds' methods
            own_type, kind = None, "generic"
        elif written.startswith(("Self::", "<")):  # an associated type: any type
            return self._any_receivers_method(name, item, crate, module, imports)
        else:
            own_type, kind = self._kind_of_type(written, item, loc, imports, from_field)
        simple = written.rpartition("::")[2]
        # Another crate's type (imported, a path, std's, a primitive) or a generic
        # parameter has no inherent method of the crate's, whatever type of the crate
        # shares its name (hyper's `tokio::io::ReadBuf` had bound its own
        # `ReadBuf::filled`).
        inherent = kind == "crate"
        kinds = self.method_kinds
        # A workspace sibling's type (`use library::Page;`) has its crate's methods, and
        # the impls of this crate's traits for it this crate's.
        home = own_type.rpartition("|")[0] if own_type is not None else crate
        bucket = [*self.by_method.get((home, name), ()),
                  *(self.by_method.get((crate, name), ()) if home != crate else ())]

        def seen(sid: str) -> bool:
            return self._method_seen_from(sid, sid.rpartition("|")[0], module)

        if (not inherent or own_type is None) and simple in _STD_TYPES and \
                name in STD_METHOD_NAMES:  # `Self` too, in the crate's impl for `Cow<'_, T>`
            # std's own method of its type, which Rust looks up before any trait's: salsa's
            # `self.current_page.as_ref()` on an `Option` field had bound its `impl
            # SalsaAsRef for Option<T>` (19 samples). By name: std's methods are not read
            # per type.
            return None
        # A method's id is its block's module, its type's simple name, its own name; a type
        # imported under another name (`as`) is found by its own path.
        owned = [sid for sid in bucket if seen(sid) and (
            _owner_name(sid) == simple or sid.rpartition("::")[0] == own_type)
            and (inherent or kinds.get(sid) != "inherent")]
        if len(owned) > 1 and own_type is not None:
            owned = [sid for sid in owned if sid.rpartition("::")[0] == own_type] or owned
        # What the type lacks, the type it derefs to (or aliases) may have (two steps).
        visited = {simple}
        while not owned and inherent and len(visited) < 3:
            targets = set(self.deref_targets.get((home, simple), {}).values())
            if len(targets) != 1 or (simple := targets.pop()) in visited:
                break
            if simple == DEREF_TO_ANY:  # a wrapper of any type: the call is as `.name`
                return self._any_receivers_method(name, item, crate, module, imports)
            visited.add(simple)
            owned = [sid for sid in bucket if _owner_name(sid) == simple and seen(sid)]
        if owned:
            return owned[0] if len(owned) == 1 else None
        if name in STD_METHOD_NAMES or name in MACRO_METHOD_NAMES:
            return None
        if kind == "foreign":
            # Another crate's type reaches the crate's method only through a trait the
            # crate implements for it: its declaration, where it is the crate's only
            # method so named, impls of it apart (tracing-subscriber's `metadata.level()`,
            # on tracing-core's Metadata, had bound `Match::level` beside `Span::level`).
            found = self._unique_method(crate, name, module)
            return found if found is not None and kinds.get(found) == "decl" else None
        # The crate's type, or a generic parameter (image's `image: &I`, `I: View`): the
        # one trait declaration so named.
        declared = [sid for sid in bucket if kinds.get(sid) == "decl" and seen(sid)]
        return declared[0] if len(declared) == 1 else None

    def _kind_of_type(self, written: str, item: Item, loc: ModuleLocation, imports: Imports,
                      from_field: bool) -> tuple[str | None, str]:
        """(the symbol of a receiver's declared type where it resolves, and whether it is
        the "crate"'s type, "foreign" (another crate's, std's, a primitive) or a "generic"
        parameter). A field's type, written where the struct is, which this file need not
        import, and a path that ends as one of the crate's does (written from elsewhere:
        rustls's `transcript: hash_hs::HandshakeHash`, hyper's 2015 `::header::Formatter`)
        are the crate's; a name neither resolved nor imported, a generic parameter."""
        crate = loc.crate
        simple = written.rpartition("::")[2]
        if "::" in written:
            found = self.resolve(written, item, loc, imports)
            if found is not None and found.endswith(f"::{simple}"):
                return found, "crate"
            return None, "crate" if self._ends_as_defined(crate, written.lstrip(":")) \
                else "foreign"
        own_type = self._simple(written, crate, loc.join(item.module), imports, types=True)
        if own_type is not None:
            return own_type, "crate"
        if simple in PRELUDE_NAMES or simple in _PRIMITIVES:
            return None, "foreign"
        if simple in imports.aliases:
            return None, "foreign" if self._imported_from_elsewhere(simple, crate, imports) \
                else "crate"
        return None, "crate" if from_field else "generic"

    def _imported_from_elsewhere(self, name: str, crate: str, imports: Imports) -> bool:
        """Whether the file's `use` of `name` starts at another crate: not at `crate`,
        `self` or `super`, nor (2015) at one of the crate's top-level modules (hyper's
        `use proto::Conn;`, a re-export the look-up had not followed)."""
        paths = imports.aliases.get(name, ())
        for path in paths:  # the crate's module the use path may name (2015 and 2018)
            if path.startswith("crate::") and \
                    symbol_id(crate, path.rpartition("::")[0]) in self.module_heads:
                return False
        for path in paths:
            if path.startswith("@"):  # the use path as written (symbols.use_targets)
                head = path[1:].partition("::")[0]
                return symbol_id(crate, f"crate::{head}") not in self.top_modules
        return False

    def _ends_as_defined(self, crate: str, path: str) -> bool:
        """Whether a symbol of the crate has an id that ends in `path` (`hash_hs::
        HandshakeHash`: `rustls|crate::hash_hs::HandshakeHash`)."""
        head, _, last = path.rpartition("::")
        ends = (f"{crate}|{head}", f"{crate}|crate::{head}")
        return any(found in ends or (found.startswith(f"{crate}|")
                                     and found.endswith(f"::{head}"))
                   for found in self.glob_prefixes.get(last, ()))

    def _exact_prefix(self, crate: str, absolute: str) -> str | None:
        """The longest prefix of an absolute path that is a symbol (`Token::Ident` -> `Token`);
        a shorter prefix than the whole path names a module or type only (see _find)."""
        parts = absolute.split("::")
        for end in range(len(parts), 1, -1):
            found = self._find(crate, "::".join(parts[:end]), types=end < len(parts))
            if found is not None:
                if end < len(parts):
                    # The rest where the prefix was found: through a re-export, in another
                    # module or crate (`app::Command::new`, `app` re-exporting its builder
                    # crate's `Command` by a glob).
                    found_crate, found_path = found.split("|", 1)
                    rest = "::".join([found_path, *parts[end:]])
                    if (found_crate, rest) != (crate, absolute):
                        deeper = self._find(found_crate, rest, hops=0)
                        if deeper is not None:
                            return deeper
                return found
        return None
