"""Training samples at five scales from a mined history (part 2 of the dataset build).

Pipeline, one scale at a time (bounded memory), each step a generator or a pass that counts why
it dropped anything:

    candidates (MICRO/SMALL from every commit that adds or changes the item; MEDIUM/LARGE/FULL
    from snapshots) -> split oversized targets (item boundaries, then lines) -> filters and
    redaction -> exact dedup -> near dedup (MinHash LSH, newest kept) -> time split -> leakage
    check (test/valid against train) -> exact token counts -> parquet per split.

A sample is context + target + suffix. The context is a budgeted "context pack": type facts
(header mode), the definitions the target uses resolved through the symbol table at the
sample's commit (direct dependencies first, then traits, then transitive ones), then the code
before the target in its file. Definitions come before their uses.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime
import hashlib
import itertools
import json
import math
import multiprocessing as mp
import os
import pickle
import posixpath
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import weakref
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache, partial
from itertools import accumulate, islice, pairwise
from pathlib import Path
from typing import Any, NamedTuple, TypeVar, overload

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tree_sitter import Node, Parser

from dataset_builder import schema
from dataset_builder.atomic import atomic_write, atomic_write_bytes, atomic_write_json
from dataset_builder.cargo_manifest import (
    cfg_expressions,
    eval_item_cfg,
    manifest_object,
    package_default_features,
    registry_folders,
    registry_releases,
)
from dataset_builder.children import exit_with_parent, picklable
from dataset_builder.gitio import ANCESTRY_MAX_COMMITS, Ancestry, BlobReader, RepoInfo, list_tree
from dataset_builder.memory import return_memory
from dataset_builder.mine import content_skip_reason, path_skip_reason
from dataset_builder.modules import (
    CrateRoots,
    ModuleFacts,
    in_target_folder,
    locate_module,
    module_graph,
    module_rows,
    package_dir,
)
from dataset_builder.progress import RUSTDOC_LINE, draw_on_line, scale_line
from dataset_builder.progress import bar as progress_bar
from dataset_builder.quality import (
    CHECK_MARGIN,
    CONFLICT_MARKER,
    DROP_MARGIN,
    FilterConfig,
    NearDuplicateIndex,
    PieceChecks,
    SignatureMatches,
    exact_jaccard,
    leak_check,
    normalised_hash,
    piece_digests,
    redact,
    shingle_set,
)
from dataset_builder.quality import (
    FILE_SEP as FILE_SEP,  # the samples' format, read from here by later stages
)
from dataset_builder.rust_items import new_parser, parse_rust
from dataset_builder.rustdoc import RustdocFacts, rustdoc_facts
from dataset_builder.type_facts import (
    TypeFacts,
    one_line_code,
    render_header,
    render_inline,
    strip_inline,
)

SAMPLES_DIR = "samples"
MARKER = "_COMPLETE.json"
TYPE_TOKENS = "type_tokens.json"
CHARS_PER_TOKEN_ESTIMATE = 3.0  # conservative for Rust under StarCoder2 (measured ~3.3-3.6)

_TYPE_KINDS = frozenset({"struct", "enum", "union", "type_alias", "const", "static"})
_RENAMED_KINDS = frozenset({"struct", "enum", "union", "trait"})  # History._type_renames
_RENAME_MIN_SHINGLES = 16  # shingles (5 tokens each) of the old type's code, at least
_FN_KINDS = frozenset({"function", "method"})
# What may stand in an impl or trait block, and is shown in it (Packer.piece, _owner_note).
_ASSOCIATED_KINDS = frozenset({"method", "const"})
# Rust's namespaces, which may each hold one definition of a name: types (0), values (1),
# macros (2).
_NAMESPACE = {"struct": 0, "enum": 0, "union": 0, "trait": 0, "type_alias": 0,
              "function": 1, "method": 1, "const": 1, "static": 1, "macro_rules": 2}


def tokenizer_json(path: Path) -> Path:
    """The tokenizer.json of a tokenizer folder (or that file itself); FileNotFoundError
    with what to do when there is none."""
    found = path / "tokenizer.json" if path.is_dir() else path
    if not found.is_file():
        raise FileNotFoundError(f"no StarCoder2 tokenizer.json in {path} (set "
                                "FERRIC_BASE_TOKENIZER to its folder, or give --no-samples)")
    return found


def default_tokenizer_path() -> Path:
    env = os.environ.get("FERRIC_BASE_TOKENIZER")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "tokenizers" / "starcoder2"


@dataclass(frozen=True)
class SampleConfig:
    """Settings of sample generation. All of them are part of the samples' config hash."""

    type_facts: str = "header"
    """How type facts are rendered: header (comment block, default), inline (tokens after
    identifiers), none."""
    budgets: tuple[int, int, int, int, int] = (2048, 8192, 16384, 32768, 32768)
    """Token budget of context + target + suffix for micro, small, medium, large, full."""
    test_fraction: float = 0.1
    """The newest commits holding this fraction of the item changes (added or modified items)
    form the test split: the last commits of a history often change no code."""
    valid_fraction: float = 0.1
    """The next-newest commits holding this fraction of the item changes: the valid split."""
    holdout_repos: tuple[str, ...] = ()
    """Repository labels whose samples all go to test: set by a combined build on the
    held-out repository's own build (the others keep their split by time)."""
    near_threshold: float = 0.7
    """Jaccard similarity above which two targets are near-duplicates."""
    num_perm: int = 128
    """MinHash permutations."""
    shingle: int = 5
    """Words per shingle."""
    rustdoc: str = "head"
    """Snapshots at which rustdoc JSON type facts are computed: head, snapshots, none."""
    rustdoc_max_crates: int = 64
    """Crates documented per snapshot at most (0: no limit): those with a `src/lib.rs`
    first, then those with the most minable files; the others are counted as
    `over_crate_limit`. cargo takes about a second a crate even when it fails:
    rust-lang/rustc-perf's generated stress-test workspace of 911 crates (`large-workspace`)
    would have taken some 15 minutes."""
    rustdoc_registry: str | None = None
    """Offline crates (Debian's /usr/share/cargo/registry, a `cargo vendor` folder) for a
    crate whose own manifests do not resolve offline: it is then documented with harness
    manifests against them (see rustdoc.rustdoc_facts). None: the user's cargo cache only."""
    filters: FilterConfig = field(default_factory=FilterConfig)
    """Quality filters on targets."""
    earliest_commit: str = "2015-05-15"
    """Samples of commits made before this day (UTC, ISO date) are dropped as
    `before_rust_1_0`: Rust 1.0 came out on 2015-05-15, and older code is not the Rust of
    today's compilers (rust-postgres: 2,829 of its 8,816 samples, with `~str`, `uint` and
    `do` blocks). Empty: none dropped."""
    split_snapshots: bool = True
    """Where a split holds commits but none of the history's snapshots, its newest commit is
    a snapshot of the module-file, module-group and crate scales too (split_snapshots). Off
    where the history takes its last commit alone (`--snapshot-every 0`)."""

    def config_hash(self, mine_hash: str, tokenizer_digest: str) -> str:
        payload = json.dumps({**asdict(self), "mine": mine_hash, "tokenizer": tokenizer_digest},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _day_start(day: str) -> int:
    """Unix time of a day's start (UTC), as commit times are; an empty day: the earliest."""
    if not day:
        return -(1 << 62)
    start = datetime.datetime.fromisoformat(day)
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.UTC)
    return int(start.timestamp())


def _bare_end(signature: str) -> str:
    """A signature, header or where-clause less what ends it as written: a body's `{`, a
    declaration's `;` (`;;` in packs, `;, in` in headers before) and a where-clause's
    trailing comma."""
    return signature.rstrip("{ ;").rstrip(", ")


def _est_tokens(text: str) -> int:
    return _est_tokens_of(len(text))


def _est_tokens_of(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN_ESTIMATE)


def _loc(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


# --- the history as tables ----------------------------------------------------------------


class _TextColumn(Sequence[str]):
    """The items' text column in a file of its own (the UTF-8 texts one after another), read
    with one pread per row: a long history's item texts (clap's: 390 MiB) stay in the page
    cache, not in the resident memory of this process and of every scale process forked from
    it (which counted them all, whichever rows they read). The file is an unnamed temporary
    one in `folder`: nothing is left of it when the process ends, however it ends. Texts
    appended later become rows after the chunks' (a scale's surviving targets wait there to
    be written)."""

    def __init__(self, chunks: Iterable[pa.Array], folder: Path) -> None:
        offsets = array("q", [0])
        handle = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 (open as long as self)
        try:
            for chunk in chunks:
                if not len(chunk):
                    continue
                _, offsets_buffer, data_buffer = chunk.buffers()
                wide = pa.types.is_large_string(chunk.type)
                ends = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)[
                    chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
                if data_buffer is not None:  # null rows have equal offsets: ""
                    handle.write(memoryview(data_buffer)[ends[0] : ends[-1]])
                offsets.extend((ends[1:] - ends[0] + offsets[-1]).tolist())
            handle.flush()
        except BaseException:
            handle.close()
            raise
        self._offsets = offsets
        self._handle = handle
        self._fd = handle.fileno()
        self._unflushed = False
        weakref.finalize(self, handle.close)

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        self._handle.write(data)
        self._offsets.append(self._offsets[-1] + len(data))
        self._unflushed = True

    def nbytes(self, row: int) -> int:
        """The UTF-8 size of a row's text."""
        return self._offsets[row + 1] - self._offsets[row]

    def __reduce__(self) -> Any:
        raise TypeError("a text column reads a file of this process: it cannot be pickled")

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _flush_appended(self) -> None:
        """Appended texts reach the file before a read."""
        if self._unflushed:
            self._handle.flush()
            self._unflushed = False

    # Rows whose bytes lie at most this far apart are read with one pread (the bytes between
    # are read and dropped).
    READ_GAP = 64 << 10

    def many(self, rows: Sequence[int]) -> list[str]:
        """The texts of several rows (in the order given), read in as few preads as rows
        near each other in the file allow: a file version's items mostly are (libc's
        samples stage, where each item's start line is looked up: about 3% faster than one
        pread per row)."""
        self._flush_appended()
        offsets, fd = self._offsets, self._fd
        order = sorted(range(len(rows)), key=lambda k: offsets[rows[k]])
        texts = [""] * len(rows)
        i = 0
        while i < len(order):
            start = offsets[rows[order[i]]]
            end = offsets[rows[order[i]] + 1]
            j = i + 1
            while j < len(order) and offsets[rows[order[j]]] - end <= self.READ_GAP:
                end = max(end, offsets[rows[order[j]] + 1])
                j += 1
            data = os.pread(fd, end - start, start) if end > start else b""
            for k in order[i:j]:
                row = rows[k]
                texts[k] = str(data[offsets[row] - start : offsets[row + 1] - start], "utf-8")
            i = j
        return texts

    @overload
    def __getitem__(self, row: int) -> str: ...

    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if not -len(self) <= row < len(self):
            raise IndexError("text row out of range")
        if row < 0:
            row += len(self)
        self._flush_appended()
        start, end = self._offsets[row], self._offsets[row + 1]
        return str(os.pread(self._fd, end - start, start), "utf-8") if end > start else ""


def _shared_values(column: pa.ChunkedArray) -> Sequence[Any]:
    """column.to_pylist(), with equal strings (also inside list columns, as tuples) shared;
    an integer column without nulls as an array."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = column.combine_chunks().dictionary_encode()
        values = [*encoded.dictionary.to_pylist(), None]  # nulls point past the values
        indices = encoded.indices.fill_null(len(values) - 1)
        return list(map(values.__getitem__, indices.to_numpy(zero_copy_only=False).tolist()))
    if pa.types.is_list(column.type) and pa.types.is_string(column.type.value_type):
        lists = column.combine_chunks()
        lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False).tolist()
        flat = _shared_values(pa.chunked_array([lists.flatten()], pa.string()))
        rows: list[Any] = []
        at = 0
        for valid, n in zip(lists.is_valid().to_pylist(), lengths, strict=True):
            rows.append(tuple(flat[at:at + n]) if valid else None)
            at += n
        return rows
    if pa.types.is_integer(column.type) and column.null_count == 0:
        # 8 bytes a value instead of a pointer and an int object: bevy's integer columns
        # held 71 MiB of int objects besides their lists.
        return array("q", column.to_numpy().astype(np.int64, copy=False).tobytes())
    plain: list[Any] = column.to_pylist()
    return plain


def _column_chunks(items: pq.ParquetFile, name: str) -> Iterator[pa.Array]:
    """A column's arrays, read a row group at a time."""
    for group in range(items.num_row_groups):
        column = items.read_row_group(group, columns=[name]).column(0)
        yield from column.chunks
        del column
        pa.default_memory_pool().release_unused()


# The most blocks of one method symbol symbol_at gives (the newest): a type's `From`
# impls, each with its `fn from`.
_MAX_BLOCKS_SHOWN = 8
_ORDINAL = re.compile(r"#\d+$")  # a key's `#2` (the second of its kind and name in a file)
_FEATURE = re.compile(r"(?<!_)\bfeature\b")  # a cfg's `feature = …`, not `target_feature`


class History:
    """items.parquet and commits.parquet as columns, with version lookups by commit index."""

    # What the samples read (a row's commit sha is commit_sha[commit_index]).
    COLUMNS = ("commit_index", "path", "change", "kind", "name",
               "key", "lineage", "crate", "module", "parent", "symbol", "start_byte",
               "end_byte", "start_line", "end_line", "signature", "generics", "trait_bounds",
               "where_clause", "lifetimes", "references", "resolved", "digest", "blob", "text",
               "self_type")

    def __init__(self, out: Path, scratch: Path) -> None:
        """`scratch`: a folder for the item texts' temporary file (_TextColumn)."""
        # Most values repeat across a history's item versions (commits, paths, kinds,
        # referenced names): one Python object per distinct value. Read a column at a time,
        # so that only one is ever held twice (and a row group of texts). The texts are
        # copied to their file by a thread meanwhile: decompressing and writing them hold no
        # GIL (hyper: 0.47 of the 1.74 s this took one after the other; clap: 2.06 of
        # 4.11 s).
        items = pq.ParquetFile(out / "items.parquet")
        columns: dict[str, Sequence[Any]] = {}
        with ThreadPoolExecutor(1, thread_name_prefix="ferric-texts") as pool:
            texts = pool.submit(lambda: _TextColumn(
                _column_chunks(pq.ParquetFile(out / "items.parquet"), "text"), scratch))
            for name in self.COLUMNS:
                if name == "text":
                    continue
                column = items.read(columns=[name]).column(0)
                columns[name] = _shared_values(column)
                del column
                pa.default_memory_pool().release_unused()
            columns["text"] = texts.result()
        self.col: dict[str, Sequence[Any]] = {name: columns[name] for name in self.COLUMNS}
        # The `#[cfg(…)]` attributes of the rows that have one, the rest of that column
        # not held: a `cfg_if!` branch's cfg is an attribute of its items, not in their
        # text (History.compiled).
        self.cfg_attributes: dict[int, tuple[str, ...]] = {}
        row = 0
        for chunk in _column_chunks(items, "attributes"):
            for values in chunk.to_pylist():
                cfgs = tuple(a for a in values or () if a.startswith("#[cfg("))
                if cfgs:
                    self.cfg_attributes[row] = cfgs
                row += 1
        commits = pq.read_table(out / "commits.parquet",
                                columns=["sha", "index", "committed_at", "parents"]).to_pylist()
        self.commit_sha = [c["sha"] for c in commits]
        self.commit_time = [c["committed_at"] for c in commits]
        # Each commit's ancestors, as bits by commit index (rows are in processing order,
        # parents first); none past ANCESTRY_MAX_COMMITS, whose memory grows with the square.
        self.ancestry = Ancestry([(c["sha"], c["parents"] or []) for c in commits]) \
            if len(commits) <= ANCESTRY_MAX_COMMITS else None
        self.n = len(self.col["commit_index"])
        # For History.compiled: where the crates' files lie and each package's default
        # features at the revision (the samples stage sets them, modules.CrateRoots; none:
        # every package's are off).
        self.roots: CrateRoots | None = None
        # The repository, where a package's manifest at a commit is read (features_at);
        # none: the revision's features for every commit.
        self.git_dir: Path | None = None
        self._manifests: tuple[int, BlobReader] | None = None  # (its process, the reader)
        self._features_at: dict[tuple[str, int], frozenset[str]] = {}
        self._features_of: dict[bytes, frozenset[str] | None] = {}  # manifest -> them
        # symbol -> the lineages whose items ever carried it (several: a struct and a const
        # of one name, which Rust keeps apart as a type and a value; cfg'd twins; a move);
        # lineage -> (commit indexes, row indexes), in history order, as arrays (bevy: 53
        # MiB, against 60 as lists and their int objects)
        self.sym_lineages: dict[str, set[str]] = {}
        self.lineage_versions: dict[str, tuple[array[int], array[int]]] = {}
        ci, sym, lin = self.col["commit_index"], self.col["symbol"], self.col["lineage"]
        for row in range(self.n):
            commit_index = ci[row]
            if sym[row]:
                carriers = self.sym_lineages.get(sym[row])
                if carriers is None:
                    carriers = self.sym_lineages[sym[row]] = set()
                carriers.add(lin[row])
            entry = self.lineage_versions.get(lin[row])
            if entry is None:
                entry = self.lineage_versions[lin[row]] = (array("q"), array("q"))
            entry[0].append(commit_index)
            entry[1].append(row)

    def _latest(self, versions: dict[str, tuple[array[int], array[int]]], key: str,
                commit_index: int) -> int | None:
        entry = versions.get(key)
        if entry is None:
            return None
        indexes = entry[0]
        pos = bisect.bisect_right(indexes, commit_index) - 1
        if self.ancestry is not None and pos >= 0 and indexes[pos] != commit_index:
            # The newest version on the commit's own line of history: one made since on
            # a branch not merged yet is not the commit's (serde_json's pack showed an
            # `enum Value` a parallel branch had changed, in 26 samples).
            bits = self.ancestry.bits[commit_index]
            while pos >= 0 and indexes[pos] != commit_index and not bits >> indexes[pos] & 1:
                pos -= 1
        if pos < 0:
            return None
        row = entry[1][pos]
        return None if self.col["change"][row] == "removed" else row

    def symbol_at(self, symbol: str, commit_index: int) -> list[int]:
        """Rows of the symbol's live definitions at that commit: one in each of Rust's
        namespaces, types first (cortex-m's `struct SCB` and `const SCB`: before, only the
        one defined last, and nothing when the other was removed last). Of two in one
        namespace, one at its file's top level before one inside an inline module (a
        feature's module file beside the stub compiled without the feature, `#[cfg(not(
        feature = "git"))] pub mod git { pub struct GitCache; }`: eza's packs showed the
        stub in 45 samples), then the newest."""
        found: dict[int, list[int]] = {}  # namespace -> rows
        col = self.col
        for lineage in self.sym_lineages.get(symbol, ()):
            row = self._latest(self.lineage_versions, lineage, commit_index)
            if row is None or col["symbol"][row] != symbol:  # a rename took it elsewhere
                continue
            found.setdefault(_NAMESPACE.get(col["kind"][row], 1), []).append(row)
        def chosen(rows: list[int]) -> int:  # rows are in history order: the larger, newer
            return rows[0] if len(rows) == 1 else max(rows, key=lambda row: (
                _at_file_top(str(col["key"][row]), str(col["parent"][row])),
                self.compiled(row, commit_index), not _made_by_macro(str(col["kind"][row]),
                                                       str(col["text"][row])), row))

        picked: list[int] = []
        for _, rows in sorted(found.items()):
            # A method of blocks with other headers (`impl From<Vec<u8>> for Bytes`, `impl
            # From<&'static str> for Bytes`: one symbol, `Bytes::from`): each block's, for
            # the call may be any of them (bytes's packs showed the newest impl, one that
            # could not take the call's argument in 87 of 137 samples). One per header.
            blocks: dict[str, list[int]] = {}
            for row in rows:
                # The block's header, less its key's module path and ordinal (a stub's
                # `impl:git::impl GitCache` in an inline module is a twin of `impl GitCache`)
                parent = _ORDINAL.sub("", str(col["parent"][row]))
                header = parent[parent.find("impl "):] \
                    if col["kind"][row] == "method" and "impl " in parent else ""
                blocks.setdefault(header, []).append(row)
            # An inherent block's method comes first in Rust's lookup: trait impls' methods
            # of its name beside it were noise (rustls's `Payload::read` beside `Codec`'s).
            inherent = [block for header, block in blocks.items() if " for " not in header]
            if len(blocks) == 1 or "" in blocks or len(inherent) == 1:
                picked.append(chosen(inherent[0] if len(inherent) == 1 else rows))
            else:
                picked.extend(sorted(chosen(block) for block in blocks.values())[
                    -_MAX_BLOCKS_SHOWN:])
        return picked

    def compiled(self, row: int, commit_index: int) -> bool:
        """Whether a plain build at `commit_index` compiles the row's item, by the `#[cfg(…)]`
        attributes it begins with and its package's default features there (features_at;
        cargo_manifest.eval_item_cfg): of cfg'd twins at one file's top level, the newer
        was shown (nom's packs showed its `verbose-errors` `IResult` and `Err` in 173
        samples, though that feature was off)."""
        col = self.col
        # Its `attributes` (not its text's leading lines: `#[cfg]` lines of a doc comment's
        # example were read as the item's, a multi-line attribute missed; curve25519-dalek:
        # 227 and 352 item versions). And those of the inline modules it is in (bytes's
        # loom.rs: `#[cfg(all(test, loom))] mod sync { … pub(crate) trait AtomicMut<T> {} }`
        # beside the real one in a `#[cfg(not(all(test, loom)))] mod sync`: the empty one
        # was shown in 13 packs).
        cfgs = [] if _at_file_top(str(col["key"][row]), str(col["parent"][row])) else [
            expr for start, end, exprs in self._cfg_modules.get(str(col["blob"][row]), ())
            if start <= col["start_byte"][row] and col["end_byte"][row] <= end
            for expr in exprs]
        cfgs += [expr for attribute in self.cfg_attributes.get(row, ())
                 for expr in cfg_expressions(attribute)]
        if not cfgs:
            return True
        folder = package_dir(str(col["path"][row]), str(col["crate"][row]), self.roots) or "."
        features = self.features_at(folder, commit_index) if any(
            _FEATURE.search(expr) for expr in cfgs) else frozenset()  # else no manifest read
        return all(eval_item_cfg(expr, features) for expr in cfgs)

    def features_at(self, folder: str, commit_index: int) -> frozenset[str]:
        """The default features of the package in `folder` (as the revision's manifests
        place it) by its manifest at that commit; the revision's where that commit has none
        there, or no `git_dir` is set. A package's features change: curve25519-dalek's
        `u64_backend`, a default for years, then gone, read as off for those years (218
        samples showed the u32 backend's twins)."""
        key = (folder, commit_index)
        found = self._features_at.get(key)
        if found is None:
            found = self._read_features(folder, commit_index)
            if found is None:
                found = self.roots.features.get(folder, frozenset()) \
                    if self.roots is not None else frozenset()
            self._features_at[key] = found
        return found

    def _read_features(self, folder: str, commit_index: int) -> frozenset[str] | None:
        if self.git_dir is None:
            return None
        if self._manifests is None or self._manifests[0] != os.getpid():
            # A reader of this process's own (a scale process is forked): not the scale's,
            # which may be amid a batch of reads.
            self._manifests = (os.getpid(), BlobReader(self.git_dir))
        name = manifest_object(folder, self.commit_sha[commit_index])
        data = self._manifests[1].read(name) if name is not None else None
        if data is None:
            return None
        if data not in self._features_of:
            self._features_of[data] = package_default_features(data)
        return self._features_of[data]

    def close_manifests(self) -> None:
        """Stop this process's manifest reader (features_at), if it started one."""
        if self._manifests is not None and self._manifests[0] == os.getpid():
            self._manifests[1].close()
        self._manifests = None

    @cached_property
    def macro_users(self) -> dict[int, tuple[str, ...]]:
        """row -> the symbols of the crate's `macro_rules!` macros its item invokes (a
        reference `name!` resolved to a macro's symbol), for the rows that invoke any:
        made when first needed (_load_snapshot)."""
        col = self.col
        macros = {col["symbol"][row] for row, kind in enumerate(col["kind"])
                  if kind == "macro_rules" and col["symbol"][row]}
        found: dict[int, tuple[str, ...]] = {}
        if not macros:
            return found
        for row, refs in enumerate(col["references"]):
            if not refs:
                continue
            invoked = {ref[:-1].rsplit("::", 1)[-1] for ref in refs if ref.endswith("!")}
            if not invoked:
                continue
            used = tuple(symbol for symbol in col["resolved"][row] or ()
                         if symbol in macros and symbol.rsplit("::", 1)[-1] in invoked)
            if used:
                found[row] = used
        return found

    @cached_property
    def _cfg_modules(self) -> dict[str, list[tuple[int, int, list[str]]]]:
        """blob -> (start, end, cfg expressions) of each inline module in it that begins
        with `#[cfg(…)]`s, made when first needed (History.compiled)."""
        col = self.col
        found: dict[str, list[tuple[int, int, list[str]]]] = defaultdict(list)
        for row, kind in enumerate(col["kind"]):
            if kind != "mod" or col["change"][row] == "removed" or \
                    row not in self.cfg_attributes:
                continue
            if not str(col["text"][row]).rstrip().endswith("}"):
                continue  # `mod x;` holds nothing here
            exprs = [expr for attribute in self.cfg_attributes[row]
                     for expr in cfg_expressions(attribute)]
            if exprs:
                found[str(col["blob"][row])].append(
                    (col["start_byte"][row], col["end_byte"][row], exprs))
        return dict(found)

    def current(self, symbols: Iterable[str], commit_index: int) -> list[str]:
        """`symbols` as of that commit: one with no live definition there becomes the one
        live symbol of its crate with its name (a method: its type's and its name), where
        there is exactly one. An item's `resolved` are as of its last change: code that
        stayed put while a definition it uses moved (chrono's `Weekday`, from lib.rs to
        weekday.rs) named the old symbol, which no pack could show (chrono: 178 of 195
        crate samples, 77 of 264 module files had such a dependency)."""
        found: list[str] = []
        col = self.col
        for symbol in symbols:
            if not self.symbol_at(symbol, commit_index):
                # The item itself, where its lineage goes on under another symbol (a file
                # renamed: rustls's client.rs to client_conn.rs, where a second ServerName
                # lived too), else the one live symbol so named.
                moved = {col["symbol"][row] for lineage in self.sym_lineages.get(symbol, ())
                         for row in [self.lineage_at(lineage, commit_index)]
                         if row is not None and col["symbol"][row] not in ("", symbol)}
                live = sorted(moved) if len(moved) == 1 else [
                    other for other in self._same_named.get(_tail(symbol), ())
                    if other != symbol and self.symbol_at(other, commit_index)]
                if not live:
                    renamed = self._renamed_member(symbol, commit_index)
                    if renamed is not None:
                        live = [renamed]
                if len(live) == 1:
                    symbol = live[0]
            found.append(symbol)
        return list(dict.fromkeys(found))

    @cached_property
    def _same_named(self) -> dict[str, list[str]]:
        """_tail(symbol) -> the symbols so named, made when first needed."""
        found: dict[str, list[str]] = {}
        for symbol in self.sym_lineages:
            found.setdefault(_tail(symbol), []).append(symbol)
        return found

    def _renamed_member(self, symbol: str, commit_index: int) -> str | None:
        """The live symbol of a dead type, or of a member of one (`…::App::version`), where
        the type was renamed before that commit (_type_renames: clap's `struct App`, renamed
        `Command` in one commit, its methods too: 81 of clap's samples depended on dead
        `App::…` methods). Where the renamed type moved on (into another crate), the member
        is looked for where it went."""
        head, _, name = symbol.rpartition("::")
        for type_symbol, member in ((symbol, ""), (head, name)):
            if not member and not name[:1].isupper():
                continue
            for lineage in sorted(self.sym_lineages.get(type_symbol, ())):
                seen: set[str] = set()
                while lineage in self._type_renames and lineage not in seen:
                    seen.add(lineage)
                    lineage = self._type_renames[lineage]
                    row = self.lineage_at(lineage, commit_index)
                    if row is None:
                        continue
                    found = str(self.col["symbol"][row]) + (f"::{member}" if member else "")
                    if self.symbol_at(found, commit_index):
                        return found
        return None

    @cached_property
    def _type_renames(self) -> dict[str, str]:
        """Lineage of a type removed -> lineage of the type added in its place: where in one
        commit and file exactly one struct (enum, union, trait) was removed and one of its
        kind added under another name, their texts alike with the new name for the old
        (Jaccard of shingles at least 0.5, of 16 shingles at least), comment lines apart:
        clap's `struct App` became `Command` with a doc comment three times as long (0.37
        with it, 0.88 without)."""
        col = self.col
        changed: dict[tuple[int, str, str], dict[str, list[int]]] = {}
        for row in range(self.n):
            change = col["change"][row]
            if change in ("added", "removed") and col["kind"][row] in _RENAMED_KINDS:
                at = (col["commit_index"][row], col["path"][row], col["kind"][row])
                changed.setdefault(at, {}).setdefault(change, []).append(row)
        renames: dict[str, str] = {}
        for rows in changed.values():
            if len(rows.get("removed", ())) != 1 or len(rows.get("added", ())) != 1:
                continue
            [gone], [made] = rows["removed"], rows["added"]
            old_name, new_name = str(col["name"][gone]), str(col["name"][made])
            versions = self.lineage_versions[col["lineage"][gone]][1]
            place = versions.index(gone)
            before = versions[place - 1] if place > 0 else None  # a removed row has no text
            if old_name == new_name or before is None or col["change"][before] == "removed":
                continue
            old_text = re.sub(rf"\b{re.escape(old_name)}\b", new_name, str(col["text"][before]))
            old_shingles = shingle_set(_without_comment_lines(old_text))
            # A unit struct, a newtype or an empty trait is any other so renamed: too little
            # text to tell a rename from an unrelated type added as one left.
            new_shingles = shingle_set(_without_comment_lines(str(col["text"][made])))
            if len(old_shingles) >= _RENAME_MIN_SHINGLES and \
                    exact_jaccard(old_shingles, new_shingles) >= 0.5:
                renames[col["lineage"][gone]] = col["lineage"][made]
        return renames

    def lineage_at(self, lineage: str, commit_index: int) -> int | None:
        return self._latest(self.lineage_versions, lineage, commit_index)

    def live_at(self, commit_indexes: list[int]) -> dict[int, array[int]]:
        """For each snapshot commit index: the row of every item alive there (in the order
        their lineages first appeared). Rows, not a lineage -> row dict each: bevy's 121
        snapshots took 94 MiB as dicts, in the process that forks every scale's."""
        wanted = sorted(commit_indexes)
        result: dict[int, array[int]] = {}
        live: dict[str, int] = {}
        ci, lin, change = self.col["commit_index"], self.col["lineage"], self.col["change"]
        pos = 0
        for row in range(self.n):
            while pos < len(wanted) and ci[row] > wanted[pos]:
                result[wanted[pos]] = array("q", live.values())
                pos += 1
            if change[row] == "removed":
                live.pop(lin[row], None)
            else:
                live[lin[row]] = row
        while pos < len(wanted):
            result[wanted[pos]] = array("q", live.values())
            pos += 1
        return result


def _tail(symbol: str) -> str:
    """A symbol's crate and name, a method's or associated item's with its type's:
    `.|crate::net::SelectorId::new` -> `.|SelectorId::new`."""
    crate, _, path = symbol.partition("|")
    parts = path.split("::")
    keep = 2 if len(parts) >= 3 and parts[-2][:1].isupper() else 1
    return f"{crate}|{'::'.join(parts[-keep:])}"


# --- candidates ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Around:
    """The code before and after a function in its file, as far as its sample could ever
    show (_AROUND_CHARS_PER_TOKEN; a batch of samples holding their whole files would be GBs
    on a long file, and reading them again thrashed the blob cache), and how many
    characters of each the sample shows (before redaction)."""

    before: str
    after: str
    prefix_chars: int
    suffix_chars: int


# Characters per token of the code around a function that widening may reach (_widen):
# the code around rust-sdl2's functions runs 3.4 on average, lsd's 3.6.
_AROUND_CHARS_PER_TOKEN = 6
_AROUND_TOKENS = 4096


# Candidate.repack's result: pack, header, facts, whether rustdoc gave facts, own_in_pack.
_Repacked = tuple[str, str, TypeFacts, bool, list[tuple[str, str]]]


@dataclass
class Candidate:
    scale: str
    commit_index: int
    path: str
    paths: list[str]
    kind: str
    name: str
    lineage: str
    crate: str
    target: str
    target_start_byte: int
    target_end_byte: int
    header: str = ""  # type facts (header mode), rendered before the pack
    pack: str = ""  # context pack: definitions the target uses
    prefix: str = ""  # code before the target in its file
    prefix_path: str = ""  # the file the prefix begins in, where not `path` (a part's)
    suffix: str = ""
    dependencies: list[str] = field(default_factory=list)
    facts: TypeFacts = field(default_factory=TypeFacts)
    rustdoc_used: bool = False
    part: int = 0
    parts: int = 1
    split_note: str = "split at item boundaries"  # said after "part k of n" in the context
    boundaries: list[int] = field(default_factory=list)  # line indexes where a split may cut
    fill: Callable[[Candidate], None] | None = None
    """Computes the fields above the target's (context pack, type facts, code around it):
    deferred, since most candidates of a history are dropped as duplicates before use."""
    find_boundaries: Callable[[], list[int]] | None = None
    """Computes `boundaries`: deferred, since only oversized targets are split."""
    piece_ends: list[int] | None = None
    """Where the target's pieces end, when it is made of pieces that recur in other targets
    (files, items): its MinHash signature is put together from theirs."""
    piece_keys: list[bytes] | None = None
    """A key per piece end, equal only for equal pieces (quality.piece_digests): a file's
    path and blob id, known without reading the text."""
    target_chars: int = -1
    """The target's length, kept when the target is let go (a split candidate's parts hold
    its text); -1: len(target)."""
    shown_elsewhere: list[tuple[str, str]] = field(default_factory=list)
    """(piece, pack block) of each definition the pack leaves out because the code around
    the target shows it: put back in the pack by `_restore_shown` when a cut takes that
    code out of view."""
    around: _Around | None = None
    """A function's file text around it, to widen the code shown once exact counts leave
    budget unused (`_widen`)."""
    own_in_pack: list[tuple[str, str]] = field(default_factory=list)
    """(piece, pack block) of each definition of the target's own file that the pack shows:
    taken out of the pack by `_widen` where the widened code around the target shows it."""
    split: bool = False
    """A part made by splitting an oversized target (even into one part: a single line)."""
    part_offset: int = -1
    """A part's first character in its whole's target (-1: not a part)."""
    # (the code the part shows, its budget of tokens, the part's own code, where the part
    # begins in its whole's target) -> its pack
    repack: Callable[[str, int, str, int], _Repacked] | None = None
    """A split target's pack and type facts made again for one part of it: (the part's
    text, tokens the pack may take) -> (pack, header, facts, rustdoc used, own_in_pack),
    the dependencies that part names first."""

    def target_tokens_estimate(self) -> int:
        return _est_tokens_of(len(self.target) if self.target_chars < 0 else self.target_chars)

    def complete(self) -> Candidate:
        """The candidate with its deferred context computed."""
        if self.fill is not None:
            fill, self.fill = self.fill, None
            fill(self)
        return self

    def cut_points(self) -> list[int]:
        """Where a split may cut it (line indexes), computed on first use."""
        if self.find_boundaries is not None:
            find, self.find_boundaries = self.find_boundaries, None
            self.boundaries = find()
        return self.boundaries


def _block_header(parent: str) -> str:
    """The header of the block a member's `parent` key names (`impl:impl Display for
    Point#2` -> `impl Display for Point`, `trait:tests::Shape` -> `trait Shape`); "" for
    none."""
    kind, _, name = parent.partition(":")
    name = re.sub(r"#\d+$", "", name)
    # The key carries an inline module's path (`imp::impl Foo<T>`, `trait sync::AtomicMut`),
    # which is not part of the header; a module's name holds no space.
    if kind == "impl" and (at := name.find("impl ")) >= 0:
        return name[at:]
    return f"trait {name.rsplit('::', 1)[-1]}" if kind == "trait" and name else ""


class Packer:
    """Context packs and type facts from the symbol table at a commit."""

    def __init__(self, history: History, rustdoc_file: Path) -> None:
        self.h = history
        # symbol or lineage -> (digest at the snapshot, signature)
        self.rustdoc: dict[str, tuple[str, str]] = {}
        # impl or trait lineage -> the lineages of its documented functions
        self.rustdoc_members: dict[str, list[str]] = {}
        # Where the two maps above will be (a pickle this process or its parent writes while
        # the scales find and deduplicate their candidates): read when type facts are first
        # wanted, once it is there.
        self.rustdoc_file: Path | None = rustdoc_file

    def _read_rustdoc(self) -> None:
        assert self.rustdoc_file is not None
        while not self.rustdoc_file.exists():
            time.sleep(RUSTDOC_FILE_POLL_S)
        self.rustdoc, self.rustdoc_members = pickle.loads(self.rustdoc_file.read_bytes())
        self.rustdoc_file = None

    def piece(self, row: int, commit_index: int, target: str = "") -> str:
        """The row's text in a pack made at `commit_index`; a function's is its signature.
        Less the sample's `target` where the definition holds it (its trait or impl)."""
        col = self.h.col
        kind = col["kind"][row]
        if kind in _FN_KINDS:
            # A declaration's (in a trait, an extern block) ends in `;` already (`;;` before).
            signature = _bare_end(one_line_code(col["signature"][row]))
            # A method in its block's header: alone, bat's `pub fn from_binary() -> Self;`
            # said neither what Self is nor how to call it (`HighlightingAssets::…`).
            owner = self.owner_header(row, commit_index) if kind == "method" else ""
            if not owner:
                return signature + ";"
            # A trait's provided method with its body elided, as the whole trait shows it:
            # with `;` it read as required (crossterm's `pub trait Command { fn
            # is_ansi_code_supported(&self) -> bool; }`, quinn's `Controller::metrics`).
            provided = str(col["parent"][row]).startswith("trait:") and _without_comments(
                str(col["text"][row])).rstrip().endswith("}")
            return f"{owner} {{ {signature}{_ELIDED_BODY if provided else ';'} }}"
        text = str(col["text"][row])
        if kind in _ASSOCIATED_KINDS and col["parent"][row]:
            # An associated const in its block, as a method is: alone, axum's
            # `pub const DEFAULT_KEEP_ALIVE: Self = …` said neither whose `Self` nor how to
            # name it (`Event::…`; 48 samples).
            # Written over lines, it stays as written (the header line names its block):
            # wrapped, its first line would be the block's header, which the code around
            # a target in the same block shows, and the const counted as shown.
            owner = self.owner_header(row, commit_index)
            code = _without_leading_docs(text)
            if owner and "\n" not in code:
                return f"{owner} {{ {_bare_end(code)}; }}"
        if target and target in text:
            text = text.replace(target, "", 1)
        if kind == "trait":
            text = _without_provided_bodies(text)
        if kind == "static" and _LAZY_STATIC.search(text):
            # In its macro, as written: alone, `static ref X: T = …;` is no Rust (delta:
            # 380 samples' packs showed it so).
            body = _with_own_indentation(text)
            return f"{_LAZY_STATIC_HEAD}{body if body[:1].isspace() else '    ' + body}\n}}"
        return _with_own_indentation(text)

    def _owner_note(self, row: int, commit_index: int) -> str:
        """`, in <block header>` for a method's header line, or an associated const's:
        alone, `fn clone(&self) -> Self` said neither whose `Self` nor how to call it
        (anyhow's headers listed several)."""
        if self.h.col["kind"][row] not in _ASSOCIATED_KINDS:
            return ""
        owner = self.owner_header(row, commit_index)
        return f", in {owner}" if owner else ""

    def owner_header(self, row: int, commit_index: int) -> str:
        """The header of the impl or trait block a method belongs to, as written at
        `commit_index`: its generic parameters and where-clause included (from the key alone,
        ripgrep's `impl Sink for UTF8<F>` left `F` unbound). The key's header where the block's
        row is not found."""
        col = self.h.col
        parent = str(col["parent"][row])
        if not parent:
            return ""
        block = self.block_row(row, commit_index)
        if block is not None:
            # Less a where-clause's trailing comma (`…, in impl<St> … where St: Debug,`).
            return _bare_end(one_line_code(str(col["signature"][block])))
        return _block_header(parent)

    def block_row(self, row: int, commit_index: int) -> int | None:
        """The row of the impl or trait block a method belongs to, as at `commit_index`."""
        col = self.h.col
        parent, key, lineage = str(col["parent"][row]), str(col["key"][row]), str(
            col["lineage"][row])
        if not parent or not lineage.endswith(key):
            return None
        # `{file lineage}::{key}`: the block's is beside it
        block = self.h.lineage_at(lineage[:len(lineage) - len(key)] + parent,
                                  max(commit_index, col["commit_index"][row]))
        if block is not None and col["kind"][block] in ("impl", "trait"):
            return block
        return None

    def pack(self, direct: list[str], commit_index: int, exclude_paths: set[str],
             exclude_symbols: set[str], budget_tokens: int,
             shown: Collection[int] = frozenset(), target: str = "",
             later: Sequence[str] = ()) -> tuple[str, list[int], list[str]]:
        """Pack text, rows used, and the ordered list of dependency symbols considered.
        `shown`: rows the sample shows elsewhere (in the code around a function): used, their
        dependencies considered, their text not repeated here. `target`: the sample's target,
        taken out of a definition that holds it (a trait and its own method: nalgebra's
        function samples showed their target in the pack in 71 cases). `later`: direct
        dependencies of lesser rank (what a file's block members use), placed after the
        others and their traits, before the types one hop away."""
        col = self.h.col
        seen: set[str] = set(exclude_symbols)
        tiers: list[list[int]] = [[], [], [], []]
        direct_rows: list[int] = []
        later_rows: list[int] = []
        for symbols, found, rank in ((direct, direct_rows, 0), (later, later_rows, 2)):
            for symbol in symbols:
                if symbol in seen:
                    continue
                seen.add(symbol)
                for row in self.h.symbol_at(symbol, commit_index):
                    if col["path"][row] in exclude_paths:
                        continue
                    found.append(row)
                    tiers[1 if rank == 0 and col["kind"][row] == "trait" else rank].append(row)
        direct_set = set(direct_rows)
        # One hop more: the types and traits the dependencies use (a later one's last)
        for row in [*direct_rows, *later_rows]:
            for symbol in col["resolved"][row] or ():
                if symbol in seen:
                    continue
                seen.add(symbol)
                for dep in self.h.symbol_at(symbol, commit_index):
                    if col["path"][dep] in exclude_paths:
                        continue
                    if col["kind"][dep] == "trait":
                        tiers[1 if row in direct_set else 3].append(dep)
                    elif col["kind"][dep] in _TYPE_KINDS:
                        tiers[3].append(dep)
        shown_rows: list[tuple[int, str]] = []  # (row, piece) in pack order
        used: list[int] = []
        spent = 0
        # Where the direct dependencies' whole texts (tier 0, and the traits among them in
        # tier 1) overrun the room, each is placed without its comment lines first, then
        # given them back in order, once the direct ones are placed, while room is left:
        # placed whole one by one, the first ones' doc comments crowded later ones out of
        # the pack (zola: 238 function samples lacked a direct dependency, 167 of them where
        # the pack's doc lines alone would have made room for it).
        whole_piece = {row: self.piece(row, commit_index, target) for row in direct_rows
                       if row not in shown}
        lean = sum(_est_tokens(p) + 8 for p in whole_piece.values()) > budget_tokens
        # Where one text defines several symbols (`bitflags! { struct A …; struct B … }`:
        # each is the macro invocation's, in one version of its file), shown once whole.
        placed: set[tuple[str, int, int]] = set()
        for k, tier in enumerate(tiers):
            for row in tier:
                span = (col["blob"][row], col["start_byte"][row], col["end_byte"][row])
                if row in shown or span in placed:
                    used.append(row)
                    continue
                piece = whole_piece[row] if row in whole_piece else self.piece(
                    row, commit_index, target)
                if lean and row in direct_set:
                    piece = _without_comment_lines(piece)
                cost = _est_tokens(piece) + 8
                elided = False  # its header alone: of a macro's types, this one's only
                if spent + cost > budget_tokens:
                    # Shorter, then: a definition too long for the room left was shown
                    # nowhere, not even named in the header (hashbrown's `struct HashMap`,
                    # 6,140 characters of which four lines are code, in 86 of the 91
                    # function samples that use it; ratatui: 20% of function samples).
                    before = piece
                    piece = next((form for form in _condensed_forms(
                        piece, str(col["signature"][row]), col["kind"][row])
                        if spent + _est_tokens(form) + 8 <= budget_tokens), "")
                    if not piece:
                        continue
                    elided = piece != _without_comment_lines(before)
                    cost = _est_tokens(piece) + 8
                shown_rows.append((row, piece))
                used.append(row)
                if not elided:
                    placed.add(span)
                spent += cost
            if lean and k == 1:  # the direct ones placed: their comments back, in order
                for at, (row, piece) in enumerate(shown_rows):
                    if row not in whole_piece:
                        continue
                    more = _est_tokens(whole_piece[row]) - _est_tokens(piece)
                    if more > 0 and spent + more <= budget_tokens:
                        shown_rows[at] = (row, whole_piece[row])
                        spent += more
        # A method's one-line header is left out where its trait is shown whole (futures-rs:
        # `pub trait ArcWake { fn wake_by_ref(…); }` above the trait itself, 28 samples).
        # And a trait's elided form (`pub trait StreamExt: Stream { /* … */ }`) where a
        # method header shows the trait's header already (futures-rs: 85 packs with both).
        traits = {row for row, piece in shown_rows if col["kind"][row] == "trait"}
        blocks = {row: self.block_row(row, commit_index) for row, _ in shown_rows
                  if traits and col["kind"][row] == "method"}
        whole = {row for row, piece in shown_rows
                 if row in traits and not piece.endswith(_ELIDED_BODY)}
        headed = set(blocks.values())
        lines: list[str] = []
        last_group: tuple[str, str] | None = None
        for row, piece in shown_rows:
            if blocks.get(row) in whole or (row in traits and row not in whole
                                            and row in headed):
                continue
            # A new label for another inline module of the same file too (sqlx: a second
            # `Sealed` labelled with the first's module).
            group = (col["path"][row], col["module"][row])
            if group != last_group:
                last_group = group
                lines.append(f"// from {group[0]} ({group[1]})")
            lines.append(piece)
        text = "\n".join(lines) + "\n" if lines else ""
        return text, used, [s for s in direct]

    def facts(self, target_rows: list[int], dep_rows: list[int], commit_index: int,
              with_own_signature: bool, limit_chars: int, member_rows: Sequence[int] = ()
              ) -> tuple[str, TypeFacts, bool]:
        """Header text, facts for inline mode, and whether rustdoc contributed.
        `member_rows`: the target's block members (an impl block's methods), whose macros
        the `macros:` line lists too (a block's own references are its header's: no impl
        block sample had the line)."""
        if self.rustdoc_file is not None:
            self._read_rustdoc()
        col = self.h.col
        facts = TypeFacts()
        lines: list[str] = []
        macros: list[str] = []
        used_rustdoc = False
        for row in target_rows:
            kind = col["kind"][row]
            if with_own_signature:
                # An impl's signature says "impl" itself ("impl impl Trait for T" before); a
                # method's says its block (time: 32% of method samples showed it nowhere).
                signature = col["signature"][row]
                owner = self._owner_note(row, commit_index)
                # Less a where-clause's trailing comma (sqlx: `where F: FnOnce() -> R,`).
                lines.append(_bare_end(signature) if kind == "impl" else
                             f"{kind} {_bare_end(signature)}{owner}")
                for bound in col["trait_bounds"][row] or ():
                    lines.append(f"bound: {bound}")
                if col["lifetimes"][row]:
                    lines.append(f"lifetimes: {', '.join(col['lifetimes'][row])}")
            for bound in col["trait_bounds"][row] or ():
                facts.traits.update(bound_traits(bound))
            if kind in _FN_KINDS:
                facts.note_return(col["name"][row], col["signature"][row], col["self_type"][row])
            macros.extend(r for r in col["references"][row] or () if r.endswith("!"))
            # Its signature as rustdoc resolved it: left out with the signature itself (a
            # declaration's is the whole target: serde's 75 required methods showed it).
            fact = self.rustdoc.get(col["lineage"][row]) if with_own_signature else None
            if fact is not None and fact[0] == col["digest"][row]:
                lines.append(f"rustdoc: {fact[1]}")
                used_rustdoc = True
            # An impl block's (small) methods, each as documented while its text is the one
            # at this commit.
            for member in self.rustdoc_members.get(col["lineage"][row], ()):
                member_row = self.h.lineage_at(member, commit_index)
                fact = self.rustdoc[member]
                if member_row is not None and fact[0] == col["digest"][member_row]:
                    lines.append(f"rustdoc: {fact[1]}")  # the target's own: its block
                    used_rustdoc = True
        for row in member_rows:
            macros.extend(r for r in col["references"][row] or () if r.endswith("!"))
        if macros:
            lines.append("macros: " + ", ".join(dict.fromkeys(macros)))
        for row in dep_rows:
            kind, name = col["kind"][row], col["name"][row]
            if kind == "trait":
                facts.traits.add(name)
                assoc = _associated_types(col["text"][row])
                lines.append(f"trait {name}{col['generics'][row]}"
                             + (f" (associated types: {', '.join(assoc)})" if assoc else ""))
            elif kind in _FN_KINDS:
                facts.note_return(name, col["signature"][row], col["self_type"][row])
                fact = self.rustdoc.get(col["symbol"][row])
                owner = self._owner_note(row, commit_index)
                if fact is not None and fact[0] == col["digest"][row]:
                    lines.append(f"rustdoc: {fact[1]}{owner}")
                    used_rustdoc = True
                else:
                    # Less a where-clause's trailing comma (`,,` before the owner note: axum,
                    # 1,080 header lines) and a declaration's `;` (`-> C;, in pub trait`).
                    lines.append(f"{kind} {_bare_end(str(col['signature'][row]))}{owner}")
            else:
                # The clause as written, `where` included ("where where" before).
                lines.append(f"{kind} {name}{col['generics'][row]}"
                             + (f" {_bare_end(str(col['where_clause'][row]))}"
                                if col["where_clause"][row] else "")
                             + self._owner_note(row, commit_index))
        source = "tree-sitter+rustdoc" if used_rustdoc else "tree-sitter"
        return render_header(lines, source, limit_chars), facts, used_rustdoc


# An associated type's declaration: `type` first on its line (after attributes), so not a
# doc comment's prose ("the type that ...": image's `trait Pixel` listed "that").
_ASSOCIATED_TYPE = re.compile(r"^[ \t]*(?:#\[[^\]\n]*\][ \t]*)*type[ \t]+([A-Za-z_][A-Za-z0-9_]*)",
                              re.MULTILINE)


@lru_cache(maxsize=4096)  # a trait recurs in the headers of many samples
def _associated_types(trait: str) -> tuple[str, ...]:
    """The associated types a trait's text declares: in its own braces, not a method's
    (itertools' `tree_fold1` declares a local `type State<T>`, and 234 samples' headers said
    `trait Itertools (associated types: State)`), read from its syntax tree (a `'{'` or a
    `"//"` in a literal had thrown counted braces off)."""
    if _ASSOCIATED_TYPE.search(trait) is None:  # most traits: none at all
        return ()
    body = _trait_body(trait)
    if body is None:
        return ()
    return tuple(_node_text(trait.encode(), name) for member in body.named_children
                 if member.type == "associated_type"
                 for name in [member.child_by_field_name("name")] if name is not None)


def _trait_body(trait: str) -> Node | None:
    """The member list of a trait's text parsed alone, or None where it is not one trait."""
    root = _trait_parser().parse(trait.encode()).root_node
    item = next((n for n in root.named_children if n.type == "trait_item"), None)
    body = item.child_by_field_name("body") if item is not None else None
    return None if root.has_error or body is None else body


# Items whose body a split part may begin inside, below a top-level one: `impl` and `fn`.
_NESTING_ITEMS = frozenset({"function_item", "impl_item", "trait_item", "mod_item"})


@lru_cache(maxsize=64)  # the parts of one split whole begin inside the same few items
def _parsed_item(text: str) -> Node:
    return _trait_parser().parse(text.encode()).root_node


def _inner_headers(text: str, offset: int) -> list[str]:
    """The headers, bodies elided and outermost first, of the items nested in a top-level
    item's `text` (a method in an impl block, a function in an inline module) that hold its
    character `offset`: where a split part begins (the top-level item's own header is its
    row's signature). None where `offset` is negative or nothing nested holds it."""
    if offset < 0:
        return []
    source = text.encode()
    at = len(text[:offset].encode())
    headers: list[str] = []
    node = _parsed_item(text)
    depth = 0
    while True:
        inner = next((child for child in node.named_children
                      if child.start_byte < at < child.end_byte), None)
        if inner is None:
            return headers
        if inner.type in _NESTING_ITEMS:
            depth += 1
            body = inner.child_by_field_name("body")
            if depth > 1 and body is not None and body.start_byte <= at:
                head = one_line_code(source[inner.start_byte:body.start_byte].decode(
                    "utf-8", "replace"))
                headers.append(f"{_bare_end(head)}{_ELIDED_BODY}")
        node = inner


def _node_text(source: bytes, node: Node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


_BOUND_TERM = re.compile(r"(?:for<[^>]*>\s*)?(?:[A-Za-z_][A-Za-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)")


def bound_traits(bound: str) -> list[str]:
    """The traits a bound (`T: Iterator<Item = OsString> + Send + 'a`) requires: the last
    path segment of each `+`-separated term after the colon, not the types in their
    arguments (every capitalised word was taken: `<TRAIT:OsString>`), not `?Sized` and not
    lifetimes."""
    _, colon, rhs = bound.partition(":")
    if not colon:
        return []
    terms: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(rhs):
        if ch in "<([":
            depth += 1
        elif ch in ">)]" and not (ch == ">" and rhs[i - 1:i] == "-"):  # not `->`
            depth -= 1
        elif ch == "+" and depth == 0:
            terms.append(rhs[start:i])
            start = i + 1
    terms.append(rhs[start:])
    names = []
    for term in terms:
        term = term.strip()
        if not term or term[0] in "?'(":
            continue
        match = _BOUND_TERM.match(term)
        if match and match.group(1)[0].isupper():
            names.append(match.group(1))
    return names


def _item_lines(text: str, rows: list[int], col: dict[str, Sequence[Any]]) -> list[int]:
    """The 0-based line in `text` (a file at a snapshot) where each of `rows` (items that do
    not overlap: the top-level ones, or functions) starts, found by the item's text: a row's
    recorded line is stale when the item only moved since its last change (edits above it
    give it no new row), and rows of different changes need not be in file order. An item
    starts a line (after its indentation): the lines that read as its first one are looked
    up, nearest the recorded line first, and the first where its whole text follows and
    that no other row took is its start. The recorded line when there is none. One pass
    over the file and one look-up per item (a search of the whole file per item took
    libc's snapshots from 19 to 50 CPU seconds)."""
    column = col["text"]
    item_texts = column.many(rows) if isinstance(column, _TextColumn) else [
        column[r] for r in rows]
    first_keys = [_line_key(t.partition("\n")[0]) if t else None
                  for t in item_texts]
    wanted = set(first_keys)
    # Whole-list passes rather than a loop per line (tokio's crate scale looked up 1.8
    # million lines): each line's text after its indentation, and its key (_line_key,
    # inlined: a call per line cost a third of the pass).
    file_lines = text.split("\n")
    contents = [line.lstrip(" \t") for line in file_lines]
    starts: dict[str, list[int]] = defaultdict(list)  # a wanted _line_key -> its numbers
    for number, key in enumerate([c.split("//", 1)[0].rstrip() or c.rstrip()
                                  for c in contents]):
        if key in wanted:
            starts[key].append(number)
    line_starts = [0, *accumulate(len(line) + 1 for line in file_lines)]

    def offset(number: int) -> int:  # where a line's text starts, after its indentation
        return line_starts[number] + len(file_lines[number]) - len(contents[number])

    lines: list[int] = []
    taken: set[int] = set()
    for r, item_text, first_key in zip(rows, item_texts, first_keys, strict=True):
        recorded = col["start_line"][r] - 1
        numbers = starts.get(first_key, ()) if first_key is not None else ()
        found = -1
        # Outwards from the recorded line: below it at `hi`, above it at `lo`.
        hi = bisect.bisect_left(numbers, recorded)
        lo = hi - 1
        while lo >= 0 or hi < len(numbers):
            if hi < len(numbers) and (lo < 0 or numbers[hi] - recorded <= recorded - numbers[lo]):
                number, hi = numbers[hi], hi + 1
            else:
                number, lo = numbers[lo], lo - 1
            if number not in taken and text.startswith(item_text, offset(number)):
                found = number
                break
        if found < 0:
            lines.append(recorded)
            continue
        taken.add(found)
        lines.append(found)
    return lines


def _line_key(line: str) -> str:
    """What a line is looked up by: without a trailing comment or trailing blanks (a
    one-line item's text has neither; `\r` of CRLF is a blank), unless nothing else is left
    (a doc comment starts many items). `_item_lines` inlines it for a file's every line:
    change both together."""
    return line.split("//", 1)[0].rstrip() or line.rstrip()


class BlobTexts:
    """File texts by blob id through one cat-file process, with a small LRU."""

    def __init__(self, reader: BlobReader, keep: int = 256) -> None:
        self.reader = reader
        self.cache: OrderedDict[str, bytes | None] = OrderedDict()
        self.keep = keep

    def get(self, sha: str) -> bytes | None:
        if sha in self.cache:
            self.cache.move_to_end(sha)
            return self.cache[sha]
        data = self.reader.read(sha)
        self.cache[sha] = data
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return data


# Folders whose files a manifest may make crate roots of their own (`[[test]]`, `[[bench]]`
# with a path), which the module graph does not know: never taken as compiled by nothing.
_TEST_LIKE_DIRS = frozenset({"tests", "test", "examples", "example", "benches", "bench"})


@dataclass
class Snapshot:
    index: int
    sha: str
    files: list[tuple[str, str]]  # (path, blob id) of the minable .rs files, tree order
    by_path: dict[str, array[int]]  # path -> rows of top-level items, by start
    module_order: list[str]  # paths in dependency order (dependencies first)
    depends_on: dict[str, list[str]]  # path -> paths of modules it depends on
    # Paths whose module no `mod` declares (modules.module_rows' `declared`)
    undeclared: frozenset[str] = frozenset()
    # Of those, the ones no file of the snapshot names either (CandidateMaker.dead_files)
    dead: frozenset[str] | None = None
    # path -> rows of the members of its blocks (an impl's methods), by start
    nested: dict[str, array[int]] = field(default_factory=dict)


# An indented line that starts a member of an impl block: `fn`, `type` or `const` after any
# visibility and qualifiers, an attribute or a doc comment. (\s++ takes all the indentation,
# as str.lstrip would: nothing after it may start with white space.)
_DOC_OR_ATTRIBUTE_LINE = re.compile(r"\s*+(?:///|#\[)")
# A line that is a doc comment or an attribute and nothing else: `#[allow(dead_code)] pub
# const TABLE: …` is the item's own line (its name had been skipped with the attribute).
_MEMBER_LINE = re.compile(
    r"\s++(?:(?:pub(?:\([^)]*\))?\s+)?(?:const\s+|async\s+|unsafe\s+|extern\s+\S+\s+)*"
    r"(?:fn|type|const)\b|#\[|///)")


# A line git writes into a file whose merge conflicts, or the `=======` between the sides
# (CRLF files' too).
_CONFLICT_LINE = re.compile(r"^(?:<<<<<<<|=======|>>>>>>>|\|\|\|\|\|\|\|)(?: |\r?$)", re.MULTILINE)


def _outside_conflict(before: str, after: str) -> tuple[str, str]:
    """The code before and after a target, each cut at the conflict-marker line nearest to
    the target: a file committed mid-merge (serde's de/impls.rs at a778425d) showed
    `<<<<<<< HEAD` … `>>>>>>> origin/master` in the code before three function targets
    (a target holding one is dropped, quality.filter_reason). A `=======` line counts only
    where the file holds a marker (quality.CONFLICT_MARKER) too: alone it may be a
    Markdown heading's underline in a string."""
    if not (_has_marker(before) or _has_marker(after)):
        return before, after
    last = max(_CONFLICT_LINE.finditer(before), key=lambda m: m.start(), default=None)
    if last is not None:
        end = before.find("\n", last.end())
        before = before[end + 1:] if end >= 0 else ""
    first = _CONFLICT_LINE.search(after)
    if first is not None:
        after = after[:first.start()]
    return before, after


def _has_marker(text: str) -> bool:
    return ("<<<<<<<" in text or ">>>>>>>" in text or "|||||||" in text) and \
        CONFLICT_MARKER.search(text) is not None


def _crate_dir(crate: str) -> str:
    return "" if crate in (".", "") else crate


class CandidateMaker:
    def __init__(self, history: History, packer: Packer, texts: BlobTexts,
                 config: SampleConfig, roots: CrateRoots | None = None) -> None:
        self.h = history
        self.roots = roots  # where a file's path puts it: see locate_module
        self.packer = packer
        self.texts = texts
        self.config = config
        self.budget = dict(zip(schema.SCALES, config.budgets, strict=True))
        # (blob, its top-level item rows) -> _item_lines: a file version recurs in many
        # groups and snapshots, and where its items start is looked up for each oversized
        # target it is in (diesel's module groups: 45.4 -> 41.4 CPU s found once).
        # Keyed by a digest of the rows and held as arrays (libc: 84 MiB as tuples and lists).
        self.item_lines: dict[tuple[str, bytes], array[int]] = {}
        # scale -> why candidates were not made, counted (ScaleStats.not_made)
        self.not_made: dict[str, Counter[str]] = defaultdict(Counter)
        # impl block lineage -> the lineages of its members over history (_impl_members)
        self.members: dict[str, set[str]] | None = None

    def _impl_members(self, impl_row: int) -> list[int]:
        """The rows of an impl block's members at its row's commit."""
        col = self.h.col
        if self.members is None:
            self.members = defaultdict(set)
            parent, lineage, key = col["parent"], col["lineage"], col["key"]
            for r in range(self.h.n):
                if parent[r].startswith("impl:"):
                    file_lineage = lineage[r][:len(lineage[r]) - len(key[r]) - 2]
                    self.members[f"{file_lineage}::{parent[r]}"].add(lineage[r])
        rows: list[int] = []
        ci, key, path = col["commit_index"][impl_row], col["key"][impl_row], col["path"][impl_row]
        for member in self.members.get(col["lineage"][impl_row], ()):
            found = self.h.lineage_at(member, ci)
            if found is not None and col["parent"][found] == key and col["path"][found] == path:
                rows.append(found)
        return sorted(rows, key=lambda r: (col["start_line"][r], r))

    def _header_limit(self, scale: str) -> int:
        return int(self.budget[scale] * CHARS_PER_TOKEN_ESTIMATE * 0.15)

    def micro_small(self, scale: str) -> Iterator[Candidate]:
        col = self.h.col
        kinds = _FN_KINDS if scale == "micro" else frozenset({"impl"})
        for row in range(self.h.n - 1, -1, -1):  # newest first: dedup keeps the first seen
            if col["kind"][row] not in kinds or col["change"][row] not in ("added", "modified"):
                continue
            yield Candidate(
                scale=scale, commit_index=col["commit_index"][row], path=col["path"][row],
                paths=[col["path"][row]], kind=col["kind"][row], name=col["name"][row],
                lineage=col["lineage"][row], crate=col["crate"][row], target=col["text"][row],
                target_start_byte=col["start_byte"][row], target_end_byte=col["end_byte"][row],
                dependencies=list(col["resolved"][row] or ()),
                fill=partial(self._fill_item, row),
                find_boundaries=partial(self._member_boundaries, row) if scale == "small"
                else None)

    def _fill_item(self, row: int, cand: Candidate) -> None:
        """Context of a micro or small candidate: pack, type facts, and for micro the code
        around the function in its file, within what the budget leaves."""
        col = self.h.col
        budget = self.budget[cand.scale]
        own = {col["symbol"][row]} if col["symbol"][row] else set()
        if col["kind"][row] == "method":
            # A method uses its block's type and trait (`self.input`): time's methods that
            # read fields showed their `Self` type in 353 of 1,201 samples.
            block = self.packer.block_row(row, cand.commit_index)
            if block is not None:
                cand.dependencies = list(dict.fromkeys([*self.h.current(
                    col["resolved"][block] or (), cand.commit_index), *cand.dependencies]))
        members: list[int] = []
        if cand.scale == "small":
            # An impl block's own references are its header's (its type, its trait): what
            # its methods use comes from them (hyperfine's impl samples left a median 7,931
            # of 8,192 tokens unused), after the header's, its members' own symbols apart.
            members = self._impl_members(row)
            own.update(col["symbol"][r] for r in members if col["symbol"][r])
            # Members unchanged since a definition they use moved: as of this commit.
            cand.dependencies = list(dict.fromkeys([*cand.dependencies, *(
                sid for sid in self.h.current((sid for r in members
                                               for sid in col["resolved"][r] or ()),
                                              cand.commit_index) if sid not in own)]))
        # A target past three quarters of the budget (by the estimate) leaves a quarter: the
        # share of a split target's parts (the first part of a split function had no pack
        # and no code before it: no room at all). From the length alone, so a whole made
        # before or after its split gives the same.
        estimate = cand.target_tokens_estimate()
        room = budget // 4 if estimate > budget * 3 // 4 else budget - estimate
        target = str(col["text"][row])  # a split target's whole has let go of its own
        cand.pack, used, _ = self.packer.pack(cand.dependencies, cand.commit_index, set(), own,
                                              room // 2, target=target)
        shown_rows: frozenset[int] = frozenset()  # left out: the code around shows them

        # What repack needs, as plain values: a closure over the candidate would make each
        # one a reference cycle, left to the cyclic collector (winit: 321,000 unreachable
        # objects held past the function scale).
        deps, commit_index, path = cand.dependencies, cand.commit_index, cand.path
        header_limit = self._header_limit(cand.scale)

        def repack(part: str, tokens: int, _own: str, _at: int) -> _Repacked:
            """The pack and type facts for one part of a split target: what it names
            first (the parts of a split function shared their whole's, the pack an eighth of
            the budget, the facts of every part: bottom's `draw_data` part 5 of 5 left 739
            tokens unused and lacked three functions it calls)."""
            words = set(_WORD.findall(part))
            named = [sid for sid in deps if _simple_name(sid) in words]
            pack, part_used, _ = self.packer.pack(
                list(dict.fromkeys([*named, *deps])), commit_index, set(), own, tokens,
                shown_rows, target)
            in_pack = [_own_block(path, col["module"][r],
                                  self.packer.piece(r, commit_index, target))
                       for r in part_used if col["path"][r] == path and r not in shown_rows]
            return (pack, *self.packer.facts(
                [row], part_used, commit_index, not declaration, header_limit,
                [r for r in members if col["text"][r] in part]), in_pack)

        cand.repack = repack
        # A declaration without a body (in a trait or an extern block) is its signature: the
        # header showed the whole target (rust-sdl2: 90 function samples).
        # So is an impl block with no members (`impl Send for X {}`): futures-rs's 488 of
        # 4,921 impl samples (9.9%) were in their own header whole.
        # Bodiless: the item ends with its `;` (a `{` in a doc comment's example had made
        # serde's 58 required methods look like functions with a body).
        declaration = (col["kind"][row] in _FN_KINDS and target.rstrip().endswith(";")) or (
            col["kind"][row] == "impl" and _EMPTY_BLOCK.search(target) is not None)
        cand.header, cand.facts, cand.rustdoc_used = self.packer.facts(
            [row], used, cand.commit_index, not declaration, self._header_limit(cand.scale),
            members)
        if cand.scale in ("micro", "small"):
            src = self.texts.get(col["blob"][row])
            if src is not None:
                before, after = _outside_conflict(
                    src[: col["start_byte"][row]].decode("utf-8", "replace"),
                    src[col["end_byte"][row]:].decode("utf-8", "replace"))

                def around(pack: str) -> tuple[str, str]:
                    left = max(0, room - _est_tokens(pack) - _est_tokens(cand.header))
                    return (_tail_lines(before, int(left * 2 / 3 * CHARS_PER_TOKEN_ESTIMATE)),
                            _head_lines(after, int(left / 3 * CHARS_PER_TOKEN_ESTIMATE)))

                cand.prefix, cand.suffix = around(cand.pack)
                # A definition of the same file that the code around the function shows is
                # not repeated in the pack (16% of tantivy's function samples repeated one),
                # unless the room it frees moves it out of view again.
                own_file = {r: self.packer.piece(r, cand.commit_index, target) for r in used
                            if col["path"][r] == cand.path}  # texts read once

                def in_view(prefix: str, suffix: str) -> set[int]:
                    return {r for r, p in own_file.items() if _in_view(p, prefix, suffix)}

                shown = in_view(cand.prefix, cand.suffix)
                if shown:
                    pack, used_now, _ = self.packer.pack(cand.dependencies, cand.commit_index,
                                                         set(), own, room // 2, shown, target)
                    prefix, suffix = around(pack)
                    if shown <= in_view(prefix, suffix):
                        cand.pack, cand.prefix, cand.suffix = pack, prefix, suffix
                        own_file.update((r, self.packer.piece(r, cand.commit_index, target))
                                        for r in used_now if col["path"][r] == cand.path
                                        and r not in own_file)
                    else:
                        # The room a pack without them frees would move them out of view:
                        # this view stays, and they leave the pack all the same (h2's impl
                        # samples showed `struct State` in both).
                        for r in shown:
                            cand.pack = _drop_from_pack(cand.pack, own_file[r], cand.path)
                    shown_rows = frozenset(shown)
                    cand.shown_elsewhere = [_own_block(cand.path, col["module"][r], own_file[r])
                                            for r in sorted(shown)]
                # What widening the code around the target may bring into view twice.
                cand.own_in_pack = [_own_block(cand.path, col["module"][r], piece)
                                    for r, piece in own_file.items() if r not in shown_rows]
                # At most _AROUND_TOKENS either side: a batch of 2,000 impl samples holds
                # this much each.
                reach = min(room, _AROUND_TOKENS) * _AROUND_CHARS_PER_TOKEN
                cand.around = _Around(_tail_lines(before, reach), _head_lines(after, reach),
                                      len(cand.prefix), len(cand.suffix))

    def _member_boundaries(self, impl_row: int) -> list[int]:
        """Lines inside an impl block where its members start (split points)."""
        member_line = _MEMBER_LINE.match
        leading = _DOC_OR_ATTRIBUTE_LINE.match
        lines = self.h.col["text"][impl_row].splitlines()
        # A member's doc comments and attributes go with it: a cut between them left a
        # part ending in the doc of a method the next part began with (h2: 3 of 7 parts).
        return [i for i in range(1, len(lines))
                if member_line(lines[i]) and not leading(lines[i - 1])]

    def snapshot_candidates(self, scale: str, snap: Snapshot, files: SnapshotFiles
                            ) -> Iterator[Candidate]:
        ci = snap.index
        budget = self.budget[scale]
        texts: dict[str, str] = {}
        for path, sha in snap.files:
            data = files.get(sha)
            if data is not None:  # as when the snapshot was loaded
                texts[path] = data.decode("utf-8", "replace")
        blobs = dict(snap.files)
        # A blank file adds only its separator line to a multi-file target (futures-rs had
        # crate samples made of nothing else).
        shown = {path for path, text in texts.items() if text.strip()}
        if scale == "medium":
            for path, text in texts.items():
                rows = list(snap.by_path.get(path, ()))
                yield self._files_candidate(scale, ci, [path], {path: text}, blobs, rows, budget,
                                            lineage=self._file_lineage(rows, path),
                                            kind="module", nested=snap.nested.get(path, ()))
        else:
            # Files compiled by nothing are in no module group or crate (the module scale
            # above has them).
            dead = self.dead_files(snap, texts) & shown
            if dead:
                self.not_made[scale]["undeclared_file"] += len(dead)
                shown -= dead
        if scale == "large":
            for path in snap.module_order:
                deps = [d for d in snap.depends_on.get(path, []) if d in shown and d != path]
                if not deps or path not in shown:
                    continue
                group = [p for p in snap.module_order if p in deps] + [path]
                # Farthest dependencies are dropped first until the group fits the budget.
                while len(group) > 1 and sum(_est_tokens(texts[p]) for p in group) > budget:
                    group.pop(0)
                if len(group) < 2:  # its code is in the module scale's samples
                    self.not_made[scale]["group_over_budget"] += 1
                    continue
                rows = [r for p in group for r in snap.by_path.get(p, [])]
                # The group's crate is its module's, not its first dependency's (a test
                # file's group began with the module the folder's tests share: reqwest's
                # were crate tests/support).
                yield self._files_candidate(
                    scale, ci, group, {p: texts[p] for p in group}, blobs, rows, budget,
                    lineage="group:" + self._file_lineage(snap.by_path.get(path, []), path),
                    kind="module_group", crate=self._crate_of(snap, path),
                    nested=[r for p in group for r in snap.nested.get(p, ())])
        elif scale == "full":  # each crate in dependency order
            crates: dict[str, list[str]] = defaultdict(list)
            for path in snap.module_order:
                if path in shown:
                    crates[self._crate_of(snap, path)].append(path)
            crate_of = {path: crate for crate, paths in crates.items() for path in paths}
            for crate, paths in crates.items():
                if len(paths) < 2 and in_target_folder(crate):
                    # A test, example or bench of one file: its code is the module scale's
                    # sample (axum's trybuild programs were 145 of its 420 crate samples).
                    # A library or binary of one file is still its crate's sample.
                    self.not_made[scale]["single_file_crate"] += 1
                    continue
                brought = self._declared_elsewhere(snap, crate, paths, crate_of, crates)
                if brought:
                    # What the crate declares from another folder is compiled into it: a
                    # module its folder's crates share (`mod common;`), a file `#[path]`
                    # names (zoxide's build.rs: `#[path = "src/cmd/cmd.rs"] mod cmd;`).
                    paths = [p for p in snap.module_order if p in brought or p in paths]
                rows = [r for p in paths for r in snap.by_path.get(p, [])]
                yield self._files_candidate(scale, ci, paths, {p: texts[p] for p in paths},
                                            blobs, rows, budget, lineage=f"crate:{crate}",
                                            kind="crate", crate=crate,
                                            nested=[r for p in paths
                                                    for r in snap.nested.get(p, ())])

    def dead_files(self, snap: Snapshot, texts: dict[str, str]) -> frozenset[str]:
        """The files of `snap` that no `mod` declares, in a crate whose root file is there,
        and that no file of their folder or the folder above names outside its comments (a
        `mod` in a macro the parser cannot read, an `include!`; nom's "a bit stream" had
        kept its undeclared src/stream.rs, and a `// mod stream;` would): compiled by
        nothing (axum's handler/
        into_service_state_in_extension.rs, 29 months undeclared, was in 25 crate samples),
        so in no crate or module-group sample. Files of tests, examples and bench folders
        are left alone (a manifest's `[[test]]` may make any file a crate's root: regex's
        tests/test_default.rs), and the module scale keeps every file."""
        if snap.dead is None and not snap.undeclared:
            snap.dead = frozenset()
        if snap.dead is None:
            dead: set[str] = set()
            located = {path: locate_module(path, self.roots) for path in texts}
            rooted = {loc.crate for loc in located.values() if loc.module == "crate"}
            in_folder: dict[str, list[str]] = defaultdict(list)
            for path in located:
                in_folder[posixpath.dirname(path)].append(path)
            code: dict[str, str] = {}  # file -> its text less comments, once asked for
            for path in snap.undeclared:
                loc = located.get(path)
                if loc is None or loc.crate not in rooted or _TEST_LIKE_DIRS.intersection(
                        path.split("/")[:-1]):
                    continue
                folder = posixpath.dirname(path)
                name = posixpath.basename(path).removesuffix(".rs")
                if name == "mod":
                    folder, name = posixpath.dirname(folder), posixpath.basename(folder)
                near = {folder, posixpath.dirname(folder), posixpath.dirname(path)}
                named = re.compile(rf"\b{re.escape(name)}\b")
                if not any(named.search(code.get(other) or code.setdefault(
                        other, _without_comments(texts[other])))
                           for place in near for other in in_folder.get(place, ())
                           if other != path):
                    dead.add(path)
            snap.dead = frozenset(dead)
        return snap.dead

    def _declared_elsewhere(self, snap: Snapshot, crate: str, paths: list[str],
                            crate_of: dict[str, str], crates: dict[str, list[str]]
                            ) -> set[str]:
        """The files of other crates that `crate` declares as its modules (the module
        graph's only edges between crates) and their submodules: modules below theirs in
        their crate."""
        brought: set[str] = set()
        for path in paths:
            for dep in snap.depends_on.get(path, ()):
                other = crate_of.get(dep)
                if other is None or other == crate or dep in brought:
                    continue
                module = locate_module(dep, self.roots).module
                brought.update(p for p in crates[other] if p == dep or module == "crate"
                               or locate_module(p, self.roots).module.startswith(module + "::"))
        return brought

    def _crate_of(self, snap: Snapshot, path: str) -> str:
        """The crate of a file: its items' (they carry it), else where its path puts it (a
        file without items went to the root crate: image's `fuzz/fuzzers/*.rs` in 276 of its
        377 crate samples)."""
        rows = snap.by_path.get(path)
        return str(self.h.col["crate"][rows[0]]) if rows else \
            locate_module(path, self.roots).crate

    def _file_lineage(self, rows: Sequence[int], path: str) -> str:
        """The lineage most of the file's items carry, less their keys (an item moved in
        from another file carries that file's: taken from the first row, a module could
        be named after a file it took one item from); the path on a tie with it."""
        if not rows:
            return path
        col = self.h.col
        found = Counter(str(col["lineage"][r])[: -len(col["key"][r]) - 2] for r in rows)
        most = max(found.values())
        return path if found.get(path) == most else next(
            lineage for lineage, n in found.items() if n == most)

    def _files_candidate(self, scale: str, ci: int, paths: list[str], texts: dict[str, str],
                         blobs: dict[str, str], rows: list[int], budget: int, lineage: str,
                         kind: str, crate: str | None = None,
                         nested: Sequence[int] = ()) -> Candidate:
        """`texts` and `blobs`: each path's text and blob id; `rows` their top-level items',
        `nested` the members of their blocks. `crate`: the target's crate (default: its
        items', else its first file's by its path)."""
        if crate is None:
            crate = str(self.h.col["crate"][rows[0]]) if rows else \
                locate_module(paths[0], self.roots).crate
        multi = len(paths) > 1 or scale in ("large", "full")
        pieces: list[str] = []
        separators: list[int] = []  # lines of the file separators after the first
        # path -> (line its text starts at, text, blob), and (character it starts at, text,
        # blob)
        file_starts: dict[str, tuple[int, str, str]] = {}
        file_texts: dict[str, tuple[int, str, str]] = {}
        piece_ends: list[int] = []  # each file's end (after its separator line and text)
        piece_keys: list[bytes] = []  # each file's separator and text: its path and blob
        line = length = 0
        for path in paths:
            text = texts[path]
            if multi:
                pieces.append(f"{FILE_SEP}{path}\n")
                if line:
                    separators.append(line)
                line += 1
            file_starts[path] = (line, text, blobs[path])
            file_texts[path] = (length + (len(pieces[-1]) if multi else 0), text, blobs[path])
            pieces.append(text if text.endswith("\n") or not multi else text + "\n")
            line += text.count("\n") + (0 if text.endswith("\n") or not multi else 1)
            length += sum(map(len, pieces[-2:] if multi else pieces[-1:]))
            piece_ends.append(length)
            piece_keys.append(_file_piece_key(path, blobs[path]))
        target = "".join(pieces)
        single = not multi
        return Candidate(
            scale=scale, commit_index=ci, path=paths[0], paths=list(paths), kind=kind,
            name=paths[-1] if scale != "full" else (_crate_dir(crate) or "."),
            lineage=lineage, crate=crate,
            target=target, target_start_byte=0 if single else -1,
            target_end_byte=len(target.encode("utf-8")) if single else -1,
            fill=partial(self._fill_files, rows, file_texts, list(nested)),
            find_boundaries=partial(self._files_boundaries, rows, separators, file_starts),
            piece_ends=piece_ends if multi else None, piece_keys=piece_keys if multi else None)

    def _files_boundaries(self, rows: list[int], separators: list[int],
                          file_starts: dict[str, tuple[int, str, str]]) -> list[int]:
        """Where a file-level target may be cut: file separators and its top-level items."""
        col = self.h.col
        rows_by_path: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            rows_by_path[col["path"][r]].append(r)
        boundaries = set(separators)
        for path, (start, text, blob) in file_starts.items():
            lines = self._lines_of_items(text, blob, rows_by_path[path])
            boundaries.update(start + line for line in lines if line > 0)
        return sorted(boundaries)

    def _lines_of_items(self, text: str, blob: str, path_rows: list[int]) -> array[int]:
        """_item_lines of a file's top-level rows, kept for its blob and those rows (asked
        for again by the parts of a split target)."""
        key = (blob, hashlib.blake2b(array("q", path_rows).tobytes(), digest_size=16).digest())
        lines = self.item_lines.get(key)
        if lines is None:
            lines = self.item_lines[key] = array("q", _item_lines(text, path_rows, self.h.col))
        return lines

    def _fill_files(self, rows: list[int], file_texts: dict[str, tuple[int, str, str]],
                    nested: list[int], cand: Candidate) -> None:
        """Context of a file-level candidate: the pack and type facts of what its items use
        from outside its files, the members of its blocks too (`nested`: a block's own
        references are its header's; parking_lot's `Once::call_once_slow` calls
        `parking_lot_core::park`, a dependency of no module-level sample: 177 samples of two
        histories). `file_texts`: each path -> (where its text begins in the target, the
        text, its blob)."""
        col = self.h.col
        # Members the file shows (the walk's version of one may be another branch's: it
        # gave a `macros:` line the target never invokes, a review).
        nested = [r for r in nested if col["path"][r] in file_texts
                  and str(col["text"][r]) in file_texts[col["path"][r]][1]]
        # The members' dependencies come in the pack after the items' own and their traits
        # (Packer.pack's `later`): in one order by position, the members' many calls took
        # the pack's room from the types and traits the items name (salsa's module groups:
        # 432 such lines gone from 60 samples, a review).
        own = {col["symbol"][r] for r in (*rows, *nested) if col["symbol"][r]}
        # As of this commit: files unchanged since a move
        direct = self.h.current([d for r in rows for d in col["resolved"][r] or ()],
                                cand.commit_index)
        members_use = self.h.current([d for r in nested for d in col["resolved"][r] or ()],
                                     cand.commit_index)
        budget = self.budget[cand.scale]
        room = max(0, budget - min(cand.target_tokens_estimate(), budget))
        cand.pack, used, _ = self.packer.pack(direct, cand.commit_index, set(cand.paths), own,
                                              room // 2, later=members_use)
        direct = list(dict.fromkeys([*direct, *members_use]))
        cand.header, cand.facts, cand.rustdoc_used = self.packer.facts(
            rows, used, cand.commit_index, False, self._header_limit(cand.scale), nested)
        cand.dependencies = [d for d in direct if d not in own]
        row_names: list[str] = []
        nested_names: list[str] = []
        # Plain values for repack, no reference to the candidate (see _fill_item).
        commit_index, header_limit = cand.commit_index, self._header_limit(cand.scale)
        outside = [d for d in direct if d not in own]  # what the whole's items use
        lines_of_items = self._lines_of_items

        def blocks_around(at: int) -> list[str]:
            """`// from …` lines and the headers, bodies elided, outermost first, of the
            item and its nested items (a method in an impl block) that hold the character
            `at` of the whole's target but not at their first line of code: where a part
            begins. By position: a part deep in `impl Connection` seldom writes
            `Connection` (quinn: 36 of 46 module-file parts that began inside a block had no
            header), and text repeats (impls of one trait for several types)."""
            for path, (start, text, blob) in file_texts.items():
                if not start <= at < start + len(text):
                    continue
                path_rows = [r for r in rows if col["path"][r] == path]
                lines = lines_of_items(text, blob, path_rows)
                text_lines = text.split("\n")
                line_starts = [0, *accumulate(len(line) + 1 for line in text_lines)]
                offset = at - start
                for r, line in zip(path_rows, lines, strict=True):
                    item = str(col["text"][r])
                    # after the line's indentation: an item inside a macro body's
                    begin = line_starts[line] + len(text_lines[line]) - len(
                        text_lines[line].lstrip(" \t")) if 0 <= line < len(text_lines) else -1
                    if begin < 0 or not begin <= offset < begin + len(item):
                        continue
                    item_lines_ = item.split("\n")
                    first = _first_code_line(item_lines_)
                    code = begin + sum(len(x) + 1 for x in item_lines_[:first])
                    if offset <= code or col["kind"][r] not in _BLOCK_KINDS:
                        return []
                    found = [_elided(str(col["signature"][r])),
                             *_inner_headers(item, offset - begin)]
                    return [f"// from {path} ({col['module'][r]})",
                            *dict.fromkeys(h for h in found if h)]
            return []

        def repack(part: str, tokens: int, own_code: str, at: int) -> _Repacked:
            """The pack and type facts of the items a part of the split target names (every
            part showed its whole's: nom's crate parts, 3,872 of 6,110 function lines of
            their headers named a function the part did not show)."""
            words = set(_WORD.findall(part))
            if not row_names:  # once per whole, on its first part
                row_names.extend(col["name"].__getitem__(r) for r in rows)
            part_rows = [r for r, name in zip(rows, row_names, strict=True) if name in words]
            # What the part shows is not repeated; what another part of the whole defines,
            # this part does not show: it may come in the pack (h2's and async-std's crate
            # parts had none, the whole's files all left out: 1,608 and 1,701 names of a
            # type another part defined were shown nowhere).
            # Whole, or by its first line of code where the walk's version of it is another
            # branch's than the snapshot's file (rusqlite: a part holding `pub struct
            # Connection {` had the walk's other version of it in its pack; 10 samples).
            defined = {r for r in part_rows if col["text"][r] in part or (
                (head := _without_leading_docs(str(col["text"][r])).partition("\n")[0])
                and len(head) > 8 and head in part)}
            # Block members the part holds whole: what they use is the part's too.
            if len(nested_names) < len(nested):
                nested_names.extend(col["name"].__getitem__(r) for r in nested)
            members = [r for r, name in zip(nested, nested_names, strict=True)
                       if name in words and col["text"][r] in part]
            # An item the part's own code begins or ends inside is the part's own code, not
            # shown whole (itertools: a part cut inside the `Itertools` trait had the trait
            # in its pack, the very methods it must write among them; 6 samples); where the
            # part does not show its start, its header is, as the block the part lies in
            # (blocks_around).
            cut = {r for r in part_rows if r not in defined
                   and _cut_inside(col["text"][r], own_code) is not None}
            here = {col["symbol"][r] for r in (*defined, *cut, *members) if col["symbol"][r]}
            # Another part's items the part names, but not a test module's (nom's test
            # functions are named as the combinators they test: `fn take_while()`); a part
            # cut inside one long item holds no item's name: what the whole uses from
            # outside, by the names the part holds, as for a function's part (otherwise
            # common names, `new`, brought every type's `new`: async-std's crate parts, 380
            # of 577 method lines in their headers were of types the part never named).
            # Named in the part's code, not its comments, by a name the part does not
            # define itself, and visible from it: public, or of a module its items are in
            # or below (xsv's subcommand modules each have a private `static USAGE` and
            # `struct Args`: a crate part showed those of 17 other modules; rustls, 412 of
            # 1,198 split parts showed another module's private item so).
            # By name, not only what a plain build compiles (salsa's crate parts naming
            # `Mutex` showed the test-only shim's `struct Mutex<T>(shuttle::…)`: 11).
            compiled = self.h.compiled
            own_names = {col["name"][r] for r in (*defined, *cut)}
            own_modules = {(col["crate"][r], col["module"][r]) for r in (*defined, *cut)}
            code_words = set(_WORD.findall(_without_comments(part))) if part_rows else words

            def visible(r: int) -> bool:
                if str(col["signature"][r]).startswith("pub"):
                    return True
                crate, module = col["crate"][r], str(col["module"][r])
                return any(c == crate and (m == module or m.startswith(module + "::"))
                           for c, m in own_modules)

            part_direct = list(dict.fromkeys(
                [*(d for r in defined for d in col["resolved"][r] or ()),
                 *(col["symbol"][r] for r in part_rows if r not in defined and r not in cut
                   and col["symbol"][r] and not _IN_TESTS.search(col["module"][r])
                   and col["name"][r] in code_words and col["name"][r] not in own_names
                   and visible(r) and compiled(r, commit_index)),
                 *(d for d in outside if not defined and _simple_name(d) in words)]))
            pack, part_used, _ = self.packer.pack(
                part_direct, commit_index, set(), here, tokens,
                later=[d for r in members for d in col["resolved"][r] or ()])
            headers = blocks_around(at) if at >= 0 else []
            if len(headers) > 1:
                pack = "\n".join(headers) + "\n" + pack
            return (pack, *self.packer.facts([r for r in part_rows if r in defined],
                                             part_used, commit_index, False, header_limit,
                                             members), [])

        cand.repack = repack


_ELIDED_BODY = " { /* … */ }"  # a definition's body left out (_condensed_forms)


def _cut_inside(item: str, part: str) -> bool | None:
    """Whether a part of a split target (cut at line breaks) ends inside an item's text,
    showing its start (True), or begins inside it (False), or neither (None): where the
    item's text up to the part's end is the part's tail, or the item's text from where the
    part begins holds the part or is its head: tried wherever a 200-character probe of the
    part's own code meets the item (its doc lines may repeat), never the code before it
    (a long item ending the part before had counted as cut, and two items with the same
    start as each other)."""
    head = part[:200]
    at = item.find(head, 1)
    while at > 0:
        if item.startswith(part, at) or (
                len(item) - at <= len(part) and part.startswith(item[at:])):
            return False
        at = item.find(head, at + 1)
    tail = part[-200:]
    at = item.find(tail)
    while at >= 0 and at + len(tail) < len(item):
        if at + len(tail) <= len(part) and part.endswith(item[:at + len(tail)]):
            return True
        at = item.find(tail, at + 1)
    return None


@lru_cache(maxsize=4096)  # a trait recurs in the packs of many samples
def _without_provided_bodies(trait: str) -> str:
    """A trait's text with the bodies of its provided methods left out (`fn fold1<F>(self,
    f: F) -> Option<Self::Item> { /* … */ }`): a pack shows what the target may call and
    must implement, and itertools' `Itertools` showed some 1,400 lines of bodies in packs
    of targets that only call two of its methods. The text as it is where it does not
    parse as one trait."""
    if "{" not in trait.partition("{")[2]:  # no body inside the trait's own braces
        return trait
    source = trait.encode()
    body = _trait_body(trait)
    if body is None:
        return trait
    cuts = [block for member in body.named_children if member.type == "function_item"
            for block in [member.child_by_field_name("body")] if block is not None]
    for block in reversed(cuts):
        source = source[:block.start_byte] + _ELIDED_BODY.strip().encode() + \
            source[block.end_byte:]
    return source.decode()


@lru_cache(maxsize=1)
def _trait_parser() -> Parser:
    return new_parser()
# Literals first, kept as they are: a `"src/*"` had opened a comment, and a
# `"https://…"` one running to its line's end, declaring files dead (a review of 0.1.81).
# A string may continue over lines (`"one \⏎ two"`), a char be an escape (`'\u{22}'`).
# One left open runs to the text's end: scanned once (an unclosed `/*` had been scanned
# to the end again at each later `/*`).
_COMMENTS = re.compile(r'(r(#*)"[\s\S]*?(?:"\2|\Z)|"(?:\\[\s\S]|[^"\\])*(?:"|\Z)'
                       r"|'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|[\s\S])|[^'\\])')"
                       r"|//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)")  # block comments not nested


def _without_comments(code: str) -> str:
    return _COMMENTS.sub(lambda found: found[1] or " ", code)
# Items whose body is a block in braces: what `_elided` may stand for.
_BLOCK_KINDS = frozenset({"struct", "enum", "union", "trait", "impl", "function", "method",
                          "mod"})


def _elided(signature: str) -> str:
    """A definition's header with its body left out (`pub trait Itertools: Iterator {
    /* … */ }`), or "" where its signature is empty."""
    header = one_line_code(signature).rstrip("{ ;")
    return f"{header}{_ELIDED_BODY}" if header else ""
_COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*\n", re.MULTILINE)


def _at_file_top(key: str, parent: str) -> bool:
    """Whether an item is outside any inline module of its file, by its key (`kind:name`,
    `kind:inner::name` inside one) or its block's (`impl:impl A`, `impl:inner::impl A`;
    `trait:T`, `trait:inner::T`): a member's own key always holds `::`."""
    if parent:
        kind, _, rest = parent.partition(":")
        # Stored impl keys drop generics: `impl X`, never `impls::impl X` (a module `impls`)
        return rest.startswith("impl ") if kind == "impl" else "::" not in rest
    return "::" not in key.partition(":")[2]


def _with_own_indentation(text: str) -> str:
    """An item's text with its first line indented as the item is in its file. The text of
    an item inside a block (an inline module, a macro body) starts at its first character,
    its other lines as indented in the file: a pack showed `#[derive(Debug)]\n    pub(crate)
    struct EnterGuard {` (tokio: 2,614 pieces of micro and small samples' packs). The
    item's indentation is that of its own line where doc comments or attributes come first
    (a line of the file from its start), else that of a closing last line (`}`, `)`, `]`);
    it is taken only where every line after the first has it, else (a string literal's
    lines at the margin) the text stays as it is, as it does where neither tells (`type T
    =\n    U;`: at a file's top level, its second line is indented too)."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    first = _first_code_line(lines)
    own = lines[first] if first else lines[-1]
    if not first and not own.lstrip(" \t").startswith(("}", ")", "]")):
        return text
    indent = own[:len(own) - len(own.lstrip(" \t"))]
    if not indent or any(line.strip() and not line.startswith(indent) for line in lines[1:]):
        return text
    return indent + text


def _first_code_line(lines: list[str]) -> int:
    """The index of the first of an item's lines that is neither a doc comment (`///`, or
    a `/** … */` block's) nor an attribute alone (the last line at most)."""
    first, in_block = 0, False
    while first < len(lines) - 1:
        line = lines[first].strip()
        if in_block or line.startswith("/**"):
            opened = 0 if in_block else 2  # `/**/` closes at once
            closed = line.find("*/", opened)
            in_block = closed < 0
            if not in_block and line[closed + 2:].strip():  # `/** Doc. */ fn f() {`
                break
        elif not line.startswith("///") and not _attribute_only(line):
            break
        first += 1
    return first


def _attribute_only(line: str) -> bool:
    """Whether a stripped line is one attribute and nothing else: `#[inline] fn f() ->
    [u8; 2] {` is code."""
    if not line.startswith(("#[", "#![")):
        return False
    depth = 0
    for at, char in enumerate(line):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return at == len(line) - 1
    return False


def _made_by_macro(kind: str, text: str) -> bool:
    """Whether a type's or trait's text is an item-level macro invocation that makes it
    (`bitflags! { pub struct Flags … }`): a real item of its name comes first (a DSL's
    `trait Object` beside minijinja's real one had been shown for it)."""
    return kind in _MADE_KINDS and _MACRO_HEAD.match(_without_leading_docs(text)) is not None


_MADE_KINDS = frozenset({"struct", "enum", "union", "trait"})


def _without_leading_docs(text: str) -> str:
    """An item's text from its first line that is neither a doc comment nor an attribute."""
    lines = text.split("\n")
    return "\n".join(lines[_first_code_line(lines):]).lstrip(" \t")


def _without_comment_lines(piece: str) -> str:
    """A definition less its comment lines, no blank line left at its head."""
    return _COMMENT_LINE.sub("", piece).lstrip("\n")


def _condensed_forms(piece: str, signature: str, kind: str) -> list[str]:
    """Shorter forms of a pack's definition, longest first: without its comment lines (doc
    comments mostly), then its header alone with its body elided (`pub struct HashMap<K, V,
    S = DefaultHashBuilder> { /* … */ }`)."""
    forms = []
    bare = _without_comment_lines(piece)
    if len(bare) < len(piece):
        forms.append(bare)
    # Only a body in braces is elided: a tuple or unit struct (`pub struct Global;`) is its
    # line less its comments (it had become `pub struct Global { /* … */ }`).
    if kind in ("struct", "enum", "union", "trait", "impl") and bare.rstrip().endswith("}"):
        elided = _elided(signature)
        head = _MACRO_HEAD.match(_without_leading_docs(bare))
        if elided and head:
            # A type a macro invocation makes, in it (`bitflags! { pub struct Flags: u32 {
            # /* … */ } }`): alone, its header is no Rust. A tuple or unit struct with its
            # `;` (`enum_builder! { pub struct AlertLevel(pub u8); }`).
            if kind == "struct" and signature.rstrip().endswith(")"):
                elided = f"{one_line_code(signature).rstrip()};"
            elided = f"{head.group(0)} {elided} {_CLOSING[head.group(0)[-1]]}"
        if elided and len(elided) < len(bare):
            forms.append(elided)
    return forms


_CLOSING = {"{": "}", "(": ");", "[": "];"}


def _own_block(path: str, module: str, piece: str) -> tuple[str, str]:
    """(piece, pack block) of a definition of the target's own file: what the pack shows of
    it, taken out or put back as the code around the target shows it or not."""
    return piece, f"// from {path} ({module})\n{piece}\n"


def _file_piece_key(path: str, blob: str) -> bytes:
    """The key of a file's piece of a multi-file target (its separator line and its text,
    both given by its path and blob): 17 bytes, so never a content digest (16)."""
    return b"f" + hashlib.blake2b(f"{path}\0{blob}".encode("utf-8", "surrogatepass"),
                                  digest_size=16).digest()


def _target_key(cand: Candidate) -> bytes:
    """Equal for equal targets (of one scale): from the piece keys where the candidate has
    them, else from the text."""
    if cand.piece_keys is not None:
        return b"k" + hashlib.blake2b(b"".join(cand.piece_keys), digest_size=16).digest()
    return hashlib.blake2b(cand.target.encode("utf-8"), digest_size=16).digest()


def _tail_lines(text: str, max_chars: int) -> str:
    if max_chars <= 0:
        return ""
    if len(text) <= max_chars:
        return text
    cut = text.find("\n", len(text) - max_chars)
    return "" if cut < 0 else text[cut + 1:]


def _head_lines(text: str, max_chars: int) -> str:
    if max_chars <= 0:
        return ""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return "" if cut < 0 else text[: cut + 1]


def split_target(text: str, boundaries: list[int], max_chars: int,
                 piece_ends: list[list[int]] | None = None,
                 cuts_inside: list[bool] | None = None) -> tuple[list[str], int]:
    """Cut a target into parts of at most max_chars at item boundaries (line indexes), then by
    lines inside an item that alone is too large. Returns the parts (whose concatenation is the
    text) and how many cuts fell inside an item. `piece_ends`, when given, gets for each part
    where the blocks between boundaries in it end (the lines of an item cut apart are one);
    `cuts_inside` gets for each cut (between part k and k + 1) whether it fell inside an item."""
    lines = text.splitlines(keepends=True)
    edges = [0, *sorted(b for b in set(boundaries) if 0 < b < len(lines)), len(lines)]
    blocks = ["".join(lines[start:end]) for start, end in pairwise(edges)]
    parts: list[str] = []
    part_ends: list[list[int]] = []
    inside: list[bool] = []  # the cut after each part but the last: inside an item
    inside_cuts = 0
    buf = ""
    ends: list[int] = []
    for block in blocks:
        if len(buf) + len(block) <= max_chars:
            buf += block
            ends.append(len(buf))
            continue
        if buf:
            parts.append(buf)
            part_ends.append(ends)
            inside.append(False)
            buf, ends = "", []
        if len(block) <= max_chars:
            buf, ends = block, [len(block)]
            continue
        piece = ""
        for line in block.splitlines(keepends=True):
            if piece and len(piece) + len(line) > max_chars:
                parts.append(piece)
                part_ends.append([len(piece)])
                inside.append(True)
                inside_cuts += 1
                piece = ""
            piece += line
        buf, ends = piece, [len(piece)]
    if buf:
        parts.append(buf)
        part_ends.append(ends)
    if piece_ends is not None:
        piece_ends.extend(part_ends if parts else [[len(text)]])
    if cuts_inside is not None:
        cuts_inside.extend(inside[:max(0, len(parts) - 1)])
    return parts or [text], inside_cuts


# --- the pipeline ----------------------------------------------------------------------------


@dataclass
class ScaleStats:
    produced: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    split_targets: int = 0
    parts_from_splits: int = 0
    cuts_inside_items: int = 0
    over_budget: int = 0
    splits: Counter[str] = field(default_factory=Counter)
    leakage: dict[str, int] = field(default_factory=dict)
    rustdoc_samples: int = 0
    inline_skipped: int = 0
    context_cut: int = 0  # samples whose context was cut to the budget by exact counts
    context_widened: int = 0  # function samples whose code around was widened (_widen)
    # Snapshot-scale samples taken at an older snapshot where their text first appeared
    # unchanged, not at the newest that has it (see _run_scale).
    taken_at_older_snapshot: int = 0
    # Near-duplicate candidates decided by exact Jaccard (their estimate near the threshold)
    exact_comparisons: int = 0
    # Candidates never made, by why: "group_over_budget", a module that with its nearest
    # dependency exceeds the module-group budget (so it has no group; the module scale has
    # its code); "single_file_crate", a test, example or bench crate of one file (the
    # module scale has its code); "undeclared_file", a file left out of the module groups
    # and crates of a snapshot as compiled by nothing (CandidateMaker.dead_files; the
    # module scale has its code). Not among the produced, so not among the dropped.
    not_made: Counter[str] = field(default_factory=Counter)


def _sample_id(repo: str, commit: str, scale: str, lineage: str, paths: list[str],
               part: int) -> str:
    """Stable across builds, and one sample's alone: two files alive at one commit can share
    a lineage (a file renamed on a branch whose merge keeps the old one too: uuid's
    src/std_support.rs and src/parser/std_support.rs), so the target's files are in it."""
    files = "\0".join(paths)
    return hashlib.blake2b(f"{repo}|{commit}|{scale}|{lineage}|{files}|{part}".encode(
        "utf-8", "surrogatepass"), digest_size=12).hexdigest()


def time_splits(history: History, config: SampleConfig) -> list[str]:
    """Split of every commit index by time: the newest commits are test, the next valid. The
    cut-offs are placed so that test (valid) holds about `test_fraction` (`valid_fraction`) of
    the item changes, not of the commits: the last commits of a history are often releases
    and docs that change no code. Only the changes of commits from the earliest day on
    (`earliest_commit`) weigh: the samples of older ones are dropped (xsv, 273 of its 407
    commits before Rust 1.0, had its train split wholly before that day, so no train sample
    at all)."""
    n = len(history.commit_sha)
    weight = [0] * n
    earliest = _day_start(config.earliest_commit)
    for ci, change in zip(history.col["commit_index"], history.col["change"], strict=True):
        if change in ("added", "modified") and history.commit_time[ci] >= earliest:
            weight[ci] += 1
    total = sum(weight)
    order = sorted(range(n), key=lambda i: (history.commit_time[i], i))
    split = ["train"] * n
    if n < 3 or total == 0:
        return split
    test_goal = total * config.test_fraction
    valid_goal = total * (config.test_fraction + config.valid_fraction)
    seen = 0
    for index in reversed(order):
        if config.test_fraction > 0 and seen < test_goal:
            split[index] = "test"
        elif config.valid_fraction > 0 and seen < valid_goal:
            split[index] = "valid"
        else:
            break
        seen += weight[index]
    return split


def _snapshots(out: Path) -> list[tuple[int, str]]:
    table = pq.read_table(out / "modules.parquet", columns=["snapshot", "snapshot_index"])
    pairs = set(zip(table.column("snapshot_index").to_pylist(),
                    table.column("snapshot").to_pylist(), strict=True))
    return sorted(pairs)


class SnapshotFiles:
    """The snapshots' file contents by blob id, through a scale process's cat-file reader.
    A content the filters skip is remembered as skipped; contents are kept up to KEEP_BYTES,
    the least recently used let go first. Snapshots are taken newest first and a file mostly
    stays the same across neighbouring ones, so a scale reads each distinct content about
    once (keeping all of them instead held bevy's 506 MiB of distinct files in each scale
    process; clap's 82 MiB still fit)."""

    # 128 MiB before: libc's full build peaked at 1,035 MiB with it, 975 with 64, in the
    # same time (scale CPU equal to 0.3 s in 70).
    KEEP_BYTES = 64 << 20

    def __init__(self, reader: BlobReader, max_bytes: int) -> None:
        self.reader = reader
        self.max_bytes = max_bytes
        self.kept: OrderedDict[str, bytes] = OrderedDict()
        self.kept_bytes = 0
        self.skipped: set[str] = set()

    def get(self, sha: str) -> bytes | None:
        """The blob's content, or None when it is skipped (or missing)."""
        data = self.kept.get(sha)
        if data is not None:
            self.kept.move_to_end(sha)
            return data
        if sha in self.skipped:
            return None
        data = self.reader.read(sha)
        if data is None or content_skip_reason(data, self.max_bytes) is not None:
            self.skipped.add(sha)
            return None
        self.kept[sha] = data
        self.kept_bytes += len(data)
        while self.kept_bytes > self.KEEP_BYTES and len(self.kept) > 1:
            _, old = self.kept.popitem(last=False)
            self.kept_bytes -= len(old)
        return data


def _load_snapshot(info: RepoInfo, out: Path, history: History, snapshot_files: SnapshotFiles,
                   index: int, sha: str, live: array[int], parse_modules: bool = False,
                   walk_skipped: frozenset[tuple[str, str]] = frozenset()) -> Snapshot:
    """The snapshot's minable files and items (`live`: the rows alive there). Its module
    graph is modules.parquet's, or with `parse_modules` (a snapshot the history did not
    take) made here from its files' parses. `walk_skipped`: (path, blob) of file versions
    the walk skipped for what the path's history says (_walk_skipped)."""
    col = history.col
    files: list[tuple[str, str]] = []
    for entry in list_tree(info, sha):
        if path_skip_reason(entry.path, entry.mode, info.rules) is not None or \
                (entry.path, entry.sha) in walk_skipped:
            continue
        if snapshot_files.get(entry.sha) is not None:
            files.append((entry.path, entry.sha))
    rows_of: dict[str, list[int]] = defaultdict(list)
    nested_of: dict[str, list[int]] = defaultdict(list)
    macro_users = history.macro_users
    macro_files: dict[str, set[str]] = defaultdict(set)  # macro symbol -> files defining it
    using: list[int] = []  # rows using a macro the crate defines somewhere in its history
    for row in live:
        (nested_of if col["parent"][row] else rows_of)[col["path"][row]].append(row)
        if row in macro_users:
            using.append(row)
        if col["kind"][row] == "macro_rules" and col["symbol"][row]:
            macro_files[col["symbol"][row]].add(col["path"][row])
    # A file using a `macro_rules!` another file defines comes after it: a macro is in
    # textual scope only after its definition (pest: generator.rs, which uses
    # `generate_rule!`, came before the `#[macro_use] mod macros;` file in 6 samples).
    macro_edges = sorted({(defined, col["path"][row]) for row in using
                          for symbol in macro_users[row]
                          for defined in macro_files.get(symbol, ())
                          if defined != col["path"][row]})
    # Kept as arrays: a scale process holds every snapshot it loaded (libc's 94 snapshots of
    # some 50,000 items: 198 MiB as lists of ints).
    by_path = {path: array("q", sorted(rows, key=col["start_byte"].__getitem__))
               for path, rows in rows_of.items()}
    nested = {path: array("q", sorted(rows, key=col["start_byte"].__getitem__))
              for path, rows in nested_of.items()}
    del rows_of, nested_of
    modules = _parsed_modules(files, snapshot_files, info) if parse_modules else pq.read_table(
        out / "modules.parquet", filters=[("snapshot", "=", sha)],
        columns=["node", "path", "order", "depends_on", "declared"]).to_pylist()
    node_path = {m["node"]: m["path"] for m in modules}
    declared = {m["path"] for m in modules if m["declared"]}
    undeclared = frozenset(m["path"] for m in modules if m["path"] not in declared)
    order: list[str] = []
    depends: dict[str, list[str]] = defaultdict(list)
    for m in sorted(modules, key=lambda m: m["order"]):
        if m["path"] not in order:
            order.append(m["path"])
        for dep in m["depends_on"] or ():
            dep_path = node_path.get(dep)
            if dep_path and dep_path != m["path"] and dep_path not in depends[m["path"]]:
                depends[m["path"]].append(dep_path)
    file_paths = [p for p, _ in files]
    in_files, in_order = set(file_paths), set(order)  # once, not per path
    order = [p for p in order if p in in_files] + [p for p in file_paths if p not in in_order]
    return Snapshot(index, sha, files, by_path, _file_order(order, depends, macro_edges),
                    dict(depends), undeclared, nested=nested)


def _file_order(order: list[str], depends: dict[str, list[str]],
                macro_edges: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Files in dependency order, each after every file any of its modules depends on (its
    inline ones too), cycles condensed, ties in `order` (where each file's first module
    comes in the module order). By its first module alone, a file whose inline `mod test`
    sorted first came before what its own module uses (rusqlite: 16 crate samples, pest:
    23 crate and module-group samples). `macro_edges`: (defining file, using file) of
    crate macros, each kept where it closes no cycle with the module edges and those kept
    before it (a crate root's `#[macro_export]` macro used by its modules: the root comes
    last, as its `mod`s say)."""
    rank = {path: k for k, path in enumerate(order)}
    graph = nx.DiGraph()
    graph.add_nodes_from(order)
    graph.add_edges_from((dep, path) for path, deps in depends.items() if path in rank
                         for dep in deps if dep in rank)
    condensed = nx.condensation(graph)
    component = condensed.graph["mapping"]
    members = {c: sorted(data["members"], key=rank.__getitem__)
               for c, data in condensed.nodes(data=True)}
    inside: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for defined, user in macro_edges:
        if defined not in rank or user not in rank:
            continue
        first, then = component[defined], component[user]
        if first == then:
            inside[first].append((defined, user))
        elif not nx.has_path(condensed, then, first):
            condensed.add_edge(first, then)
    for c, edges in inside.items():  # within a cycle of modules: the macro's order, if one
        within = nx.DiGraph(edges)
        within.add_nodes_from(members[c])
        if nx.is_directed_acyclic_graph(within):
            members[c] = list(nx.lexicographical_topological_sort(within, key=rank.__getitem__))
    first_rank = {c: min(rank[path] for path in paths) for c, paths in members.items()}
    return [path for c in nx.lexicographical_topological_sort(
        condensed, key=first_rank.__getitem__) for path in members[c]]


def _walk_skipped(out: Path) -> frozenset[tuple[str, str]]:
    """(path, blob) of the file versions the walk skipped for their path's history, not their
    own bytes (generated_like_previous): the snapshot scales leave them out as well."""
    files = pq.read_table(out / "files.parquet", columns=["path", "new_blob", "skip_reason"],
                          filters=[("skip_reason", "=", "generated_like_previous")])
    return frozenset(zip(files.column("path").to_pylist(), files.column("new_blob").to_pylist(),
                         strict=True))


def _parsed_modules(files: list[tuple[str, str]], snapshot_files: SnapshotFiles,
                    info: RepoInfo) -> list[dict[str, Any]]:
    """modules.parquet's rows for a snapshot's files ((path, blob)), from their parses (as
    the history makes them: build._module_snapshots)."""
    parser = new_parser()
    facts: list[tuple[str, ModuleFacts]] = []
    for path, blob in files:
        data = snapshot_files.get(blob)
        if data is None:
            continue
        try:
            parsed, _ = parse_rust(data, parser)
        except RecursionError:  # the history skips it too (too_deeply_nested)
            continue
        facts.append((path, ModuleFacts.of(parsed)))
    return module_rows(module_graph(facts, info.roots))


def split_snapshots(snapshots: list[tuple[int, str]], commit_split: list[str],
                    shas: Sequence[str]) -> list[tuple[int, str]]:
    """(commit index, sha) of a snapshot for each split that holds commits but none of the
    `snapshots`: its newest commit (its last in the walk's order). A history's snapshots
    are its last commit and every N-th; the valid split's commits (a tenth of the item
    changes, often a few dozen commits between two snapshots) had none on lsd, so valid held
    no module-file, module-group or crate samples."""
    taken = {commit_split[index] for index, _ in snapshots}
    newest: dict[str, int] = {}
    for index, split in enumerate(commit_split):
        newest[split] = index
    return sorted((index, shas[index]) for split, index in newest.items() if split not in taken)


@lru_cache(maxsize=8)
def _cut_pattern(added_starts: frozenset[str]) -> re.Pattern[str]:
    # A character before which the tokenizer starts a new pre-token: printable ASCII, not a
    # digit (digits are split off first, which moves the boundary) and not the first
    # character of an added token (those are split off first too).
    starts = "".join(re.escape(chr(c)) for c in range(0x21, 0x7F)
                     if not chr(c).isdigit() and chr(c) not in added_starts)
    # Captured whole: a line break and the indentation but its last space before an
    # indented line, or a bare line break before a line at column 0. Starts with a literal
    # "\n", which re scans for quickly.
    return re.compile(f"(\\n(?:(?<=\\S\\n) *(?= [{starts}])|(?=[{starts}])))")


def _split_lines(text: str, added_starts: frozenset[str]) -> list[str]:
    """[piece, separator, piece, ...]: re.split, the separators captured."""
    return _cut_pattern(added_starts).split(text)


def token_segments(text: str, added_starts: frozenset[str] = frozenset("<")) -> list[str]:
    """The text cut into line-sized pieces whose token counts add up to the whole text's, for
    StarCoder2's tokenizer. BPE merges never cross a pre-token boundary, and the pre-tokenizer
    (digits split, then GPT-2's byte-level regex) puts one around a line break that ends a
    run of whitespace before a line at column 0 (`\\s+(?!\\S)` fails there and `\\s+`
    takes the break alone), and around `\\n` plus an indentation but its last space when a
    non-space character precedes the break (the last space goes to the next word, ` fn`).
    Only lines starting with printable ASCII that is neither a digit (digits are split off
    first) nor the first character of an added token (`<file_sep>` is split off first) are
    cut. Pieces and separators alternate."""
    return [part for part in _split_lines(text, added_starts) if part]


class TokenCounter:
    """Exact StarCoder2 token counts. Samples repeat the same lines over and over (a file's
    code before each of its functions, the same definitions in many context packs), so texts
    are cut into line-sized pieces whose counts add up exactly (see token_segments) and each
    distinct piece (or separator: a line break and indentation) is encoded once."""

    # Pieces whose counts are kept (about 130 bytes each: bevy's function scale alone cut
    # 627,000, 78 MiB); past that the older half is let go.
    CACHE_ENTRIES = 600_000

    def __init__(self, path: Path, cache_entries: int = CACHE_ENTRIES) -> None:
        from tokenizers import Tokenizer

        found = tokenizer_json(path)
        self.digest = hashlib.sha256(found.read_bytes()).hexdigest()[:16]
        self.tokenizer = Tokenizer.from_file(str(found))
        # Counts of whole texts: a tokenizer.json that sets truncation or padding would cut
        # or pad them.
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.cache: dict[str, int] = {}
        self.cache_entries = cache_entries
        self.added_starts = frozenset(
            t.content[0] for t in self.tokenizer.get_added_tokens_decoder().values() if t.content)

    def count_direct(self, texts: list[str]) -> list[int]:
        """Exact token counts by encoding each text whole, in batches: a batch's encodings
        (ids, offsets, strings) take about 100 bytes per token and are dropped before the
        next."""
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        # len(encoding), not len(encoding.ids): no list of ids is built (neither truncation
        # nor padding is set, so the two agree).
        counts: list[int] = []
        batch: list[str] = []
        size = 0
        for text in texts:
            batch.append(text)
            size += len(text)
            if size > 2_000_000 or len(batch) >= 512:
                counts.extend(map(len, encode(batch, add_special_tokens=False)))
                batch, size = [], 0
        if batch:
            counts.extend(map(len, encode(batch, add_special_tokens=False)))
        return counts

    def count(self, texts: list[str]) -> list[int]:
        """Exact token counts (equal to count_direct's), through the piece cache. Pieces and
        separators share it: each is counted as the text it is."""
        cache = self.cache
        if len(cache) > self.cache_entries:
            for piece in list(islice(cache, len(cache) // 2)):  # the oldest
                del cache[piece]
        split = _cut_pattern(self.added_starts).split
        parts_of = [split(text) for text in texts]
        missing = list(set().union(*parts_of).difference(cache)) if parts_of else []
        if missing:
            cache.update(zip(missing, self.count_direct(missing), strict=True))
        get = cache.__getitem__
        return [sum(map(get, parts)) for parts in parts_of]


def build_samples(out: Path, info: RepoInfo, repo_label: str, mine_hash: str,
                  config: SampleConfig, max_file_bytes: int, progress: bool = True,
                  tokenizer_path: Path | None = None,
                  rustdoc_ahead: RustdocAhead | None = None,
                  counter: TokenCounter | None = None) -> dict[str, Any]:
    """Write OUT/samples/{train,valid,test}/*.parquet and OUT/type_tokens.json; return the
    manifest section. Up to date (returns the previous section) when the completion marker
    carries the same config hash. `rustdoc_ahead`: rustdoc's runs, started earlier (used when
    the snapshots chosen here are among theirs; closed here once their facts are made);
    `counter`: the tokenizer's, loaded already (of `tokenizer_path` or the default)."""
    if counter is None:
        counter = TokenCounter(tokenizer_path or default_tokenizer_path())
    config_hash = config.config_hash(mine_hash, counter.digest)
    final = out / SAMPLES_DIR
    marker = final / MARKER
    if marker.exists():
        previous = json.loads(marker.read_text())
        gained = _registry_gained(previous.get("section", {}), config)
        if gained:
            print(f"note: the offline registry now holds {', '.join(gained)}, which rustdoc "
                  "lacked before: samples are made again", file=sys.stderr)
        elif previous.get("config_hash") == config_hash:
            section: dict[str, Any] = previous["section"]
            section["up_to_date"] = True
            # The marker's keys are sorted: the scales in their order again, for the
            # report's tables (a run killed before its manifest took the samples listed
            # them alphabetically once resumed).
            scales = section.get("scales")
            if isinstance(scales, dict):
                section["scales"] = {**{scale: scales[scale] for scale in schema.SCALES
                                        if scale in scales}, **scales}
            return section
    staging = out / f".samples-{config_hash}"
    finished = _finished_scales(staging)  # by a crashed run: kept; its other output is redone
    for split in schema.SPLITS:
        (staging / split).mkdir(parents=True, exist_ok=True)

    snapshots = _snapshots(out)
    chosen = rustdoc_snapshots(snapshots, config)
    rustdoc_report: dict[str, Any] = {"mode": config.rustdoc, "runs": [], "failed": {}}
    if config.rustdoc != "none" and config.type_facts != "header":
        rustdoc_report["not_run"] = f"type facts mode {config.type_facts}: rustdoc's facts " \
            "are header lines"
    # What the registry held for these runs, kept for the crates they lack: _registry_gained.
    held_for_runs = registry_folders(Path(config.rustdoc_registry)) \
        if chosen and config.rustdoc_registry else None
    # rustdoc (mostly waiting on cargo) runs while the history loads and datasketch is
    # imported (once, here, rather than in each process below), and then while the scale
    # processes make and deduplicate their candidates: the runs started early if they are
    # for these snapshots (or more: a snapshot without Rust modules is none here), else runs
    # started now. Only the survivors' type facts need them.
    if rustdoc_ahead is not None and not set(chosen) <= set(rustdoc_ahead.chosen):
        rustdoc_ahead.close()  # for other snapshots: its cargo stops now, not after the load
        rustdoc_ahead = None
    ahead = rustdoc_ahead or RustdocAhead(info, out, config, chosen, progress,
                                          unless_complete=False)
    try:
        results, commit_split, extra = _samples_of_scales(
            out, info, repo_label, config, max_file_bytes, progress, counter, staging,
            finished, snapshots, chosen, ahead, rustdoc_report)
    finally:  # used up, or an error
        ahead.close()
    if held_for_runs is not None:
        lacked = {name for run in rustdoc_report["runs"] for name in run.get("missing", ())}
        rustdoc_report["registry_held"] = {name: held_for_runs.get(name, [])
                                           for name in sorted(lacked)}
    redactions: Counter[str] = Counter()
    inline_tokens: Counter[str] = Counter()
    stats: dict[str, ScaleStats] = {}
    cpu_seconds: dict[str, float] = {}
    for scale in schema.SCALES:
        stats[scale], scale_redactions, scale_tokens, cpu_seconds[scale] = results[scale]
        redactions.update(scale_redactions)
        inline_tokens.update(scale_tokens)

    inline_tokens.subtract(_drop_cross_scale_leaks(staging, stats, config))
    inline_tokens = +inline_tokens  # none left at zero
    for split in schema.SPLITS:  # every split readable, even an empty one
        if not any((staging / split).glob("*.parquet")):
            pq.write_table(schema.SAMPLES.empty_table(),
                           staging / split / schema.EMPTY_SPLIT_FILE)
    type_tokens = {"mode": config.type_facts,
                   "tokens": dict(sorted(inline_tokens.items(), key=lambda kv: -kv[1]))}
    section = {
        "config": asdict(config),
        "config_hash": config_hash,
        "tokenizer": str(tokenizer_path or default_tokenizer_path()),
        "scales": {s: _stats_json(st) for s, st in stats.items()},
        "redactions": dict(redactions),
        "rustdoc": rustdoc_report,
        "type_tokens": len(inline_tokens),
        "split_commits": dict(Counter(commit_split)),
        # Snapshots of the module-file, module-group and crate scales added at the newest
        # commit of a split that had none (split_snapshots): split -> commit.
        "split_snapshots": {commit_split[index]: sha for index, sha in extra},
        # CPU seconds of each scale in the process that made it: where the stage's time goes.
        "cpu_seconds": cpu_seconds,
        # How far below the threshold a MinHash estimate may be for a pair's shingle sets to
        # be compared: when dropping leaks, and when checking what is written.
        "exact_jaccard_margins": {"drop": DROP_MARGIN, "check": CHECK_MARGIN},
        "up_to_date": False,
    }
    section["sanity"] = _sanity(section)
    for scale in schema.SCALES:
        (staging / _SCALE_DONE.format(scale)).unlink(missing_ok=True)
        (staging / _SCALE_SIGNATURES.format(scale)).unlink(missing_ok=True)
        (staging / _SCALE_CONTAINED.format(scale)).unlink(missing_ok=True)
    (staging / _CROSS_SCALE).unlink(missing_ok=True)
    atomic_write_json(staging / MARKER, {"config_hash": config_hash, "section": section})
    atomic_write_json(out / TYPE_TOKENS, type_tokens)
    # The marker is inside the folder it vouches for; the folder replaces the old one whole.
    old = out / f".samples-old-{config_hash}"
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return section


_CROSS_SCALE = ".cross-scale.json"  # in staging: the held-out samples dropped, by id
# In staging: normalised hashes of the functions, methods and impl blocks in a file-level
# scale's train samples (_contained_hashes), for _contained_leaks.
_SCALE_CONTAINED = ".contained-{}.u64"
_CONTAINED_KINDS = frozenset({"function", "method", "impl"})
_SCALE_SIGNATURES = ".signatures-{}.pkl"  # in staging: a scale's _ScaleSignatures


@dataclass
class _ScaleSignatures:
    """Of each row a scale wrote: its id, split and the MinHash signature of its target (as
    deduplicated), for the cross-scale check. Saved before the scale's completion marker,
    which it is kept with."""

    ids: list[str]
    splits: list[str]
    signatures: np.ndarray  # a row per sample (one array: no object per sample)

    @classmethod
    def of(cls, rows: list[tuple[str, str]], signatures: list[np.ndarray]
           ) -> _ScaleSignatures:
        """From each row's (id, split) and signature."""
        return cls([r[0] for r in rows], [r[1] for r in rows], np.stack(signatures)
                   if signatures else np.zeros((0, 0), dtype=np.uint32))

    def save(self, staging: Path, scale: str) -> None:
        atomic_write_bytes(staging / _SCALE_SIGNATURES.format(scale),
                           pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, staging: Path, scale: str) -> _ScaleSignatures:
        loaded: _ScaleSignatures = pickle.loads(
            (staging / _SCALE_SIGNATURES.format(scale)).read_bytes())
        return loaded

    def rows(self, held_out: bool) -> list[int]:
        return [i for i, split in enumerate(self.splits) if (split != "train") == held_out]

    def matrix(self, rows: list[int], num_perm: int) -> np.ndarray:
        if not rows:
            return np.zeros((0, num_perm), dtype=np.uint32)
        return self.signatures[rows]


def _drop_cross_scale_leaks(staging: Path, stats: dict[str, ScaleStats],
                            config: SampleConfig) -> Counter[str]:
    """Drop each held-out (valid, test) sample whose target is a near-duplicate of a train
    target of another scale: the same code at another size (a module file that is one
    function, kept as a test module and a train function: hyperfine's test module
    `a5b2a065…` was 99.7% a train function). The check within a scale misses these.
    Compared by exact Jaccard of their shingle sets (targets as written): the pairs whose
    MinHash estimates (the scales' signatures, _ScaleSignatures) come within DROP_MARGIN of
    the threshold, listed through SignatureMatches' bands rather than pair by pair. The ids
    dropped are written first, so a resumed run drops the same ones and counts them once (the
    scales' results are saved before). Returns the inline type-fact tokens the dropped
    samples held (inline mode), which the scales had counted."""
    marker = staging / _CROSS_SCALE
    if marker.exists():
        dropped: dict[str, list[str]] = json.loads(marker.read_text())
    else:
        found = _cross_scale_leaks(staging, config)
        dropped = defaultdict(list)
        for sid, (scale, split) in sorted(found.items()):
            dropped[f"{scale}/{split}"].append(sid)
        for sid, (scale, split) in sorted(_contained_leaks(staging, config).items()):
            if sid not in found:
                dropped[f"{_CONTAINED_KEY}{scale}/{split}"].append(sid)
                found[sid] = (scale, split)
        # Which of them carry rustdoc facts, read before their rows go: the scale's count
        # of such samples drops with them (the demo's medium scale said 27 of 26 samples,
        # and its audit failed).
        # And the inline tokens they hold, which type_tokens.json counted (crossbeam's
        # listed 836 `<TRAIT:Debug>` where its samples held 786).
        with_rustdoc, tokens = _dropped_facts(staging, set(found),
                                              config.type_facts == "inline")
        for sid in sorted(with_rustdoc):
            dropped[f"{_RUSTDOC_KEY}{found[sid][0]}"].append(sid)
        if tokens:
            dropped[_TOKENS_KEY] = [f"{token} {count}" for token, count in sorted(
                tokens.items())]
        atomic_write_json(marker, dict(dropped))
    held = Counter({token: int(count) for token, _, count in (
        entry.rpartition(" ") for entry in dropped.pop(_TOKENS_KEY, []))})
    gone = {sid for key, ids in dropped.items() if not key.startswith(_RUSTDOC_KEY)
            for sid in ids}  # near-duplicates and contained ones
    for split in ("valid", "test"):
        for path in sorted((staging / split).glob("*.parquet")) if gone else ():
            keep = [sid not in gone
                    for sid in pq.read_table(path, columns=["id"]).column("id").to_pylist()]
            if not all(keep):  # only then is the whole file read and written again
                filtered = pq.read_table(path).filter(pa.array(keep))

                def write(tmp: Path, table: pa.Table = filtered) -> None:
                    pq.write_table(table, tmp)

                atomic_write(path, write)
    for scale_split, ids in dropped.items():
        if scale_split.startswith(_RUSTDOC_KEY):
            stats[scale_split.removeprefix(_RUSTDOC_KEY)].rustdoc_samples -= len(ids)
            continue
        contained = scale_split.startswith(_CONTAINED_KEY)
        scale, split = scale_split.removeprefix(_CONTAINED_KEY).split("/")
        st = stats[scale]
        st.kept -= len(ids)
        st.splits[split] -= len(ids)
        if contained:
            st.dropped[f"{split}_contained_in_train_other_scale"] += len(ids)
            st.leakage[f"{split}_dropped_contained_in_train"] = len(ids)
        else:
            st.dropped[f"{split}_near_duplicate_of_train_other_scale"] += len(ids)
            st.leakage[f"{split}_dropped_other_scale"] = len(ids)
    return held


# In _drop_cross_scale_leaks' marker: before a scale, its dropped ids with rustdoc facts;
# the inline tokens of the dropped samples, as "token count" entries.
_RUSTDOC_KEY = "rustdoc:"
_TOKENS_KEY = "inline-tokens"
_CONTAINED_KEY = "contained:"  # before scale/split: dropped by _contained_leaks


def _dropped_facts(staging: Path, ids: set[str], inline: bool
                   ) -> tuple[set[str], Counter[str]]:
    """Of the held-out samples `ids`, as written (one pass over the held-out files): those
    whose type facts came from rustdoc too, and (`inline`) the inline type-fact tokens they
    hold."""
    from dataset_builder.type_facts import INLINE_TOKEN

    with_rustdoc: set[str] = set()
    tokens: Counter[str] = Counter()
    texts = ["context", "target", "suffix"] if inline else []
    for split in ("valid", "test"):
        for path in sorted((staging / split).glob("*.parquet")) if ids else ():
            table = pq.read_table(path, columns=["id", "type_facts_source", *texts])
            for row in table.to_pylist():
                if row["id"] not in ids:
                    continue
                if row["type_facts_source"] == "tree-sitter+rustdoc":
                    with_rustdoc.add(row["id"])
                for name in texts:
                    tokens.update(INLINE_TOKEN.findall(row[name]))
    return with_rustdoc, tokens


def _cross_scale_leaks(staging: Path, config: SampleConfig) -> dict[str, tuple[str, str]]:
    """The held-out samples _drop_cross_scale_leaks drops: id -> (scale, split)."""
    scales = {scale: _ScaleSignatures.load(staging, scale) for scale in schema.SCALES}
    held = {scale: data.rows(held_out=True) for scale, data in scales.items()}
    train = {scale: data.rows(held_out=False) for scale, data in scales.items()}
    # Candidate pairs: (held scale, held row, train scale, train row).
    pairs: list[tuple[str, int, str, int]] = []
    for train_scale, train_rows in train.items():
        if not train_rows or not any(held[s] for s in schema.SCALES if s != train_scale):
            continue
        matches = SignatureMatches(scales[train_scale].matrix(train_rows, config.num_perm),
                                   max(0.0, config.near_threshold - DROP_MARGIN))
        for held_scale, held_rows in held.items():
            if held_scale == train_scale or not held_rows:
                continue
            hs = scales[held_scale]
            query_rows, reference_rows, _ = matches.pairs(
                hs.matrix(held_rows, config.num_perm))
            # Every pair whose estimate comes near the threshold is compared exactly. A path
            # in common and lengths within a factor of 1.6 were asked for too, and let
            # through files that moved (mdBook's into crates/mdbook-core: Jaccard 0.95) and
            # shorter texts of the same shingles (reqwest: 0.71 at a third of the length).
            pairs.extend((held_scale, held_rows[q], train_scale, train_rows[r])
                         for q, r in zip(query_rows.tolist(), reference_rows.tolist(),
                                         strict=True))
    if not pairs:
        return {}
    wanted = {(scale, scales[scale].ids[row]) for p in pairs
              for scale, row in ((p[0], p[1]), (p[2], p[3]))}
    texts = _targets_of(staging, wanted, plain=config.type_facts == "inline")
    shingles: dict[tuple[str, str], np.ndarray] = {}

    def shingle_set_of(key: tuple[str, str]) -> np.ndarray:
        if key not in shingles:
            shingles[key] = shingle_set(texts[key], config.shingle)
        return shingles[key]

    found: dict[str, tuple[str, str]] = {}
    for held_scale, h, train_scale, t in sorted(pairs):
        sid = scales[held_scale].ids[h]
        if sid not in found and exact_jaccard(
                shingle_set_of((held_scale, sid)),
                shingle_set_of((train_scale, scales[train_scale].ids[t]))) >= \
                config.near_threshold:
            found[sid] = (held_scale, scales[held_scale].splits[h])
    return found


def _targets_of(staging: Path, wanted: set[tuple[str, str]], plain: bool = False
                ) -> dict[tuple[str, str], str]:
    """The written targets of the (scale, id) pairs `wanted`, read from the scales' files;
    `plain`: without their inline type-fact tokens, as they were deduplicated (compared with
    the tokens, rust-postgres's inline build kept two valid functions at 0.71 and 0.80 to a
    train impl block that its other modes dropped)."""
    texts: dict[tuple[str, str], str] = {}
    wanted_scales = {scale for scale, _ in wanted}
    for split in schema.SPLITS:
        for path in sorted((staging / split).glob("*.parquet")):
            scale = path.name.rsplit("-", 1)[0]
            if scale not in wanted_scales:
                continue
            for batch in pq.ParquetFile(path).iter_batches(columns=["id", "target"]):
                for sid, target in zip(batch.column("id").to_pylist(),
                                       batch.column("target").to_pylist(), strict=True):
                    if (scale, sid) in wanted:
                        texts[(scale, sid)] = strip_inline(target) if plain else target
    return texts


def _samples_of_scales(out: Path, info: RepoInfo, repo_label: str, config: SampleConfig,
                       max_file_bytes: int, progress: bool, counter: TokenCounter,
                       staging: Path, finished: dict[str, _ScaleResult],
                       snapshots: list[tuple[int, str]], chosen: list[tuple[int, str]],
                       ahead: RustdocAhead, rustdoc_report: dict[str, Any]
                       ) -> tuple[dict[str, _ScaleResult], list[str], list[tuple[int, str]]]:
    """Each scale's result (`finished` ones as they are), made by the scale processes, the
    split of each commit, and the snapshots added where a split had none (split_snapshots).
    This process meanwhile turns rustdoc's runs (`ahead`, for the `chosen` snapshots) into
    the type facts' maps for the scales (filling `rustdoc_report`)."""
    history = History(out, staging)
    history.roots = info.roots
    history.git_dir = info.git_dir
    NearDuplicateIndex(config.near_threshold, config.num_perm, config.shingle)
    commit_split = time_splits(history, config)
    if repo_label in config.holdout_repos:  # a held-out repository (multi.build_many)
        commit_split = ["test"] * len(commit_split)
    extra = split_snapshots(snapshots, commit_split, history.commit_sha) \
        if config.split_snapshots else []
    extra_shas = frozenset(sha for _, sha in extra)
    snapshots = sorted([*snapshots, *extra])
    live = history.live_at([i for i, _ in snapshots])
    walk_skipped = _walk_skipped(out)
    rustdoc_file = staging / RUSTDOC_FILE
    rustdoc_file.unlink(missing_ok=True)
    packer = Packer(history, rustdoc_file)

    def write_rustdoc_map() -> None:
        maps = _rustdoc_map(history, chosen, live, ahead.runs_for(chosen), rustdoc_report) \
            if chosen \
            else ({}, {})
        ahead.close()  # used up
        atomic_write_bytes(rustdoc_file, pickle.dumps(maps, protocol=pickle.HIGHEST_PROTOCOL))

    def run_scales(take: Callable[[], str | None]) -> dict[str, _ScaleResult]:
        """The scales take() gives, one after another until it gives None, with one cat-file
        reader; for each, its stats and the redactions and inline type tokens it counted."""
        results: dict[str, _ScaleResult] = {}
        with BlobReader(info.git_dir) as reader:
            texts = BlobTexts(reader)
            maker = CandidateMaker(history, packer, texts, config, info.roots)
            loaded: dict[int, Snapshot] = {}
            snapshot_files = SnapshotFiles(reader, max_file_bytes)

            def snapshot_iter(scale: str) -> Iterator[Candidate]:
                for index, sha in reversed(snapshots):  # newest first, as dedup expects
                    if index not in loaded:
                        loaded[index] = _load_snapshot(info, out, history, snapshot_files,
                                                       index, sha, live[index],
                                                       parse_modules=sha in extra_shas,
                                                       walk_skipped=walk_skipped)
                    yield from maker.snapshot_candidates(scale, loaded[index], snapshot_files)

            sources: dict[str, Callable[[], Iterator[Candidate]]] = {
                "micro": lambda: maker.micro_small("micro"),
                "small": lambda: maker.micro_small("small"),
                "medium": lambda: snapshot_iter("medium"),
                "large": lambda: snapshot_iter("large"),
                "full": lambda: snapshot_iter("full"),
            }
            while (scale := take()) is not None:
                scale_redactions: Counter[str] = Counter()
                scale_tokens: Counter[str] = Counter()
                cpu_started = time.process_time()
                scale_stats = _run_scale(
                    scale, sources[scale](), history, commit_split, config, counter,
                    repo_label, staging, scale_redactions, scale_tokens, info, progress, live)
                scale_stats.not_made.update(maker.not_made.pop(scale, Counter()))
                # This process's CPU for the scale (rustdoc's cargo, started earlier, apart).
                results[scale] = (scale_stats, scale_redactions, scale_tokens,
                                  round(time.process_time() - cpu_started, 2))
                _mark_finished(staging, scale, results[scale])
                return_memory(collect=False)  # the next scale's peak: not this one's leftovers
        history.close_manifests()
        return results

    # The scales are independent: processes (one per usable CPU) each take the next scale
    # when they are free, in _SCALE_ORDER. Merged in scale order, so the output equals a
    # sequential run's.
    left = [scale for scale in _SCALE_ORDER if scale not in finished]
    if left:
        results = {**finished, **_in_processes(run_scales, left, staging,
                                               meanwhile=write_rustdoc_map)}
    else:
        write_rustdoc_map()
        results = dict(finished)
    history.close_manifests()
    rustdoc_file.unlink(missing_ok=True)
    return results, commit_split, extra


_Result = TypeVar("_Result")
_ScaleResult = tuple[ScaleStats, Counter[str], Counter[str], float]
# The order scales are taken in: the two made from every commit first (micro is the largest
# on every history measured, small next or third), then the snapshot scales, medium (the
# smallest but on lsd) last, so that what is left at the end is short. Scale CPU seconds of
# six histories' builds, two processes (`python bench/scale_order.py OUT...`): the longest
# process 5.50 -> 4.91 s (rust-sdl2), 10.58 -> 10.22 (ripgrep), 12.25 -> 11.82 (tracing),
# 10.57 -> 10.15 (rusqlite), 2.57 -> 2.41 (lsd), 0.95 (hyperfine), against the order micro,
# large, full, medium, small; within 0.1% of the best order over the six.
_SCALE_ORDER = ("micro", "small", "large", "full", "medium")


_SCALE_DONE = ".scale-{}.pkl"  # in staging: a scale's result, once its files are written
# In staging while the scales are made: rustdoc's maps for the type facts (Packer).
RUSTDOC_FILE = ".rustdoc-facts.pkl"
RUSTDOC_FILE_POLL_S = 0.02


def _mark_finished(staging: Path, scale: str, result: _ScaleResult) -> None:
    """Vouch for a scale's files in staging (synced first): a resumed run keeps them."""
    for path in staging.glob(f"*/{scale}-*.parquet"):
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    atomic_write_bytes(staging / _SCALE_DONE.format(scale), pickle.dumps(result))


def _finished_scales(staging: Path) -> dict[str, _ScaleResult]:
    """The results of the scales a crashed run finished in `staging` (a folder of this
    config hash); every other file there (a scale cut short, a process's result) is
    removed, so that those scales are made again from the start."""
    if not staging.is_dir():
        return {}
    finished: dict[str, _ScaleResult] = {}
    for scale in schema.SCALES:
        marker = staging / _SCALE_DONE.format(scale)
        if marker.exists() and not (staging / _SCALE_SIGNATURES.format(scale)).exists():
            marker.unlink()  # left by an older version: the scale is made again
        if marker.exists():
            try:
                finished[scale] = pickle.loads(marker.read_bytes())
            except Exception:  # unreadable: the scale is made again
                marker.unlink()
    keep = {staging / name.format(scale) for scale in finished
            for name in (_SCALE_DONE, _SCALE_SIGNATURES, _SCALE_CONTAINED)}
    # The ids the cross-scale check dropped, once it has run (all scales finished then):
    # taken out of the held-out files already, while the saved signatures still list them,
    # so the check is not made again. A scale made again here writes the same rows (the
    # build is deterministic), and the same ids are dropped from them.
    keep.add(staging / _CROSS_SCALE)
    keep.update(path for scale in finished for path in staging.glob(f"*/{scale}-*.parquet"))
    for path in sorted(staging.rglob("*"), reverse=True):
        if path in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            if path.parent == staging and path.name in schema.SPLITS:
                continue
            shutil.rmtree(path)
        else:
            path.unlink()
    return finished


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where there is one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


_JOIN_POLL_S = 0.2  # the longest a stop signal waits for the main thread (_in_processes)


def _in_processes(run: Callable[[Callable[[], str | None]], dict[str, _Result]],
                  tasks: list[str], staging: Path, processes: int | None = None,
                  meanwhile: Callable[[], None] | None = None) -> dict[str, _Result]:
    """The results of run(take) in forked child processes (`processes`, default one per
    usable CPU, at most one per task), where take() gives each process the next task of one
    shared list when it asks (None when none are left); results are pickled into staging.
    Without fork or a second process, run(take) here, over all tasks. `meanwhile()` runs
    here once the processes have started (before run(take) when there are none); if it
    raises, they are killed and its exception is raised."""
    processes = min(len(tasks), processes or _usable_cpus())
    if processes < 2 or "fork" not in mp.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        queue = iter(tasks)
        return run(lambda: next(queue, None))
    ctx = mp.get_context("fork")
    taken_by = ctx.Array("i", [-1] * len(tasks))  # which process took each task
    next_task = ctx.Value("i", 0)

    parent_pid = os.getpid()

    def child(k: int) -> None:
        exit_with_parent(parent_pid)
        draw_on_line(scale_line(k))

        def take() -> str | None:
            with next_task.get_lock():
                task: int = next_task.value
                if task >= len(tasks):
                    return None
                next_task.value = task + 1
                taken_by[task] = k
            return tasks[task]

        try:
            result = run(take)
        except BaseException as exc:  # Ctrl-C too: the parent reports it, in one line
            if os.environ.get("FERRIC_DEBUG"):
                traceback.print_exc()
            atomic_write_bytes(staging / f".process-{k}.error",
                               f"{type(exc).__name__}: {exc}".encode("utf-8", "replace"))
            sys.exit(1)
        atomic_write_bytes(staging / f".process-{k}.pkl", pickle.dumps(result))

    procs = [ctx.Process(target=child, args=(k,), name=f"ferric-samples-{k}")
             for k in range(processes)]
    try:
        # Started inside the try: a stop that lands while the second starts (the first is
        # already working) left the first running (one in about 20 `make test` runs).
        for proc in procs:
            proc.start()
        if meanwhile is not None:
            meanwhile()
        for proc in procs:
            # In short waits: a stop signal the kernel gave another thread of this process
            # is answered (in the main thread) only when the main thread runs Python again,
            # and a wait without end would see it once every process had finished.
            while proc.exitcode is None:
                proc.join(_JOIN_POLL_S)
    except BaseException:  # also a stop (Terminated, Ctrl-C) while they work: they ignore
        # SIGINT (a background job's), and ran every scale to its end. Those forked (a pid),
        # also one whose start() the stop interrupted after the fork.
        started = [proc for proc in procs if proc.pid is not None]
        for proc in started:
            proc.kill()
        for proc in started:
            proc.join()
        for k in range(processes):
            # A result, or a result being written (atomic_write's temporary file).
            for leftover in (*staging.glob(f".process-{k}.*"),
                             *staging.glob(f"..process-{k}.*.tmp")):
                leftover.unlink(missing_ok=True)
        raise
    owners: list[int] = taken_by[:]
    failed = []
    for k, proc in enumerate(procs):
        if proc.exitcode != 0:
            error = staging / f".process-{k}.error"
            why = error.read_text("utf-8", "replace") if error.exists() else \
                f"exit code {proc.exitcode}"
            taken = "+".join(t for t, by in zip(tasks, owners, strict=True) if by == k)
            failed.append(f"{taken or 'none'} ({why})")
    for k in range(processes):
        (staging / f".process-{k}.error").unlink(missing_ok=True)
    if failed:
        for k in range(processes):
            (staging / f".process-{k}.pkl").unlink(missing_ok=True)
        raise RuntimeError(f"sample generation failed for {'; '.join(failed)}")
    results: dict[str, _Result] = {}
    for k in range(processes):
        path = staging / f".process-{k}.pkl"
        results.update(pickle.loads(path.read_bytes()))
        path.unlink()
    return results


def rustdoc_snapshots(snapshots: list[tuple[int, str]], config: SampleConfig
                       ) -> list[tuple[int, str]]:
    """The snapshots whose crates rustdoc documents: none but in header mode, as its facts
    are header lines (inline and none builds ran it and showed nothing of it)."""
    if config.rustdoc == "none" or config.type_facts != "header" or not snapshots:
        return []
    return snapshots[-1:] if config.rustdoc == "head" else snapshots


_RustdocRun = tuple[RustdocFacts | None, str, list[str]]


def _rustdoc_runs(info: RepoInfo, out: Path, chosen: list[tuple[int, str]],
                  cancel: threading.Event | None = None, registry: str | None = None,
                  progress: bool = False, max_crates: int = 0
                  ) -> Generator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                       dict[str, str]], None, None]:
    """For each chosen snapshot, its crate folders (those with a Cargo.toml; "" = the root),
    the paths of its minable files, rustdoc's result for each crate that holds some (facts
    or None, the reason, and the crates an offline resolution missed), and the texts of the
    documented crates' files. Needs no history, so it runs while that loads. `cancel`,
    `registry`: see rustdoc_facts. One target folder per workspace serves every snapshot:
    the registry crates built for one are not built again for the next. `progress`: a bar
    per snapshot that names the crate cargo is documenting (with registry crates to build,
    one can take minutes). `max_crates`: see SampleConfig.rustdoc_max_crates."""
    scratch = rustdoc_scratch_prefix(out)
    # What a build of `out` killed with kill -9 left (an extracted tree, cargo's builds: up
    # to hundreds of MB); the output lock makes this build the only one of `out` now.
    for stale in Path(tempfile.gettempdir()).glob(f"{scratch}*"):
        shutil.rmtree(stale, ignore_errors=True)
    targets = tempfile.TemporaryDirectory(prefix=f"{scratch}targets-")
    try:
        yield from _rustdoc_snapshot_runs(info, out, chosen, Path(targets.name), cancel,
                                          registry, progress, max_crates, scratch)
    finally:
        targets.cleanup()


def rustdoc_scratch_prefix(out: Path) -> str:
    """The name prefix of the temporary folders of rustdoc's runs for the build in `out`.
    They are in the system's temporary folder, not in `out`: in a user's repository (the
    default `data/<name>` from its root), cargo would find the repository's own workspace
    above a snapshot's extracted tree."""
    digest = hashlib.sha256(str(out.resolve()).encode("utf-8", "surrogateescape"))
    return f"ferric-rustdoc-{digest.hexdigest()[:12]}-"


def _crates_to_document(crates: list[str], files_of: Counter[str], max_crates: int,
                        with_lib_rs: Collection[str] = ()) -> list[str]:
    """The crates (folders, sorted) rustdoc documents at a snapshot: every one, or
    `max_crates` of them, those with a `src/lib.rs` (`with_lib_rs`) first (a binary-only crate
    is documented through its main binary, but iced has 47 example binaries among its 73
    crates), then those with the most minable files (ties: the first folder)."""
    if max_crates <= 0 or len(crates) <= max_crates:
        return crates
    return sorted(sorted(crates, key=lambda c: (c not in with_lib_rs, -files_of[c], c))
                  [:max_crates])


def _rustdoc_snapshot_runs(info: RepoInfo, out: Path, chosen: list[tuple[int, str]],
                           targets: Path, cancel: threading.Event | None,
                           registry: str | None, progress: bool, max_crates: int,
                           scratch: str
                           ) -> Iterator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                               dict[str, str]]]:
    for _, sha in chosen:
        entries = list_tree(info, sha)
        manifests = {str(Path(e.path).parent) for e in entries if Path(e.path).name == "Cargo.toml"}
        manifests = {"" if d == "." else d for d in manifests}
        minable = {e.path: e.sha for e in entries
                   if path_skip_reason(e.path, e.mode, info.rules) is None}
        # The crates the history can have items in (a crate is a function of a file's path).
        files_of = Counter(_crate_dir(locate_module(path, info.roots).crate) for path in minable)
        results: dict[str, _RustdocRun] = {}
        with_lib_rs = {path.removesuffix("src/lib.rs").rstrip("/") for path in minable
                       if path == "src/lib.rs" or path.endswith("/src/lib.rs")}
        with_code = sorted(manifests & files_of.keys())
        crates = _crates_to_document(with_code, files_of, max_crates, with_lib_rs)
        for crate_dir in sorted(set(with_code) - set(crates)):
            results[crate_dir] = (None, "over_crate_limit", [])
        with tempfile.TemporaryDirectory(prefix=f"{scratch}tree-") as tree, \
                progress_bar(total=len(crates), line=RUSTDOC_LINE, desc=f"rustdoc {sha[:10]}",
                             unit="crate", disable=not progress) as bar:  # a tree per snapshot
            for crate_dir in crates:
                bar.set_postfix_str(crate_dir or ".")
                missing: list[str] = []
                facts, reason = rustdoc_facts(
                    info.git_dir, sha, crate_dir, out / ".rustdoc-cache", Path(tree) / "src",
                    cancel, targets, Path(registry) if registry else None, missing,
                    scratch_prefix=f"{scratch}run-")
                results[crate_dir] = (facts, reason, missing)
                bar.update()
        # The documented crates' files: where their items are at the snapshot.
        documented = {c for c, (facts, _, _) in results.items() if facts is not None}
        paths = [p for p in minable
                 if _crate_dir(locate_module(p, info.roots).crate) in documented]
        with BlobReader(info.git_dir) as reader:
            texts = {path: data.decode("utf-8", "replace") for path, data in zip(
                paths, reader.read_many([minable[p] for p in paths]), strict=True)
                if data is not None}
        yield manifests, set(minable), results, texts


def _registry_gained(section: dict[str, Any], config: SampleConfig) -> list[str]:
    """Crates rustdoc's runs lacked in the samples' `section` whose releases in the offline
    registry changed since (`apt-get install librust-<name>-dev`, as the report suggests):
    the registry's path is in the config hash, what it holds is not, so without this check
    the same command would find the samples up to date. Compared by each lacked crate's own
    folders: a release too old for the requirement, held all along, or a change to another
    crate, is no news."""
    held = section.get("rustdoc", {}).get("registry_held")
    if not held or config.rustdoc == "none" or not config.rustdoc_registry:
        return []
    now = registry_folders(Path(config.rustdoc_registry))
    if now is None:
        return []
    gained = sorted(name for name, folders in held.items()
                    if now.get(name) and now[name] != folders)
    if gained:
        registry_releases.cache_clear()  # the runs ahead check against what it holds now
    return gained


class RustdocAhead:
    """rustdoc's runs for the snapshots the samples will take, started before the history's
    walk (or once it has written modules.parquet). cargo then runs beside the history and the
    samples instead of holding the samples up: offline it mostly fails fast for
    want of a repository's dependencies, but one crate after another (ripgrep's five: its
    full build's samples waited 1.62 s for them before, 0.33 s after). Where samples are
    already complete (`unless_complete`), it starts nothing: build_samples may then find them
    up to date and want no rustdoc at all (and starts the runs itself, unless_complete=False,
    if it does). `chosen`: the snapshots to document ((commit index, sha)), when known before
    modules.parquet is written.

    The runs go on in a forked process of their own (a thread where fork is missing), which
    sends each snapshot's results back: the process that waits for them forks the scale
    processes meanwhile, and a fork must not copy a thread in the middle of its work. Where
    the registry holds a repository's dependencies, cargo compiles them for minutes
    (syn's seven crates: 12 s of the build at about one core), which the scales now share.

    `close()` comes once the runs are used up, or when they are not wanted (other snapshots,
    an error, Ctrl-C): a cargo run still going is then killed, with the rustc processes it
    started, rather than waited for (with local dependencies a crate can build for
    minutes)."""

    # How long close() waits for the runs' process to stop after SIGTERM (killing a cargo
    # run and removing its folders), before it is killed.
    CLOSE_WAIT_S = 10.0

    def __init__(self, info: RepoInfo, out: Path, config: SampleConfig,
                 chosen: list[tuple[int, str]] | None = None, progress: bool = False,
                 unless_complete: bool = True) -> None:
        if unless_complete and (out / SAMPLES_DIR / MARKER).exists():
            chosen = []
        elif chosen is None:
            chosen = rustdoc_snapshots(_snapshots(out), config)
        self.chosen = chosen
        self._proc: Any = None
        self._conn: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self.runs: Iterator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                  dict[str, str]]] = iter(())
        if not chosen:
            return
        args = (info, out, chosen, config.rustdoc_registry, progress, config.rustdoc_max_crates)
        if "fork" in mp.get_all_start_methods():
            ctx = mp.get_context("fork")
            self._conn, child_conn = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_rustdoc_process,
                                     args=(child_conn, self._conn, os.getpid(), *args),
                                     daemon=True, name="ferric-rustdoc")
            self._proc.start()
            child_conn.close()
            self.runs = self._received()
            return
        self._cancel = threading.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ferric-rustdoc")
        self._runs = _rustdoc_runs(info, out, chosen, self._cancel, *args[3:])
        self.runs = _one_ahead(self._runs, self._pool)

    def runs_for(self, chosen: list[tuple[int, str]]
                 ) -> Iterator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                     dict[str, str]]]:
        """The runs of the `chosen` snapshots, of those this was started for, in order."""
        wanted = set(chosen)
        return (run for snapshot, run in zip(self.chosen, self.runs, strict=False)
                if snapshot in wanted)

    def _received(self) -> Iterator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                          dict[str, str]]]:
        # One message per snapshot; the process's "end" comes after it has removed its
        # folders, which the runs' user need not wait for (close() reads it).
        for _ in self.chosen:
            try:
                kind, value = self._conn.recv()
            except (EOFError, OSError):
                self._proc.join()
                raise RuntimeError("the rustdoc runs' process died "
                                   f"(exit code {self._proc.exitcode})") from None
            if kind == "end":  # fewer runs than snapshots: not expected
                raise RuntimeError("the rustdoc runs ended early")
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        """Stop the runs (once; again is a no-op)."""
        if self._proc is not None:
            proc, conn, self._proc = self._proc, self._conn, None
            if proc.is_alive():
                proc.terminate()  # the runs' process cancels its cargo run and cleans up
            # Its last message may be waiting to be read: it is drained, or the process
            # would wait on a full pipe (the scale processes hold copies of this end).
            deadline = time.monotonic() + self.CLOSE_WAIT_S
            with contextlib.suppress(EOFError, OSError):
                while proc.is_alive() and time.monotonic() < deadline:
                    if conn.poll(0.05):
                        conn.recv()
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()
        if self._pool is not None:
            self._cancel.set()
            self._pool.shutdown(wait=True, cancel_futures=True)
            # Not used up (up-to-date samples, other snapshots): its temporary folders go
            # now, not at an interpreter exit that the CLI's os._exit skips.
            self._runs.close()
            self._pool = None


def _rustdoc_process(conn: Any, parent_end: Any, parent_pid: int, info: RepoInfo, out: Path,
                     chosen: list[tuple[int, str]], registry: str | None, progress: bool,
                     max_crates: int) -> None:
    """RustdocAhead's process: each snapshot's runs sent as they are done, then ("end",),
    or ("error", the exception). SIGTERM cancels: the cargo run going is killed and the
    temporary folders are removed before it exits."""
    exit_with_parent(parent_pid)
    parent_end.close()  # the fork's copy of the reading end
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    runs = _rustdoc_runs(info, out, chosen, cancel, registry, progress, max_crates)
    try:
        for run in runs:
            if cancel.is_set():
                return
            conn.send(("run", run))
        conn.send(("end", None))
    except (BrokenPipeError, EOFError):  # the runs were not wanted any more
        return
    except BaseException as exc:  # the one line the build reports, as a thread's would be
        if os.environ.get("FERRIC_DEBUG"):
            traceback.print_exc()
        with contextlib.suppress(OSError):
            conn.send(("error", picklable(exc)))
    finally:
        runs.close()
        conn.close()


_END = object()


def _one_ahead(items: Iterator[_Result], pool: ThreadPoolExecutor) -> Iterator[_Result]:
    """The items of an iterator, each made in the pool's thread while the previous is used;
    the first is started now, not when it is asked for."""
    first = pool.submit(next, items, _END)

    def results() -> Iterator[_Result]:
        pending = first
        while (item := pending.result()) is not _END:
            pending = pool.submit(next, items, _END)
            yield item  # type: ignore[misc]

    return results()


def _rustdoc_map(history: History, chosen: list[tuple[int, str]],
                 live: dict[int, array[int]],
                 runs: Iterator[tuple[set[str], set[str], dict[str, _RustdocRun],
                                      dict[str, str]]],
                 report: dict[str, Any]
                 ) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """symbol and lineage -> (digest of the item at the snapshot, rustdoc signature), from
    the runs of the crates that have items there, and impl or trait lineage -> its
    documented functions' lineages. The history replays commits in one order,
    each diffed against its first parent, so across a merge an item can stay alive in the
    replay in a file the merged tree does not have (removed on one branch, changed later on
    another: tokio has such items, in a crate folder that no longer has code). Items in files
    the snapshot does not have are left out and counted."""
    col = history.col
    mapping: dict[str, tuple[str, str]] = {}
    members: dict[str, list[str]] = defaultdict(list)
    failed: Counter[str] = Counter()
    missing_crates: Counter[str] = Counter()
    manifests_used: Counter[str] = Counter()
    not_in_tree = 0
    for (index, sha), (manifests, minable, results, texts) in zip(chosen, runs, strict=True):
        rows = [r for r in live[index] if col["path"][r] in minable]
        not_in_tree += len(live[index]) - len(rows)
        crates = sorted({col["crate"][r] for r in rows})
        no_manifest = [c for c in crates if _crate_dir(c) not in manifests]
        if no_manifest:  # test folders and examples are not crates of their own
            failed["not_a_crate_root"] += len(no_manifest)
        for crate in (c for c in crates if _crate_dir(c) in manifests):
            facts, reason, missing = results[_crate_dir(crate)]
            run: dict[str, Any] = {"snapshot": sha, "crate": crate, "result": reason,
                                   "matched": 0}
            report["runs"].append(run)
            if facts is None:
                failed[reason] += 1
                if missing:
                    run["missing"] = missing
                    missing_crates.update(missing)
                continue
            run["manifest"] = facts.manifest
            manifests_used[facts.manifest] += 1
            matched = _match_rustdoc(facts, rows, col, mapping, members, texts)
            run["matched"] = matched
    report["failed"] = dict(failed)
    report["documented_with"] = dict(manifests_used)
    # What an offline registry lacked, most wanted first (what to install or vendor).
    report["missing_crates"] = dict(missing_crates.most_common(20))
    report["items_not_in_snapshot_tree"] = not_in_tree
    report["functions_with_resolved_signature"] = len({k for k in mapping if "|" in k})
    return mapping, dict(members)


def _match_rustdoc(facts: RustdocFacts, rows: list[int], col: dict[str, Sequence[Any]],
                   mapping: dict[str, tuple[str, str]], members: dict[str, list[str]],
                   texts: dict[str, str]) -> int:
    """Map the functions among `rows` (alive at the snapshot) that rustdoc documented, by
    file, name and a line of theirs at the snapshot (`texts`: its files); a method also
    under its impl's or trait's lineage in `members`."""
    by_path: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if col["kind"][row] in _FN_KINDS:
            by_path[col["path"][row]].append(row)
    matched = 0
    for path, path_rows in by_path.items():
        # As recorded: twin texts then take their occurrences in file order.
        path_rows.sort(key=col["start_byte"].__getitem__)
        text = texts.get(path)
        starts = _item_lines(text, path_rows, col) if text is not None else \
            [col["start_line"][r] - 1 for r in path_rows]
        for row, start in zip(path_rows, starts, strict=True):
            # A row's own lines are those of its last change: an item that only moved since
            # (edits above it) has no newer row.
            first = start + 1
            last = first + col["end_line"][row] - col["start_line"][row]
            signature = facts.lookup(path, first, last, col["name"][row])
            if signature is None:
                continue
            matched += 1
            entry = (col["digest"][row], signature)
            lineage = col["lineage"][row]
            mapping[lineage] = entry
            if col["symbol"][row]:
                mapping[col["symbol"][row]] = entry
            if col["parent"][row]:  # the parent's lineage: the same file lineage, its key
                parent = members[lineage.removesuffix(col["key"][row]) + col["parent"][row]]
                if lineage not in parent:  # once, however many snapshots document it
                    parent.append(lineage)
    return matched


_RUSTDOC_LINE = "\n// rustdoc: "  # a header line of rustdoc's facts (Packer.facts)


class _Rendered(NamedTuple):
    context: str
    target: str
    suffix: str
    source: str  # where the type facts came from
    inline_skipped: bool  # inline mode, but a text held such a token already
    tokens: Counter[str]  # inline tokens rendered


def _render(candidate: Candidate, mode: str) -> _Rendered:
    """The sample's texts in the chosen type-facts mode."""
    context_parts = []
    target, suffix, prefix, pack = (candidate.target, candidate.suffix, candidate.prefix,
                                    candidate.pack)
    # rustdoc's facts are header lines: inline tokens come from tree-sitter alone, and a
    # header cut to its limit or to the budget may have lost them ("tree-sitter+rustdoc" was
    # said of every such sample).
    source = "tree-sitter+rustdoc" if (
        candidate.rustdoc_used and mode == "header" and _RUSTDOC_LINE in candidate.header
    ) else "tree-sitter"
    skipped = False
    tokens: Counter[str] = Counter()
    if mode == "header" and candidate.header:
        context_parts.append(candidate.header)
    elif mode == "inline":
        rendered = [render_inline(t, candidate.facts) for t in (pack, prefix, target, suffix)]
        if any(r is None for r in rendered):
            skipped = True
        else:
            pack, prefix, target, suffix = (r.text for r in rendered if r is not None)
            for r in rendered:
                if r is not None:
                    tokens.update(r.tokens)
    elif mode == "none":
        source = "none"
    context_parts.append(pack)
    if candidate.parts > 1:
        context_parts.append(f"// part {candidate.part + 1} of {candidate.parts} of "
                             f"{candidate.path} ({candidate.split_note})\n")
    if prefix or candidate.scale in ("micro", "small", "medium"):
        # A module file's sample names its file too (its path says which module it is;
        # axum's said it in 8 of 706), as a function's and a module group's do; so does a
        # function or impl block at the very top of its file (tonic: 53 said nothing).
        context_parts.append(f"// file: {candidate.prefix_path or candidate.path}\n")
    context_parts.append(prefix)
    return _Rendered("".join(context_parts), target, suffix, source, skipped, tokens)


def _restore_shown(cand: Candidate) -> None:
    """Put back at the head of the pack (direct dependencies come first) each definition
    that the pack left out because the code around the target showed it, where a cut has
    taken it out of view: otherwise the sample would show it nowhere."""
    gone = [block for piece, block in cand.shown_elsewhere
            if not _in_view(piece, cand.prefix, cand.suffix)]
    if gone:
        cand.pack = "".join(gone) + cand.pack
        cand.shown_elsewhere = [(piece, block) for piece, block in cand.shown_elsewhere
                                if block not in gone]


_FILE_SEP_LINE = re.compile(re.escape(FILE_SEP) + r"(\S+)\n")  # a multi-file target's file


def _shrink_context(cand: Candidate, chars: int) -> bool:
    """Take about `chars` characters, whole lines, from the candidate's context: first from
    the code around the target (the code before it loses its first lines, the code after
    its last, in proportion to their lengths), then from the end of the pack (the
    farthest dependencies), then from the end of the type-facts header. False when there
    was nothing left to take."""
    changed = False
    around = len(cand.prefix) + len(cand.suffix)
    if around and chars > 0:
        take = min(chars, around)
        from_prefix = -(-take * len(cand.prefix) // around)  # rounded up
        prefix = _tail_lines(cand.prefix, len(cand.prefix) - from_prefix)
        suffix = _head_lines(cand.suffix, len(cand.suffix) - (take - from_prefix)) \
            if take > from_prefix else cand.suffix
        chars -= around - len(prefix) - len(suffix)
        changed = (prefix, suffix) != (cand.prefix, cand.suffix)
        if cand.prefix_path:  # a part's code before: its label is the file it now begins in
            opens = _FILE_SEP_LINE.match(prefix)
            begun = _FILE_SEP_LINE.findall(cand.prefix[:len(cand.prefix) - len(prefix)])
            now = opens.group(1) if opens else begun[-1] if begun else cand.prefix_path
            cand.prefix_path = "" if now == cand.path else now
        cand.prefix, cand.suffix = prefix, suffix
        # What comes back makes the context longer again: the next round (_fit_context)
        # measures it and takes more from the code around the target.
        _restore_shown(cand)
    for field_name in ("pack", "header"):
        text = getattr(cand, field_name)
        if chars > 0 and text:
            kept = _head_lines(text, len(text) - chars)
            chars -= len(text) - len(kept)
            setattr(cand, field_name, kept)
            changed = True
    return changed


def _fit_context(cand: Candidate, rendered: _Rendered, context_tokens: int, suffix_tokens: int,
                 room: int, mode: str, counter: TokenCounter) -> tuple[_Rendered, int, int]:
    """The sample with its context and suffix cut to `room` tokens (exact counts), where the
    budget's split between them, sized by an estimate of characters per token, overran it
    (uuid's hex literals: 2 characters a token against the 3 assumed, so a quarter of its
    function samples were over budget). Cut by the measured characters per token, again
    until it fits or nothing is left to cut."""
    for _ in range(8):
        excess = context_tokens + suffix_tokens - room
        if excess <= 0:
            break
        per_token = (len(rendered.context) + len(rendered.suffix)) / max(
            1, context_tokens + suffix_tokens)
        if not _shrink_context(cand, int(excess * per_token * 1.1) + 1):
            break
        rendered = _render(cand, mode)
        context_tokens, suffix_tokens = counter.count([rendered.context, rendered.suffix])
    return rendered, context_tokens, suffix_tokens


# Unused budget (exact tokens) below which a function sample's code around it is not widened.
_WIDEN_MIN_TOKENS = 64


def _widen(cand: Candidate, chars: int, redactions: Counter[str]) -> bool:
    """Show about `chars` more characters of a function's file around it, in whole lines: two
    thirds before it and a third after, what one side lacks going to the other. The lines
    added are redacted. False when there is nothing more to show."""
    around = cand.around
    assert around is not None
    before, after = around.before, around.after
    left_before = len(before) - around.prefix_chars
    left_after = len(after) - around.suffix_chars
    more_after = min(left_after, chars - min(left_before, chars * 2 // 3))
    more_before = min(left_before, chars - more_after)
    # The shown code is the longest tail (head) of whole lines within its length: a longer
    # one of the same kind holds it.
    prefix = _tail_lines(before, around.prefix_chars + more_before)
    suffix = _head_lines(after, around.suffix_chars + more_after)
    added_before = prefix[:len(prefix) - around.prefix_chars]
    added_after = suffix[around.suffix_chars:]
    if not added_before and not added_after:
        return False
    cand.prefix = redact(added_before, redactions) + cand.prefix
    cand.suffix = cand.suffix + redact(added_after, redactions)
    around.prefix_chars, around.suffix_chars = len(prefix), len(suffix)
    # A definition of the file that the pack shows and the widened code now shows too
    # leaves the pack (tonic: 140 function samples showed one twice), to come back if a
    # cut takes it out of view again (_restore_shown).
    _hide_shown(cand)
    return True


# A pack's "// from path (module)" line, and one with none of its definitions after it.
_PACK_GROUP = re.compile(r"^// from ", re.MULTILINE)
_EMPTY_PACK_GROUP = re.compile(r"^// from [^\n]*\n(?=// from |\Z)", re.MULTILINE)


def _drop_from_pack(pack: str, piece: str, path: str) -> str:
    """The pack without the definition `piece` (a whole line run of it) of the file at
    `path`, or one of its shorter forms (_condensed_forms): in that file's group, not
    another file's same text. Shorter forms stayed (sqlx: 257 definitions shown whole in
    the code before and without their comments in the pack)."""
    bare = _without_comment_lines(piece)
    first = _view_key(piece).partition("\n")[0].rstrip("{ ")
    groups = [m.start() for m in _PACK_GROUP.finditer(pack)] + [len(pack)]
    for start, end in itertools.pairwise(groups):
        if not pack.startswith(f"// from {path} (", start):
            continue
        for form in dict.fromkeys((piece, bare)):
            at = start
            while True:
                at = pack.find(form + "\n", at + 1, end)
                if at < 0 or pack[at - 1] == "\n":
                    break
            if at >= 0:
                return _EMPTY_PACK_GROUP.sub("", pack[:at] + pack[at + len(form) + 1:])
        if "\n" in piece and first:  # the header with its body elided
            for line in re.finditer(r"^[^\n]*" + re.escape(_ELIDED_BODY) + "\n",
                                    pack[start:end], re.MULTILINE):
                if line.group(0).startswith(first):
                    at = start + line.start()
                    return _EMPTY_PACK_GROUP.sub("", pack[:at] + pack[start + line.end():])
    return pack


class _TargetSizer:
    """Whether a scale's targets are split, and into parts of how many characters, by exact
    token counts. By the estimate alone (3 characters a token) nalgebra's test functions of
    numeric literals (1.3 characters a token) went unsplit at up to 3,155 tokens of a 2,048
    budget, and parts cut by it from dense text overran it too."""

    def __init__(self, budget: int, counter: TokenCounter) -> None:
        self.limit = budget * 0.75  # a target's share; the rest is its context's
        self.counter = counter
        # A multi-file target's count is its files' (each ends with a line break and the
        # next begins with a separator line: the counts add up exactly). A file version
        # recurs unchanged at many snapshots: counted once.
        self.piece_tokens: dict[bytes, int] = {}
        self.density_of: dict[bytes, float | None] = {}  # target key -> density()

    def tokens(self, cand: Candidate) -> int:
        """The target's exact token count."""
        if cand.piece_keys is None or cand.piece_ends is None:
            return self.counter.count([cand.target])[0]
        missing = [(key, start, end) for key, start, end in zip(
            cand.piece_keys, [0, *cand.piece_ends[:-1]], cand.piece_ends, strict=True)
            if key not in self.piece_tokens]
        if missing:
            counts = self.counter.count([cand.target[start:end] for _, start, end in missing])
            self.piece_tokens.update(zip((key for key, _, _ in missing), counts, strict=True))
        return sum(map(self.piece_tokens.__getitem__, cand.piece_keys))

    def known_pieces(self, cand: Candidate) -> list[tuple[int, int, int]]:
        """(start, end, tokens) of each of the target's pieces whose count is known (a
        multi-file target's files, once `tokens` has counted it)."""
        if cand.piece_keys is None or cand.piece_ends is None:
            return []
        return [(start, end, self.piece_tokens[key]) for key, start, end in zip(
            cand.piece_keys, [0, *cand.piece_ends[:-1]], cand.piece_ends, strict=True)
            if key in self.piece_tokens]

    def density(self, cand: Candidate, key: bytes | None = None) -> float | None:
        """None when the target fits its share of the budget; else the characters per token
        to size its parts by (at most the estimate's, so parts never grow). `key`: the
        target's _target_key, where the caller has it."""
        target = cand.target
        if len(target) <= self.limit and target.isascii():  # a token is at least a byte
            return None
        if key is None:
            key = _target_key(cand)
        if key in self.density_of:
            return self.density_of[key]
        tokens = self.tokens(cand)
        density = None if tokens <= self.limit else min(
            CHARS_PER_TOKEN_ESTIMATE, len(target) / tokens)
        self.density_of[key] = density
        return density


def _split_candidates(candidates: Iterator[Candidate], budget: int, stats: ScaleStats,
                      sizer: _TargetSizer) -> Iterator[Candidate]:
    """Oversized targets become parts; the tail of the previous part becomes the next part's
    code-before, so nothing is dropped and every part still has context. The parts share
    the whole's context (pack, type facts), made when the first of them is completed: a
    whole none of whose parts is kept needs none, and rustdoc's facts may still be coming
    (see Packer.rustdoc_file) while the candidates are deduplicated."""
    tail_chars = int(budget * 0.05 * CHARS_PER_TOKEN_ESTIMATE)
    pack_chars = int(budget * 0.2 * CHARS_PER_TOKEN_ESTIMATE)
    for cand in candidates:
        density = sizer.density(cand)
        if density is None:
            yield cand
            continue
        max_chars = int(budget * 0.75 * density)
        part_pieces: list[list[int]] = []
        cuts_inside: list[bool] = []
        parts, inside = split_target(cand.target, cand.cut_points(), max_chars, part_pieces,
                                     cuts_inside)
        known = sizer.known_pieces(cand)
        parts, part_pieces, cuts_inside, inside_again, part_tokens = _split_dense_parts(
            parts, part_pieces, cuts_inside, cand.cut_points(), sizer.limit, sizer.counter,
            known)
        inside += inside_again
        if len(parts) > 1:
            parts, part_pieces, cuts_inside, inside_gone = _merge_small_parts(
                parts, part_pieces, cuts_inside, part_tokens, sizer.limit, sizer.counter)
            inside -= inside_gone
        stats.split_targets += 1
        stats.parts_from_splits += len(parts)
        stats.cuts_inside_items += inside
        # The whole is kept for its context only: the parts hold its text.
        cand.target_chars, cand.target = len(cand.target), ""
        cand.boundaries = []
        offset_bytes = cand.target_start_byte
        # A multi-file target's part is named after the file it begins in (its label and
        # `path`); every part said its whole's first file.
        file_ends = cand.piece_ends if len(cand.paths) > 1 and cand.piece_ends and len(
            cand.piece_ends) == len(cand.paths) else None

        def file_at(offset: int, cand: Candidate = cand,
                    file_ends: list[int] | None = file_ends) -> str:
            return cand.path if file_ends is None else cand.paths[
                min(bisect.bisect_right(file_ends, offset), len(cand.paths) - 1)]

        offset = 0
        for k, part in enumerate(parts):
            nbytes = len(part.encode("utf-8"))
            path = file_at(offset)
            # The end of the part before: of the file it begins in, which is not this part's
            # where this part begins a file (labelled as this part's, half of gitui's parts
            # of module groups named a file whose code was not shown).
            prefix = _tail_lines(parts[k - 1], tail_chars) if k else ""
            prefix_path = file_at(offset - len(prefix)) if prefix else ""
            part_offset = offset
            offset += len(part)
            yield Candidate(
                scale=cand.scale, commit_index=cand.commit_index, path=path,
                paths=cand.paths, kind=cand.kind, name=cand.name, lineage=cand.lineage,
                crate=cand.crate, prefix=prefix,
                prefix_path=prefix_path if prefix_path != path else "",
                target=part, target_start_byte=offset_bytes if offset_bytes >= 0 else -1,
                target_end_byte=offset_bytes + nbytes if offset_bytes >= 0 else -1,
                dependencies=cand.dependencies, part=k, parts=len(parts),
                split_note=_split_note(cuts_inside, k), piece_ends=part_pieces[k], split=True,
                part_offset=part_offset,
                fill=partial(_fill_part, cand, pack_chars, tail_chars if k == 0 else None,
                             k == len(parts) - 1, budget,
                             # A function's (impl block's) parts, the list shared by all:
                             # the code a later part may be widened back into.
                             earlier=(parts, k) if k and cand.scale in ("micro", "small")
                             else None))
            if offset_bytes >= 0:
                offset_bytes += nbytes


def _split_dense_parts(parts: list[str], part_pieces: list[list[int]], cuts_inside: list[bool],
                       boundaries: list[int], limit: float, counter: TokenCounter,
                       known: Sequence[tuple[int, int, int]] = (), start: int = 0
                       ) -> tuple[list[str], list[list[int]], list[bool], int, list[int]]:
    """split_target's parts (with their piece ends, and whether each cut fell inside an item)
    where each part over `limit` tokens is split again by its own characters per token, until
    every part fits or is one line; the cuts inside items this added; each part's tokens.
    Parts sized by their whole's mean went over where the text is denser than that:
    rust-url's IDNA mapping table, 39,582 tokens in a part of a 32,768-token crate budget;
    image's vp8.rs, 18,915 of 16,384. `boundaries`: the whole's item boundaries (line
    indexes); `known`, `start`: see _parts_tokens."""
    tokens = _parts_tokens(parts, start, known, counter)
    if all(n <= limit for n in tokens):
        return parts, part_pieces, cuts_inside, 0, tokens
    new_parts: list[str] = []
    new_tokens: list[int] = []
    new_pieces: list[list[int]] = []
    new_inside: list[bool] = []
    added = 0
    first_line = 0  # of part k, among the lines of `parts`
    offset = start  # of part k, in the whole
    for k, part in enumerate(parts):
        lines = len(part.splitlines(keepends=True))
        sub, sub_pieces, sub_tokens = [part], [part_pieces[k]], [tokens[k]]
        sub_inside: list[bool] = []
        if tokens[k] > limit and lines > 1:
            local = [b - first_line for b in boundaries if first_line < b < first_line + lines]
            pieces_k: list[list[int]] = []
            inside_k: list[bool] = []
            split, cuts = split_target(part, local, max(1, int(len(part) * limit / tokens[k])),
                                       pieces_k, inside_k)
            if len(split) > 1:
                sub, sub_pieces, sub_inside, more, sub_tokens = _split_dense_parts(
                    split, pieces_k, inside_k, local, limit, counter, known, offset)
                added += cuts + more
        new_parts += sub
        new_tokens += sub_tokens
        new_pieces += sub_pieces
        new_inside += sub_inside
        if k < len(parts) - 1:
            new_inside.append(cuts_inside[k])
        first_line += lines
        offset += len(part)
    return new_parts, new_pieces, new_inside, added, new_tokens


def _merge_small_parts(parts: list[str], part_pieces: list[list[int]], cuts_inside: list[bool],
                       tokens: list[int], limit: float, counter: TokenCounter
                       ) -> tuple[list[str], list[list[int]], list[bool], int]:
    """Consecutive parts joined while the join fits `limit` tokens; and how many cuts inside
    items that took away. A dense part split again by its own characters per token left
    what did not fit its new size as parts of their own: gitui's module groups had parts of
    a few tokens (`mod push;`), 66 of 254 under 2% of the budget. `tokens`: each part's
    (_split_dense_parts counted them)."""
    new_parts, new_pieces, new_tokens = [parts[0]], [list(part_pieces[0])], [tokens[0]]
    new_inside: list[bool] = []
    gone = 0
    for k in range(1, len(parts)):
        last = new_parts[-1]
        if new_tokens[-1] + tokens[k] <= limit + 1:  # a join can take a token more
            [joined] = counter.count([last + parts[k]])
            if joined <= limit:
                new_parts[-1] = last + parts[k]
                new_pieces[-1] += [len(last) + end for end in part_pieces[k]]
                new_tokens[-1] = joined
                gone += cuts_inside[k - 1]
                continue
        new_parts.append(parts[k])
        new_pieces.append(list(part_pieces[k]))
        new_tokens.append(tokens[k])
        new_inside.append(cuts_inside[k - 1])
    return new_parts, new_pieces, new_inside, gone


def _parts_tokens(parts: list[str], start: int, known: Sequence[tuple[int, int, int]],
                  counter: TokenCounter) -> list[int]:
    """Exact token counts of consecutive parts of a target, the first beginning at `start`
    in it. `known`: (start, end, tokens) of pieces of the target whose counts add up (a
    multi-file target's files, _TargetSizer.piece_tokens): a part is cut at their edges and
    only what is not a whole known piece is counted (a crate's parts hold mostly files
    counted before; counting every part whole took 1.2 CPU s of image's crate scale)."""
    if not known:
        return counter.count(parts)
    edges = sorted({e for _, e, _ in known} | {s for s, _, _ in known})
    tokens_of = {(s, e): n for s, e, n in known}
    fragments: list[str] = []
    owner: list[int] = []  # the part each fragment is of
    tokens = [0] * len(parts)
    at = start
    for k, part in enumerate(parts):
        end = at + len(part)
        cuts = [at, *edges[bisect.bisect_right(edges, at):bisect.bisect_left(edges, end)], end]
        for a, b in pairwise(cuts):
            n = tokens_of.get((a, b))
            if n is None:
                fragments.append(part[a - at:b - at])
                owner.append(k)
            else:
                tokens[k] += n
        at = end
    for k, n in zip(owner, counter.count(fragments), strict=True):
        tokens[k] += n
    return tokens


_WORD = re.compile(r"\w+")
_IN_TESTS = re.compile(r"(?:^|::)tests?(?:::|$)")  # a module path inside `mod tests`


def _simple_name(sid: str) -> str:
    """The last segment of a symbol id (`.|crate::a::Foo::new` -> `new`)."""
    return sid.rpartition("::")[2].rpartition("|")[2]


def _split_note(cuts_inside: list[bool], part: int) -> str:
    """How part `part` was cut from its whole: at item boundaries, or at a line break inside
    an item where one item alone was too large (at its start, its end or both)."""
    notes = []
    if part > 0 and cuts_inside[part - 1]:
        notes.append("begins inside an item cut at a line break")
    if part < len(cuts_inside) and cuts_inside[part]:
        notes.append("ends inside an item cut at a line break")
    return "; ".join(notes) or "split at item boundaries"


def _fill_part(whole: Candidate, pack_chars: int, prefix_chars: int | None, last: bool,
               budget: int, part: Candidate, earlier: tuple[list[str], int] | None = None
               ) -> None:
    """A part's context: its whole's (completed now if it was not), the pack cut to
    `pack_chars`; the first part (`prefix_chars` given) gets the tail of the code before the
    whole, the last the code after it. A part gets a pack and type facts of its own
    (Candidate.repack) in three quarters of what the budget leaves it, halved for a part of
    a function or impl block, whose code around takes the rest: the code before the whole
    and, for a later part (`earlier`: the whole's parts and this one's index), the parts
    before it."""
    whole.complete()
    part.pack = whole.pack if len(whole.pack) <= pack_chars else _head_lines(
        whole.pack, pack_chars)
    part.header, part.facts, part.rustdoc_used = whole.header, whole.facts, whole.rustdoc_used
    # What the part names of what its whole references (fd's build_app: each of its parts
    # listed all of the function's dependencies).
    words = set(_WORD.findall(part.target))
    if earlier is not None:  # a later part of a function or impl block: its signature too
        first = earlier[0][0]
        words.update(_WORD.findall(first[:first.find("{")] if "{" in first else first))
    part.dependencies = [sid for sid in whole.dependencies
                         if _simple_name(sid).removeprefix("r#") in words]
    if prefix_chars is not None:
        part.prefix = _tail_lines(whole.prefix, prefix_chars)
    if last:
        part.suffix = whole.suffix
    if whole.repack is not None:
        # A quarter held back: text denser than the estimate overran, and the cut that
        # followed took the part's code-before (and its file label) first (nom: 39 of 135
        # crate parts after the first showed none).
        left = (budget - _est_tokens(part.target) - _est_tokens(whole.header) - _est_tokens(
            part.prefix) - _est_tokens(part.suffix)) * 3 // 4
        if whole.around is not None:
            left //= 2  # the rest for the code around the part, widened into it
        # A file-level part's code-before is the end of the part before it: what it shows
        # is not repeated in the pack (nom, axum: 29 and 53 parts showed a definition in
        # both).
        shown = part.target if whole.around is not None else f"{part.prefix}\n{part.target}"
        (part.pack, part.header, part.facts, part.rustdoc_used,
         part.own_in_pack) = whole.repack(shown, max(left, _est_tokens(part.pack)),
                                          part.target, part.part_offset)
    if whole.around is not None:
        # The code before a part (the function's before it too) and the code after the last,
        # widened into what the part leaves unused (_widen): the first part of a split
        # function had a median of 760 to 917 tokens unused, and a middle part of fd's
        # build_app 911 of 2,048 with 152 tokens of code before it.
        before = whole.around.before if prefix_chars is not None else ""
        if earlier is not None:
            parts, k = earlier
            before = _tail_lines(whole.around.before + "".join(parts[:k]),
                                 _AROUND_TOKENS * _AROUND_CHARS_PER_TOKEN)
        part.around = _Around(before, whole.around.after if last else "", len(part.prefix),
                              len(part.suffix))
    part.shown_elsewhere = whole.shown_elsewhere
    _restore_shown(part)
    _hide_shown(part)  # what the part's own pack holds and its code before shows


_FN_NAME = re.compile(r"\bfn \w+")
_EMPTY_BLOCK = re.compile(r"\{\s*\}\s*\Z")  # a block with nothing in it, ending the text
# Packer.piece's `impl X { fn f(); }` and `impl X { pub const A: Self = Self { x: 0 }; }`:
# the member from its keyword (a greedy head had taken the const's value for its header).
# A trait's provided method ends in its elided body instead of `;`.
_OWNED_SIGNATURE = re.compile(
    r".*? \{ ((?:#!?\[.*?\] )*(?:pub(?:\([^)]*\))? )?"
    r"(?:(?:const|async|unsafe|extern|default)\b[^{;]*?)?(?:fn|const|type|static)\b.*?"
    r"(?:;| \{ /\* … \*/ \})) \}")


# lazy_static!'s `static ref NAME: T = …;`, shown in its macro (Packer.piece).
_LAZY_STATIC = re.compile(r"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?static[ \t]+ref[ \t]", re.MULTILINE)
_LAZY_STATIC_HEAD = "lazy_static! {\n"


def _view_key(piece: str) -> str:
    """What the code around a target holds where it shows the definition of a pack's
    `piece` (Packer.piece): a function's signature less its `;` (the pack's one-line
    signature never stood in the code, so futures-rs showed `pub fn pending<T>() ->
    Pending<T>;` above the whole function in 1,110 of its 9,187 function samples); any other
    definition from its first line that is neither a doc comment nor an attribute (code
    before the target that began inside a doc comment did not count: 123 showed a struct
    twice)."""
    if piece.startswith(_LAZY_STATIC_HEAD) and piece.endswith("\n}"):
        piece = piece[len(_LAZY_STATIC_HEAD):-2]  # the static as the code shows it
    if "\n" not in piece:
        owned = _OWNED_SIGNATURE.fullmatch(piece)
        if owned is not None:
            member = owned.group(1)
            return member.removesuffix(_ELIDED_BODY) if member.endswith("}") else member[:-1]
        if piece.endswith(";"):
            return piece[:-1]
    # From the item's first character, as its text starts: a piece of an item inside a
    # block is indented as the file is (_with_own_indentation), which the code around
    # shows too, or as it guessed.
    return _without_leading_docs(piece)


# The head of an item-level macro invocation (`bitflags! {`, `enum_builder!{`).
_MACRO_HEAD = re.compile(r"[\w:]+!\s*[{(\[]")


def _in_view(piece: str, prefix: str, suffix: str) -> bool:
    """Whether the code around a target shows the definition of the pack's `piece`: whole
    in either, or from its first line in the code before, which then shows all of it up to
    the target (the trait or impl block that holds the target, the rest of which follows
    it: warp's trait-method samples showed their trait in the pack too, 45 of 87)."""
    key = _view_key(piece)
    first = key.partition("\n")[0]
    if _MACRO_HEAD.match(first):
        # A type a macro invocation makes (`bitflags! {`): the code around shows this one
        # only where it shows it whole, not where it shows another invocation of the macro.
        return key in prefix or key in suffix
    if key in suffix or (first in prefix if first != key else key in prefix):
        return True
    # A trait whose provided bodies the pack leaves out (_without_provided_bodies) stands
    # in the code after as written: each of its lines in order, up to its closing one (the
    # code after may end at its head: the rest had then been shown nowhere).
    if first != key and _ELIDED_BODY.strip() in key:
        at = suffix.find(first)
        for line in key.split("\n")[1:] if at >= 0 else ():
            at = suffix.find(line.partition(_ELIDED_BODY.strip())[0].strip(), at)
            if at < 0:
                break
        return at >= 0
    # A signature the code writes over several lines (`where` clauses, long parameter
    # lists), as one line: futures-rs's `fn lock_and_then<…>(…) -> … where F: …;`.
    named = _FN_NAME.search(key) if first == key else None
    return named is not None and any(
        named.group(0) in code and key in one_line_code(code) for code in (prefix, suffix))


def _hide_shown(cand: Candidate) -> None:
    """Take out of the pack each definition of the target's file (Candidate.own_in_pack)
    that the code around the target shows: kept, as _restore_shown's, for a cut to put
    back."""
    in_view = [(piece, block) for piece, block in cand.own_in_pack
               if _in_view(piece, cand.prefix, cand.suffix)]
    for piece, _ in in_view:
        cand.pack = _drop_from_pack(cand.pack, piece, cand.path)
    if in_view:
        cand.shown_elsewhere = [*cand.shown_elsewhere, *in_view]
        cand.own_in_pack = [entry for entry in cand.own_in_pack if entry not in in_view]


def _new_parts(candidates: Iterator[Candidate], budget: int, stats: ScaleStats,
               counter: TokenCounter,
               recurred: Callable[[list[str], Candidate], None] | None = None
               ) -> Iterator[tuple[Candidate, list[str]]]:
    """The parts of each candidate, with the list their outcome goes to. A text seen before in
    this scale (a file unchanged between snapshots, a function changed back, a part of a
    split file) is counted again without being filtered or hashed: it meets the same filter
    as before or is an exact duplicate of itself then. An oversized target seen before with
    the same split points is not split again: its parts are the same, counted again.
    `recurred(outcomes, candidate)`: told of each whole (unsplit) candidate whose text was
    seen before, with the outcome list of that text's first candidate."""
    seen: dict[bytes, list[str]] = {}  # target digest -> what became of it
    # (target, split points) digest -> (cuts inside items, what became of each part)
    splits: dict[bytes, tuple[int, list[list[str]]]] = {}
    sizer = _TargetSizer(budget, counter)
    for cand in candidates:
        whole_key = _target_key(cand)
        oversized = sizer.density(cand, whole_key) is not None
        parts: Iterator[Candidate] = iter([cand])
        if oversized:
            # Where it is split depends on its items' rows (a text not found falls back to a
            # row's recorded line), not on the text alone.
            digest = hashlib.blake2b(whole_key, digest_size=16)
            digest.update(repr(cand.cut_points()).encode("ascii"))
            split_key = digest.digest()
            before_split = splits.get(split_key)
            if before_split is not None:
                inside, part_outcomes = before_split
                stats.split_targets += 1
                stats.parts_from_splits += len(part_outcomes)
                stats.cuts_inside_items += inside
                for part_outcome in part_outcomes:
                    stats.produced += 1
                    stats.dropped.update(part_outcome)
                continue
            inside_before = stats.cuts_inside_items
            part_outcomes = []
            parts = _split_candidates(iter([cand]), budget, stats, sizer)
        for part in parts:
            key = _target_key(part) if oversized else whole_key
            outcomes = seen.get(key)
            if outcomes is None:
                outcomes = seen[key] = []
                yield part, outcomes  # filled by the caller before the next part is asked for
            else:  # met the same filter as before, or an exact duplicate of itself then
                stats.produced += 1
                stats.dropped.update(outcomes)
                if recurred is not None and not oversized:
                    recurred(outcomes, part)
            if oversized:
                part_outcomes.append(outcomes)
        if oversized:
            splits[split_key] = (stats.cuts_inside_items - inside_before, part_outcomes)


KEPT_SHINGLES = 2_000_000  # shingle hashes of kept targets cached per scale (16 MB)


def _run_scale(scale: str, candidates: Iterator[Candidate], history: History,
               commit_split: list[str], config: SampleConfig, counter: TokenCounter,
               repo_label: str, staging: Path, redactions: Counter[str],
               inline_tokens: Counter[str], info: RepoInfo, progress: bool,
               live: dict[int, array[int]]) -> ScaleStats:
    """`live`: the rows alive at each snapshot (the file-level scales' train files' items
    are hashed for _contained_leaks)."""
    stats = ScaleStats()
    budget = dict(zip(schema.SCALES, config.budgets, strict=True))[scale]
    # Candidates arrive newest first, so the first of a set of duplicates seen is the one kept
    # (the newest version) and only survivors are held in memory, their targets in a file
    # until written (bevy's crate scale: 270 MiB of survivors' targets per process).
    kept: list[Candidate] = []
    kept_targets = _TextColumn((), staging)
    seen_hashes: set[str] = set()
    index = NearDuplicateIndex(config.near_threshold, config.num_perm, config.shingle)
    checks = PieceChecks(config.filters)  # filters and the exact-duplicate hash
    earliest = _day_start(config.earliest_commit)
    signatures: dict[int, Any] = {}
    # Targets that are neither filtered nor exact duplicates wait here to be signed in a
    # batch; they then meet the index in the order they came.
    unsigned: list[Candidate] = []
    unsigned_keys: list[str] = []  # each one's exact-duplicate hash
    unsigned_chars = 0

    # A text that recurs unchanged at older snapshots (or commits) is the version it has
    # been since the oldest of them: its sample is taken there (its split, commit and
    # context), not at the newest. Taken at the newest, every file the history's last
    # snapshot holds was a test sample and its older copies exact duplicates: ripgrep's
    # module files were 45% test against a test fraction of 10%, and the long-stable code
    # left training. A function or impl block too, since 0.1.37: a merge of the main branch
    # into a feature branch, diffed against its first parent, adds again what the main
    # branch changed (async-std: 1,272 of its 1,724 function samples were such replays,
    # 330 of 455 valid ones text first written in a train commit). By exact-duplicate hash:
    # the whole candidate standing for it while it is pending or kept, with its
    # _target_key (equal for the same text), and its oldest recurrence of the same text
    # and paths (take_older).
    standing: dict[str, tuple[Candidate, bytes]] = {}
    oldest: dict[str, Candidate] = {}
    hash_of: dict[int, str] = {}  # id() of a standing text's outcome list -> its hash

    def take_older(key: str, cand: Candidate) -> None:
        first, _ = standing[key]
        # The same file, or, for a function or impl block, the same item in a moved file
        # (its lineage follows renames: axum's from_request.rs, moved to from_request/
        # mod.rs, then an edit reverted there).
        # Never back to before the earliest day (rust-postgres: 15 samples of texts kept
        # unchanged across Rust 1.0 had gone back to their pre-1.0 commits).
        if (cand.paths == first.paths or (cand.scale in ("micro", "small")
                                           and cand.lineage == first.lineage)) and \
                cand.commit_index < oldest.get(key, first).commit_index and \
                history.commit_time[cand.commit_index] >= earliest:
            cand.target = ""  # the first's text, read back when written
            cand.piece_ends = cand.piece_keys = None
            cand.find_boundaries = None
            oldest[key] = cand

    def recurred(outcomes: list[str], cand: Candidate) -> None:
        """A whole text seen before, not passed on by _new_parts: the same text as the
        candidate whose outcomes these are."""
        key = hash_of.get(id(outcomes))
        if key is not None and key in standing:
            take_older(key, cand)

    # Shingle sets of kept targets lately compared exactly (a function's many versions meet
    # the same kept one), by kept index, up to KEPT_SHINGLES hashes in all; a kept target
    # that was compared exactly as a candidate brings its set along.
    kept_sets: OrderedDict[int, np.ndarray] = OrderedDict()
    kept_set_sizes = [0]

    def remember(row: int, shingles: np.ndarray) -> None:
        kept_sets[row] = shingles
        kept_set_sizes[0] += len(shingles)
        while kept_set_sizes[0] > KEPT_SHINGLES and len(kept_sets) > 1:
            kept_set_sizes[0] -= len(kept_sets.popitem(last=False)[1])

    def kept_set(row: int) -> np.ndarray:
        if row in kept_sets:
            kept_sets.move_to_end(row)
            return kept_sets[row]
        found = shingle_set(kept_targets[row], config.shingle)
        remember(row, found)
        return found

    def near_dedup(index: NearDuplicateIndex) -> None:
        for cand, sig, key in zip(unsigned, index.signatures([c.target for c in unsigned],
                                                             [c.piece_ends for c in unsigned],
                                                             [c.piece_keys for c in unsigned]),
                                  unsigned_keys, strict=True):
            own: list[np.ndarray] = []  # the candidate's shingle set, once needed

            def exact(other: str, text: str = cand.target, own: list[np.ndarray] = own
                      ) -> float:
                if not own:
                    own.append(shingle_set(text, config.shingle))
                stats.exact_comparisons += 1
                return exact_jaccard(own[0], kept_set(int(other)))

            cand.piece_ends = cand.piece_keys = None
            # Split (or not) already: a file-level target's split points hold its files'
            # texts, which kept candidates would otherwise hold to the scale's end (bevy's
            # module groups: 74 MiB of texts from many snapshots).
            cand.find_boundaries = None
            if not index.insert_unless_near(str(len(kept)), sig, exact):
                stats.dropped["near_duplicate"] += 1
                standing.pop(key, None)
                oldest.pop(key, None)
                continue
            if own:
                remember(len(kept), own[0])
            signatures[len(kept)] = sig
            kept.append(cand)
            kept_targets.append(cand.target)
            cand.target = ""  # read back when written
        unsigned.clear()
        unsigned_keys.clear()

    for cand, outcomes in progress_bar(_new_parts(candidates, budget, stats, counter,
                                                  recurred),
                                       desc=f"samples {scale}", unit="sample",
                                       disable=not progress):
        stats.produced += 1
        if history.commit_time[cand.commit_index] < earliest:
            stats.dropped["before_rust_1_0"] += 1
            outcomes.append("before_rust_1_0")
            continue
        if cand.piece_ends is not None and cand.piece_keys is None:  # digested once, here
            cand.piece_keys = piece_digests(cand.target, cand.piece_ends)
        reason, key = checks.reason_and_key(cand.target, cand.piece_ends, cand.piece_keys)
        if reason is not None:
            stats.dropped[reason] += 1
            outcomes.append(reason)
            continue
        assert key is not None  # a kept text has its hash
        outcomes.append("exact_duplicate")  # what this part is when its candidate recurs
        whole = not cand.split  # as _new_parts tells `recurred` of
        if key in seen_hashes:
            stats.dropped["exact_duplicate"] += 1
            # The same text again (where _new_parts passes recurrences on, as a test does)
            if whole and key in standing and standing[key][1] == _target_key(cand):
                take_older(key, cand)
            continue
        seen_hashes.add(key)
        unsigned.append(cand)
        unsigned_keys.append(key)
        if whole:
            standing[key] = (cand, _target_key(cand))
            hash_of[id(outcomes)] = key
        unsigned_chars += len(cand.target)
        if len(unsigned) >= index.BATCH_TEXTS or unsigned_chars >= index.BATCH_CHARS:
            near_dedup(index)
            unsigned_chars = 0
    near_dedup(index)
    if oldest:
        slot = {id(cand): i for i, cand in enumerate(kept)}
        for key, older in oldest.items():
            kept[slot[id(standing[key][0])]] = older
        stats.taken_at_older_snapshot = len(oldest)
    standing.clear()
    oldest.clear()
    hash_of.clear()
    survivors = list(range(len(kept)))

    # Leakage: no test (or valid) target may be a near-duplicate of a train target. LSH can
    # miss a pair just above the threshold, so this check finds every pair whose MinHash
    # estimate reaches it (SignatureMatches: exact, through a band index), and, since the
    # estimate can also fall short of a pair's true similarity, every pair whose shingle sets
    # reach it among those whose estimate comes within DROP_MARGIN of it. What is written is
    # checked again by exact Jaccard over a wider band of estimates (CHECK_MARGIN): what that
    # finds was missed. Exact comparisons are of the redacted texts, as written (_leaks). Both
    # from one listing of pairs.
    split_of = {i: commit_split[kept[i].commit_index] for i in survivors}
    train_ids = [i for i in survivors if split_of[i] == "train"]
    held_out = [i for i in survivors if split_of[i] != "train"]
    leaked, after, compared = _leaks(held_out, train_ids, kept_targets, signatures, config,
                                     [split_of[i] == "test" for i in held_out])
    leaks: Counter[str] = Counter()
    final: list[int] = []
    for i in survivors:
        if i in leaked:
            leaks[split_of[i]] += 1
            stats.dropped[f"{split_of[i]}_near_duplicate_of_train"] += 1
            continue
        final.append(i)
    stats.leakage = {"test_dropped": leaks["test"], "valid_dropped": leaks["valid"],
                     "test_near_duplicates_of_train_after": len(after),
                     "test_train_pairs_compared_exactly": compared}

    final.sort(key=lambda i: (kept[i].commit_index, kept[i].lineage, kept[i].part))
    del index  # dedup is done: free its memory
    # What the cross-scale check needs of each row written: its signature, listed with the
    # row's id and split (_ScaleSignatures).
    final_signatures = {i: signatures[i].hashvalues for i in final}
    signatures.clear()
    written: list[tuple[str, str]] = []
    written_signatures: list[np.ndarray] = []
    by_split: dict[str, list[int]] = defaultdict(list)
    for i in final:
        by_split[commit_split[kept[i].commit_index]].append(i)
    # Rendered a batch at a time (the rendered texts of a long history's samples are GBs);
    # each file holds up to FILE_ROWS rows of one split, in row groups of a batch each.
    context_chars = int(budget * CHARS_PER_TOKEN_ESTIMATE)
    for split, ids in by_split.items():
        cands = [kept[i] for i in ids]
        target_sizes = [kept_targets.nbytes(i) for i in ids]
        stats.splits[split] = len(cands)
        stats.kept += len(cands)
        for start in range(0, len(cands), _FILE_ROWS):
            path = staging / split / f"{scale}-{start // _FILE_ROWS:05d}.parquet"
            with pq.ParquetWriter(path, schema.SAMPLES) as writer:
                for at, end in _batches(target_sizes, start,
                                        min(start + _FILE_ROWS, len(cands)), context_chars):
                    batch = cands[at:end]
                    for i, cand in zip(ids[at:end], batch, strict=True):
                        cand.target = kept_targets[i]
                        cand.complete()  # context made and redacted for survivors only
                        cand.target = redact(cand.target, redactions)
                        cand.pack = redact(cand.pack, redactions)
                        cand.prefix = redact(cand.prefix, redactions)
                        cand.suffix = redact(cand.suffix, redactions)
                        # Definitions a cut may put back into the pack, or widening take out
                        # of it, compared with the redacted code around: redacted as well
                        # (one with an e-mail address went back into the pack unredacted).
                        # Copies of text counted where it is shown: not counted again.
                        cand.shown_elsewhere = _redacted_blocks(cand.shown_elsewhere)
                        cand.own_in_pack = _redacted_blocks(cand.own_in_pack)
                    rows = _rows(scale, batch, history, commit_split, config, counter,
                                 repo_label, stats, inline_tokens, budget, redactions,
                                 info.roots)
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema.SAMPLES))
                    written.extend((row["id"], row["split"]) for row in rows)
                    written_signatures.extend(final_signatures.pop(i) for i in ids[at:end])
                    for cand in cands[at:at + len(rows)]:  # rendered and written: let go
                        cand.pack = cand.prefix = cand.suffix = cand.target = cand.header = ""
                        cand.find_boundaries = cand.repack = None
                        cand.own_in_pack = cand.shown_elsewhere = []
    if scale in ("medium", "large", "full"):
        atomic_write_bytes(staging / _SCALE_CONTAINED.format(scale), _contained_hashes(
            history, [(kept[i].commit_index, kept[i].paths) for i in by_split["train"]], live
        ).tobytes())
    kept.clear()
    _ScaleSignatures.of(written, written_signatures).save(staging, scale)
    return stats


def _text_key(text: str) -> int:
    """64 bits of a text's whitespace-normalised hash (the exact-duplicate rule's)."""
    return int(normalised_hash(text)[:16], 16)


def _contained_hashes(history: History, files: list[tuple[int, list[str]]],
                      live: dict[int, array[int]]) -> np.ndarray:
    """The _text_key of each function, method and impl block in the files of samples
    (commit index, paths: snapshots'), redacted as written targets are, sorted and unique.
    `live`: the rows alive at each snapshot."""
    by_commit: dict[int, set[str]] = defaultdict(set)
    for commit_index, paths in files:
        by_commit[commit_index].update(paths)
    if not by_commit:
        return np.zeros(0, dtype=np.uint64)
    col = history.col
    rows = sorted({row for commit_index in by_commit for row in live[commit_index]
                   if col["kind"][row] in _CONTAINED_KINDS
                   and col["path"][row] in by_commit[commit_index]})
    texts = col["text"]
    keys: list[int] = []
    unused: Counter[str] = Counter()
    for start in range(0, len(rows), _CONTAINED_BATCH):  # a batch of texts at a time
        batch = rows[start:start + _CONTAINED_BATCH]
        found = texts.many(batch) if isinstance(texts, _TextColumn) else [
            texts[r] for r in batch]
        for text in found:
            # Redacted as the held-out targets compared with them were (a function holding
            # an e-mail address or a password was never found).
            redacted = redact(text, unused)
            keys.append(_text_key(redacted))
            bare = _bare_text(redacted)
            if bare is not redacted:
                keys.append(_text_key(bare))
    return np.unique(np.array(keys, dtype=np.uint64))


# Attribute and comment lines that lead an item's text, then its visibility.
_LEADING_ATTRIBUTES = re.compile(
    r"(?:[ \t]*(?:#\[|//)[^\n]*\n)*[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?")


def _bare_text(text: str) -> str:
    """The text less the attribute and comment lines it begins with and its visibility
    (the text itself where there are none): tokio's `impl FromRawFd for TcpSocket`, moved
    from under `#[cfg(unix)]` into `cfg_unix! { … }`, was a valid target held whole in
    train files; gitui's valid method `fn …`, `///`-documented and `pub` in train files."""
    found = _LEADING_ATTRIBUTES.match(text)
    end = found.end() if found is not None else 0
    return text[end:] if text[:end].strip() else text


_CONTAINED_BATCH = 4096  # texts read at once by _contained_hashes


def _contained_leaks(staging: Path, config: SampleConfig) -> dict[str, tuple[str, str]]:
    """Held-out function and impl-block samples (whole) whose target is, whitespace apart,
    a function or impl block of a file that a train sample of a file-level scale holds, and
    held-out methods whose target lies whole in a train impl-block sample of a block so
    named (`impl Config`, in any file): id -> (scale, split). Jaccard against the whole file
    or block never reaches the threshold (chrono: 22 test functions, moved from date.rs's
    `mod tests` into date/tests.rs, sat verbatim in train module files; prost's
    `Config::fmt_modules`, in a valid sample since its block moved from lib.rs to
    config.rs, in a train sample of the block as in lib.rs)."""
    known = np.concatenate([np.frombuffer(path.read_bytes(), dtype=np.uint64)
                            for scale in ("medium", "large", "full")
                            for path in [staging / _SCALE_CONTAINED.format(scale)]
                            if path.exists()] or [np.zeros(0, dtype=np.uint64)])
    known_set = set(known.tolist())
    inline = config.type_facts == "inline"
    blocks: dict[str, str] | None = None  # impl header -> its train samples' texts
    found: dict[str, tuple[str, str]] = {}
    for split in ("valid", "test"):
        for path in sorted((staging / split).glob("*.parquet")):
            scale = path.name.rsplit("-", 1)[0]
            if scale not in ("micro", "small"):
                continue
            table = pq.read_table(path, columns=["id", "target", "parts", "kind", "lineage"])
            for sid, target, parts, kind, lineage in zip(
                    *(table.column(name).to_pylist() for name in table.column_names),
                    strict=True):
                if parts != 1:
                    continue
                text = strip_inline(target) if inline else target
                bare = _bare_text(text)
                if _text_key(text) in known_set or (
                        bare is not text and _text_key(bare) in known_set):
                    found[sid] = (scale, split)
                elif kind == "method" and "::method:" in lineage:
                    if blocks is None:
                        blocks = _train_impl_texts(staging, inline)
                    # The block's key from the method's, less `::name` (and a `#2`).
                    member = re.sub(r"#\d+$", "", lineage.partition("::method:")[2])
                    header = _block_header("impl:" + member.rpartition("::")[0])
                    if f" {' '.join(text.split())} " in blocks.get(header, ""):
                        found[sid] = (scale, split)
    return found


def _train_impl_texts(staging: Path, inline: bool) -> dict[str, str]:
    """Each impl header's train impl-block samples' targets, whitespace-normalised, joined
    with a space before and after each (word-bounded substring tests)."""
    texts: dict[str, list[str]] = defaultdict(list)
    for path in sorted((staging / "train").glob("small-*.parquet")):
        # The parts of a split block too: a part may hold the method whole.
        table = pq.read_table(path, columns=["target", "lineage"])
        for target, lineage in zip(*(table.column(name).to_pylist()
                                     for name in table.column_names), strict=True):
            header = _block_header("impl:" + lineage.partition("::impl:")[2]) \
                if "::impl:" in lineage else ""
            if header:
                text = strip_inline(target) if inline else target
                texts[header].append(" ".join(text.split()))
    return {header: " " + " \0 ".join(found) + " " for header, found in texts.items()}


def _redacted_blocks(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(piece, block) pairs redacted, not counted: copies of text counted where shown."""
    uncounted: Counter[str] = Counter()
    return [(redact(piece, uncounted), redact(block, uncounted)) for piece, block in blocks]


def _leaks(query_ids: list[int], train_ids: list[int], targets: Sequence[str],
           signatures: dict[int, Any], config: SampleConfig, checked: list[bool]
           ) -> tuple[set[int], set[int], int]:
    """leak_check on survivor ids: (the query ids dropped as near-duplicates of a train id,
    the `checked` ones not dropped that the check still finds, pairs the check compared).
    Texts are compared exactly as they are written, redacted: redaction makes different
    addresses one `<EMAIL>` (clap: a test and a train module file at Jaccard 0.686 as cut
    were 0.706 as written). The estimates are still of the texts as cut: the margins
    leave room for the few shingles redaction changes."""
    if not query_ids or not train_ids:
        return set(), set(), 0
    uncounted: Counter[str] = Counter()  # the written copies are counted when written

    def written(i: int) -> str:
        return redact(targets[i], uncounted)

    dropped, after, compared = leak_check(
        np.stack([signatures[i].hashvalues for i in query_ids]),
        np.stack([signatures[i].hashvalues for i in train_ids]),
        lambda row: written(query_ids[row]), lambda row: written(train_ids[row]),
        config.near_threshold, DROP_MARGIN, CHECK_MARGIN, np.array(checked, dtype=bool),
        config.shingle)
    return ({i for i, d in zip(query_ids, dropped.tolist(), strict=True) if d},
            {i for i, a in zip(query_ids, after.tolist(), strict=True) if a}, compared)


_FILE_ROWS = 20000
_BATCH_ROWS = 2000
# Characters a batch of rows may hold (targets, and contexts as large as the budget allows)
# before it is written: BATCH_ROWS crate-scale rows can be half a GB of text, held several
# times over while rendered (clap's crate scale peaked 125 MiB higher).
_BATCH_CHARS = 32 << 20


def _batches(target_sizes: list[int], start: int, end: int, context_chars: int
             ) -> Iterator[tuple[int, int]]:
    """[at, end) of each batch of rows start..end to render and write together: BATCH_ROWS
    rows at most, and about BATCH_CHARS characters at most (one row at least), counting each
    row's target at its size (`target_sizes`, UTF-8 bytes: at least its characters) and its
    context at `context_chars`, an estimate from the budget."""
    at = start
    while at < end:
        stop, size = at, 0
        while stop < end and stop - at < _BATCH_ROWS and (
                stop == at or size + target_sizes[stop] + context_chars <= _BATCH_CHARS):
            size += target_sizes[stop] + context_chars
            stop += 1
        yield at, stop
        at = stop


def _rows(scale: str, cands: list[Candidate], history: History, commit_split: list[str],
          config: SampleConfig, counter: TokenCounter, repo_label: str, stats: ScaleStats,
          inline_tokens: Counter[str], budget: int, redactions: Counter[str],
          roots: CrateRoots | None = None) -> list[dict[str, Any]]:
    """`roots`: the revision's crate roots, whose package folders give each row's crate_dir."""
    rendered = [_render(c, config.type_facts) for c in cands]
    n = len(rendered)
    counts = counter.count([r.target for r in rendered] + [r.context for r in rendered]
                           + [r.suffix for r in rendered])
    target_tokens, context_tokens, suffix_tokens = counts[:n], counts[n:2 * n], counts[2 * n:]
    befores = list(rendered)
    # The code around a function was sized at 3 characters a token: most code has more
    # (lsd's function samples left a median 604 of 2,048 tokens unused). Widen it by the
    # measured characters per token (the widened ones counted in one batch), then cut what
    # overruns.
    widened: list[int] = []
    for k, (cand, r, tt, ct, st) in enumerate(zip(cands, rendered, target_tokens,
                                                  context_tokens, suffix_tokens, strict=True)):
        if tt + ct + st > budget and tt < budget:
            continue  # cut below
        if cand.around is not None and budget - tt - ct - st >= _WIDEN_MIN_TOKENS:
            per_token = (len(r.context) + len(r.suffix)) / max(1, ct + st)
            if _widen(cand, int((budget - tt - ct - st) * per_token * 0.9), redactions):
                stats.context_widened += 1
                rendered[k] = _render(cand, config.type_facts)
                widened.append(k)
    recounted = counter.count([rendered[k].context for k in widened]
                              + [rendered[k].suffix for k in widened])
    for k, ct, st in zip(widened, recounted[:len(widened)], recounted[len(widened):],
                         strict=True):
        context_tokens[k], suffix_tokens[k] = ct, st
    was_widened = set(widened)
    rows: list[dict[str, Any]] = []
    for k, (cand, r, tt, ct, st) in enumerate(zip(cands, rendered, target_tokens,
                                                  context_tokens, suffix_tokens, strict=True)):
        before = befores[k]
        if tt + ct + st > budget and tt < budget:
            r, ct, st = _fit_context(cand, r, ct, st, budget - tt, config.type_facts, counter)
            if k not in was_widened:  # a widened sample's cut undoes some of its widening
                stats.context_cut += r.context != before.context or r.suffix != before.suffix
        cand.around = None
        if r.target != before.target:
            # Inline mode, skipped while the context held such a token already, and rendered
            # once a cut took it away (or the other way round): its count is another now.
            [tt] = counter.count([r.target])
        if tt + ct + st > budget:
            stats.over_budget += 1
        context, target, suffix, source = r.context, r.target, r.suffix, r.source
        stats.inline_skipped += r.inline_skipped
        inline_tokens.update(r.tokens)
        stats.rustdoc_samples += source == "tree-sitter+rustdoc"
        commit = history.commit_sha[cand.commit_index]
        rows.append({
            "id": _sample_id(repo_label, commit, scale, cand.lineage, cand.paths, cand.part),
            "repo": repo_label,
            "commit": commit,
            "commit_index": cand.commit_index,
            "committed_at": history.commit_time[cand.commit_index],
            "crate": cand.crate,
            "crate_dir": package_dir(cand.path, cand.crate, roots),
            "path": cand.path,
            "paths": cand.paths,
            "scale": scale,
            "kind": cand.kind,
            "name": cand.name,
            "lineage": cand.lineage,
            "part": cand.part,
            "parts": cand.parts,
            "context": context,
            "target": target,
            "suffix": suffix,
            "prefix_span": [0, len(context)],
            "suffix_span": [len(context) + len(target), len(context) + len(target) + len(suffix)],
            "target_start_byte": cand.target_start_byte,
            "target_end_byte": cand.target_end_byte,
            "target_loc": _loc(target),
            "target_tokens": tt,
            "context_tokens": ct,
            # Those defined at the commit: a row's references are resolved as of its last
            # change, and a definition may have gone since without a successor (petgraph's
            # `visit::visit::GraphBase`, its file deleted in 2016, in 2017–2024 crate
            # samples: 33 of 62).
            "dependencies": [sid for sid in cand.dependencies
                             if history.symbol_at(sid, cand.commit_index)],
            "type_facts": config.type_facts,
            "type_facts_source": source,
            "split": commit_split[cand.commit_index],
        })
    return rows


def _stats_json(stats: ScaleStats) -> dict[str, Any]:
    return {
        "produced": stats.produced,
        "kept": stats.kept,
        "dropped": dict(sorted(stats.dropped.items())),
        "splits": dict(stats.splits),
        "split_targets": stats.split_targets,
        "parts_from_splits": stats.parts_from_splits,
        "cuts_inside_items": stats.cuts_inside_items,
        "over_budget": stats.over_budget,
        "context_cut_to_budget": stats.context_cut,
        "context_widened": stats.context_widened,
        "taken_at_older_snapshot": stats.taken_at_older_snapshot,
        "near_duplicate_exact_comparisons": stats.exact_comparisons,
        "leakage": stats.leakage,
        "samples_with_rustdoc_facts": stats.rustdoc_samples,
        "inline_skipped": stats.inline_skipped,
        "not_made": dict(sorted(stats.not_made.items())),
    }


def _sanity(section: dict[str, Any]) -> dict[str, bool]:
    scales = section["scales"]
    return {
        "samples_counts_add_up": all(
            s["produced"] == s["kept"] + sum(s["dropped"].values()) for s in scales.values()),
        "samples_no_test_near_duplicate_of_train": all(
            s["leakage"].get("test_near_duplicates_of_train_after", 0) == 0
            for s in scales.values()),
        "samples_splits_add_up": all(sum(s["splits"].values()) == s["kept"]
                                     for s in scales.values()),
        "samples_nonempty": sum(s["kept"] for s in scales.values()) > 0,
    }


def read_samples(out: Path, split: str | None = None, columns: list[str] | None = None
                 ) -> pa.Table:
    """All samples of a build (or one split) as one table; only `columns` when given (the
    texts are nearly all of a build's samples: clap's are 155 MiB read, 0.4 MiB without them)."""
    folder = out / SAMPLES_DIR
    splits = [split] if split else list(schema.SPLITS)
    tables = [pq.read_table(p, columns=columns, schema=schema.SAMPLES)
              for s in splits for p in sorted((folder / s).glob("*.parquet"))]
    if tables:
        return pa.concat_tables(tables)
    empty = schema.SAMPLES.empty_table()
    return empty.select(columns) if columns is not None else empty

