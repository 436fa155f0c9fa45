"""Sample filters, redaction and deduplication. Every drop carries its reason.

Filters follow StarCoder's data card: maximum line length, mean line length, alphanumeric
fraction, size caps. Redaction replaces e-mail addresses and secrets by StarCoder's
`<EMAIL>`, `<KEY>` and `<PASSWORD>` placeholders (counted, not dropped). Deduplication is exact
(a hash of the whitespace-normalised target) and near (MinHash of 5-gram shingles, Jaccard 0.7,
datasketch LSH), keeping the newest version: history repeats a function hundreds of times.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FilterConfig:
    max_line_length: int = 1000
    """Drop a sample whose target has a longer line (minified or generated code)."""
    max_mean_line_length: float = 100.0
    """Drop a sample whose target's mean line length is larger."""
    min_alnum_fraction: float = 0.25
    """Drop a sample whose target has fewer alphanumeric characters than this fraction of
    its characters, less each line's indentation (StarCoder's filter counts whole files;
    a function of deeply nested code is over half indentation: syn's `item.rs` `parse`, 78%
    alphanumeric among its other characters, had fallen under 0.25)."""
    drop_comment_only: bool = True
    """Drop a sample whose target is comments only (a module file of `//!` docs, a split
    part of a long `//` doc comment; a part cut from inside a `/* */` comment starts as
    prose, read as code, and is kept): no code to learn to write."""
    max_target_chars: int = 400_000
    """Size cap on one target part (after splitting): larger parts are dropped."""
    min_target_loc: int = 1
    """Drop targets with fewer non-blank lines."""
    max_digit_fraction: float = 0.7
    """Drop a sample whose target's non-space characters are more than this fraction
    digits (decimal digits, and every character of a hex, octal or binary literal): a table
    of numbers, not code (a 890 KB table of `358230,` lines: 86%; `0x1f, ` bytes: 80%;
    code runs at a few percent, a test's matrix of float literals at about 63%)."""


def filter_reason(target: str, config: FilterConfig) -> str | None:
    """Why a target is dropped (None: kept)."""
    lines = target.splitlines()
    need = config.min_target_loc
    # One non-blank line exists exactly when the text has a non-space character (line
    # breaks are whitespace); counting lines is only needed for a larger minimum.
    if need > 0 and (not target.strip() if need == 1
                     else sum(1 for line in lines if line.strip()) < need):
        return "empty_target"
    if config.drop_comment_only and not has_code(target):
        return "comments_only"
    if len(target) > config.max_target_chars:
        return "too_large"
    if max(map(len, lines), default=0) > config.max_line_length:
        return "max_line_length"
    if len(target) / max(1, len(lines)) > config.max_mean_line_length:
        return "mean_line_length"
    if _alnum_count(target) / max(1, len(target) - _indentation(lines)) < \
            config.min_alnum_fraction:
        return "alnum_fraction"
    digits, non_space = _digits_and_non_space(target)
    if digits > config.max_digit_fraction * non_space:
        return "digit_fraction"
    if CONFLICT_MARKER.search(target):
        return "merge_conflict_markers"
    return None


FILE_SEP = "<file_sep>"  # StarCoder2's repository-level format for multi-file targets
# White space, line comments and the file separator lines of a multi-file target (axum's
# crate of one file of `// intentionally left empty` was kept: its `<file_sep>path` line
# had counted as code).
_SPACE_AND_LINE_COMMENTS = re.compile(rf"(?:\s|//[^\n]*|(?:^|(?<=\n)){FILE_SEP}[^\n]*)*")
_BLOCK_COMMENT_MARK = re.compile(r"/\*|\*/")


def has_code(text: str) -> bool:
    """Whether anything but white space, comments (line and nested block comments) and a
    multi-file target's separator lines (FILE_SEP) is in the text. Scanned from the start
    up to the first code, in one pass as rustc's lexer reads block comments (`/*` opens,
    `*/` closes, the leftmost first: `/*/` opens); a `//` or `/*` inside a string comes
    after its opening quote, which is code already."""
    at, end = 0, len(text)
    while True:
        match = _SPACE_AND_LINE_COMMENTS.match(text, at)
        at = match.end() if match is not None else at
        if at >= end:
            return False
        if not text.startswith("/*", at):
            return True
        depth, at = 1, at + 2
        while depth:
            mark = _BLOCK_COMMENT_MARK.search(text, at)
            if mark is None:
                return False  # a comment left open takes the rest
            depth += 1 if mark.group() == "/*" else -1
            at = mark.end()


# A line git writes into a file whose merge conflicts (`<<<<<<< HEAD`, `||||||| base`,
# `>>>>>>> branch`): code committed mid-merge, which does not compile (serde_json's
# ser.rs at 7943b82e made 3 samples). A lone `=======` line is left alone: a Markdown
# heading in a string may be one.
CONFLICT_MARKER = re.compile(r"^(?:<<<<<<<|>>>>>>>|\|\|\|\|\|\|\|)(?: |\r?$)", re.MULTILINE)


_RADIX_LITERAL = re.compile(rb"\b0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)")


def _digits_and_non_space(text: str) -> tuple[int, int]:
    """ASCII decimal digits and the other characters of hex, octal and binary literals
    (`0x1f`: 4; a table of bytes, `0xa3, 0x1f, `, had passed at 20-64% decimal digits),
    and characters that are not ASCII whitespace (translate deletes in C; code has few
    other spaces). A literal never spans a line break, so a text's counts are its lines'
    added up (PieceChecks)."""
    data = text.encode("ascii", "ignore")
    digits = len(data) - len(data.translate(None, b"0123456789"))
    if b"0x" in data or b"0X" in data or b"0b" in data or b"0o" in data or b"0B" in data \
            or b"0O" in data:
        digits += len(b"".join(_RADIX_LITERAL.findall(data)).translate(None, b"0123456789"))
    spaces = len(data) - len(data.translate(None, b" \t\n\r\x0b\x0c"))
    return digits, len(text) - spaces


def _indentation(lines: list[str]) -> int:
    """The leading spaces and tabs of the lines, together."""
    return sum(len(line) - len(line.lstrip(" \t")) for line in lines)


def _alnum_count(text: str) -> int:
    # ASCII characters counted in bytes (translate deletes in C, several times faster than
    # re; encode drops the others), other characters one by one (code has few of them).
    data = text.encode("ascii", "ignore")
    alnum = len(data) - len(data.translate(None, _ASCII_ALNUM))
    if len(data) != len(text):
        alnum += sum(ch.isalnum() for run in _NON_ASCII.findall(text) for ch in run)
    return alnum


@dataclass(frozen=True, slots=True)
class _PieceFacts:
    """What filter_reason and normalised_hash need of a piece of text that ends in a line
    break (or ends the text), so that a text's are its pieces' put together."""

    chars: int
    lines: int
    longest_line: int
    non_blank_lines: int  # counted only when the filter needs more than one
    has_non_space: bool
    alnum: int
    indentation: int  # leading spaces and tabs of its lines
    conflict: bool  # a merge conflict's marker line (CONFLICT_MARKER)
    digits: int
    non_space: int
    normalised: bytes  # its words joined by single spaces, UTF-8


class PieceChecks:
    """filter_reason and normalised_hash of texts made of pieces that recur across texts
    (the files of the module groups and crates of many snapshots), each piece examined once
    and its facts kept by digest (up to MAX_BYTES of normalised text). A piece that ends in
    a line break has whole lines and whole words, so the text's lines are its pieces' lines
    and its normalised words theirs, joined by a space: the results equal those of the
    whole text. A text not made so is examined whole."""

    MAX_BYTES = 32 << 20

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self._facts: dict[bytes, _PieceFacts] = {}
        self._bytes = 0

    def reason_and_key(self, text: str, piece_ends: list[int] | None,
                       piece_keys: list[bytes] | None = None
                       ) -> tuple[str | None, str | None]:
        """(filter_reason(text), normalised_hash(text) when it is kept, else None).
        `piece_keys`: see piece_digests."""
        facts = self._pieces(text, piece_ends, piece_keys) if piece_ends else None
        if facts is None:
            reason = filter_reason(text, self.config)
            return reason, None if reason is not None else normalised_hash(text)
        config = self.config
        need = config.min_target_loc
        chars = sum(f.chars for f in facts)
        lines = sum(f.lines for f in facts)
        if need > 0 and (not any(f.has_non_space for f in facts) if need == 1
                         else sum(f.non_blank_lines for f in facts) < need):
            return "empty_target", None
        if config.drop_comment_only and not has_code(text):
            return "comments_only", None
        if chars > config.max_target_chars:
            return "too_large", None
        if max((f.longest_line for f in facts), default=0) > config.max_line_length:
            return "max_line_length", None
        if chars / max(1, lines) > config.max_mean_line_length:
            return "mean_line_length", None
        if sum(f.alnum for f in facts) / max(1, chars - sum(f.indentation for f in facts)) \
                < config.min_alnum_fraction:
            return "alnum_fraction", None
        if sum(f.digits for f in facts) > config.max_digit_fraction * sum(
                f.non_space for f in facts):
            return "digit_fraction", None
        if any(f.conflict for f in facts):
            return "merge_conflict_markers", None
        digest = hashlib.blake2b(digest_size=16)
        first = True
        for f in facts:
            if f.normalised:
                if not first:
                    digest.update(b" ")
                digest.update(f.normalised)
                first = False
        return None, digest.hexdigest()

    def _pieces(self, text: str, piece_ends: list[int], piece_keys: list[bytes] | None
                ) -> list[_PieceFacts] | None:
        """The facts of each piece (text[previous end:end]); None when a piece but the last
        does not end in a line break, or the ends do not cover the text."""
        if piece_ends[-1] != len(text):
            return None
        facts: list[_PieceFacts] = []
        start = 0
        for i, end in enumerate(piece_ends):
            piece = text[start:end]
            start = end
            if not piece:
                continue
            if end < len(text) and piece[-1] != "\n":
                return None
            key = piece_keys[i] if piece_keys is not None else \
                hashlib.blake2b(piece.encode("utf-8"), digest_size=16).digest()
            known = self._facts.get(key)
            if known is None:
                known = self._examine(piece)
                self._facts[key] = known
                self._bytes += len(known.normalised)
                while self._bytes > self.MAX_BYTES and len(self._facts) > 1:
                    oldest = next(iter(self._facts))
                    self._bytes -= len(self._facts.pop(oldest).normalised)
            facts.append(known)
        return facts

    def _examine(self, piece: str) -> _PieceFacts:
        lines = piece.splitlines()
        digits, non_space = _digits_and_non_space(piece)
        return _PieceFacts(
            chars=len(piece), lines=len(lines), longest_line=max(map(len, lines), default=0),
            non_blank_lines=sum(1 for line in lines if line.strip())
            if self.config.min_target_loc > 1 else 0,
            has_non_space=bool(piece.strip()), alnum=_alnum_count(piece),
            indentation=_indentation(lines), conflict=CONFLICT_MARKER.search(piece) is not None,
            digits=digits, non_space=non_space,
            normalised=" ".join(piece.split()).encode("utf-8"))


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASCII_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# (literal triggers, or a pattern to search for: a match contains one of them; pattern)
_KEYS: list[tuple[tuple[str, ...] | re.Pattern[str], re.Pattern[str]]] = [
    (("AKIA",), re.compile(r"\bAKIA[0-9A-Z]{16}\b")),  # AWS access key id
    (re.compile(r"gh[pousr]_"),  # one search instead of five (ghp_, gho_, ...)
     re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),  # GitHub tokens
    (("xox",), re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),  # Slack tokens
    (("sk-",), re.compile(r"\bsk-[A-Za-z0-9]{32,}\b")),  # API secret keys
    # A PEM block: its matching END marker after base64 lines (headers such as
    # `Proc-Type: 4,ENCRYPTED`, and a Rust string's quotes and `\n\` allowed). Any text up
    # to any END marker took sqlx's doc from "starts with `-----BEGIN PRIVATE KEY-----`" to
    # the next marker, its example code and all (47 such, none a key).
    (("PRIVATE KEY",), re.compile(
        r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----[A-Za-z0-9+/=\s\\\",:.-]*?"
        r"-----END \1PRIVATE KEY-----")),
]
# The non-ASCII letters re's case-insensitive matching folds onto ASCII ones: folded before
# the names below are looked for in lower-cased text.
_FOLDED = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_FOLDED_CHARS = tuple(map(chr, _FOLDED))
# _ASSIGNED_SECRET's names in lower case.
_SECRET_NAMES = tuple(f"{a}{sep}{b}" for a, b in (("api", "key"), ("secret", "key"),
                                                 ("access", "token"), ("auth", "token"),
                                                 ("client", "secret"))
                      for sep in ("", "_", "-"))
_PASSWORD_TRIGGERS = ("passw", "pwd")  # password, passwd and pwd each hold one of them
# A string literal's value, or one written straight after `=`/`:` as in a URL's query, an
# environment line or a config text (`API_KEY=sk_…`) and no call, path or generic type:
# quinn's `let client_secret = expanded_initial_secret(…)` had become `<KEY>(…)` in 111
# samples (an acceptance sweep). The value taken whole (possessive): a shorter one had
# matched before a `-`, `+` or `/` (`secret_key=abcdefghijklmnop-qrs(x)`).
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b((?:api[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)"
    r"(?:\s*[:=]\s*\"|[:=](?!\s)))([A-Za-z0-9+/_\-]{16,}+)(\"?)(?![(<:]|\w)")
_ASSIGNED_PASSWORD = re.compile(r"(?i)\b((?:password|passwd|pwd)\s*[:=]\s*\")([^\"\s]{4,})(\")")


def redact(text: str, counts: Counter[str]) -> str:
    """E-mails and secrets replaced by StarCoder's placeholders; replacements counted. Each
    pattern runs only when a cheap literal trigger is present (most code has none)."""
    if "@" in text:
        text, n = _sub_emails(text)
        counts["email"] += n
    for triggers, pattern in _KEYS:
        if triggers.search(text) is not None if isinstance(triggers, re.Pattern) else \
                any(trigger in text for trigger in triggers):
            text, n = pattern.subn("<KEY>", text)
            counts["key"] += n
    # str.translate looks every character up (tokio's crate-scale texts: 2 ms each): only
    # for a text that holds one of the four.
    lower = text.translate(_FOLDED).lower() if not text.isascii() and any(
        c in text for c in _FOLDED_CHARS) else text.lower()
    # Every secret name holds "key", "token" or "secret": three searches rule most text out
    # (hyper's samples: 2,922 of 38,052 texts hold one) before fifteen.
    if ("key" in lower or "token" in lower or "secret" in lower) and \
            any(name in lower for name in _SECRET_NAMES):
        text, n = _ASSIGNED_SECRET.subn(r"\1<KEY>\3", text)
        counts["key"] += n
    if any(word in lower for word in _PASSWORD_TRIGGERS):
        text, n = _ASSIGNED_PASSWORD.subn(r"\1<PASSWORD>\3", text)
        counts["password"] += n
    return text


# Domains reserved for examples and tests (RFC 2606, RFC 6761): no one's address.
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "test", "localhost", "local")
# Last labels that are file name extensions, not top-level domains one writes to
# (`name@apple.txt.snap`, an insta snapshot's file name).
_FILE_EXTENSIONS = frozenset(("snap", "txt", "json", "toml", "yaml", "yml", "lock", "html",
                              "png", "jpg", "jpeg", "svg", "log", "orig", "bak", "tmp",
                              "stderr", "stdout", "rlib", "wasm"))


def _email_placeholder(match: re.Match[str]) -> str:
    """`<EMAIL>` for an address, the match itself for what only looks like one: an address
    at a domain reserved for examples (`john@example.com`), an scp-style remote
    (`git@github.com:user/repo`), a URL's user part (`https://user:pw@host`) and a file
    name (`snap@apple.txt.snap`). Each was redacted, changing code that tests them (gitui's
    SSH URL parsing, insta's snapshot names)."""
    domain = match.group().rsplit("@", 1)[1].lower()
    last = domain.rsplit(".", 1)[-1]
    text, start, end = match.string, match.start(), match.end()
    if domain in _RESERVED_DOMAINS or domain.endswith(tuple(f".{d}" for d in _RESERVED_DOMAINS)) \
            or last in _RESERVED_TLDS or last in _FILE_EXTENSIONS:
        return match.group()
    if _SCP_PATH.match(text, end):  # host:path/…, not a port, a URL or prose's colon
        return match.group()
    word_start = max(text.rfind(c, 0, start) for c in " \t\n\"'`(<[")
    if _URL_USER.fullmatch(text, word_start + 1, start):  # scheme://user:password@host
        return match.group()
    return "<EMAIL>"


# After an scp-style remote's host: a path with a folder (`git@github.com:user/repo`).
_SCP_PATH = re.compile(r":[\w.~-]+/")
# Before a URL's host: its scheme and user part, nothing else (`?to=bob@corp.com` is an
# address in a URL's query).
_URL_USER = re.compile(r"[A-Za-z][\w+.-]*://[^\s/?#@]*")


def _sub_emails(text: str) -> tuple[str, int]:
    """E-mail addresses replaced (_email_placeholder) and counted, searching only the lines
    that have an "@": an address has no line break in it, and re would try the pattern at
    every position of the text (3.5 ms for 175 kB of tokio's code, 33 "@" in it)."""
    pieces: list[str] = []
    replaced = done = 0
    at = text.find("@")
    while at != -1:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if end == -1:
            end = len(text)
        line = _EMAIL.sub(_email_placeholder, text[start:end])
        pieces.append(text[done:start])
        pieces.append(line)
        replaced += line.count("<EMAIL>") - text.count("<EMAIL>", start, end)
        done = end
        at = text.find("@", end)
    pieces.append(text[done:])
    return "".join(pieces), replaced


def piece_digests(text: str, piece_ends: list[int]) -> list[bytes]:
    """The 16-byte digest of each piece of a text (text[previous end:end]): the keys under
    which PieceChecks and NearDuplicateIndex.pieces_signature keep what they learnt of a
    piece. A caller may give keys of its own instead, one per piece end, as long as equal
    keys mean equal pieces and none is 16 bytes long (a file's path and blob id, say)."""
    digests: list[bytes] = []
    start = 0
    for end in piece_ends:
        digests.append(hashlib.blake2b(text[start:end].encode("utf-8"), digest_size=16).digest())
        start = end
    return digests


def normalised_hash(text: str) -> str:
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).hexdigest()


# Characters after which no token goes on: whitespace and ASCII punctuation (class 0 and 2).
_TOKEN_ENDS = frozenset(" \t\n\r\x0b\x0c") | frozenset(
    chr(c) for c in range(128) if not chr(c).isalnum() and chr(c) != "_")

# Byte classes: 0 space, 1 word (ASCII letters, digits, `_`, and every byte of a non-ASCII
# character), 2 any other byte (a token of its own).
_BYTE_CLASS = np.full(256, 2, dtype=np.uint8)
_BYTE_CLASS[list(b" \t\n\r\x0b\x0c")] = 0
_BYTE_CLASS[list(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] = 1
_BYTE_CLASS[128:] = 1
_P = np.uint64(0x100000001B3)  # odd: invertible modulo 2^64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))


def word_hashes(text: str) -> np.ndarray:
    """Deterministic 64-bit hashes of the text's tokens (runs of word characters, and each
    other non-space character), computed with numpy from prefix hashes instead of hashing
    every word in Python."""
    return _token_hashes(text.encode("utf-8"))[0]


def _token_hashes(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """word_hashes of UTF-8 bytes, and the byte offset where each token starts. A token's
    hash does not depend on where it is."""
    data = np.frombuffer(raw, dtype=np.uint8)
    n = len(data)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp)
    byte_class = _BYTE_CLASS[data]
    word = byte_class == 1
    other = byte_class == 2
    # Where word-ness changes (the text's ends count as changes): a word run starts after
    # one and ends before the next. Starts and ends, each in text order, pair up.
    change = np.empty(n + 1, dtype=bool)
    change[0] = change[n] = True
    np.not_equal(word[1:], word[:-1], out=change[1:n])
    starts = np.flatnonzero((change[:n] & word) | other)
    ends = np.flatnonzero((change[1:] & word) | other) + 1
    powers, inv_powers = _powers(n)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    with np.errstate(over="ignore"):
        weighted = np.add(data, 1, dtype=np.uint64)
        np.multiply(weighted, powers, out=weighted)
        np.cumsum(weighted, out=prefix[1:])
        hashes: np.ndarray = (prefix[ends] - prefix[starts]) * inv_powers[starts]
        return hashes, starts


_POWER_TABLES: list[np.ndarray] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i (mod 2^64) for i < n, from tables grown by doubling and reused."""
    if not _POWER_TABLES or len(_POWER_TABLES[0]) < n:
        size = max(n, 2 * len(_POWER_TABLES[0]) if _POWER_TABLES else 1 << 16)
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(size, _P, dtype=np.uint64)) * _P_INV
            inverse = np.cumprod(np.full(size, _P_INV, dtype=np.uint64)) * _P
        _POWER_TABLES[:] = [powers, inverse]
    return _POWER_TABLES[0][:n], _POWER_TABLES[1][:n]


# A piece's part of a signature: the MinHash values of its own shingles (None when it has
# fewer than k tokens), its first and last k - 1 token hashes (all of them and None when it
# has fewer than 2(k - 1)), its token count.
_PiecePart = tuple[np.ndarray | None, np.ndarray, np.ndarray | None, int]


class NearDuplicateIndex:
    """MinHash signatures of 5-gram word shingles in a datasketch LSH index (Jaccard
    threshold). Shingle hashes and permutations are computed with numpy in bulk (datasketch's
    own per-shingle hashing would dominate the build on long histories)."""

    def __init__(self, threshold: float = 0.7, num_perm: int = 128, shingle: int = 5,
                 seed: int = 1) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle
        self.seed = seed
        lsh_class = _minhash_lsh_class()  # imported only when deduplicating
        self.lsh = lsh_class(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS,
                             params=LSH_PARAMS.get((threshold, num_perm)))
        # key -> its MinHash values: a candidate the bands find is compared with them
        self._values: dict[str, np.ndarray] = {}
        # a candidate is near where at least this many MinHash values are equal
        self._equal_needed = equal_values_needed(threshold, num_perm)
        # from here up to _equal_needed, `exact` decides (_near)
        self._equal_to_compare = equal_values_needed(max(0.0, threshold - self.EXACT_MARGIN),
                                                     num_perm)
        # datasketch's in-memory buckets are a set each (216 bytes even for one key, and
        # nearly every bucket holds one): 211 of bevy's 267 MiB of LSH index at 60,000 kept
        # functions. Same banding and queries, over buckets that hold a lone key as itself.
        self.lsh.hashtables = [CompactBuckets() for _ in self.lsh.hashtables]
        self._a, self._b = _permutations(num_perm, seed)
        # piece digest -> its part of a signature: see pieces_signature.
        self._piece_parts: dict[bytes, _PiecePart] = {}

    def signature(self, text: str) -> Signature:
        return Signature(self._minimum(_mixed(_text_shingles(text, self.shingle))))

    def _minimum(self, shingles32: np.ndarray) -> np.ndarray:
        """The MinHash values of mixed shingle hashes (all uint32 max when there are none)."""
        minimum = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        if not len(shingles32):
            return minimum
        # One row per permutation (the minimum runs along contiguous memory: 1.7x faster
        # than one row per shingle from 3,000 shingles up), in blocks of bounded memory.
        values = np.empty((self.num_perm, min(len(shingles32), 4096)), dtype=np.uint32)
        a, b = self._a[:, None], self._b[:, None]
        for start in range(0, len(shingles32), 4096):
            block = shingles32[start:start + 4096]
            out = values[:, :len(block)]
            np.multiply(a, block[None, :], out=out)  # wraps mod 2^32 (affine32)
            out += b
            np.minimum(minimum, out.min(axis=1), out=minimum)
        return minimum

    # Pieces whose part of a signature is kept (~0.6 KiB each).
    PIECE_ENTRIES = 1 << 15

    def pieces_signature(self, text: str, piece_ends: list[int],
                         piece_keys: list[bytes] | None = None) -> Signature:
        """signature(text), for a text made of pieces (text[previous end:end] for each of
        `piece_ends`, ascending, the last one len(text)) that recur across texts: a file in
        the module groups and crates of many snapshots, an item in the parts of many split
        files. A piece that ends in a character that ends every token (a line break) has
        its own tokens; the text's shingles are then each piece's own shingles and those
        that span pieces, made only of tokens at most k - 1 from a piece's edge. So the
        signature is the minimum of each piece's own MinHash values (kept, by the piece's
        digest, or by `piece_keys`: see piece_digests) and of those of the spanning shingles.
        A text not made so, or with fewer than k tokens, is signed whole."""
        k = self.shingle
        cache = self._piece_parts
        keys: list[bytes] = []
        here: dict[bytes, _PiecePart] = {}  # this text's pieces' parts
        missing: dict[bytes, bytes] = {}  # digest -> UTF-8 of a piece not kept
        start = 0
        for i, end in enumerate(piece_ends):
            piece = text[start:end]
            start = end
            if not piece:
                continue
            if end < len(text) and piece[-1] not in _TOKEN_ENDS:
                return self.signature(text)  # a token could run on into the next piece
            key = piece_keys[i] if piece_keys is not None else \
                hashlib.blake2b(piece.encode("utf-8"), digest_size=16).digest()
            keys.append(key)
            part = cache.get(key)
            if part is not None:
                here[key] = part
            elif key not in missing:
                missing[key] = piece.encode("utf-8")
        if start != len(text):
            return self.signature(text)
        if missing:
            for key, part in zip(missing, self._piece_parts_of(list(missing.values())),
                                 strict=True):
                here[key] = cache[key] = part
            while len(cache) > self.PIECE_ENTRIES:
                del cache[next(iter(cache))]  # the oldest
        own: list[np.ndarray] = []
        # Token hashes near the pieces' edges, in text order, in runs of consecutive tokens:
        # a long piece's head ends a run and its tail starts the next.
        edges: list[np.ndarray] = []
        edge_runs: list[int] = []
        run = tokens = 0
        for key in keys:
            minimum, head, tail, count = here[key]
            tokens += count
            if minimum is not None:
                own.append(minimum)
            edges.append(head)
            edge_runs.append(run)
            if tail is not None:
                run += 1
                edges.append(tail)
                edge_runs.append(run)
        if tokens < k:
            return self.signature(text)
        # The shingles of all runs at once, less those that would join two runs.
        edge_tokens = np.concatenate(edges)
        run_of = np.repeat(np.asarray(edge_runs), [len(e) for e in edges])
        spanning = _shingles(edge_tokens, k)
        spanning = spanning[run_of[: len(spanning)] == run_of[k - 1:]]
        own.append(self._minimum(_mixed(spanning)))
        return Signature(np.minimum.reduce(own) if len(own) > 1 else own[0])

    def _piece_parts_of(self, raws: list[bytes]) -> list[_PiecePart]:
        """Each piece's part of a signature (_PiecePart), all computed together: a
        text's new pieces are mostly small (items), where numpy's per-call cost would
        dominate."""
        k = self.shingle
        token_hashes, bounds = _joined_tokens(raws)
        counts = np.diff(bounds)
        with_own = np.flatnonzero(counts >= k)
        minima: list[np.ndarray | None] = [None] * len(raws)
        if len(with_own):
            own = self._group_minima(_shingles(token_hashes, k), bounds[with_own],
                                     counts[with_own] - k + 1)
            for i, row in zip(with_own.tolist(), own, strict=True):
                minima[i] = row.copy()
        parts: list[_PiecePart] = []
        for i, (first, count) in enumerate(zip(bounds[:-1].tolist(), counts.tolist(),
                                               strict=True)):
            hashes = token_hashes[first:first + count]
            if count >= 2 * (k - 1):  # first and last k - 1 tokens
                parts.append((minima[i], hashes[: k - 1].copy(),
                              hashes[count - (k - 1):].copy(), count))
            else:  # every token is within k - 1 of an edge
                parts.append((minima[i], hashes.copy(), None, count))
        return parts

    # Texts signed together at most (characters): numpy's per-call cost dominates a short
    # text's signature, while larger texts gain nothing from company.
    BATCH_CHARS = 32_768
    BATCH_TEXTS = 64

    def signatures(self, texts: list[str],
                   piece_ends: Sequence[list[int] | None] | None = None,
                   piece_keys: Sequence[list[bytes] | None] | None = None) -> list[Signature]:
        """signature(text) of each text: short texts in batches of up to BATCH_TEXTS texts
        and BATCH_CHARS characters, through one array of shingles per batch (serde's
        functions: 5x faster than one by one); a longer one from its pieces when
        `piece_ends` has them (pieces_signature, with `piece_keys` where given), else
        alone."""
        result: list[Signature] = []
        batch: list[str] = []
        size = 0
        for i, text in enumerate(texts):
            if len(text) >= self.BATCH_CHARS:
                result.extend(self._batch_signatures(batch))
                batch, size = [], 0
                ends = piece_ends[i] if piece_ends is not None else None
                keys = piece_keys[i] if piece_keys is not None else None
                result.append(self.pieces_signature(text, ends, keys) if ends is not None
                              else self.signature(text))
                continue
            if batch and (size + len(text) > self.BATCH_CHARS or len(batch) == self.BATCH_TEXTS):
                result.extend(self._batch_signatures(batch))
                batch, size = [], 0
            batch.append(text)
            size += len(text)
        result.extend(self._batch_signatures(batch))
        return result

    def _batch_signatures(self, texts: list[str]) -> list[Signature]:
        if not texts:
            return []
        k = self.shingle
        token_hashes, bounds = _joined_tokens([t.encode("utf-8") for t in texts])
        counts = np.diff(bounds)
        # A text's shingles are the ones that start and end inside it; a text with fewer
        # than k tokens has one shingle of them all (a text without any: of one zero hash).
        shingles = _shingles(token_hashes, k)
        whole = counts >= k
        extra = [_shingles(token_hashes[bounds[i]:bounds[i + 1]] if counts[i]
                           else np.zeros(1, dtype=np.uint64), max(int(counts[i]), 1))
                 for i in np.flatnonzero(~whole)]
        pool = np.concatenate([shingles, *extra]) if extra else shingles
        first = np.where(whole, bounds[:-1], len(shingles) + np.cumsum(~whole) - 1)
        minima = self._group_minima(pool, first, np.where(whole, counts - k + 1, 1))
        # Copies: a kept signature should not hold its whole batch in memory.
        return [Signature(row.copy()) for row in minima]

    def _group_minima(self, shingles: np.ndarray, firsts: np.ndarray, sizes: np.ndarray
                      ) -> np.ndarray:
        """MinHash values of groups of consecutive shingle hashes, one row per group (group i:
        shingles[firsts[i]:firsts[i] + sizes[i]], every size at least 1), computed at once."""
        offsets = np.zeros(len(sizes), dtype=np.int64)
        np.cumsum(sizes[:-1], out=offsets[1:])
        picked = _mixed(shingles[np.repeat(firsts - offsets, sizes)
                                 + np.arange(int(sizes.sum()))])
        # A block of permutations at a time, about 1 MiB of values: one for all of them
        # leaves the cache from a few thousand shingles (a batch of functions: 1.5x slower
        # at 8,000 shingles, 2.7x at 100,000: bench/minhash_blocks.py).
        rows = max(1, min(self.num_perm, self.BLOCK_VALUES // max(1, len(picked))))
        minima = np.empty((len(sizes), self.num_perm), dtype=np.uint32)
        values = np.empty((rows, len(picked)), dtype=np.uint32)
        for row in range(0, self.num_perm, rows):
            block = values[:min(rows, self.num_perm - row)]
            np.multiply(self._a[row:row + rows, None], picked[None, :], out=block)  # mod 2^32
            block += self._b[row:row + rows, None]
            minima[:, row:row + rows] = np.minimum.reduceat(block, offsets, axis=1).T
        return minima

    BLOCK_VALUES = 1 << 18

    # Where a candidate's MinHash estimate falls short of the threshold by at most this,
    # `exact` decides (see _near). At 128 permutations the estimate's standard error is
    # about 0.04 near 0.7 (2.5 of them): by the estimate alone, lsd's five scales kept 139
    # pairs at an exact 0.70-0.84.
    EXACT_MARGIN = 0.1

    def _near(self, signature: Signature, candidates: Iterable[str],
              exact: Callable[[str], float] | None = None, first: bool = False) -> list[str]:
        """The candidates near `signature`: whose MinHash estimate of Jaccard similarity
        reaches the threshold or, given `exact` (key -> the exact Jaccard similarity of the
        two texts' shingle sets), whose exact similarity does where the estimate falls
        short by at most EXACT_MARGIN (as the leakage check drops). `first`: stop at the
        first one found."""
        values = np.asarray(signature.hashvalues)
        needed = self._equal_needed
        if exact is None:
            return [key for key in candidates
                    if int(np.count_nonzero(self._values[key] == values)) >= needed]
        low = self._equal_to_compare
        result: list[str] = []
        for key in candidates:
            equal = int(np.count_nonzero(self._values[key] == values))
            if equal >= needed or (equal >= low and exact(key) >= self.threshold):
                result.append(key)
                if first:
                    break
        return result

    def query(self, signature: Signature, exact: Callable[[str], float] | None = None
              ) -> list[str]:
        """The inserted keys near `signature`: found by the bands, then compared (_near)."""
        found: list[str] = self.lsh.query(signature)
        return self._near(signature, found, exact)

    def insert(self, key: str, signature: Signature) -> None:
        self.lsh.insert(key, signature)
        self._values[key] = np.asarray(signature.hashvalues)

    def insert_unless_near(self, key: str, signature: Signature,
                           exact: Callable[[str], float] | None = None) -> bool:
        """insert(key, signature) unless query(signature, exact) finds a key: whether it was
        inserted. The same datasketch index and band keys, each band's key made once from one
        byteswap of the whole signature (datasketch makes each band's twice, one byteswap
        apiece: 28 numpy calls per kept text). 2.9x faster than query, then insert, on 15,000
        signatures (bench/lsh_index.py). Anything but a plain signature for the default
        storage (a datasketch MinHash, whose scheme datasketch records; a hash function;
        pickled keys) goes through datasketch's own query and insert."""
        lsh = self.lsh
        if (len(signature) != lsh.h or lsh.hashfunc is not None or lsh.prepickle
                or getattr(signature, "scheme", None) is not None):
            if self.query(signature, exact):
                return False
            self.insert(key, signature)
            return True
        raw = signature.hashvalues.byteswap().tobytes()
        width = signature.hashvalues.itemsize
        bands = [raw[start * width:end * width] for start, end in lsh.hashranges]
        candidates: set[str] = set()
        for band, table in zip(bands, lsh.hashtables, strict=True):
            candidates.update(table.get(band))
        # Compared in a fixed order: a set's order of str keys follows the process's hash
        # seed, and with it which candidate is met first and how many exact comparisons
        # are made (hyper's function scale: 2,250 and 2,324 in two builds).
        if candidates and self._near(signature, sorted(candidates), exact, first=True):
            return False
        if key in lsh.keys:
            raise ValueError("The given key already exists")
        lsh.keys.insert(key, *bands)
        for band, table in zip(bands, lsh.hashtables, strict=True):
            table.insert(band, key)
        self._values[key] = signature.hashvalues
        return True


def _joined_tokens(raws: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The token hashes of UTF-8 texts joined by line breaks, which end every token (so each
    text's tokens and hashes are the ones it has alone), and where each text's tokens begin
    (one bound more than texts)."""
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
    text_starts = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=text_starts[1:])
    token_hashes, token_starts = _token_hashes(b"\n".join(raws))
    return token_hashes, np.searchsorted(token_starts, text_starts)


def _shingles(token_hashes: np.ndarray, k: int) -> np.ndarray:
    """Rolling combination of each k consecutive token hashes (none when fewer)."""
    n = len(token_hashes) - k + 1
    shingles = np.zeros(max(n, 0), dtype=np.uint64)
    if n <= 0:
        return shingles
    with np.errstate(over="ignore"):
        for j in range(k):
            shingles = shingles * np.uint64(1_000_003) + token_hashes[j:j + n]
    return shingles


def _text_shingles(text: str, k: int) -> np.ndarray:
    """A text's shingles: of each k consecutive tokens, or one of all its tokens when it has
    fewer (of one zero hash when it has none)."""
    token_hashes = word_hashes(text)
    if len(token_hashes) == 0:
        token_hashes = np.zeros(1, dtype=np.uint64)
    return _shingles(token_hashes, min(k, len(token_hashes)))


def _mixed(shingles: np.ndarray) -> np.ndarray:
    """Shingle hashes mixed, keeping the high 32 bits (what the permutations take)."""
    with np.errstate(over="ignore"):
        mixed: np.ndarray = ((shingles * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)
                             ).astype(np.uint32)
    return mixed


# The weights of false positives and false negatives by which datasketch's MinHashLSH
# chooses its band layout. A candidate the bands find is a near duplicate only where its
# MinHash estimate reaches the threshold (NearDuplicateIndex.insert_unless_near), so a
# false positive costs one comparison, and a false negative a duplicate kept: with
# datasketch's equal weights (14 bands of 9 rows) a pair at Jaccard 0.7 was found 44% of
# the time, at 0.75 67% (nom's function scale kept 452 pairs at 0.7 or more, up to 0.895),
# and one at 0.6 dropped 13% of the time. 20 bands of 6 rows (weights 0.1/0.9): found 92%
# at 0.7, 98% at 0.75, and lsd's build kept 27 pairs at an exact 0.7 or more
# (bench/near_pairs.py). 25 bands of 5 rows (0.01/0.99): found 99% at 0.7, and a candidate
# the estimate may put within EXACT_MARGIN (0.6) 87% of the time; lsd kept 2 such pairs,
# with 18% more exact comparisons, its samples' CPU time the same within noise. A candidate
# at 0.5 is compared 55% of the time, at 0.3 6%.
LSH_WEIGHTS = (0.01, 0.99)
# The band layout (bands, rows) that datasketch's MinHashLSH chooses for (threshold,
# permutations) with LSH_WEIGHTS, given to it for the default settings: it chooses by
# numerical integration with scipy, whose import is most of datasketch's (0.85 of 1 s). A
# test checks each entry against datasketch's own choice.
LSH_PARAMS: dict[tuple[float, int], tuple[int, int]] = {(0.7, 128): (25, 5)}


def _minhash_lsh_class() -> Any:
    """datasketch's MinHashLSH, imported without importing scipy.integrate, which
    datasketch.lsh binds at import but calls only to choose a band layout that LSH_PARAMS
    does not hold (then it is imported for real)."""
    if "datasketch" in sys.modules or "scipy.integrate" in sys.modules:
        from datasketch import MinHashLSH

        return MinHashLSH

    def quad(*args: Any, **kwargs: Any) -> Any:
        return importlib.import_module("scipy.integrate").quad(*args, **kwargs)

    stand_in = types.ModuleType("scipy.integrate")
    stand_in.quad = quad  # type: ignore[attr-defined]
    sys.modules["scipy.integrate"] = stand_in
    try:
        from datasketch import MinHashLSH
    finally:
        if sys.modules.get("scipy.integrate") is stand_in:
            del sys.modules["scipy.integrate"]
    return MinHashLSH


class CompactBuckets:
    """An LSH band's buckets for datasketch's MinHashLSH (its in-memory unordered storage's
    interface): band hash -> the one key inserted under it, or a list of the keys (no
    repeats) once there are several. Keys must not be lists."""

    def __init__(self) -> None:
        self._buckets: dict[Any, Any] = {}

    def get(self, band: Any) -> tuple[Any, ...] | list[Any]:
        found = self._buckets.get(band, _NO_KEY)
        if found is _NO_KEY:
            return ()
        return found if isinstance(found, list) else (found,)

    def getmany(self, *bands: Any) -> list[tuple[Any, ...] | list[Any]]:
        return [self.get(band) for band in bands]

    def insert(self, band: Any, *keys: Any, **kwargs: Any) -> None:
        buckets = self._buckets
        for key in keys:
            found = buckets.get(band, _NO_KEY)
            if found is _NO_KEY:
                buckets[band] = key
            elif isinstance(found, list):
                if key not in found:
                    found.append(key)
            elif found != key:
                buckets[band] = [found, key]

    def remove(self, *bands: Any, **kwargs: Any) -> None:
        for band in bands:
            del self._buckets[band]

    def remove_val(self, band: Any, key: Any, **kwargs: Any) -> None:
        found = self._buckets[band]
        if isinstance(found, list):
            found.remove(key)
            if len(found) == 1:
                self._buckets[band] = found[0]
        elif found == key:
            del self._buckets[band]
        else:
            raise KeyError(key)

    def keys(self) -> Iterable[Any]:
        return self._buckets.keys()

    def size(self) -> int:
        return len(self._buckets)

    def itemcounts(self, **kwargs: Any) -> dict[Any, int]:
        return {band: len(found) if isinstance(found, list) else 1
                for band, found in self._buckets.items()}

    def has_key(self, band: Any) -> bool:
        return band in self._buckets

    def __contains__(self, band: Any) -> bool:
        return band in self._buckets

    def __len__(self) -> int:
        return len(self._buckets)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._buckets)


_NO_KEY = object()


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations (h -> a*h + b mod 2^32) datasketch's MinHash(seed) uses."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


class Signature:
    """MinHash values as datasketch's LSH reads them (`hashvalues`, `len`): building a
    datasketch MinHash object around them cost more than computing them."""

    __slots__ = ("hashvalues",)

    def __init__(self, hashvalues: np.ndarray) -> None:
        self.hashvalues = hashvalues

    def __len__(self) -> int:
        return len(self.hashvalues)

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return float(np.mean(self.hashvalues == other.hashvalues))


def equal_values_needed(threshold: float, num_perm: int) -> int:
    """The fewest equal MinHash values whose share reaches the threshold (k / num_perm >=
    threshold, computed as the comparison itself is)."""
    need = min(max(math.ceil(threshold * num_perm), 0), num_perm + 1)
    while need > 0 and (need - 1) / num_perm >= threshold:
        need -= 1
    while need <= num_perm and need / num_perm < threshold:
        need += 1
    return need


class SignatureMatches:
    """Which query signatures have a near-duplicate among reference signatures: at least
    `threshold` of their MinHash values equal, the same test as comparing every pair, made
    exact through bands. Two signatures that agree on `need` of `num_perm` values disagree on
    at most num_perm - need, so cut into num_perm - need + 1 bands they agree entirely on one
    of them (pigeonhole). Only pairs that share a whole band are compared value by value
    (39 bands of 3-4 values for 0.7 and 128), instead of every query against every
    reference."""

    _PAIRS_PER_CHUNK = 1 << 16  # candidate pairs listed and compared at once (~64 MiB)
    _QUERIES_PER_CHUNK = 4096

    def __init__(self, reference: np.ndarray, threshold: float) -> None:
        self.reference = np.ascontiguousarray(reference, dtype=np.uint32)
        num_perm = self.reference.shape[1]
        self.need = equal_values_needed(threshold, num_perm)
        bands = num_perm - self.need + 1
        self.bands = np.array_split(np.arange(num_perm), bands) if 0 < self.need <= num_perm \
            else []
        keys = self._keys(self.reference).ravel()
        order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[order]
        self._owner = order // max(len(self.bands), 1)
        self._fingerprints = _fingerprints(self.reference)

    def any_match(self, queries: np.ndarray) -> np.ndarray:
        """For each query signature (a row), whether some reference signature matches it."""
        found = np.zeros(len(queries), dtype=bool)
        query_rows, _, _ = self.pairs(queries)
        found[query_rows] = True
        return found

    def pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query rows, reference rows, equal values) of every matching pair, by query row."""
        queries = np.ascontiguousarray(queries, dtype=np.uint32).reshape(
            -1, self.reference.shape[1])
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if not len(self.reference) or not len(queries) or self.need > self.reference.shape[1]:
            return (np.zeros(0, dtype=np.int64),) * 3
        if self.need == 0:
            query_rows = np.repeat(np.arange(len(queries)), len(self.reference))
            reference_rows = np.tile(np.arange(len(self.reference)), len(queries))
            return query_rows, reference_rows, np.count_nonzero(
                queries[query_rows] == self.reference[reference_rows], axis=1)
        for at in range(0, len(queries), self._QUERIES_PER_CHUNK):
            chunk = queries[at:at + self._QUERIES_PER_CHUNK]
            keys = self._keys(chunk)
            low = np.searchsorted(self._sorted_keys, keys, side="left")
            high = np.searchsorted(self._sorted_keys, keys, side="right")
            # Queries in groups whose band hits (pairs listed, before removing repeats) stay
            # near _PAIRS_PER_CHUNK; a query with more hits is a group of its own.
            hits = np.cumsum((high - low).sum(axis=1))
            start = 0
            while start < len(chunk):
                limit = (hits[start - 1] if start else 0) + self._PAIRS_PER_CHUNK
                end = max(int(np.searchsorted(hits, limit, side="right")), start + 1)
                query_rows, reference_rows, equal = self._pairs(
                    chunk[start:end], low[start:end], high[start:end])
                found.append((query_rows + at + start, reference_rows, equal))
                start = end
        query_rows, reference_rows, equal = (np.concatenate(column).astype(np.int64)
                                             for column in zip(*found, strict=True))
        return query_rows, reference_rows, equal

    def _pairs(self, queries: np.ndarray, low: np.ndarray, high: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """pairs() of a few queries, given where each of their band keys is found."""
        low, high = low.ravel(), high.ravel()
        hits = np.flatnonzero(high > low)
        # Candidate pairs (query row * references + reference row), a pair once for each
        # band it shares (on tokio's history 1.5 times on average): comparing the repeats
        # costs less than sorting them away, and the few matches are made unique after.
        sizes = (high - low)[hits]
        starts = np.repeat(low[hits] - np.cumsum(sizes) + sizes, sizes)
        positions = np.arange(int(sizes.sum())) + starts
        pairs = np.repeat(hits // len(self.bands), sizes).astype(np.int64) \
            * len(self.reference) + self._owner[positions]
        query_fingerprints = _fingerprints(queries)
        found_pairs: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        found_equal: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        for at in range(0, len(pairs), self._PAIRS_PER_CHUNK):
            chunk = pairs[at:at + self._PAIRS_PER_CHUNK]
            query_rows, reference_rows = np.divmod(chunk, len(self.reference))
            # Equal values have equal one-byte fingerprints: pairs with fewer equal
            # fingerprints than needed cannot match, and comparing bytes moves a quarter of
            # the memory (on tokio's history, 6 million pairs listed for 6,000 matches).
            maybe = np.count_nonzero(query_fingerprints[query_rows]
                                     == self._fingerprints[reference_rows], axis=1) >= self.need
            chunk, query_rows, reference_rows = \
                chunk[maybe], query_rows[maybe], reference_rows[maybe]
            equal = np.count_nonzero(queries[query_rows] == self.reference[reference_rows],
                                     axis=1)
            match = equal >= self.need
            found_pairs.append(chunk[match])
            found_equal.append(equal[match])
        pairs, first = np.unique(np.concatenate(found_pairs), return_index=True)
        query_rows, reference_rows = np.divmod(pairs, len(self.reference))
        return query_rows, reference_rows, np.concatenate(found_equal)[first]

    def _keys(self, signatures: np.ndarray) -> np.ndarray:
        """One 64-bit key per (signature, band); equal bands give equal keys (unequal ones
        rarely do, and are then told apart by the full comparison)."""
        keys = np.empty((len(signatures), len(self.bands)), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j, columns in enumerate(self.bands):
                key = np.full(len(signatures), j + 1, dtype=np.uint64)
                for column in columns:
                    key = key * _P + signatures[:, column].astype(np.uint64)
                keys[:, j] = key
        return keys


def _fingerprints(signatures: np.ndarray) -> np.ndarray:
    """One byte of each MinHash value, mixed from all four."""
    mixed = signatures ^ (signatures >> np.uint32(8)) ^ (signatures >> np.uint32(16)) \
        ^ (signatures >> np.uint32(24))
    fingerprints: np.ndarray = mixed.astype(np.uint8)
    return fingerprints


def shingle_set(text: str, shingle: int = 5) -> np.ndarray:
    """The text's distinct shingle hashes (64-bit, as signatures form them before mixing),
    sorted. By sorting: numpy 2.4's np.unique hashes first, and took 8-10x as long on
    2,000-100,000 hashes."""
    shingles = np.sort(_text_shingles(text, shingle))
    distinct: np.ndarray = shingles[np.concatenate(([True], shingles[1:] != shingles[:-1]))] \
        if len(shingles) else shingles
    return distinct


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two shingle sets (from shingle_set)."""
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def leak_check(queries: np.ndarray, reference: np.ndarray, query_text: Callable[[int], str],
               reference_text: Callable[[int], str], threshold: float, drop_margin: float,
               check_margin: float, checked: np.ndarray, shingle: int = 5
               ) -> tuple[np.ndarray, np.ndarray, int]:
    """Which queries (rows of MinHash values, with their texts) are near-duplicates of some
    reference, in one pass over the candidate pairs: (dropped, found after, pairs compared
    by the check).

    dropped: a reference's MinHash estimate reaches the threshold, or its text's exact
    shingle-set Jaccard similarity does among the pairs whose estimate comes within
    `drop_margin` of it (the estimate can fall short of the true similarity). found after:
    for the queries `checked` (a mask) and not dropped, the same exact test over the wider
    band `check_margin`: what it finds was missed. Pairs are listed once, at the wider of
    the two margins, and each pair's exact similarity is computed at most once."""
    dropped = np.zeros(len(queries), dtype=bool)
    after = np.zeros(len(queries), dtype=bool)
    if not len(queries) or not len(reference):
        return dropped, after, 0
    num_perm = reference.shape[1]
    query_rows, reference_rows, equal = SignatureMatches(
        reference, max(0.0, threshold - max(drop_margin, check_margin))).pairs(queries)
    dropped[query_rows[equal >= equal_values_needed(threshold, num_perm)]] = True
    query_sets: dict[int, np.ndarray] = {}
    reference_sets: dict[int, np.ndarray] = {}

    def similar(q: int, r: int) -> bool:
        if q not in query_sets:
            query_sets[q] = shingle_set(query_text(q), shingle)
        if r not in reference_sets:
            reference_sets[r] = shingle_set(reference_text(r), shingle)
        return exact_jaccard(query_sets[q], reference_sets[r]) >= threshold

    # A pair found below the threshold when dropping is below it when checking.
    below: set[tuple[int, int]] = set()
    in_drop = equal >= equal_values_needed(max(0.0, threshold - drop_margin), num_perm)
    for q, r in zip(query_rows[in_drop].tolist(), reference_rows[in_drop].tolist(),
                    strict=True):
        if dropped[q]:
            continue
        dropped[q] = similar(q, r)
        if not dropped[q]:
            below.add((q, r))
    in_check = (equal >= equal_values_needed(max(0.0, threshold - check_margin), num_perm)) \
        & np.asarray(checked, dtype=bool)[query_rows]
    for q, r in zip(query_rows[in_check].tolist(), reference_rows[in_check].tolist(),
                    strict=True):
        if dropped[q] or after[q] or (q, r) in below:
            continue
        after[q] = similar(q, r)
    compared = int(np.count_nonzero(in_check & ~dropped[query_rows]))
    return dropped, after, compared


# How far below the Jaccard threshold a pair's MinHash estimate may be for its shingle sets
# to be compared exactly: when dropping leaks, and (wider) when checking what is written.
# With 128 permutations the estimate's standard deviation at 0.7 is about 0.04, but the
# affine permutations' estimates stray further: on diesel's history a medium and a large
# test target at exact Jaccard 0.72 and 0.71 with a train target had estimates of 0.53 and
# 0.52, below the 0.15 margin used before (the check then found them).
DROP_MARGIN = 0.25
CHECK_MARGIN = 0.3


def dedup_order(rows: Iterable[tuple[str, int]]) -> list[str]:
    """Sample ids newest first (by commit index, then id): the order in which dedup keeps the
    first it sees."""
    return [sid for sid, _ in sorted(rows, key=lambda r: (-r[1], r[0]))]
