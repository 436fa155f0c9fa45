"""Type facts of a sample, rendered in one of three modes.

Facts come from tree-sitter (always: declared signatures, generics, trait bounds, where-clauses,
lifetimes, associated types, macro invocations) and, where the crate built offline at a
snapshot, from rustdoc JSON (compiler-resolved signatures; see `dataset_builder.rustdoc`).

- `header`: a compact `//` comment block before the code (the default).
- `inline`: `<TYPE:…>`, `<TRAIT:…>` and `<LIFETIME:…>` tokens right after identifiers of the
  target and context. `strip_inline` removes them exactly; the set of tokens used is written
  out for the tokenizer (OUT/type_tokens.json).
- `none`: the code alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node, Parser

from dataset_builder.rust_items import as_parsed, new_parser

MODES = ("header", "inline", "none")
HEADER_FIRST_LINE = "// ferric type facts"

INLINE_TOKEN = re.compile(r"<(?:TYPE|TRAIT|LIFETIME):[A-Za-z0-9_'(),\[\]&*]+>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRIMITIVE_OR_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")


def strip_inline(text: str) -> str:
    """Remove every inline type-fact token: the exact inverse of `render_inline` (which refuses
    texts that already contain such a token)."""
    return INLINE_TOKEN.sub("", text)


def has_inline_tokens(text: str) -> bool:
    return INLINE_TOKEN.search(text) is not None


def outer_type_name(type_text: str) -> str:
    """`&'a mut Vec<Option<T>>` -> `Vec`, `()` -> `()`, `(u32, u32)` -> `(,)`, `[u8; 4]` ->
    `[]`, `impl Fn()` -> `Fn`: the name an inline `<TYPE:…>` token carries (a small,
    reusable vocabulary). A tuple is not unit: minijinja's `fn loc(&self) -> (u32, u32,
    u32)` had `<TYPE:()>` as a function returning nothing has (a sweep: 60 samples)."""
    text = type_text.strip()
    while True:
        text = text.lstrip("&*").strip()
        text = re.sub(r"^'[A-Za-z_][A-Za-z0-9_]*\s*", "", text)
        for prefix in ("mut ", "const ", "dyn ", "impl "):
            if text.startswith(prefix):
                text = text[len(prefix):].strip()
                break
        else:
            break
    if text.startswith("("):
        depth, comma = 0, False
        for at, char in enumerate(text):
            if char in "([<{":
                depth += 1
            elif char in ")]>}" and not (char == ">" and text[at - 1:at] == "-"):
                depth -= 1
                if depth == 0:
                    inner = text[1:at]
                    break
            elif char == "," and depth == 1:
                comma = True
        else:
            inner = text[1:]
        if not inner.strip():
            return "()"
        # `(T,)` and `(A, B)` are tuples; `(dyn Error + Send)` only groups its type
        return "(,)" if comma else outer_type_name(inner)
    if text.startswith("["):
        return "[]"
    match = _PRIMITIVE_OR_PATH.match(text)
    if match is None:
        return ""
    return match.group().rsplit("::", 1)[-1]


@dataclass
class TypeFacts:
    """What is known of the names a text uses, at one commit."""

    # fn/method name, and `Owner::name` for a method of an impl of Owner -> outer return type
    returns: dict[str, str] = field(default_factory=dict)
    traits: set[str] = field(default_factory=set)  # names of traits (crate-defined or bounds)
    rustdoc: dict[str, str] = field(default_factory=dict)  # symbol id -> resolved signature
    # Names of methods that return Self: their type is known only where the call names the
    # owner (`Owner::name()`, or `Self::name()`: Self), so they have no bare-name entry.
    self_returns: set[str] = field(default_factory=set)
    # Names of free functions (not in an impl): a bare-name entry a scoped call falls back
    # on only when it is one (`fs::read()`), not another type's method (`Other::new()`).
    free_functions: set[str] = field(default_factory=set)

    def note_return(self, name: str, signature: str, self_type: str | None) -> None:
        """Record a function's or method's return type; `self_type`: the type of the impl
        a method is in (None or empty: none). A `Self` return is the impl's type where the
        call names it: `Permission::default()` inside `impl ColorTheme` was `<TYPE:Self>`,
        which there reads as ColorTheme (lsd's inline samples: 8,811 of 42,205 type
        tokens were `<TYPE:Self>`)."""
        returned = return_type(signature)
        owner = outer_type_name(self_type) if self_type else ""
        if returned == "Self":
            self.self_returns.add(name)
            if owner:
                self.returns[f"{owner}::{name}"] = owner
            return
        self.returns[name] = returned
        if owner:
            self.returns[f"{owner}::{name}"] = returned
        else:
            self.free_functions.add(name)


@dataclass
class InlineResult:
    text: str
    tokens: Counter[str]


_RETURN = re.compile(r"->\s*(.+?)\s*(?:where\b|$)", re.S)


def return_type(signature: str) -> str:
    """Outer return type name of a function signature (`()` when it returns nothing)."""
    match = _RETURN.search(signature)
    if match is None:
        return "()"
    return outer_type_name(match.group(1)) or ""


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return new_parser()


def _ident_after(node: Node) -> Node | None:
    """The identifier a pattern binds (`x`, `mut x`, `ref x`), if simple."""
    if node.type == "identifier":
        return node
    if node.type in ("mut_pattern", "ref_pattern"):
        for child in node.named_children:
            if child.type == "identifier":
                return child
    return None


def render_inline(text: str, facts: TypeFacts) -> InlineResult | None:
    """The text with inline type tokens after identifiers:

    - a parameter or typed `let` binding: `<TYPE:T>` (outer type name), plus `<LIFETIME:'a>` when
      its type is a reference with a named lifetime;
    - a call of a function or method whose declaration is known: `<TYPE:R>` (its return type);
    - a type name that is a trait: `<TRAIT:Name>`.

    Returns None for a text that already contains something shaped like a token (stripping
    could not restore it exactly)."""
    if has_inline_tokens(text):
        return None
    src = text.encode("utf-8")
    tree = _parser().parse(as_parsed(src))
    inserts: list[tuple[int, str]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in ("parameter", "let_declaration"):
            pattern = node.child_by_field_name("pattern")
            type_node = node.child_by_field_name("type")
            ident = _ident_after(pattern) if pattern is not None else None
            if ident is not None and type_node is not None:
                type_text = src[type_node.start_byte:type_node.end_byte].decode("utf-8",
                                                                                 "replace")
                name = outer_type_name(type_text)
                if name:
                    token = f"<TYPE:{name}>"
                    life = re.match(r"&\s*('[A-Za-z_][A-Za-z0-9_]*)", type_text)
                    if life:
                        token += f"<LIFETIME:{life.group(1)}>"
                    inserts.append((ident.end_byte, token))
        elif kind == "call_expression":
            function = node.child_by_field_name("function")
            target = function
            owner = ""  # what a scoped call names before its function: `Owner::name()`
            if function is not None and function.type == "field_expression":
                target = function.child_by_field_name("field")
            elif function is not None and function.type == "scoped_identifier":
                target = function.child_by_field_name("name")
                path = function.child_by_field_name("path")
                if path is not None:
                    owner = outer_type_name(
                        src[path.start_byte:path.end_byte].decode("utf-8", "replace"))
            if target is not None and target.type in ("identifier", "field_identifier"):
                name = src[target.start_byte:target.end_byte].decode("utf-8", "replace")
                ret = facts.returns.get(f"{owner}::{name}") if owner else None
                if ret is None and owner == "Self" and name in facts.self_returns:
                    ret = "Self"
                elif ret is None and (not owner or owner == "Self"
                                      or name in facts.free_functions):
                    # A method call, a call of the enclosing impl's own function, or a path
                    # to a free function: another type's `Owner::name()` is not this one.
                    ret = facts.returns.get(name)
                if ret:
                    inserts.append((target.end_byte, f"<TYPE:{ret}>"))
        elif kind == "type_identifier":
            name = src[node.start_byte:node.end_byte].decode("utf-8", "replace")
            if name in facts.traits:
                inserts.append((node.end_byte, f"<TRAIT:{name}>"))
        stack.extend(node.named_children)
    if not inserts:
        return InlineResult(text, Counter())
    inserts.sort(key=lambda pair: pair[0])
    pieces: list[bytes] = []
    last = 0
    tokens: Counter[str] = Counter()
    for pos, token in inserts:
        pieces.append(src[last:pos])
        pieces.append(token.encode())
        tokens.update(INLINE_TOKEN.findall(token))
        last = pos
    pieces.append(src[last:])
    rendered = b"".join(pieces).decode("utf-8", "replace")
    if strip_inline(rendered) != text:  # e.g. a name with characters tokens do not allow
        return None
    return InlineResult(rendered, tokens)


_AFTER_OPEN = re.compile(r"([(<]) ")
_BEFORE_CLOSE = re.compile(r",? ([)>])")


def one_line_code(code: str) -> str:
    """Code written over several lines as one line would be written: the history keeps a
    signature, generics or a bound with its line breaks squashed to spaces (`fn new( a: A,
    b: B, ) -> T`, `struct Db< const N: usize = 64, >`)."""
    return _BEFORE_CLOSE.sub(r"\1", _AFTER_OPEN.sub(r"\1", " ".join(code.split())))


def render_header(lines: Iterable[str], source: str, limit_chars: int) -> str:
    """A `//` comment block of facts, at most `limit_chars` long (whole lines only), each
    fact on one line (one_line_code) and once."""
    out = [f"{HEADER_FIRST_LINE} ({source})"]
    size = len(out[0]) + 1
    seen: set[str] = set()
    for line in lines:
        line = one_line_code(line)
        if not line or line in seen:  # a fact said once (a method of two used types' impls)
            continue
        seen.add(line)
        rendered = f"// {line}"
        if size + len(rendered) + 1 > limit_chars:
            out.append("// …")
            break
        out.append(rendered)
        size += len(rendered) + 1
    if len(out) == 1:
        return ""
    return "\n".join(out) + "\n"
