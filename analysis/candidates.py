"""What is done to a candidate before (or instead of) compiling it, all with tree-sitter:

* `degenerate`: bodies that are empty or only `todo!`, `unimplemented!`, `unreachable!`,
  `panic!` or `loop {}` -- they type-check, so without this guard `todo!()` would score 100%;
* `rejection`: `include!`/`include_str!`/`include_bytes!` or `#[path]` reaching outside the
  crate (or not a plain literal the original also had), `extern crate` of undeclared crates;
* `probe`: the original with a type error planted inside the target, used once per target to
  prove that the target's code is type-checked at all (not cfg'd out, not in a file no crate
  target compiles) -- otherwise any candidate would "compile";
* baselines `todo` and `mutate` (one statement removed or one identifier changed).
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from tree_sitter import Node, Parser

from dataset_builder.rust_items import new_parser

DEGENERATE_MACROS = frozenset({"todo", "unimplemented", "unreachable", "panic"})
PROBE_STMT = 'let _: u8 = "ferric-probe";'
PROBE_FN = f"\nfn __ferric_probe() {{ {PROBE_STMT} }}\n"
_COMMENTS = frozenset({"line_comment", "block_comment"})


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return new_parser()  # one per process, reused: candidates are parsed on every check


def parse(text: str) -> tuple[Node, bytes]:
    data = text.encode("utf-8")
    return _parser().parse(data).root_node, data


def _function_bodies(node: Node, outermost: bool = True) -> list[Node]:
    """Bodies of function items (not closures); with outermost, not those nested in a body."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "function_item":
            body = current.child_by_field_name("body")
            if body is not None:
                found.append(body)
                if outermost:
                    continue
        stack.extend(reversed(current.children))
    return sorted(found, key=lambda n: n.start_byte)


def _macro_name(node: Node, data: bytes) -> str:
    name = node.child_by_field_name("macro")
    if name is None:
        return ""
    text = data[name.start_byte:name.end_byte].decode("utf-8", "replace")
    return text.rsplit("::", 1)[-1]


def _is_degenerate_expr(node: Node, data: bytes) -> bool:
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    if node.type == "macro_invocation":
        return _macro_name(node, data) in DEGENERATE_MACROS
    if node.type == "loop_expression":
        body = node.child_by_field_name("body")
        return body is not None and not [c for c in body.named_children
                                         if c.type not in _COMMENTS]
    return False


def _is_degenerate_body(body: Node, data: bytes) -> bool:
    content = [c for c in body.named_children if c.type not in _COMMENTS]
    return not content or (len(content) == 1 and _is_degenerate_expr(content[0], data))


def degenerate(text: str) -> bool:
    """Empty, or every function body in it is empty or only todo!/unimplemented!/... ."""
    if not text.strip():
        return True
    root, data = parse(text)
    if not [c for c in root.named_children if c.type not in _COMMENTS]:
        return True  # comments only
    bodies = _function_bodies(root)
    return bool(bodies) and all(_is_degenerate_body(b, data) for b in bodies)


def item_name(text: str, kind: str) -> str | None:
    """Name of the first function (kind function/method) in text; "" when there is none.

    None for other kinds. A candidate for a function target must define that function: a
    candidate that only deletes the target (a test, an unused helper) would otherwise compile.
    """
    if kind not in ("function", "method"):
        return None
    root, data = parse(text)
    stack = [root]
    while stack:
        node = stack.pop(0)
        if node.type == "function_item":
            name = node.child_by_field_name("name")
            return data[name.start_byte:name.end_byte].decode("utf-8", "replace") if name else ""
        stack.extend(node.children)
    return ""


def missing_item(candidate: str, original: str, kind: str) -> bool:
    """The candidate does not define the target's item (a function of the same name, an impl)."""
    if kind == "impl":
        root, _ = parse(candidate)
        return not any(c.type == "impl_item" for c in root.named_children)
    wanted = item_name(original, kind)
    return wanted is not None and item_name(candidate, kind) != wanted


# --- rejections --------------------------------------------------------------------------

_INCLUDE = re.compile(r"\binclude(?:_str|_bytes)?\s*!\s*([(\[{])")
_PATH_ATTR = re.compile(r"#\s*!?\s*\[[^\]]*?\bpath\s*=\s*(r#*\"|\")")
_EXTERN_CRATE = re.compile(r"\bextern\s+crate\s+([A-Za-z_][A-Za-z0-9_]*)")
_LITERAL = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|r(#*)"(.*?)"\2)\s*,?\s*', re.S)
_CLOSE = {"(": ")", "[": "]", "{": "}"}


def _balanced_argument(text: str, open_at: int) -> str:
    opener = text[open_at]
    depth, i = 0, open_at
    while i < len(text):
        ch = text[i]
        if ch == opener:
            depth += 1
        elif ch == _CLOSE[opener]:
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
        i += 1
    return text[open_at + 1:]


def include_arguments(text: str) -> list[str]:
    """The raw argument text of every include!/include_str!/include_bytes!, and #[path] values."""
    args = [_balanced_argument(text, m.start(1)) for m in _INCLUDE.finditer(text)]
    for match in _PATH_ATTR.finditer(text):
        rest = text[match.start(1):]
        lit = _LITERAL.match(rest)
        args.append("#path " + (lit.group(0).strip() if lit else rest[:80]))
    return args


def _literal_value(arg: str) -> str | None:
    arg = arg.removeprefix("#path ")
    match = _LITERAL.fullmatch(arg)
    if not match:
        return None
    return match.group(1) if match.group(1) is not None else match.group(3)


def extern_crates(text: str) -> set[str]:
    return set(_EXTERN_CRATE.findall(text))


def rejection(text: str, file_dir: str, allowed_includes: set[str], allowed_crates: set[str]
              ) -> str:
    """Why the candidate must not reach the compiler ("" when it may).

    file_dir: the candidate file's folder relative to the crate root ("" = the root).
    allowed_includes: argument texts the original file itself uses (trusted as they are).
    """
    for arg in include_arguments(text):
        if arg.strip() in allowed_includes:
            continue
        value = _literal_value(arg)
        if value is None:
            return "include_not_a_literal"
        if value.startswith("/") or "\\" in value or value.startswith("~"):
            return "include_outside_crate"
        depth = len([p for p in file_dir.split("/") if p])
        for part in value.split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    return "include_outside_crate"
            elif part not in ("", "."):
                depth += 1
    for match in _EXTERN_CRATE.finditer(text):
        if match.group(1) not in allowed_crates and match.group(1) != "self":
            return "undeclared_extern_crate"
    return ""


# --- probe and baselines ------------------------------------------------------------------

def probe(target: str, kind: str, last_part: bool = True) -> str | None:
    """The target with a type error planted where only type-checking the target would see it."""
    root, data = parse(target)
    if kind in ("function", "method"):
        bodies = _function_bodies(root)
        if not bodies:
            return None
        body = bodies[0]
        return (data[:body.start_byte] + ("{ " + PROBE_STMT + " loop {} }").encode()
                + data[body.end_byte:]).decode("utf-8", "replace")
    if kind == "impl":
        queue: list[Node] = [root]
        while queue:
            node = queue.pop(0)
            if node.type in ("impl_item", "trait_item"):
                block = node.child_by_field_name("body")
                if block is None:
                    return None
                at = block.start_byte + 1
                return (data[:at] + PROBE_FN.encode() + data[at:]).decode("utf-8", "replace")
            queue.extend(node.children)
        return None
    # modules and module groups: a free function at the end (or start of a middle part)
    if last_part:
        return target + ("" if target.endswith("\n") else "\n") + PROBE_FN
    return PROBE_FN + target


def todo_baseline(target: str) -> str:
    """Every outermost function body replaced by `{ todo!() }`; no function at all -> ""."""
    root, data = parse(target)
    bodies = _function_bodies(root)
    if not bodies:
        return ""
    out = bytearray()
    last = 0
    for body in bodies:
        out += data[last:body.start_byte] + b"{ todo!() }"
        last = body.end_byte
    out += data[last:]
    return out.decode("utf-8", "replace")


def mutate_baseline(target: str, seed: str) -> str:
    """The original with one statement removed or one identifier changed (seeded per target)."""
    rng = random.Random(seed)
    root, data = parse(target)
    statements: list[Node] = []
    identifiers: list[Node] = []
    for body in _function_bodies(root, outermost=False):
        stack = [body]
        while stack:
            node = stack.pop()
            if node.type == "identifier" and node.parent is not None \
                    and node.parent.type != "macro_invocation":
                identifiers.append(node)
            stack.extend(node.children)
        for child in body.named_children:
            if child.type in ("let_declaration", "expression_statement"):
                statements.append(child)
    if not identifiers:
        stack = [root]
        while stack:
            node = stack.pop()
            if node.type in ("identifier", "type_identifier"):
                identifiers.append(node)
            stack.extend(node.children)
    use_statement = statements and (not identifiers or rng.random() < 0.5)
    if use_statement:
        node = rng.choice(sorted(statements, key=lambda n: n.start_byte))
        out = data[:node.start_byte] + data[node.end_byte:]
    elif identifiers:
        node = rng.choice(sorted(identifiers, key=lambda n: n.start_byte))
        name = data[node.start_byte:node.end_byte]
        out = data[:node.start_byte] + name + b"_ferric" + data[node.end_byte:]
    else:
        out = data + b"\n!"
    return out.decode("utf-8", "replace")


def item_complete(text: str) -> int:
    """Byte length of the first complete top-level item in text, or 0 if none is complete yet.

    Used as the stop condition of generation: braces balance and tree-sitter sees an item
    without errors.
    """
    root, data = parse(text)
    for child in root.named_children:
        if child.type in _COMMENTS or child.type == "attribute_item":
            continue
        if child.has_error or child.is_missing:
            return 0
        if child.end_byte <= len(data) and data[:child.end_byte].rstrip().endswith((b"}", b";")):
            return child.end_byte
        return 0
    return 0
