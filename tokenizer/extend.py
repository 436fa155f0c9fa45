"""Extend the StarCoder2 byte-level BPE tokenizer with Rust tokens.

Design (why it leaves base tokenization alone where the new tokens do not apply):

1. The base pre-tokenizer (individual digits, then ByteLevel with GPT-2's regex) is rewritten
   as an equivalent sequence: Digits, a `Split` with the same regex, then ByteLevel without a
   regex. With no new tokens it reproduces the base exactly (the 47 reference vectors, and
   every file of the test corpus).
2. A new token is a string of one or more *whole* base pre-tokens (`Result<`, `::new(`,
   `pub fn`, ` &'a`, ` tokenize_into`). Its literal goes in front of the GPT-2 alternatives of
   the Split regex, with look-arounds that only let it match where it starts and ends on a
   base pre-token boundary. Matching is leftmost and sequential, so a text in which no new
   token's string occurs is pre-tokenized exactly as before.
3. For each new token, the base BPE result of its string t1..tk is computed, and merges
   (t1,t2), (t1t2,t3), ... are appended after the 48,872 base merges. BPE applies merges by
   rank, so inside any pre-token every base merge happens first; the new merges then join
   what the base produced. Intermediate tokens of a chain become vocabulary entries too.
4. The inline type-fact tokens of the dataset (`<TYPE:…>` etc.) become special tokens.

Candidates are counted on the training split only and ranked by the tokens they save
(frequency x (base tokens - 1)).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
_LETTERISH = re.compile(r"[^\W\d_]|_", re.UNICODE)


@dataclass
class Candidate:
    text: str
    frequency: int
    base_tokens: int
    pieces: int

    @property
    def saving(self) -> int:
        return self.frequency * (self.base_tokens - 1)

    def why(self) -> str:
        if self.pieces > 1:
            return (f"joins {self.pieces} base pre-tokens; {self.base_tokens} base tokens "
                    f"-> 1, seen {self.frequency} times in the train split")
        return (f"frequent identifier/word split into {self.base_tokens} base tokens, seen "
                f"{self.frequency} times in the train split")


@dataclass
class Extension:
    tokens: list[Candidate] = field(default_factory=list)
    specials: list[str] = field(default_factory=list)


def equivalent_pre_tokenizer(patterns: list[str]) -> dict[str, Any]:
    """Digits + Split(new-token literals | GPT-2 regex) + ByteLevel without regex."""
    regex = "|".join([*patterns, GPT2_PATTERN])
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated",
         "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
         "use_regex": False}]}


def _escape_onig(text: str) -> str:
    return "".join("\\" + c if c in r".^$*+?()[]{}|\-/" else c for c in text)


def _boundary_after(text: str) -> str:
    """The look-ahead that lets a literal ending in text's last character end only on a base
    pre-token boundary."""
    last = text[-1]
    if _LETTERISH.match(last):
        return r"(?![\p{L}])"
    if last.isdigit():
        return r"(?![\p{N}])"
    if last.isspace():
        return r"(?=\S)"
    return r"(?![^\s\p{L}\p{N}])"


def literals_pattern(texts: list[str]) -> str:
    """One regex for all the literals, as a trie: at each position it matches the longest
    literal that ends on a boundary there, as the alternation of every literal plus its
    _boundary_after() look-ahead, longest first, did (longer continuations are tried before
    a literal that ends, and a failed look-ahead backtracks to the shorter one). That
    alternation made Oniguruma try every literal at every position: with 2,048 tokens the
    extended tokenizer encoded 45 MB of actix-web's samples in 70.9 s, the trie in 14.4 s
    (README, Stage 2)."""
    trie: dict[str, Any] = {}
    for text in texts:
        node = trie
        for char in text:
            node = node.setdefault(char, {})
        node[""] = text  # a literal ends here

    def alternatives(node: dict[str, Any]) -> str:
        options = [_escape_onig(char) + alternatives(child)
                   for char, child in sorted(node.items()) if char]
        if "" in node:
            options.append(_boundary_after(node[""]))  # last: the longer ones first
        if len(options) == 1:
            return options[0]
        return "(?:" + "|".join(options) + ")"

    return alternatives(trie) if trie else ""


class BaseTokenizer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.json: dict[str, Any] = json.loads(path.read_text())
        self.tokenizer = Tokenizer.from_file(str(path))
        self.pre = self.tokenizer.pre_tokenizer

    def pieces(self, text: str) -> list[str]:
        """Base pre-tokens, in their original (not byte-mapped) characters."""
        assert self.pre is not None
        return [text[a:b] for _, (a, b) in self.pre.pre_tokenize_str(text)]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def bpe_tokens(self, text: str) -> list[str]:
        """The base tokens (byte-level strings) of `text` taken as ONE pre-token."""
        model = self.tokenizer.model
        mapped = "".join(_BYTE_TO_UNICODE[b] for b in text.encode("utf-8"))
        return [t.value for t in model.tokenize(mapped)]


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


_BYTE_TO_UNICODE = _bytes_to_unicode()


def count_candidates(base: BaseTokenizer, texts: Iterable[str], max_pieces: int = 3,
                     max_chars: int = 24) -> Counter[str]:
    """n-grams (1..max_pieces) of adjacent base pre-tokens, without digits or newlines."""
    # Samples repeat lines many times over (a function's versions, the same definitions in
    # many contexts): each distinct line is pre-tokenised once and its n-grams counted with
    # the line's multiplicity.
    lines: Counter[str] = Counter()
    for text in texts:
        lines.update(text.split("\n"))
    counts: Counter[str] = Counter()
    for line, times in lines.items():
        pieces = base.pieces(line)
        n = len(pieces)
        for i in range(n):
            joined = ""
            for k in range(max_pieces):
                if i + k >= n:
                    break
                piece = pieces[i + k]
                if any(c.isdigit() for c in piece) or (k > 0 and piece.isspace()):
                    break
                joined += piece
                if len(joined) > max_chars:
                    break
                if not joined.strip() or joined.isspace():
                    continue
                counts[joined] += times
    return counts


def rank_candidates(base: BaseTokenizer, counts: Counter[str], min_frequency: int = 5,
                    limit: int = 20000) -> list[Candidate]:
    vocab = base.json["model"]["vocab"]
    ranked: list[Candidate] = []
    for text, freq in counts.most_common():
        if freq < min_frequency:
            break
        tokens = base.bpe_tokens(text)
        if len(tokens) < 2 or "".join(tokens) in vocab:
            continue
        if base.count_tokens(text) < 2:
            continue
        pieces = len(base.pieces(text))
        ranked.append(Candidate(text, freq, base.count_tokens(text), pieces))
    ranked.sort(key=lambda c: (-c.saving, c.text))
    return ranked[:limit]


def build_extended(base: BaseTokenizer, tokens: list[Candidate], specials: list[str]
                   ) -> tuple[dict[str, Any], list[str]]:
    """tokenizer.json with the new tokens (merges appended) and special tokens; also the
    vocabulary strings added (final tokens and chain intermediates)."""
    data = json.loads(json.dumps(base.json))
    model = data["model"]
    vocab: dict[str, int] = model["vocab"]
    merges: list[Any] = model["merges"]
    next_id = max(max(vocab.values()), max(t["id"] for t in data["added_tokens"])) + 1
    added_strings: list[str] = []
    multi_piece: list[str] = []
    for cand in tokens:
        parts = base.bpe_tokens(cand.text)
        current = parts[0]
        for part in parts[1:]:
            merged = current + part
            if merged not in vocab:
                vocab[merged] = next_id
                next_id += 1
                added_strings.append(merged)
                merges.append([current, part])
            current = merged
        if cand.pieces > 1:
            multi_piece.append(cand.text)
    literals = literals_pattern(multi_piece)
    data["pre_tokenizer"] = equivalent_pre_tokenizer([literals] if literals else [])
    for special in specials:
        data["added_tokens"].append({"id": next_id, "content": special, "single_word": False,
                                     "lstrip": False, "rstrip": False, "normalized": False,
                                     "special": True})
        next_id += 1
    return data, added_strings


def save_tokenizer(data: dict[str, Any], out: Path) -> Tokenizer:
    """tokenizer.json plus what AutoTokenizer.from_pretrained needs."""
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_str(json.dumps(data))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")
    fast.save_pretrained(str(out))
    return tok
