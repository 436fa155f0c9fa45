"""End to end: `python -m dataset_builder` on small repositories, re-runs and crash resume."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_builder import mine
from dataset_builder.cli import main
from dataset_builder.schema import SCHEMAS
from tests.dataset_builder.conftest import (
    BASE_DATE,
    HOUR,
    Branch,
    BuiltRepo,
    Checkout,
    Commit,
    Merge,
    git,
    linear_repo,
    make_repo,
)

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("commits", "files", "items", "modules")
OUTPUTS = ("commits.parquet", "files.parquet", "items.parquet", "modules.parquet",
           "dag.graphml", "module_graph.graphml", "manifest.json", "report.md")

POINT = "/// A point.\npub struct Point { pub x: i32, pub y: i32 }\n"
ORIGIN = "\npub fn origin() -> Point { Point { x: 0, y: 0 } }\n"
DIST = ("use crate::point::Point;\n\n"
        "pub fn dist(a: &Point, b: &Point) -> i32 {{ {body} }}\n")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> BuiltRepo:
    return make_repo(tmp_path_factory.mktemp("shapes") / "shapes", [
        Commit("add point", write={
            "src/lib.rs": "pub mod point;\nmod util;\n",
            "src/point.rs": POINT + ORIGIN,
            "src/util.rs": "pub fn clamp(v: i32) -> i32 { v.max(0) }\n",
        }),
        Commit("add geometry", write={
            "src/lib.rs": "pub mod point;\nmod util;\npub mod geo;\n",
            "src/geo.rs": DIST.format(body="(a.x - b.x).abs() + (a.y - b.y).abs()"),
        }),
        Commit("tweak geometry", write={
            "src/geo.rs": DIST.format(body="(a.x - b.x).abs().max((a.y - b.y).abs())"),
        }),
        Commit("rename util", rename={"src/util.rs": "src/helpers.rs"},
               write={"src/lib.rs": "pub mod point;\nmod helpers;\npub mod geo;\n"}),
        Commit("drop origin", write={"src/point.rs": POINT}),
    ])


@pytest.fixture(scope="module")
def shapes_out(shapes: BuiltRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes-out") / "out"
    assert main(["--repo", str(shapes.path), "--out", str(out), "--quiet"]) == 0
    return out


def read_tables(out: Path) -> dict[str, pa.Table]:
    return {name: pq.read_table(out / f"{name}.parquet") for name in TABLES}


def item_rows(out: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(out / "items.parquet").to_pylist()
    return rows


def alive_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest row of each (lineage, key) that is not a removal: what the history holds
    alive after its last commit (bench/alive_items.py counts the same)."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["commit_index"]):
        newest[(r["lineage"], r["key"])] = r
    return [r for r in newest.values() if r["change"] != "removed"]


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    return data


def assert_same_outputs(a: Path, b: Path, manifest_too: bool = True) -> None:
    """The same tables and graphs, and (`manifest_too`, for runs of one configuration) the
    same manifest but for timings and this run's work."""
    tables_a, tables_b = read_tables(a), read_tables(b)
    for name in TABLES:
        assert tables_a[name].num_rows > 0, name
        assert tables_a[name].equals(tables_b[name]), name
    assert (a / "dag.graphml").read_bytes() == (b / "dag.graphml").read_bytes()
    assert (a / "module_graph.graphml").read_bytes() == (b / "module_graph.graphml").read_bytes()
    if manifest_too:
        assert _lasting(manifest(a), a) == _lasting(manifest(b), b)
    else:
        assert manifest(a)["counts"] == manifest(b)["counts"]


def _lasting(found: object, out: Path, key: str = "") -> object:
    """A manifest less what differs from run to run: timings and this run's work (`this_run`:
    a resumed run parses only what was left), and the output folder's path."""
    if isinstance(found, dict):
        return {k: _lasting(v, out, k) for k, v in found.items()
                if k != "this_run" and not k.endswith(("seconds", "_this_run"))}
    if isinstance(found, list):
        return [_lasting(v, out, key) for v in found]
    return found.replace(str(out), "OUT") if isinstance(found, str) else found


# --- a small crate -----------------------------------------------------------------------------


def test_all_outputs_exist(shapes_out: Path) -> None:
    for name in OUTPUTS:
        assert (shapes_out / name).is_file(), name
    assert not list(shapes_out.glob(".work-*"))  # the work folder is removed at the end
    assert not list(shapes_out.glob(".*.tmp"))
    for name in TABLES:
        table = pq.read_table(shapes_out / f"{name}.parquet")
        for field in SCHEMAS[name]:
            assert table.schema.field(field.name).type == field.type, (name, field.name)


def test_commits_table(shapes: BuiltRepo, shapes_out: Path) -> None:
    commits = pq.read_table(shapes_out / "commits.parquet").to_pylist()
    assert [c["sha"] for c in commits] == shapes.order
    assert [c["index"] for c in commits] == list(range(5))
    assert sorted(c["dag_order"] for c in commits) == list(range(5))
    assert [c["subject"] for c in commits] == ["add point", "add geometry", "tweak geometry",
                                               "rename util", "drop origin"]
    assert not any(c["is_merge"] for c in commits)
    assert commits[0]["parents"] == []
    assert commits[1]["parents"] == [shapes.order[0]]


def test_item_changes(shapes: BuiltRepo, shapes_out: Path) -> None:
    rows = item_rows(shapes_out)
    by = {(r["commit"], r["key"], r["change"]): r for r in rows}
    first, second, third, renamed, last = shapes.order
    added = {(r["path"], r["key"]) for r in rows if r["commit"] == first}
    assert added == {("src/lib.rs", "mod:point"), ("src/lib.rs", "mod:util"),
                     ("src/point.rs", "struct:Point"), ("src/point.rs", "function:origin"),
                     ("src/util.rs", "function:clamp")}
    assert all(r["change"] == "added" for r in rows if r["commit"] == first)

    point = by[(first, "struct:Point", "added")]
    assert point["symbol"] == ".|crate::point::Point"
    assert point["module"] == "crate::point"
    assert point["crate"] == "."
    assert point["doc"] == "A point."
    assert point["text"].startswith("/// A point.\npub struct Point")
    assert point["start_line"] == 1

    dist = by[(second, "function:dist", "added")]
    assert ".|crate::point::Point" in dist["resolved"]
    assert by[(third, "function:dist", "modified")]["lineage"] == dist["lineage"]
    assert {r["key"] for r in rows if r["commit"] == third} == {"function:dist"}

    # Renaming util.rs -> helpers.rs: the unchanged item is "moved", with the same lineage.
    clamp_added = by[(first, "function:clamp", "added")]
    moved = by[(renamed, "function:clamp", "moved")]
    assert (moved["path"], moved["old_path"]) == ("src/helpers.rs", "src/util.rs")
    assert moved["lineage"] == clamp_added["lineage"]
    assert moved["module"] == "crate::helpers"
    assert moved["text"] == clamp_added["text"]

    removed = by[(last, "function:origin", "removed")]
    assert removed["text"] == ""
    assert removed["lineage"] == by[(first, "function:origin", "added")]["lineage"]
    # The unchanged struct in the last commit's file is not a row.
    assert (last, "struct:Point", "modified") not in by

    commits = {c["sha"]: c for c in pq.read_table(shapes_out / "commits.parquet").to_pylist()}
    assert commits[renamed]["items_moved"] == 1
    assert commits[last]["items_removed"] == 1
    assert commits[third]["items_modified"] == 1


def test_files_table(shapes: BuiltRepo, shapes_out: Path) -> None:
    files = pq.read_table(shapes_out / "files.parquet").to_pylist()
    renamed = shapes.order[3]
    rename_rows = [f for f in files if f["commit"] == renamed and f["status"] == "R"]
    assert len(rename_rows) == 1
    assert (rename_rows[0]["old_path"], rename_rows[0]["path"]) == ("src/util.rs",
                                                                    "src/helpers.rs")
    assert rename_rows[0]["items_moved"] == 1
    assert all(f["skip_reason"] == "" and f["parse_errors"] == 0 for f in files)


def test_dag_has_dependency_edge(shapes: BuiltRepo, shapes_out: Path) -> None:
    dag = nx.read_graphml(shapes_out / "dag.graphml")
    first, second, third = shapes.order[:3]
    assert set(dag.nodes) == set(shapes.order)
    assert dag.has_edge(first, second)
    assert ".|crate::point::Point" in dag.edges[first, second]["symbols"]
    assert dag.has_edge(first, third)  # the tweak changes dist, which uses Point
    assert not dag.has_edge(second, first)
    assert manifest(shapes_out)["dag"]["edges"] == dag.number_of_edges()


def test_manifest_and_report(shapes: BuiltRepo, shapes_out: Path) -> None:
    m = manifest(shapes_out)
    assert m["status"] == "complete"
    assert all(m["sanity"].values()), m["sanity"]
    assert m["counts"]["commits"] == 5
    # lib.rs swaps `mod util;` for `mod helpers;` in the rename commit: one more added/removed.
    assert m["counts"]["items_by_change"] == {"added": 9, "modified": 1, "moved": 1,
                                              "removed": 2}
    assert m["repo"]["head"] == shapes.order[-1]
    assert m["repo"]["label"] == "shapes"
    assert m["skips"] == {}
    assert m["module_graph"]["order"].index("crate::point") < m["module_graph"]["order"].index(
        "crate::geo") < m["module_graph"]["order"].index("crate")
    report = (shapes_out / "report.md").read_text()
    assert report.startswith("# Dataset build: shapes")
    assert "**FAIL**" not in report


def test_second_run_is_up_to_date(shapes: BuiltRepo, shapes_out: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = {name: (shapes_out / name).stat().st_mtime_ns for name in OUTPUTS}
    capsys.readouterr()
    assert main(["--repo", str(shapes.path), "--out", str(shapes_out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "up to date" in err
    assert {name: (shapes_out / name).stat().st_mtime_ns for name in OUTPUTS} == before


def test_other_settings_rebuild(shapes: BuiltRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--repo", str(shapes.path), "--out", str(out), "--quiet", "--workers", "0"]
    assert main([*args, "--max-commits", "2"]) == 0
    assert manifest(out)["counts"]["commits"] == 2
    assert main(args) == 0
    assert manifest(out)["counts"]["commits"] == 5


def test_a_rebuild_stopped_midway_leaves_no_manifest_vouching_for_its_tables(
        shapes: BuiltRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A rebuild with other settings, killed once it had replaced a table, left the earlier
    build's complete manifest over the new tables: the earlier command said "up to date"."""
    from dataset_builder import build

    out = tmp_path / "out"
    first = ["--repo", str(shapes.path), "--out", str(out), "--quiet", "--no-samples",
             "--max-commits", "2"]
    assert main(first) == 0

    def dies(*args: Any, **kwargs: Any) -> Any:
        (out / "items.parquet").write_bytes(b"half of another build's table")
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(build, "_mine", dies)
        assert main(first[:-2]) != 0
    assert manifest(out)["status"] != "complete"
    capsys.readouterr()
    assert main(first) == 0
    assert "up to date" not in capsys.readouterr().err
    assert manifest(out)["status"] == "complete"
    assert pq.read_table(out / "items.parquet").num_rows == manifest(out)["counts"]["item_rows"]


def test_workers_do_not_change_outputs(shapes: BuiltRepo, shapes_out: Path,
                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["--repo", str(shapes.path), "--out", str(out), "--quiet", "--workers", "0",
                 "--chunk-commits", "1"]) == 0
    assert_same_outputs(shapes_out, out, manifest_too=False)


def test_carried_runs_skip_comparisons_without_changing_outputs(
        shapes: BuiltRepo, shapes_out: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse workers report the items carried over from the old version; the commit's diff
    compares only the others. Same outputs as the in-process parse, which reports none."""
    import dataset_builder.mine as mine

    calls: list[int] = []
    outside = mine._outside_runs

    def counted(*args: Any) -> Any:
        calls.append(1)
        return outside(*args)

    monkeypatch.setattr(mine, "_outside_runs", counted)
    out = tmp_path / "pool"
    assert main(["--repo", str(shapes.path), "--out", str(out), "--quiet", "--workers", "2",
                 "--no-samples"]) == 0
    assert calls
    inline = tmp_path / "inline"
    assert main(["--repo", str(shapes.path), "--out", str(inline), "--quiet", "--workers", "0",
                 "--no-samples"]) == 0
    tables, reference = read_tables(out), read_tables(inline)
    assert all(tables[name].equals(reference[name]) for name in TABLES)


def test_snapshot_every(shapes: BuiltRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["--repo", str(shapes.path), "--out", str(out), "--quiet",
                 "--snapshot-every", "2"]) == 0
    modules = pq.read_table(out / "modules.parquet").to_pylist()
    assert {r["snapshot_index"] for r in modules} == {1, 3, 4}
    assert manifest(out)["module_graph"]["snapshots"] == 3
    last = [r for r in modules if r["snapshot_index"] == 4]
    assert sorted(r["order"] for r in last) == list(range(len(last)))
    by_node = {r["node"]: r for r in last}
    assert by_node["crate"]["depends_on"] == ["crate::geo", "crate::helpers", "crate::point"]
    assert by_node["crate::point"]["order"] < by_node["crate::geo"]["order"]


def test_dag_edge_to_an_item_moved_by_a_rename(tmp_path: Path) -> None:
    built = make_repo(tmp_path / "repo", [
        Commit("util", write={"src/lib.rs": "mod util;\n",
                              "src/util.rs": "pub fn clamp(v: i32) -> i32 { v }\n"}),
        Commit("rename", rename={"src/util.rs": "src/helpers.rs"},
               write={"src/lib.rs": "mod helpers;\n"}),
        Commit("use", write={"src/lib.rs": "mod helpers;\nmod user;\n",
                             "src/user.rs": "use crate::helpers::clamp;\n"
                                            "pub fn u() -> i32 { clamp(1) }\n"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    user = next(r for r in item_rows(out) if r["key"] == "function:u")
    assert user["resolved"] == [".|crate::helpers::clamp"]
    dag = nx.read_graphml(out / "dag.graphml")
    assert dag.in_degree(built.sha("use")) == 1  # from "util" or from "rename"


def test_a_file_keeps_its_resolutions_only_while_the_symbols_stay(tmp_path: Path) -> None:
    # The walk reuses what a file's references resolved to across its versions; a symbol
    # removed elsewhere must end that.
    user = "pub fn user() -> i32 {{ helper() + {} }}\n"
    built = make_repo(tmp_path / "repo", [
        Commit("helper", write={"src/lib.rs": "mod a;\nmod b;\n",
                                "src/a.rs": "pub fn helper() -> i32 { 1 }\n",
                                "src/b.rs": user.format(1)}),
        Commit("body", write={"src/b.rs": user.format(2)}),
        Commit("gone", write={"src/a.rs": "pub fn other() -> i32 { 1 }\n"}),
        Commit("again", write={"src/b.rs": user.format(3)}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    resolved = {r["commit"]: r["resolved"] for r in item_rows(out) if r["key"] == "function:user"}
    assert resolved[built.sha("body")] == [".|crate::a::helper"]
    assert resolved[built.sha("again")] == []
    dag = nx.read_graphml(out / "dag.graphml")
    assert dag.in_degree(built.sha("again")) == 0


def test_a_block_renumbered_keeps_its_members_lineages(tmp_path: Path) -> None:
    # A second `impl Point` block added before the first renumbers it (#2): its method is
    # unchanged and keeps its key and lineage, with a `moved` row for its new parent, which
    # is no new definition (no DAG edge from that commit to later users).
    first = "impl Point {\n    pub fn norm(&self) -> i32 { self.x }\n}\n"
    added = "impl Point {\n    pub fn zero() -> Point { Point { x: 0 } }\n}\n"
    built = make_repo(tmp_path / "repo", [
        Commit("point", write={"src/lib.rs": "mod p;\nmod u;\n",
                               "src/p.rs": "pub struct Point { pub x: i32 }\n" + first,
                               "src/u.rs": "pub fn u() {}\n"}),
        Commit("block", write={"src/p.rs": "pub struct Point { pub x: i32 }\n" + added + first}),
        Commit("use", write={"src/u.rs": "use crate::p::Point;\n"
                                         "pub fn u(p: Point) -> i32 { p.norm() }\n"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    rows = [r for r in item_rows(out) if r["commit"] == built.sha("block")]
    changes = {(r["key"], r["change"], r["parent"]) for r in rows}
    assert changes == {
        ("impl:impl Point", "modified", ""),  # the first block's text is now the new one's
        ("impl:impl Point#2", "added", ""),
        ("method:impl Point::zero", "added", "impl:impl Point"),
        ("method:impl Point::norm", "moved", "impl:impl Point#2"),
    }
    lineages = {r["lineage"] for r in item_rows(out) if r["name"] == "norm"}
    assert lineages == {"src/p.rs::method:impl Point::norm"}
    dag = nx.read_graphml(out / "dag.graphml")
    assert not dag.has_edge(built.sha("block"), built.sha("use"))
    assert dag.has_edge(built.sha("point"), built.sha("use"))


def test_bare_and_shallow_clones(shapes: BuiltRepo, shapes_out: Path, tmp_path: Path) -> None:
    bare = tmp_path / "plain" / "repo"  # a bare repository in a folder not named *.git
    bare.parent.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(shapes.path), str(bare))
    out = tmp_path / "bare-out"
    assert main(["--repo", str(bare), "--out", str(out), "--quiet"]) == 0
    assert manifest(out)["repo"]["bare"] is True
    assert_same_outputs(shapes_out, out, manifest_too=False)

    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{shapes.path}", str(shallow))
    out = tmp_path / "shallow-out"
    assert main(["--repo", str(shallow), "--out", str(out), "--quiet"]) == 0
    m = manifest(out)
    assert m["repo"]["shallow"] is True
    assert m["counts"]["commits"] == 2
    assert all(m["sanity"].values())


def test_merge_history(tmp_path: Path) -> None:
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "pub mod a;\n", "src/a.rs": "pub struct A;\n"}),
        Branch("feature"),
        Commit("feature b", write={"src/lib.rs": "pub mod a;\npub mod b;\n",
                                   "src/b.rs": "use crate::a::A;\npub fn b() -> A { A }\n"}),
        Checkout("main"),
        Commit("main edits a", write={"src/a.rs": "pub struct A;\npub struct A2;\n"}),
        Merge("feature", "merge feature"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    m = manifest(out)
    assert m["counts"]["merges"] == 1
    merge = built.sha("merge feature")
    rows = [r for r in item_rows(out) if r["commit"] == merge]
    # Against the first parent, the merge adds what the branch added.
    assert {(r["key"], r["change"]) for r in rows} == {("mod:b", "added"),
                                                      ("use:crate::a::A", "added"),
                                                      ("function:b", "added")}
    assert all(m["sanity"].values())


def _merge_sync_repo(path: Path) -> BuiltRepo:
    """main deletes x.rs and renames y.rs to z.rs; a branch changes both later (the walk, in
    date order, takes the branch's versions last); the merge keeps main's deletion and takes
    the branch's change into z.rs. Against its first parent the merge changes z.rs only, so
    without the sync x.rs and y.rs (a twin of z.rs with the same names) stay alive."""
    lib = "pub mod x;\npub mod z;\n"
    return make_repo(path, [
        Commit("base", write={"src/lib.rs": "pub mod x;\npub mod y;\n",
                              "src/x.rs": "pub fn gone() {}\n",
                              "src/y.rs": "pub struct Kept;\npub fn kept() {}\n"}),
        Branch("side"),
        Checkout("main"),
        Commit("main drops x, renames y", write={"src/lib.rs": "pub mod z;\n"},
               delete=["src/x.rs"], rename={"src/y.rs": "src/z.rs"}),
        Checkout("side"),
        Commit("side edits x and y", write={
            "src/x.rs": "pub fn gone() { let _ = 1; }\n",
            "src/y.rs": "pub struct Kept;\npub fn kept() { let _ = 2; }\n"}),
        Checkout("main"),
        Merge("side", "merge side", delete=["src/x.rs"]),
        Commit("use kept", write={"src/lib.rs": lib + "pub fn f() { kept() }\n"}),
        Commit("after", write={"src/z.rs": "pub struct Kept;\npub fn kept() { let _ = 3; }\n"}),
    ])


def test_merge_sync_ends_what_the_merge_tree_lacks(tmp_path: Path) -> None:
    built = _merge_sync_repo(tmp_path / "repo")
    tree = git(built.path, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert "src/x.rs" not in tree and "src/y.rs" not in tree and "src/z.rs" in tree
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    merge = built.sha("merge side")
    rows = item_rows(out)
    # The branch's commit, walked after main's, brought x.rs and y.rs back; the merge ends them.
    latest: dict[tuple[str, str], str] = {}
    for r in sorted(rows, key=lambda r: r["commit_index"]):
        latest[(r["path"], r["key"])] = r["change"]
    assert latest[("src/x.rs", "function:gone")] == "removed"
    assert latest[("src/y.rs", "function:kept")] == "removed"
    assert latest[("src/z.rs", "function:kept")] == "modified"
    synced = [r for r in pq.read_table(out / "files.parquet").to_pylist() if r["merge_sync"]]
    assert {(r["commit"], r["path"], r["status"]) for r in synced} == {
        (merge, "src/x.rs", "D"), (merge, "src/y.rs", "D")}
    m = manifest(out)
    assert m["counts"]["merge_sync_files"] == 2
    # kept() resolves to z.rs's definition (with y.rs's twin alive, the name was ambiguous
    # and stayed unresolved).
    use = next(r for r in rows if r["key"] == "function:f")
    assert use["resolved"] == [".|crate::z::kept"]
    assert all(m["sanity"].values())


def test_replayed_rename_keeps_the_lineage(tmp_path: Path) -> None:
    """a.rs, renamed to b.rs on main, is renamed to c.rs on a branch; the merge, diffed
    against main, renames b.rs to c.rs again after the walk took the branch's rename. The
    file keeps its one lineage (from a.rs); before, the replay started another (b.rs) and
    the items of the first stayed alive beside it."""
    body = "pub struct S;\npub fn f() -> S { S }\n"
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod c;\n", "src/a.rs": body}),
        Commit("a to b", rename={"src/a.rs": "src/b.rs"}),
        Branch("side"),
        Commit("b to c", rename={"src/b.rs": "src/c.rs"}),
        Checkout("main"),
        Commit("main edits lib", write={"src/lib.rs": "mod c;\npub fn g() {}\n"}),
        Merge("side", "merge side"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    rows = item_rows(out)
    merge = built.sha("merge side")
    assert {(r["key"], r["change"]) for r in rows if r["commit"] == merge} >= {
        ("struct:S", "moved"), ("function:f", "moved")}
    alive = sorted((r["path"], r["key"], r["lineage"]) for r in alive_rows(rows)
                   if r["path"] != "src/lib.rs")
    assert alive == [("src/c.rs", "function:f", "src/a.rs::function:f"),
                     ("src/c.rs", "struct:S", "src/a.rs::struct:S")]


def test_changed_after_the_walk_renamed_it_away_keeps_the_lineage(tmp_path: Path) -> None:
    """x.rs (once w.rs) is renamed to y.rs on a branch; main, walked after it, changes x.rs;
    the merge carries main's change into y.rs and, against main, replays the rename. main's
    change and the replay stay in the file's lineage (from w.rs): before, main's change
    started one named after x.rs, which the replay moved to y.rs beside the first."""
    body = "pub struct S;\npub fn f() -> S { S }\n"
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod y;\n", "src/w.rs": body}),
        Commit("w to x", rename={"src/w.rs": "src/x.rs"}),
        Branch("side"),
        Commit("x to y", rename={"src/x.rs": "src/y.rs"}),
        Checkout("main"),
        Commit("main edits x", write={"src/x.rs": body + "pub fn g() {}\n"}),
        Merge("side", "merge side"),
    ])
    assert git(built.path, "show", "HEAD:src/y.rs").endswith("pub fn g() {}\n")
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet"]) == 0
    rows = item_rows(out)
    assert {r["lineage"] for r in rows if r["path"] != "src/lib.rs"} == {
        "src/w.rs::struct:S", "src/w.rs::function:f", "src/w.rs::function:g"}
    assert sorted((r["path"], r["key"]) for r in alive_rows(rows)
                  if r["path"] != "src/lib.rs") == [
        ("src/y.rs", "function:f"), ("src/y.rs", "function:g"), ("src/y.rs", "struct:S")]


def test_merge_sync_of_a_merge_that_keeps_its_first_parents_tree(tmp_path: Path) -> None:
    """`git merge -s ours`: the merge's first-parent diff is empty, so git writes no record
    for it and the first record is the branch's; the branch's function, walked, must end."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": "pub fn a() {}\n"}),
        Branch("side"),
        Commit("side adds", write={"src/x.rs": "pub fn a() {}\npub fn side_only() {}\n"}),
        Checkout("main"),
        Merge("side", "merge side", strategy="ours"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    merge = built.sha("merge side")
    assert {(r["key"], r["change"]) for r in item_rows(out) if r["commit"] == merge} == {
        ("function:side_only", "removed")}
    m = manifest(out)
    assert m["counts"]["merge_sync_files"] == 1
    assert m["sanity"]["mainline_merges_synced"]


def _x_on_two_lines(tmp_path: Path, side: Commit) -> tuple[BuiltRepo, Path]:
    """x.rs (a, b) changed by `side` on a branch walked first, then b edited on main, which
    keeps its tree at the merge; built history-only into tmp_path/out."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n",
                              "src/x.rs": "pub fn a() -> u8 { 1 }\npub fn b() -> u8 { 2 }\n"}),
        Branch("side"),
        side,
        Checkout("main"),
        Commit("main edits b", write={"src/x.rs": "pub fn a() -> u8 { 1 }\n"
                                                  "pub fn b() -> u8 { 20 }\n"}),
        Merge("side", "merge side", strategy="ours"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    return built, out


def test_a_change_diffed_against_another_lines_version_ends_what_only_that_had(
        tmp_path: Path) -> None:
    """A branch, walked first, adds side_only() to x.rs and changes a(); main then changes
    b() from its own parent, and keeps its tree at the merge. The blob the walk holds after
    main's commit is main's, so no merge sync fires, but the rows of main's diff (against
    its parent, which never had side_only) left side_only alive for good and a() with the
    branch's text (bytes: 15 items alive at HEAD that HEAD lacks)."""
    built, out = _x_on_two_lines(tmp_path, Commit(
        "side adds", write={"src/x.rs": "pub fn a() -> u8 { 10 }\npub fn b() -> u8 { 2 }\n"
                                        "pub fn side_only() {}\n"}))
    rows = item_rows(out)
    alive = {r["key"]: r["text"] for r in alive_rows(rows) if r["path"] == "src/x.rs"}
    assert alive == {"function:a": "pub fn a() -> u8 { 1 }",
                     "function:b": "pub fn b() -> u8 { 20 }"}
    edits = built.sha("main edits b")
    # main's own change, and the walk's catching up, which makes no edge and defines nothing
    assert sorted((r["key"], r["change"]) for r in rows if r["commit"] == edits) == [
        ("function:a", "modified"), ("function:b", "modified"), ("function:side_only", "removed")]


def test_a_file_deleted_on_another_line_comes_back_whole_when_changed(tmp_path: Path) -> None:
    """A branch, walked first, deletes x.rs; main then changes one function of it. Its
    diff's rows brought back only the changed function: the others stayed gone while the
    file was in the tree (uuid: `use core::str` missing for five commits)."""
    _, out = _x_on_two_lines(tmp_path, Commit("side deletes", delete=["src/x.rs"],
                                              write={"src/lib.rs": "\n"}))
    alive = {r["key"] for r in alive_rows(item_rows(out)) if r["path"] == "src/x.rs"}
    assert alive == {"function:a", "function:b"}


def test_a_file_the_walk_never_held_does_not_come_back_whole(tmp_path: Path) -> None:
    """With --since, x.rs was last changed before the window: a branch's deletion of it
    ends nothing the walk held, and main's edit gives the rows of its diff alone (it came
    back whole, every unchanged item "added"); without --since it comes back whole."""
    fns = "pub fn a() -> u8 { 1 }\npub fn b() -> u8 { 2 }\npub fn c() -> u8 { 3 }\n"
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": fns}),
        Commit("unrelated", write={"src/y.rs": "pub fn y() {}\n",
                                   "src/lib.rs": "mod x;\nmod y;\n"}),
        Branch("side"),
        Commit("side deletes x", delete=["src/x.rs"], write={"src/lib.rs": "mod y;\n"}),
        Checkout("main"),
        Commit("main edits a", write={"src/x.rs": fns.replace("{ 1 }", "{ 10 }")}),
        Merge("side", "merge side", strategy="ours"),
    ])
    since = git(built.path, "log", "-1", "--format=%cI", built.sha("unrelated")).strip()
    edit = built.sha("main edits a")
    for extra, expected in (([], [("function:a", "modified"), ("function:b", "added"),
                                  ("function:c", "added")]),
                            (["--since", since], [("function:a", "modified")])):
        out = tmp_path / f"out{len(extra)}"
        assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples",
                     *extra]) == 0
        assert sorted((r["key"], r["change"]) for r in item_rows(out)
                      if r["commit"] == edit and r["path"] == "src/x.rs") == expected, extra


def test_a_file_added_where_a_renamed_one_began_has_a_lineage_of_its_own(
        tmp_path: Path) -> None:
    """x.rs renamed to sub/x.rs keeps the lineage "src/x.rs"; a new src/x.rs took the same
    name, and the two files alive under one lineage hid each other's items (tracing's
    filter/directive.rs: 22 items of HEAD not alive)."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": "pub fn a() {}\n"}),
        Commit("move", rename={"src/x.rs": "src/sub/x.rs"}),
        Commit("new x", write={"src/x.rs": "pub fn a() {}\npub fn b() {}\n"}),
        Commit("edit old", write={"src/sub/x.rs": "pub fn a() { let _ = 1; }\n"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    alive = sorted((r["path"], r["key"]) for r in alive_rows(item_rows(out))
                   if r["path"] != "src/lib.rs")
    assert alive == [("src/sub/x.rs", "function:a"), ("src/x.rs", "function:a"),
                     ("src/x.rs", "function:b")]
    lineages = {r["path"]: r["lineage"] for r in item_rows(out) if r["key"] == "function:a"}
    assert lineages["src/sub/x.rs"] == "src/x.rs::function:a"
    assert lineages["src/x.rs"] == f"src/x.rs@{built.sha('new x')[:12]}::function:a"


def test_a_side_branch_editing_a_path_the_mainline_renamed_keeps_the_renamed_items(
        tmp_path: Path) -> None:
    """main renames r.rs to s.rs; a side branch, committed later, edits r.rs; the merge
    (git follows the rename) leaves s.rs with every function. The side's r.rs takes the
    lineage alive at s.rs (one file on two lines), and the merge's sync, removing r.rs,
    ended 9 of s.rs's 10 items; they are now brought back at s.rs."""
    fns = "".join(f"pub fn r{k}(x: u32) -> u32 {{ let y = x + {k}; y * 2 }}\n"
                  for k in range(10))
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod r;\n", "src/r.rs": fns}),
        Branch("side"),
        Checkout("main"),
        Commit("rename", rename={"src/r.rs": "src/s.rs"}, write={"src/lib.rs": "mod s;\n"}),
        Checkout("side"),
        Commit("side edits r", write={"src/r.rs": fns.replace("+ 5; y * 2", "+ 5; y * 7")}),
        Checkout("main"),
        Merge("side", "merge side"),
    ])
    head = git(built.path, "show", "HEAD:src/s.rs")
    assert "+ 5; y * 7" in head and "src/r.rs" not in git(built.path, "ls-tree", "-r",
                                                           "--name-only", "HEAD")  # premise
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    alive = alive_rows(item_rows(out))
    assert sorted(r["key"] for r in alive if r["path"] == "src/s.rs") == sorted(
        f"function:r{k}" for k in range(10))
    assert not [r for r in alive if r["path"] == "src/r.rs"]
    assert {r["lineage"].split("::")[0] for r in alive} == {"src/lib.rs", "src/r.rs"}


@pytest.mark.parametrize("ending", ["delete", "rename to x.rs.bak", "symlink"])
def test_a_deletion_does_not_end_the_items_of_a_file_added_under_its_lineage(
        tmp_path: Path, ending: str) -> None:
    """A branch, walked first, renames x.rs to b.rs; main edits x.rs, which so keeps the
    same lineage: one file on two lines. The merge's first-parent diff lists b.rs added
    and x.rs deleted (rewritten past git's rename threshold), in path order: x.rs's removal
    rows came after b.rs's and ended b.rs's items of the same names (pulldown-cmark's
    dos-fuzzer/src/literals.rs: 10 items of HEAD not alive)."""
    from tests.dataset_builder.conftest import BASE_DATE, HOUR, git

    repo = tmp_path / "repo"
    fns = "".join(f"pub fn f{k}() -> u32 {{ {k} }}\n" for k in range(6))
    built = make_repo(repo, [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": fns}),
        Branch("side"),
        Commit("side renames", rename={"src/x.rs": "src/b.rs"},
               write={"src/lib.rs": "mod b;\n"}),
        Checkout("main"),
        Commit("main edits", write={"src/x.rs": fns.replace("{ 0 }", "{ 100 }")}),
    ])
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side", date=BASE_DATE + 10 * HOUR)
    # the same functions, rewritten: too unlike x.rs for git to call it a rename
    rewritten = "".join(f"/// Number {k}.\n#[inline]\npub fn f{k}() -> u32 {{\n    {k} * 1\n}}\n"
                        for k in range(6))
    (repo / "src" / "b.rs").write_text(rewritten)
    # Mined as deletions too, so applied first as well (listed under other names).
    if ending == "rename to x.rs.bak":  # main's x.rs, under the new name
        (repo / "src" / "x.rs.bak").write_text(fns.replace("{ 0 }", "{ 100 }"))
    elif ending == "symlink":
        (repo / "src" / "x.rs").symlink_to("b.rs")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "merge side", date=BASE_DATE + 10 * HOUR)
    merge = git(repo, "rev-parse", "HEAD").strip()
    listed = git(repo, "diff", "--name-status", "-M", f"{merge}^1", merge)
    assert "A\tsrc/b.rs" in listed, listed  # the premise
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    alive = sorted(r["key"] for r in alive_rows(item_rows(out)) if r["path"] == "src/b.rs")
    assert alive == [f"function:f{k}" for k in range(6)]


def test_merge_sync_adds_nothing_the_walk_never_held(tmp_path: Path) -> None:
    """With --since, a file last changed before the window is not in the walk's view; a
    merge whose branch holds an older version of it must not add it."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": "pub fn a() {}\n"}),
        Branch("side"),
        Checkout("main"),
        Commit("main edits x", write={"src/x.rs": "pub fn a() {}\npub fn b() {}\n"}),
        Checkout("side"),
        Commit("side edits lib", write={"src/lib.rs": "mod x;\npub fn c() {}\n"}),
        Checkout("main"),
        Merge("side", "merge side"),
    ])
    side_date = git(built.path, "log", "-1", "--format=%cI", built.sha("side edits lib")).strip()
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples",
                 "--since", side_date]) == 0
    m = manifest(out)
    assert m["counts"]["commits"] == 2
    assert m["counts"]["merge_sync_files"] == 0
    assert not [r for r in item_rows(out) if r["path"] == "src/x.rs"]


def test_a_subtree_merge_ends_the_unrelated_historys_own_paths(tmp_path: Path) -> None:
    """A branch merges an unrelated history under a prefix (`git subtree add`: rust-sdl2's
    mixer crate) and main merges the branch. The unrelated history's files sit at paths no
    tree of the mainline has, and no first-parent diff ends them: the subtree merge does now,
    while the copy under the prefix lives on."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "pub fn a() {}\n"}),
        Branch("side"),
    ])
    repo, date = built.path, BASE_DATE + 10 * HOUR
    git(repo, "checkout", "-q", "--orphan", "mixer")
    git(repo, "rm", "-q", "-r", "-f", ".")
    for n, body in enumerate(["pub fn play() {}\n", "pub fn play() {}\npub fn stop() {}\n"]):
        (repo / "src/mixer").mkdir(parents=True, exist_ok=True)
        (repo / "src/mixer/lib.rs").write_text(body)
        git(repo, "add", "-A")
        date += HOUR
        git(repo, "commit", "-q", "--no-verify", "-m", f"mixer {n}", date=date)
    git(repo, "checkout", "-q", "side")
    date += HOUR
    git(repo, "merge", "-q", "-s", "ours", "--no-commit", "--allow-unrelated-histories",
        "mixer", date=date)
    git(repo, "read-tree", "--prefix=crates/mixer/", "-u", "mixer")
    git(repo, "commit", "-q", "--no-verify", "-m", "subtree add", date=date)
    subtree = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")
    (repo / "src/lib.rs").write_text("pub fn a() {}\npub fn b() {}\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "main edits lib", date=date + HOUR)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side", date=date + 2 * HOUR)
    assert "src/mixer/lib.rs" not in git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    out = tmp_path / "out"
    assert main(["--repo", str(repo), "--out", str(out), "--quiet", "--no-samples"]) == 0
    rows = item_rows(out)
    assert {(r["commit"], r["change"]) for r in rows if r["path"] == "src/mixer/lib.rs"
            and r["change"] == "removed"} == {(subtree, "removed")}
    assert sorted((r["path"], r["key"]) for r in alive_rows(rows)) == [
        ("crates/mixer/src/mixer/lib.rs", "function:play"),
        ("crates/mixer/src/mixer/lib.rs", "function:stop"),
        ("src/lib.rs", "function:a"), ("src/lib.rs", "function:b")]
    synced = [r for r in pq.read_table(out / "files.parquet").to_pylist() if r["merge_sync"]]
    assert [(r["commit"], r["path"], r["status"]) for r in synced] == [
        (subtree, "src/mixer/lib.rs", "D")]
    assert all(manifest(out)["sanity"].values())


def _rename_onto_repo(path: Path) -> BuiltRepo:
    return make_repo(path, [
        Commit("base", write={"src/lib.rs": "mod b;\n", "src/a.rs": "pub fn alpha() {}\n"}),
        Branch("side"),
        Checkout("main"),
        Commit("main replaces a", write={"src/b.rs": "pub fn beta() {}\n"},
               delete=["src/a.rs"]),
        Checkout("side"),
        Commit("side renames a", rename={"src/a.rs": "src/b.rs"}),
        Checkout("main"),
        Merge("side", "merge side", strategy="ours"),
    ])


def test_rename_onto_a_path_another_file_holds_keeps_its_own_lineage(tmp_path: Path) -> None:
    """main deletes a.rs and adds an unrelated b.rs; a branch walked later renames a.rs to
    b.rs: the renamed items stay in a.rs's lineage, not b.rs's."""
    built = _rename_onto_repo(tmp_path / "repo")
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    rows = item_rows(out)
    lineages = {r["lineage"] for r in rows if r["key"] == "function:alpha"}
    assert lineages == {"src/a.rs::function:alpha"}
    # The rename displaced main's b.rs from the walk's view (its items end there); the merge
    # sync brings main's version back: beta alive once, alpha not at all.
    assert sorted((r["path"], r["key"]) for r in alive_rows(rows)
                  if r["path"] != "src/lib.rs") == [
        ("src/b.rs", "function:beta")]


def test_merge_sync_finds_side_diffs_out_of_order_and_marks_missing_ones() -> None:
    from dataset_builder.gitio import Commit as GitCommit
    from dataset_builder.gitio import FileChange

    def change(path: str, blob: str) -> FileChange:
        return FileChange("M", path, path, "0" * 40, blob, "100644", "100644", 0)

    def merge(sha: str) -> GitCommit:
        return GitCommit(sha, ("p1", "p2"), "a", 0, 0, "merge", [change("other.txt", "1" * 40)])

    commits = [GitCommit("c0", (), "a", 0, 0, "add", [
        FileChange("A", "x.rs", "x.rs", "", "a" * 40, "000000", "100644", 0)]),
        merge("m1"), merge("m2"), merge("m3")]
    sides = iter([  # m2's diffs listed before m1's; m3's missing
        ("m2", [[change("other.txt", "1" * 40)], [change("x.rs", "c" * 40)]]),
        ("m1", [[change("other.txt", "1" * 40)], [change("x.rs", "b" * 40)]])])
    out = list(mine.with_merge_sync(iter(commits), sides, {"c0", "m1", "m2", "m3"}))
    synced = [[(c.status, c.old_blob[:1], c.new_blob[:1]) for c in commit.changes if c.synced]
              for commit in out]
    assert synced == [[], [("M", "a", "b")], [("M", "b", "c")], []]
    assert [commit.sync_missing for commit in out] == [False, False, False, True]


def test_a_deletion_ends_what_the_walks_version_of_the_file_had(tmp_path: Path) -> None:
    """A branch adds b() to x.rs and is walked before main deletes x.rs: main's deletion
    (of the version without b) must end b too."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": "pub fn a() {}\n"}),
        Branch("side"),
        Commit("side adds b", write={"src/x.rs": "pub fn a() {}\npub fn b() {}\n"}),
        Checkout("main"),
        Commit("main deletes x", write={"src/lib.rs": "pub fn c() {}\n"}, delete=["src/x.rs"]),
        Merge("side", "merge side", delete=["src/x.rs"]),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    deletion = built.sha("main deletes x")
    assert {(r["key"], r["change"]) for r in item_rows(out) if r["commit"] == deletion
            and r["path"] == "src/x.rs"} == {("function:a", "removed"),
                                             ("function:b", "removed")}


def test_a_deletion_does_not_mine_the_walks_symlink(tmp_path: Path) -> None:
    """A branch, walked first, turns x.rs into a symlink (not mined); main then deletes the
    regular x.rs. The walk's version is the symlink: its target text is no Rust to end."""
    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod x;\n", "src/x.rs": "pub fn a() {}\n"}),
        Branch("side"),
        Commit("side links x", delete=["src/x.rs"], symlink={"src/x.rs": "fn b(){}"}),
        Checkout("main"),
        Commit("main deletes x", write={"src/lib.rs": "pub fn c() {}\n"}, delete=["src/x.rs"]),
        Merge("side", "merge side", strategy="ours"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    assert "function:b" not in {r["key"] for r in item_rows(out)}


@pytest.mark.parametrize(("repo", "fail_at"), [
    ("merge_sync", "merge side"), ("merge_sync", "use kept"),
    ("rename_onto", "side renames a"), ("rename_onto", "merge side")])
def test_merge_sync_survives_a_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      repo: str, fail_at: str) -> None:
    """A run that dies at (or after) the merge or a rename resumes from the checkpoint
    before it and gives what an uninterrupted run does: the skipped commits still pass
    through the sync, which keeps the walk's view of the tree (the blob cache starts
    empty)."""
    built = {"merge_sync": _merge_sync_repo,
             "rename_onto": _rename_onto_repo}[repo](tmp_path / "repo")
    reference = tmp_path / "reference"
    args = ["--repo", str(built.path), "--chunk-commits", "1", "--workers", "0", "--quiet"]
    assert main([*args, "--out", str(reference)]) == 0
    process = mine.Miner.process
    failing = built.sha(fail_at)

    def fail_once(self: mine.Miner, commit: Any, index: int) -> Any:
        if commit.sha == failing:
            monkeypatch.setattr(mine.Miner, "process", process)
            raise OSError("disk gone")
        return process(self, commit, index)

    monkeypatch.setattr(mine.Miner, "process", fail_once)
    out = tmp_path / "out"
    assert main([*args, "--out", str(out)]) == 2
    assert main([*args, "--out", str(out)]) == 0
    assert manifest(out)["counts"]["merge_sync_files"] == manifest(reference)["counts"][
        "merge_sync_files"] > 0
    assert_same_outputs(reference, out)


# --- crash resume ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_repo(tmp_path_factory: pytest.TempPathFactory) -> BuiltRepo:
    return linear_repo(tmp_path_factory.mktemp("long") / "long", 20)


def _args(repo: BuiltRepo, out: Path, *extra: str) -> list[str]:
    return ["--repo", str(repo.path), "--out", str(out), "--chunk-commits", "2", "--quiet",
            *extra]


@pytest.fixture(scope="module")
def long_reference(long_repo: BuiltRepo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main(_args(long_repo, out)) == 0
    m = manifest(out)
    assert m["counts"]["commits"] == 20
    assert m["dag"]["edges"] > 10
    return out


# Slows the run down so that the test can SIGKILL it at a known stage. "after_checkpoint":
# sleep after each chunk's checkpoint. "before_checkpoint": sleep between a chunk's part files
# and edge file and its checkpoint (from the second chunk on), leaving files the checkpoint does
# not cover.
_SLOW_RUN = """
import sys, time
from dataset_builder import mine
mode = sys.argv[1]
if mode == "after_checkpoint":
    save_chunk = mine.WorkDir.save_chunk
    def slow_save_chunk(self, state, tables):
        save_chunk(self, state, tables)
        time.sleep(3)
    mine.WorkDir.save_chunk = slow_save_chunk
else:
    write = mine.atomic_write_bytes
    def slow_write(path, data):
        if path.name == "state.pkl" and path.exists():
            time.sleep(3)
        write(path, data)
    mine.atomic_write_bytes = slow_write
from dataset_builder.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _wait_for(predicate: Any, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"run ended (rc {proc.returncode}) before it could be killed: "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the run to reach the kill point")
        time.sleep(0.002)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["after_checkpoint", "before_checkpoint"])
def test_sigkill_and_resume(long_repo: BuiltRepo, long_reference: Path, tmp_path: Path,
                            mode: str) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, mode, *_args(long_repo, out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # its parse worker and git go with it
    try:
        def reached() -> bool:
            states = list(out.glob(".work-*/state.pkl"))
            if mode == "after_checkpoint":
                return bool(states)
            # The edge file is the last written before the (slowed) checkpoint.
            return bool(states) and bool(list(out.glob(".work-*/parts/edges-000001.pkl")))

        _wait_for(reached, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    (work,) = out.glob(".work-*")
    state_path = work / "state.pkl"
    assert state_path.exists()
    assert not (out / "manifest.json").exists()
    with open(state_path, "rb") as handle:
        state = pickle.load(handle)
    assert isinstance(state, mine.MinerState)
    assert 0 < state.commits_done < 20
    if mode == "before_checkpoint":
        # Killed while chunk 1's part files and edge file were on disk but its checkpoint was
        # not: they are dropped, and the run resumes from the checkpoint, not from scratch.
        assert state.chunk == 1
        assert (work / "parts" / "commits-000001.arrow").exists()
        assert (work / "parts" / "edges-000001.pkl").exists()
        resumed = mine.WorkDir(out, work.name.removeprefix(".work-")).load()
        assert resumed is not None and resumed.commits_done == state.commits_done
        assert not (work / "parts" / "edges-000001.pkl").exists()

    rerun = subprocess.run([sys.executable, "-m", "dataset_builder", *_args(long_repo, out)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert not list(out.glob(".work-*"))
    assert all(manifest(out)["sanity"].values())
    assert_same_outputs(long_reference, out)


class _Interrupt:
    """Patch WorkDir.save_chunk to raise KeyboardInterrupt once `after` chunks are saved."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
        self.saved = 0
        original = mine.WorkDir.save_chunk

        def save_chunk(work: mine.WorkDir, state: mine.MinerState,
                       tables: dict[str, list[dict[str, Any]]]) -> None:
            if self.saved == after:
                raise KeyboardInterrupt
            original(work, state, tables)
            self.saved += 1

        monkeypatch.setattr(mine.WorkDir, "save_chunk", save_chunk)


def test_interrupt_and_resume_in_process(long_repo: BuiltRepo, long_reference: Path,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        interrupt = _Interrupt(patch, after=3)
        assert main(_args(long_repo, out)) == 130
        assert interrupt.saved == 3
    assert "interrupted" in capsys.readouterr().err
    (state_path,) = out.glob(".work-*/state.pkl")
    with open(state_path, "rb") as handle:
        assert pickle.load(handle).commits_done == 6
    assert not (out / "manifest.json").exists()
    # A fresh run resumes from the checkpoint and ends with the same content.
    assert main(_args(long_repo, out)) == 0
    assert manifest(out)["this_run"]["blobs_parsed"] < manifest(long_reference)[
        "this_run"]["blobs_parsed"]  # it did not redo the first chunks
    assert_same_outputs(long_reference, out)


def _interrupted_work(repo: BuiltRepo, out: Path, monkeypatch: pytest.MonkeyPatch
                      ) -> mine.WorkDir:
    """The work folder of a run interrupted after four checkpoints."""
    with monkeypatch.context() as patch:
        _Interrupt(patch, after=4)
        assert main(_args(repo, out)) == 130
    (work,) = out.glob(".work-*")
    return mine.WorkDir(out, work.name.removeprefix(".work-"))


def test_checkpoints_keep_dag_edges_apart(long_repo: BuiltRepo, long_reference: Path,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Each checkpoint writes only the DAG edges made since the previous one; the state
    pickle carries none. A resumed run gathers them again, and one whose edge file is gone
    or damaged starts over; both end with the reference's content."""
    out = tmp_path / "out"
    work = _interrupted_work(long_repo, out, monkeypatch)
    with open(work.state_path, "rb") as handle:
        state = pickle.load(handle)
    assert state.dag_edges == {} and state.edges_saved > 0
    assert len(sorted(work.parts.glob("edges-*.pkl"))) == 4
    loaded = work.load()
    assert loaded is not None and len(loaded.dag_edges) == state.edges_saved
    assert main(_args(long_repo, out)) == 0
    assert_same_outputs(long_reference, out)

    lost = tmp_path / "lost"
    work = _interrupted_work(long_repo, lost, monkeypatch)
    files = sorted(work.parts.glob("edges-*.pkl"))
    files[[len(pickle.loads(f.read_bytes())) > 0 for f in files].index(True)].unlink()
    assert work.load() is None
    assert main(_args(long_repo, lost)) == 0
    assert_same_outputs(long_reference, lost)

    work = _interrupted_work(long_repo, tmp_path / "damaged", monkeypatch)
    edge_file = sorted(work.parts.glob("edges-*.pkl"))[-1]
    edge_file.write_bytes(edge_file.read_bytes()[:5])  # cut short
    assert work.load() is None

    # A damaged state or table part (their writes are atomic: damage comes from elsewhere)
    # failed every re-run, "re-running resumes" notwithstanding; the part only after the
    # whole walk. Now the build starts over, in one line, and ends with the same content.
    for damaged in ("state.pkl", "items-000000.arrow"):
        out = tmp_path / f"damaged-{damaged}"
        work = _interrupted_work(long_repo, out, monkeypatch)
        path = work.state_path if damaged == "state.pkl" else work.parts / damaged
        path.write_bytes(path.read_bytes()[:20])
        capsys.readouterr()
        assert main(_args(long_repo, out)) == 0
        err = capsys.readouterr().err
        assert f"warning: {path} is damaged (" in err and \
            "mining from the first commit again" in err, err
        assert_same_outputs(long_reference, out)


def test_interrupt_twice_with_other_worker_count(long_repo: BuiltRepo, long_reference: Path,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    for after, workers in ((2, "0"), (3, "1")):
        with monkeypatch.context() as patch:
            _Interrupt(patch, after=after)
            assert main(_args(long_repo, out, "--workers", workers)) == 130
    assert main(_args(long_repo, out, "--workers", "0")) == 0
    assert_same_outputs(long_reference, out, manifest_too=False)


def test_resume_respects_max_commits(long_repo: BuiltRepo, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    reference, out = tmp_path / "reference", tmp_path / "out"
    assert main(_args(long_repo, reference, "--max-commits", "9", "--workers", "0")) == 0
    assert manifest(reference)["counts"]["commits"] == 9
    with monkeypatch.context() as patch:
        _Interrupt(patch, after=2)
        assert main(_args(long_repo, out, "--max-commits", "9", "--workers", "0")) == 130
    assert main(_args(long_repo, out, "--max-commits", "9", "--workers", "0")) == 0
    assert manifest(out)["counts"]["commits"] == 9
    assert_same_outputs(reference, out)


# --- parses dropped from the main process's cache ---------------------------------------------
def test_cache_keeps_recent_versions_and_pins() -> None:
    cache = mine.BlobCache(None, 1 << 20, keep_versions=2)  # type: ignore[arg-type]
    for sha in "abcde":
        cache.blobs[sha] = mine.Blob(None, None, 0)
    for sha in "abc":
        cache.set_live("src/x.rs", sha)
    assert set(cache.blobs) == {"b", "c", "d", "e"}  # a: neither recent nor pinned
    cache.hold("d")  # a worker's parse refers to d
    cache.set_live("src/y.rs", "b")  # the same blob at a second path
    cache.set_live("src/x.rs", "")  # deleted: its versions are let go, b stays for y
    assert set(cache.blobs) == {"b", "d", "e"}
    cache.drop_unheld("e")  # an old version read for a diff, held by nothing
    cache.release("d")
    assert set(cache.blobs) == {"b"}
    assert cache.dropped == {"a", "c", "d", "e"}
    assert not cache.recent.get("src/x.rs")


def test_tree_cache_is_bounded_by_source_bytes() -> None:
    """Syntax trees are kept for the next version's incremental parse, the oldest let go
    past KEEP_TREES trees or keep_tree_bytes of source; the newest stays however large."""
    cache = mine.BlobCache(None, 1 << 20, keep_trees=3, keep_tree_bytes=100)  # type: ignore[arg-type]
    for sha, size in (("a", 40), ("b", 40), ("c", 10)):
        cache.parse(sha, b"x" * (size - 1) + b"\n")
    assert list(cache.trees) == ["a", "b", "c"] and cache.tree_bytes == 90
    cache.parse("d", b"fn f() {}\n" * 3)  # 30 bytes: 120 in all, a goes
    assert list(cache.trees) == ["b", "c", "d"] and cache.tree_bytes == 80
    cache.parse("e", b"y" * 299 + b"\n")  # larger than the budget alone
    assert list(cache.trees) == ["e"] and cache.tree_bytes == 300
    for sha in "fgh":
        cache.parse(sha, b"z\n")
    assert list(cache.trees) == ["f", "g", "h"] and cache.tree_bytes == 6  # by count
    cache.drop_trees()
    assert not cache.trees and cache.tree_bytes == 0


def test_tree_cache_lets_superseded_versions_go_first() -> None:
    """Over the byte bound, a tree that a later version was parsed from goes before older
    trees that are still the latest of their paths."""
    cache = mine.BlobCache(None, 1 << 20, keep_tree_bytes=100)  # type: ignore[arg-type]

    def source(size: int, body: str = "fn f() {}") -> bytes:
        return (body + "\n//" + "x" * (size - len(body) - 4) + "\n").encode()

    cache.parse("x", source(40))
    cache.parse("a", source(20))
    cache.parse("b", source(20, "fn g() {}"), previous_sha="a")  # b is a's next version
    assert cache.incremental == 1 and list(cache.superseded) == ["a"]
    cache.parse("c", source(30))  # 110 bytes: a goes, though x is older
    assert list(cache.trees) == ["x", "b", "c"] and cache.tree_bytes == 90
    assert not cache.superseded
    cache.parse("d", source(30))  # none superseded: the oldest goes
    assert list(cache.trees) == ["b", "c", "d"] and cache.tree_bytes == 80


def test_a_small_tree_cache_changes_no_output(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for one tree, most versions are parsed from scratch instead of
    incrementally; every output is the same."""
    body = "".join(f"pub fn f{k}() -> u32 {{ {k} }}\n" for k in range(30))
    commits = [Commit("base", write={"src/lib.rs": "pub mod a;\npub mod b;\n",
                                     "src/a.rs": body, "src/b.rs": body})]
    for k in range(6):
        commits.append(Commit(f"edit {k}", write={
            "src/a.rs": body.replace(f"{{ {k} }}", f"{{ {k} + 1 }}"),
            "src/b.rs": body.replace(f"f{k + 10}()", f"g{k}()")}))
    built = make_repo(tmp_path / "repo", commits)
    runs = {}
    for label, budget in (("small", 1), ("default", mine.KEEP_TREE_SOURCE_BYTES)):
        monkeypatch.setattr(mine, "KEEP_TREE_SOURCE_BYTES", budget)
        out = tmp_path / label
        # In-process: one cache for both files, so a.rs's tree goes when b.rs is parsed.
        assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--workers",
                     "0", "--no-samples"]) == 0
        runs[label] = out
    incremental = {label: manifest(out)["this_run"]["blobs_parsed_incrementally"]
                   for label, out in runs.items()}
    assert incremental["small"] < incremental["default"] == 12
    assert_same_outputs(runs["default"], runs["small"], manifest_too=False)


def test_dropped_versions_come_back_with_the_same_outputs(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A revert and a merge bring back versions the main process had dropped: they are
    parsed again, and every output equals a run that never drops a parse."""
    v = [f"pub fn f() -> i32 {{ {k} }}\npub fn g() -> i32 {{ f() + {k} }}\n" for k in range(5)]
    # c.rs: the branch edits f, main edits h; git merges them. The walk passes the branch
    # commit first, so main's edit has a previous version the walk has already moved past.
    spacer = "".join(f"pub fn s{k}() {{}}\n" for k in range(8))

    def c(f: int, h: int) -> str:
        return f"pub fn f() -> i32 {{ {f} }}\n{spacer}pub fn h() -> i32 {{ {h} }}\n"

    built = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\n",
                              "src/a.rs": v[0], "src/b.rs": v[0], "src/c.rs": c(0, 0)}),
        Branch("feature"),
        Commit("feature b1", write={"src/b.rs": v[1]}),
        Commit("feature c f1", write={"src/c.rs": c(1, 0)}),
        Checkout("main"),
        Commit("main c h1", write={"src/c.rs": c(0, 1)}),
        Commit("main a1", write={"src/a.rs": v[1]}),
        Commit("main a2", write={"src/a.rs": v[2]}),
        Commit("main a3", write={"src/a.rs": v[3]}),
        Commit("revert a to a1", write={"src/a.rs": v[1]}),
        Commit("main b2", write={"src/b.rs": v[2]}),
        Commit("main b3", write={"src/b.rs": v[3]}),
        Commit("main b back", write={"src/b.rs": v[0]}),
        Merge("feature", "merge feature"),
    ])
    runs = {}
    ahead = mine.AHEAD_CHUNKS
    for label, keep, workers in (("drop", 1, "2"), ("drop-inline", 1, "0"),
                                 ("drop-ahead", 1, "2"), ("keep", 10**6, "2")):
        monkeypatch.setattr(mine, "KEEP_VERSIONS", keep)
        # Workers one chunk ahead at most: with more in flight, a dropped version may still
        # be on its way and is held rather than sent again (drop-ahead: as by default).
        monkeypatch.setattr(mine, "AHEAD_CHUNKS", 1 if label == "drop" else ahead)
        out = tmp_path / label
        assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--workers",
                     workers, "--chunk-commits", "1", "--snapshot-every", "1"]) == 0
        runs[label] = out
    # In-process every version that comes back is parsed again; with workers it is sent to
    # a worker again, which may still have the parse in its tree cache.
    assert manifest(runs["drop-inline"])["this_run"]["blobs_parsed_again"] >= 2
    assert manifest(runs["drop"])["this_run"]["blobs_sent_again"] >= 2
    assert manifest(runs["keep"])["this_run"]["blobs_parsed_again"] == 0
    assert manifest(runs["keep"])["this_run"]["blobs_sent_again"] == 0
    assert_same_outputs(runs["keep"], runs["drop"], manifest_too=False)
    assert_same_outputs(runs["keep"], runs["drop-inline"], manifest_too=False)
    assert_same_outputs(runs["keep"], runs["drop-ahead"], manifest_too=False)


def test_work_folder_of_an_older_format_starts_over(tmp_path: Path) -> None:
    """Checkpoint parts are Arrow IPC files; a work folder with parquet parts (an earlier
    ferric's) is not resumed from, it is removed and the walk starts again."""
    work = mine.WorkDir(tmp_path, "0123456789abcdef")
    work.parts.mkdir(parents=True)
    (work.parts / "items-000000.parquet").write_bytes(b"PAR1")
    work.state_path.write_bytes(pickle.dumps(mine.MinerState(commits_done=3, chunk=1)))
    assert work.load() is None
    assert not work.root.exists()


def test_parse_batches_never_span_two_checkpoint_chunks() -> None:
    # Integers stand in for commits: batching looks at nothing but their order.
    commits: list[Any] = list(range(1000))
    batches: list[list[Any]] = list(mine._batches(iter(commits), 500, 16))
    assert [c for batch in batches for c in batch] == commits
    assert max(len(b) for b in batches) == 32
    ends = itertools.accumulate(len(b) for b in batches)
    assert {500, 1000} <= set(ends)  # chunk edges are batch edges
    seven: list[Any] = list(range(7))
    small: list[list[Any]] = list(mine._batches(iter(seven), 3, 2))
    assert small == [[0, 1], [2], [3, 4], [5], [6]]


@pytest.mark.parametrize("failing", [False, True])
def test_a_checkpoint_write_error_is_raised_unless_another_error_is_on_its_way(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], failing: bool) -> None:
    """The writing thread's error surfaces at close; when the walk already failed (Ctrl-C,
    say), it is printed instead, so the walk's own error and its answer still come."""
    from concurrent.futures import ThreadPoolExecutor

    def fail() -> None:
        raise OSError("disk full")

    work = mine.WorkDir(tmp_path, "0" * 16)
    work._writer = ThreadPoolExecutor(1)
    work._writing = work._writer.submit(fail)
    if failing:
        work.close_writer(failing=True)
        assert "the last checkpoint was not written: disk full" in capsys.readouterr().err
    else:
        with pytest.raises(OSError, match="disk full"):
            work.close_writer()
    assert work._writer is None  # the thread is stopped either way


def test_the_alive_items_check_compares_with_a_fresh_parse(tmp_path: Path) -> None:
    """bench/alive_items.py: what the history holds alive at its last commit against a fresh
    parse of the tree's files; an items table missing a row (all of a file's items ended by
    mistake, as the check once could not see) is caught."""
    built, out = _x_on_two_lines(tmp_path, Commit(
        "side adds", write={"src/x.rs": "pub fn a() -> u8 { 10 }\npub fn b() -> u8 { 2 }\n"
                                        "pub fn side_only() {}\n"}))
    script = Path(__file__).resolve().parents[2] / "bench" / "alive_items.py"

    def check(data: Path) -> str:
        proc = subprocess.run([sys.executable, str(script), "--data", str(data), "--repo",
                               str(built.path)], capture_output=True, text=True, check=True)
        return proc.stdout

    assert "0 items alive that they lack, 0 they hold that are not alive, 0 alive with " \
        "another text" in check(out)
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    items = pq.read_table(broken / "items.parquet")
    ended = pa.table({"change": ["removed" if p == "src/x.rs" else c  # the whole file's
                                 for p, c in zip(items.column("path").to_pylist(),
                                                 items.column("change").to_pylist(),
                                                 strict=True)]})
    pq.write_table(items.set_column(items.schema.get_field_index("change"), "change",
                                    ended.column("change")), broken / "items.parquet")
    assert "0 items alive that they lack, 2 they hold that are not alive" in check(broken)
    # A build that stopped short (--max-commits) is checked at its last commit, not at the
    # revision: every item alive was in "files the tree lacks" before.
    built = make_repo(tmp_path / "later", [
        Commit("one", write={"src/lib.rs": "mod gone;\n", "src/gone.rs": "pub fn g() {}\n"}),
        Commit("two", write={"src/lib.rs": "pub fn kept() {}\n"}, delete=["src/gone.rs"])])
    short = tmp_path / "short"
    assert main(["--repo", str(built.path), "--out", str(short), "--quiet", "--no-samples",
                 "--max-commits", "1"]) == 0
    assert "0 in 0 files the tree at" in check(short)


def test_a_resumed_build_removes_the_temporary_files_a_killed_one_left(tmp_path: Path) -> None:
    """kill -9 between writing an atomic write's temporary file and renaming it left the
    file for good (a resume writes its own); a folder holding only such a file was refused
    as not a build's."""
    built = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub fn a() -> u8 { 1 }\n"})])
    out = tmp_path / "out"
    args = ["--repo", str(built.path), "--out", str(out), "--quiet", "--rustdoc", "none"]
    out.mkdir()
    (out / ".items.parquet.0uej8_to.tmp").write_bytes(b"PAR1 cut short")
    assert main(args) == 0  # only a killed first run's temporary file: taken as a build's
    stale = [out / ".items.parquet.4vzzytxp.tmp", out / "samples" / ".x.parquet.ab_12cde.tmp"]
    kept = [out / ".rustdoc-cache" / ".lock.abcdefgh.tmp", out / "samples" / "notes.tmp"]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert main(args) == 0
    assert not [p for p in stale if p.exists()]
    assert all(p.exists() for p in kept)
    assert not (out / ".items.parquet.0uej8_to.tmp").exists()


def test_a_history_rebuilt_without_samples_leaves_no_samples_of_the_old_one(
        tmp_path: Path) -> None:
    """A full build, then `--no-samples` with other settings: the history was rebuilt and
    the old samples stayed beside it, naming commits it lacks. The same settings with
    `--no-samples` leave a full build's samples alone (they are its history's)."""
    built = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub fn a() -> u8 { 1 }\n"}),
        Commit("two", write={"src/lib.rs": "pub fn a() -> u8 { 2 }\npub fn b() {}\n"})])
    out = tmp_path / "out"
    args = ["--repo", str(built.path), "--out", str(out), "--quiet", "--rustdoc", "none"]
    assert main(args) == 0
    assert (out / "samples").is_dir() and (out / "samples.png").exists()
    assert main([*args, "--no-samples"]) == 0  # the same history: up to date
    assert (out / "samples").is_dir()
    assert main([*args, "--no-samples", "--max-commits", "1"]) == 0
    assert not (out / "samples").exists() and not (out / "samples.png").exists()
    assert not (out / "type_tokens.json").exists()
    assert "samples" not in manifest(out)


def test_a_dag_edge_comes_from_a_definition_on_the_changing_commits_own_line(
        tmp_path: Path) -> None:
    """The edge's source was the latest definition in the walk's order, which may be on
    another line of history: a branch's change to f, walked before main's change to a user
    of f, became that change's dependency though main never had it (rusqlite: 1,165 of
    10,541 edges from a commit that was not an ancestor of the target)."""
    built = make_repo(tmp_path / "repo", [
        Commit("define", write={"src/lib.rs": "pub mod a;\npub mod b;\n",
                                "src/a.rs": "pub fn f() -> u32 { 1 }\n",
                                "src/b.rs": "pub fn g() -> u32 { 2 }\n"}),
        Branch("side"),
        Commit("side changes f", write={"src/a.rs": "pub fn f() -> u32 { 10 }\n"}),
        Checkout("main"),
        Commit("main uses f", write={
            "src/b.rs": "use crate::a::f;\npub fn g() -> u32 { f() + 2 }\n"}),
        Merge("side", "merge side"),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    dag = nx.read_graphml(out / "dag.graphml")
    user = built.sha("main uses f")
    assert dag.has_edge(built.sha("define"), user)
    assert not dag.has_edge(built.sha("side changes f"), user)


def test_a_library_by_the_name_an_older_manifest_gave_it(tmp_path: Path) -> None:
    """ratatui was the package `tui` until 2023: its older examples say `use tui::…`, which
    named no crate while only the revision's manifests were read (913 item versions)."""
    example = "use {}::widgets::Block;\nfn main() {{ let b = Block::new(); }}\n"
    built = make_repo(tmp_path / "repo", [
        Commit("tui", write={"Cargo.toml": '[package]\nname = "tui"\nversion = "0.1.0"\n',
                             "src/lib.rs": "pub mod widgets;\n",
                             "src/widgets.rs": "pub struct Block;\n"
                                               "impl Block { pub fn new() -> Block { Block } }\n",
                             "examples/demo.rs": example.format("tui")}),
        Commit("rename", write={"Cargo.toml": '[package]\nname = "ratatui"\nversion = "0.2.0"\n',
                                "examples/demo.rs": example.format("ratatui")}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    rows = {(r["commit"], r["kind"]): r["resolved"] for r in item_rows(out)
            if r["path"] == "examples/demo.rs" and r["change"] != "removed"}
    # `Block::new` in the library's crate, where the type is (0.1.88; only `Block` before)
    assert rows[built.sha("tui"), "function"] == [".|crate::widgets::Block::new"]
    assert rows[built.sha("tui"), "use"] == rows[built.sha("rename"), "use"] == [
        ".|crate::widgets::Block"]


def test_a_generated_files_next_versions_without_its_marker_stay_skipped(
        tmp_path: Path) -> None:
    """A file said to be generated, then generated again without saying so (chrono's
    win_bindings.rs, by windows-bindgen with `--no-comment`), was mined from that version on:
    17 held-out samples of the generator's code. A version much like the path's generated
    one is skipped too (`generated_like_previous`), also from the snapshot scales; a rewrite
    by hand is mined again."""
    from dataset_builder.samples import read_samples

    consts = "".join(f"pub const WM_CODE_{k}: u32 = {k * 17};\n" for k in range(30))
    hand = "pub fn handle(code: u32) -> bool {\n    code % 17 == 0\n}\n"
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub mod bindings;\n",
                             "src/bindings.rs": "// Bindings generated by `windows-bindgen`\n"
                                                + consts}),
        Commit("two", write={"src/bindings.rs": consts + "pub const WM_CODE_LAST: u32 = 1;\n"}),
        Commit("three", write={"src/lib.rs": "pub mod bindings;\npub fn other() {}\n"}),
        Commit("four", write={"src/bindings.rs": hand})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--rustdoc", "none",
                 "--snapshot-every", "1"]) == 0
    files = pq.read_table(out / "files.parquet").to_pylist()
    reasons = [f["skip_reason"] for f in files if f["path"] == "src/bindings.rs"]
    assert reasons == ["generated", "generated_like_previous", ""]
    items = pq.read_table(out / "items.parquet").to_pylist()
    assert {i["commit_index"] for i in items if i["path"] == "src/bindings.rs"} == {3}
    rows = read_samples(out).to_pylist()
    assert not [r for r in rows if "WM_CODE_" in r["target"]]
    assert manifest(out)["skips"]["generated_like_previous"] == 1


def test_a_generated_file_whose_marker_alone_is_dropped_is_mined(tmp_path: Path) -> None:
    """A file said to be generated whose next version drops only that comment, its code
    unchanged, is hand-written from then on (rustls's msgs/enums.rs: "drop autogenerated
    file comment", then 30 hand-edited versions skipped as generated_like_previous)."""
    consts = "".join(f"pub const CODE_{k}: u32 = {k * 17};\n" for k in range(30))
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub mod enums;\n",
                             "src/enums.rs": "/// This file is autogenerated.\n" + consts}),
        Commit("two", write={"src/enums.rs": consts}),
        Commit("three", write={"src/enums.rs": consts + "pub const CODE_LAST: u32 = 1;\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert [f["skip_reason"] for f in files if f["path"] == "src/enums.rs"] == [
        "generated", "", ""]
    items = [i for i in item_rows(out) if i["path"] == "src/enums.rs"]
    assert Counter((i["commit_index"], i["change"]) for i in items) == {
        (1, "added"): 30, (2, "added"): 1}


def test_versions_skipped_as_like_a_generated_one_give_no_item_rows(tmp_path: Path) -> None:
    """Versions skipped one after another as generated_like_previous give no rows (each
    had removed the items its previous version's text would have held: rustls 589 rows of
    removals), and a rewrite by hand adds all of its items, also those the skipped
    version's text held."""
    consts = "".join(f"pub const WM_CODE_{k}: u32 = {k * 17};\n" for k in range(30))
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub mod bindings;\n",
                             "src/bindings.rs": "// Bindings generated by `windows-bindgen`\n"
                                                + consts}),
        Commit("two", write={"src/bindings.rs": consts + "pub const WM_CODE_LAST: u32 = 1;\n"}),
        Commit("three", write={"src/bindings.rs": consts + "pub const WM_CODE_LAST: u32 = 2;\n"}),
        Commit("four", write={"src/bindings.rs": "pub const WM_CODE_0: u32 = 0;\n"
                                                 "pub fn handle(code: u32) -> bool {\n"
                                                 "    code % 17 == 0\n}\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert [f["skip_reason"] for f in files if f["path"] == "src/bindings.rs"] == [
        "generated", "generated_like_previous", "generated_like_previous", ""]
    items = [i for i in item_rows(out) if i["path"] == "src/bindings.rs"]
    assert sorted((i["commit_index"], i["change"], i["name"]) for i in items) == [
        (3, "added", "WM_CODE_0"), (3, "added", "handle")]


def test_a_method_calls_binding_is_not_shared_between_callers_of_other_types(
        tmp_path: Path) -> None:
    """A method call's binding depends on the caller's own type (the crate-wide rule binds
    a method of the caller's type where a workspace sibling has one so named too): the
    resolutions memoised per file were shared by a method and a free function, the first
    one's winning (found by a review of 0.1.64)."""
    built = make_repo(tmp_path / "repo", [Commit("all", write={
        "library/src/lib.rs": "pub struct Library;\nimpl Library { pub fn populate(&self) {} }\n",
        "site/src/lib.rs": ("use library::Library;\npub struct Site;\nimpl Site {\n"
                            "    pub fn populate(&self) {}\n"
                            "    pub fn build(&self) { make().populate() }\n}\n"
                            "pub fn run() { make().populate() }\n"),
    })])
    out = tmp_path / "out"
    assert main(["--repo", str(built.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    resolved = {r["key"]: r["resolved"] for r in item_rows(out) if r["path"] == "site/src/lib.rs"}
    assert resolved["method:impl Site::build"] == ["site|crate::Site::populate"]
    assert resolved["function:run"] == []


def test_a_body_use_binds_only_in_its_item_within_one_walk(tmp_path: Path) -> None:
    """The walk keeps the resolutions of a file's references per name: one item's own
    `use` of a name must not leak into another item's reference of that name, in either
    order, nor the file's import into the item's (the memo key carries the item's own
    imports)."""
    lib = ("mod x;\nmod y;\nmod z;\nuse crate::y::f;\n\n"
           "pub fn a() -> u8 {\n    use crate::x::f;\n    f()\n}\n\n"
           "pub fn b() -> u8 {\n    f()\n}\n\n"
           "pub fn c() -> u8 {\n    use crate::z::f;\n    f() + 1\n}\n")
    repo = make_repo(tmp_path / "repo", [Commit("one", write={
        "src/lib.rs": lib, "src/x.rs": "pub fn f() -> u8 { 1 }\n",
        "src/y.rs": "pub fn f() -> u8 { 2 }\n", "src/z.rs": "pub fn f() -> u8 { 3 }\n"})])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    items = pq.read_table(out / "items.parquet", columns=["name", "resolved"]).to_pylist()
    resolved = {i["name"]: set(i["resolved"] or ()) for i in items if i["name"] in "abc"}
    assert resolved["a"] == {".|crate::x::f"} and resolved["c"] == {".|crate::z::f"}
    assert resolved["b"] == {".|crate::y::f"}
