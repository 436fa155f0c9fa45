"""Parser robustness and an end-to-end build on real crates: the sources of Debian's
librust-*-dev packages in /usr/share/cargo/registry."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_builder.cli import main
from dataset_builder.rust_items import ParsedFile, Previous, new_parser, parse_rust
from tests.dataset_builder.conftest import Commit, make_repo

REGISTRY = Path("/usr/share/cargo/registry")

pytestmark = pytest.mark.skipif(not REGISTRY.is_dir(),
                                reason=f"{REGISTRY} is missing (no librust-*-dev packages)")

MAX_CRATES = 40
# crate name -> item keys (path relative to the crate folder, key) that must be found.
KNOWN_ITEMS = {
    "regex": [("src/re_unicode.rs", "struct:Regex")],
    "serde": [("src/ser/mod.rs", "trait:Serialize"), ("src/de/mod.rs", "trait:Deserialize")],
    # (syn's DeriveInput is declared inside an `ast_struct!` macro call: not an item.)
    "syn": [("src/parse.rs", "trait:Parse")],
    "nom": [("src/bytes/complete.rs", "function:tag")],
    "itertools": [("src/lib.rs", "trait:Itertools")],
}


def crate_dirs() -> dict[str, Path]:
    """Crate name -> its newest version's folder."""
    found: dict[str, Path] = {}
    if not REGISTRY.is_dir():
        return found
    for path in sorted(REGISTRY.iterdir()):
        name = path.name.rsplit("-", 1)[0]
        if path.is_dir():
            found[name] = path
    return found


def rust_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.rs") if p.is_file() and not p.is_symlink())


@pytest.fixture(scope="module")
def parsed_registry() -> dict[Path, ParsedFile]:
    parser = new_parser()
    result: dict[Path, ParsedFile] = {}
    crates = crate_dirs()
    # The known crates and the first others by name: a machine with hundreds of crates
    # installed does not make this test hundreds of times slower.
    chosen = [crates[n] for n in KNOWN_ITEMS if n in crates]
    chosen += [d for n, d in crates.items() if n not in KNOWN_ITEMS][:MAX_CRATES - len(chosen)]
    for crate in chosen:
        for path in rust_files(crate):
            result[path], _ = parse_rust(path.read_bytes(), parser)  # must never raise
    return result


@pytest.mark.slow
def test_every_file_parses_mostly_without_errors(parsed_registry: dict[Path, ParsedFile]) -> None:
    assert len(parsed_registry) > 50
    clean = sum(1 for pf in parsed_registry.values() if not pf.has_errors)
    ratio = clean / len(parsed_registry)
    with_errors = sorted(str(p) for p, pf in parsed_registry.items() if pf.has_errors)
    assert ratio > 0.95, (ratio, with_errors)
    for path, pf in parsed_registry.items():
        size = path.stat().st_size
        for item in pf.items:
            assert 0 <= item.start_byte < item.end_byte <= size, (path, item.key)
            assert item.start_line <= item.end_line
        assert len({i.key for i in pf.items}) == len(pf.items), path


@pytest.mark.slow
def test_known_items_found(parsed_registry: dict[Path, ParsedFile]) -> None:
    dirs = crate_dirs()
    present = [name for name in KNOWN_ITEMS if name in dirs]
    if not present:
        pytest.skip("none of regex, serde, syn, nom, itertools is installed")
    for name in present:
        crate = dirs[name]
        total = sum(len(parsed_registry[p].items) for p in rust_files(crate))
        assert total > 100, (name, total)
        for rel, key in KNOWN_ITEMS[name]:
            keys = {i.key for i in parsed_registry[crate / rel].items}
            assert key in keys, (name, rel, key)


def _top_level_spans(pf: ParsedFile) -> list[tuple[int, int]]:
    return [(i.start_byte, i.end_byte) for i in pf.items if not i.parent and not i.module]


def _edit_test_files() -> list[Path]:
    """Source files of the crates the incremental-parse tests edit (skips when none)."""
    dirs = crate_dirs()
    files = [p for name in ("itertools", "regex", "nom", "serde", "either") if name in dirs
             for p in rust_files(dirs[name] / "src")]
    if not files:
        pytest.skip("no suitable crate installed")
    return files


@pytest.mark.slow
def test_incremental_parse_of_member_edits_on_real_files() -> None:
    """Edits inside impl, trait and mod bodies (a method deleted, duplicated, renamed or its
    body changed; a member inserted): members untouched by the edit are carried over, and the
    result still equals a fresh parse."""
    files = _edit_test_files()
    rng = random.Random(11)
    parser = new_parser()
    checked = 0
    for path in rng.sample(files, min(40, len(files))):
        src = path.read_bytes()
        parsed, tree = parse_rust(src, parser)
        previous = Previous(src, tree, parsed)
        for _ in range(4):
            text = previous.source
            members = [i for i in previous.parsed.items if i.parent or i.module]
            if not members:
                break
            item = rng.choice(members)
            start, end = item.start_byte, item.end_byte
            op = rng.randrange(5)
            if op == 0:
                new = text[:start] + text[end:]
            elif op == 1:
                new = text[:end] + b"\n" + text[start:end] + text[end:]
            elif op == 2:
                new = text[:start] + b"fn inserted_member(&self) -> u8 { MAX }\n" + text[start:]
            elif op == 3 and item.name and item.name.encode() in text[start:end]:
                at = text.index(item.name.encode(), start)
                new = text[:at] + b"renamed_" + text[at:]
            else:
                middle = (start + end) // 2
                new = text[:middle] + b" x " + text[middle:]
            incremental, tree = parse_rust(new, parser, previous)
            fresh, _ = parse_rust(new, new_parser())
            assert incremental == fresh, (path, op, item.key)
            previous = Previous(new, tree, incremental)
            checked += 1
    assert checked >= 40


@pytest.mark.slow
def test_incremental_parse_on_real_files() -> None:
    """Item-level edits of real files (delete, duplicate, insert, edit a body): the
    incremental parse equals a fresh one."""
    files = _edit_test_files()
    rng = random.Random(7)
    parser = new_parser()
    checked = 0
    for path in rng.sample(files, min(25, len(files))):
        src = path.read_bytes()
        parsed, tree = parse_rust(src, parser)
        spans = _top_level_spans(parsed)
        if len(spans) < 3:
            continue
        previous = Previous(src, tree, parsed)
        for _ in range(4):
            text = previous.source
            spans = _top_level_spans(previous.parsed) or [(0, 0)]
            start, end = rng.choice(spans)
            op = rng.randrange(4)
            if op == 0:
                new = text[:start] + text[end:]
            elif op == 1:
                new = text[:end] + b"\n" + text[start:end] + text[end:]
            elif op == 2:
                new = text[:start] + b"pub fn inserted_fn() -> u8 { MAX }\n" + text[start:]
            else:
                middle = (start + end) // 2
                new = text[:middle] + b" " + text[middle:]
            incremental, tree = parse_rust(new, parser, previous)
            fresh, _ = parse_rust(new, new_parser())
            assert incremental == fresh, (path, op, start, end)
            previous = Previous(new, tree, incremental)
            checked += 1
    assert checked >= 40


@pytest.mark.slow
def test_incremental_parse_of_several_edits_at_once_on_real_files() -> None:
    """Two to four item-level edits in one version, at random places of real files (several
    hunks in one incremental parse): the result equals a fresh parse."""
    files = _edit_test_files()
    rng = random.Random(5)
    parser = new_parser()
    checked = 0
    for path in rng.sample(files, min(30, len(files))):
        src = path.read_bytes()
        parsed, tree = parse_rust(src, parser)
        spans = sorted({(i.start_byte, i.end_byte) for i in parsed.items})
        if len(spans) < 6:
            continue
        chosen = sorted(rng.sample(spans, rng.randrange(2, 5)), reverse=True)
        new, last_start = src, len(src) + 1
        for start, end in chosen:  # from the end, so earlier offsets stay valid
            if end > last_start:
                continue  # nested in an item edited already
            op = rng.randrange(3)
            if op == 0:
                new = new[:start] + new[end:]
            elif op == 1:
                new = new[:start] + b"fn added_here() -> u8 { 1 }\n" + new[start:]
            else:
                middle = (start + end) // 2
                new = new[:middle] + b"\n x \n" + new[middle:]
            last_start = start
        incremental, _ = parse_rust(new, parser, Previous(src, tree, parsed))
        fresh, _ = parse_rust(new, new_parser())
        assert incremental == fresh, (path, chosen)
        checked += 1
    assert checked >= 15


@pytest.mark.slow
def test_mine_a_real_crate_history(tmp_path: Path) -> None:
    dirs = crate_dirs()
    name = next((n for n in ("itertools", "nom", "regex", "either") if n in dirs), None)
    if name is None:
        pytest.skip("no suitable crate installed")
    crate = dirs[name]
    sources = {str(p.relative_to(crate)): p.read_bytes() for p in rust_files(crate / "src")}
    paths = sorted(sources)
    lib = "src/lib.rs"
    rest = [p for p in paths if p != lib]
    third = len(rest) // 3
    batches = [[lib, *rest[:third]], rest[third : 2 * third], rest[2 * third :]]
    steps = [Commit(f"import part {i + 1}", write={p: sources[p] for p in batch})
             for i, batch in enumerate(batches)]
    # A last commit edits lib.rs and renames one module file.
    renamed = rest[0]
    steps.append(Commit("edit and rename", write={
        lib: sources[lib] + b"\n/// Added later.\npub fn added_later() -> usize { 42 }\n"},
        rename={renamed: renamed.replace(".rs", "_renamed.rs")}))
    repo = make_repo(tmp_path / name, steps)

    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["counts"]["commits"] == 4
    assert all(m["sanity"].values()), m["sanity"]
    assert m["counts"]["item_rows"] > 300
    assert m["counts"]["references_resolved"] > 100
    assert m["dag"]["edges"] >= 1
    assert m["module_graph"]["nodes"] >= 5
    items = pq.read_table(out / "items.parquet").to_pylist()
    last = repo.order[-1]
    changes = {(r["key"], r["change"]) for r in items if r["commit"] == last}
    assert ("function:added_later", "added") in changes
    assert any(change == "moved" for _, change in changes)
    moved = [r for r in items if r["commit"] == last and r["change"] == "moved"]
    first_rows = {r["lineage"] for r in items if r["commit"] == repo.order[0]}
    assert all(r["lineage"] in first_rows for r in moved)
    assert not list(out.glob(".work-*"))
    shutil.rmtree(repo.path)
