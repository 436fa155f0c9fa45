"""Arrow schemas of the tables the dataset builder writes (the contract with later stages)."""

from __future__ import annotations

import sys

import pyarrow as pa

_STR = pa.string()
_INT = pa.int64()
_STRS = pa.list_(pa.string())

COMMITS = pa.schema([
    ("sha", _STR),
    ("index", _INT),  # position in processing order (oldest first, parents before children)
    ("parents", _STRS),
    ("is_merge", pa.bool_()),
    ("author", _STR),
    ("authored_at", _INT),  # Unix seconds
    ("committed_at", _INT),
    ("subject", _STR),
    ("rs_changes", _INT),  # .rs files added, modified, deleted or renamed (incl. skipped ones)
    ("items_added", _INT),
    ("items_modified", _INT),
    ("items_removed", _INT),
    ("items_moved", _INT),
    ("files_with_errors", _INT),
    # commits.parquet also has "dag_order" (int): the commit's place in the DAG's dependency
    # order, added once the DAG is complete (build._graphs)
])

FILES = pa.schema([
    ("commit", _STR),
    ("commit_index", _INT),
    ("status", _STR),  # A, M, D, R, T (merges: against the first parent; see merge_sync)
    ("path", _STR),
    ("old_path", _STR),
    ("old_blob", _STR),
    ("new_blob", _STR),
    ("similarity", _INT),  # rename score
    # A merge's file that its first-parent diff does not name, changed from the walk's
    # version to the merge's (another line of history had changed it; mine.with_merge_sync)
    ("merge_sync", pa.bool_()),
    ("skip_reason", _STR),  # "" when mined
    ("parse_errors", _INT),  # tree-sitter ERROR/MISSING nodes; the file is still mined
    ("size", _INT),
    ("items_added", _INT),
    ("items_modified", _INT),
    ("items_removed", _INT),
    ("items_moved", _INT),
])

ITEMS = pa.schema([
    ("commit", _STR),
    ("commit_index", _INT),
    ("committed_at", _INT),
    ("path", _STR),
    ("old_path", _STR),
    # added | modified | removed | moved (unchanged, in a renamed file or a renumbered block)
    ("change", _STR),
    ("kind", _STR),
    ("name", _STR),
    ("key", _STR),  # unique within the file
    ("lineage", _STR),  # the same for every version of an item, across file renames
    ("crate", _STR),
    ("module", _STR),
    ("parent", _STR),  # key of the enclosing impl or trait
    ("symbol", _STR),  # "<crate>|<absolute path>" for items others can reference
    ("start_byte", _INT),
    ("end_byte", _INT),
    ("start_line", _INT),
    ("end_line", _INT),
    ("signature", _STR),
    ("generics", _STR),
    ("trait_bounds", _STRS),
    ("where_clause", _STR),
    ("lifetimes", _STRS),
    # Names as written (impl/trait/mod blocks: their header's only); a method call is
    # `.name`, or `Type.name` where its receiver was declared with a type (`Self.name`),
    # `Type.field.name` on a field of one (`Self.io.flush`).
    ("references", _STRS),
    ("resolved", _STRS),  # symbol ids they resolved to at this commit
    ("doc", _STR),
    ("attributes", _STRS),
    ("visibility", _STR),
    ("self_type", _STR),
    ("trait_name", _STR),
    ("has_error", pa.bool_()),
    ("digest", _STR),
    ("blob", _STR),
    ("text", _STR),  # "" for removed items (the text is in their previous version)
])

MODULES = pa.schema([
    ("snapshot", _STR),  # commit sha of the snapshot
    ("snapshot_index", _INT),
    ("node", _STR),
    ("crate", _STR),
    ("module", _STR),
    ("path", _STR),
    ("order", _INT),  # dependency order within the snapshot (dependencies first)
    ("depends_on", _STRS),  # nodes this module declares or imports
    # A crate's root, or declared by a `mod` (in its parent, a `#[path]`, a shared test
    # module's crate root); an inline module is its file's
    ("declared", pa.bool_()),
])

SCHEMAS = {"commits": COMMITS, "files": FILES, "items": ITEMS, "modules": MODULES}

# Training samples: DATA_DIR/samples/{train,valid,test}/part-*.parquet (the contract with the
# tokenizer, training and analysis stages). The document a model trains on is
# context + target + suffix; FIM moves the target (the "middle") to the end.
SCALES = ("micro", "small", "medium", "large", "full")
SPLITS = ("train", "valid", "test")
# The file a split's folder holds when the split has no samples, so that every split's
# folder reads as a table of the samples' schema.
EMPTY_SPLIT_FILE = "empty.parquet"
TYPE_FACT_MODES = ("header", "inline", "none")

SAMPLES = pa.schema([
    ("id", _STR),  # stable: the same sample gets the same id in every build
    ("repo", _STR),  # repository label (manifest.json "repos" maps it to its path)
    ("commit", _STR),
    ("commit_index", _INT),
    ("committed_at", _INT),  # Unix seconds
    ("crate", _STR),
    ("crate_dir", _STR),  # folder of the crate's Cargo.toml, relative to the repo root ("" = root)
    ("path", _STR),  # file holding the target (several files: the one it begins in)
    ("paths", _STRS),  # every file whose code is in the target, in dependency order
    ("scale", _STR),  # one of SCALES
    ("kind", _STR),  # item kind of the target (function, impl, module, module_group, crate)
    ("name", _STR),
    ("lineage", _STR),  # path + item path, the same across versions and renames
    # Oversized targets are split (item boundaries, then lines): `part` counts from 0, so
    # part 0 of 2 is the one whose context says "part 1 of 2".
    ("part", _INT),
    ("parts", _INT),
    ("context", _STR),  # what the model sees first: type facts, context pack, preceding code
    ("target", _STR),  # what the model must write
    ("suffix", _STR),  # code after the target in its file (FIM suffix; may be "")
    # Spans in characters (Python str indices), not bytes: [start, end) of the context and
    # of the suffix in context+target+suffix.
    ("prefix_span", pa.list_(_INT)),
    ("suffix_span", pa.list_(_INT)),
    ("target_start_byte", _INT),  # target's byte span in `path` at `commit` (-1: several files)
    ("target_end_byte", _INT),
    ("target_loc", _INT),  # non-blank lines of the target
    ("target_tokens", _INT),  # StarCoder2 tokens of the target
    ("context_tokens", _INT),
    ("dependencies", _STRS),  # symbol ids the target references, resolved at `commit`
    ("type_facts", _STR),  # mode the text was rendered in: one of TYPE_FACT_MODES
    ("type_facts_source", _STR),  # "tree-sitter" or "tree-sitter+rustdoc"
    ("split", _STR),  # one of SPLITS
])
SCHEMAS["samples"] = SAMPLES


class _NoPandasFinder:
    """Fails the import of pandas (see `skip_pandas_probe`)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not needed to build arrays from lists")


def skip_pandas_probe() -> None:
    """pyarrow imports pandas (about 0.4 s of CPU) on its first `pa.array`, only to ask
    whether the input is a pandas object; the builder passes lists and numpy arrays. With
    that first probe failed, pyarrow treats lists as lists and does not probe again; an
    explicit pandas conversion (`to_pandas`) still imports pandas then. For the command-line
    process: a library caller keeps pyarrow's default."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandasFinder()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
