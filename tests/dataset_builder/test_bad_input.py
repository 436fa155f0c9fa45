"""Bad input: a one-line `error: ...` and exit code 2, or a counted skip in the manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dataset_builder.cli import main
from tests.dataset_builder.conftest import Commit, git, make_repo

ROOT = Path(__file__).resolve().parents[2]
TEN_MB = 10 * 1024 * 1024


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--quiet"])
    return code, capsys.readouterr().err


def assert_one_line_error(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err


# --- exit code 2 -------------------------------------------------------------------------------


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "does-not-exist"


def _url(tmp_path: Path) -> str:
    return "https://github.com/sharkdp/fd"


def _scp_url(tmp_path: Path) -> str:
    return "git@github.com:sharkdp/fd.git"


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "lib.rs"
    path.write_text("fn main() {}\n")
    return path


def _plain_dir(tmp_path: Path) -> Path:
    path = tmp_path / "plain"
    (path / "src").mkdir(parents=True)
    (path / "src" / "lib.rs").write_text("fn main() {}\n")
    return path


def _nested_plain_dir(tmp_path: Path) -> Path:
    outer = make_repo(tmp_path / "outer", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    inner = outer.path / "inner"
    inner.mkdir()
    return inner


def _empty_repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "empty")
    return tmp_path / "empty"


def _no_rust(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "norust", [
        Commit("docs", write={"README.md": "# hi\n", "main.py": "print('hi')\n"}),
        Commit("more docs", write={"docs/x.md": "x\n"}),
    ]).path


@pytest.mark.parametrize(("make", "message"), [
    (_missing, "no such file"),
    (_url, "a URL; clone it first (git clone https://github.com/sharkdp/fd)"),
    (_scp_url, "a URL; clone it first"),
    (_file, "is a file"),
    (_plain_dir, "not a git repository"),
    (_nested_plain_dir, "not a git repository"),
    (_empty_repo, "no commits"),
    (_no_rust, "no .rs files"),
], ids=["missing", "url", "scp-url", "file", "plain-dir", "nested-plain-dir", "empty-repo",
        "no-rust"])
def test_bad_repo_exits_2(make: Any, message: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = make(tmp_path)
    out = tmp_path / "out" / "deeper"
    code, err = run_main(capsys, "--repo", str(repo), "--out", str(out))
    assert code == 2, err
    assert_one_line_error(err)
    assert message in err
    assert not out.parent.exists()  # nothing written, not even the folders


def test_bad_rev_and_empty_selection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    out = str(tmp_path / "out")
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", out, "--rev", "nope")
    assert code == 2
    assert_one_line_error(err)
    assert "--rev nope" in err
    # Dates that select nothing are named, rather than said to leave no .rs files; git
    # takes some words for now (`all`, `false`), and they select nothing either.
    for since in ("2100-01-01", "all"):
        code, err = run_main(capsys, "--repo", str(repo.path), "--out", out, "--since", since)
        assert code == 2
        assert_one_line_error(err)
        assert f"no commits of HEAD in --since '{since}'" in err
    # git log reads a date it cannot parse as now, which would select a surprising range.
    for option in ("--since", "--until"):
        code, err = run_main(capsys, "--repo", str(repo.path), "--out", out, option, "notadate")
        assert code == 2
        assert_one_line_error(err)
        assert f"{option} 'notadate': not a date" in err
    assert not Path(out, "manifest.json").exists()


def test_an_unborn_head_and_missing_commits_are_told_apart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unborn HEAD read "--rev HEAD: not a commit" though no --rev was given; a clone
    whose objects are gone read "the repository has no commits"."""
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    git(repo.path, "checkout", "-q", "--orphan", "fresh")
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(tmp_path / "o"))
    assert code == 2
    assert_one_line_error(err)
    assert "its HEAD is branch fresh, which has no commits yet: give --rev" in err, err
    assert run_main(capsys, "--repo", str(repo.path), "--out", str(tmp_path / "o"),
                    "--rev", "main", "--no-samples")[0] == 0
    gone = make_repo(tmp_path / "gone", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    for objects in (gone.path / ".git" / "objects").iterdir():
        if objects.name not in ("info", "pack"):
            shutil.rmtree(objects)
    code, err = run_main(capsys, "--repo", str(gone.path), "--out", str(tmp_path / "p"))
    assert code == 2
    assert_one_line_error(err)
    assert "name commits the repository lacks (a damaged or incomplete clone)" in err, err


def _repo_missing_a_non_rust_blob(tmp_path: Path) -> Any:
    """A clone that lacks a blob git's rename detection reads (a non-Rust one, as in
    incomplete mirrors of alacritty and tonic), with a renamed Rust file too."""
    data = "".join(f"line {k}\n" for k in range(200))
    repo = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod a;\n", "src/a.rs": "pub fn f() {}\n",
                              "data/a.json": data}),
        Commit("move", rename={"data/a.json": "data/b.json", "src/a.rs": "src/b.rs"},
               write={"data/b.json": data + "one more\n", "src/lib.rs": "mod b;\n"}),
    ])
    for path in ("data/a.json", "src/lib.rs"):  # and the first version of a Rust file
        blob = git(repo.path, "rev-parse", f"{repo.sha('base')}:{path}").strip()
        (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    return repo


def test_a_missing_non_rust_blob_keeps_renames_among_rust_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`git log -M` cannot run there: the build says so in one line and follows renames
    among Rust files only, whose blobs rename detection can read (renames were turned off
    for the whole history before: rusqlite's and alacritty's mirrors), and records why."""
    repo = _repo_missing_a_non_rust_blob(tmp_path)
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: git log -M failed"), err
    assert "unable to read" in err and "following renames among Rust files only" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["repo"]["renames_followed"] is True
    assert "unable to read" in manifest["repo"]["renames_among_rust_files_only_because"]
    assert manifest["config"]["rust_paths_only"] is True
    assert "Renames followed among Rust files only" in (out / "report.md").read_text()
    assert manifest["skips"] == {"missing_blob": 1}  # the Rust blob: a counted skip
    files = pq.read_table(out / "files.parquet").to_pylist()
    moved = {(f["status"], f["old_path"], f["path"]) for f in files
             if f["commit"] == repo.sha("move")}
    assert ("R", "src/a.rs", "src/b.rs") in moved
    # The same command again: up to date, with no second attempt at rename detection.
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0 and "up to date" in err and "warning" not in err
    # A run that starts again (here: its outputs gone) mines the same way at once.
    (out / "manifest.json").unlink()
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0 and "warning" not in err, err
    assert json.loads((out / "manifest.json").read_text())["repo"]["renames_followed"] is True


def test_a_missing_rust_blob_turns_rename_detection_off(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Where rename detection needs a Rust blob the clone lacks as well (a file renamed and
    changed at once), the build goes on without renames: one more line says so."""
    body = "".join(f"pub fn f{k}() -> u32 {{\n    {k}\n}}\n" for k in range(30))
    repo = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod a;\n", "src/a.rs": body,
                              "data/a.json": "".join(f"line {k}\n" for k in range(200))}),
        Commit("move", rename={"src/a.rs": "src/b.rs", "data/a.json": "data/b.json"},
               write={"src/b.rs": body + "pub fn g() {}\n", "src/lib.rs": "mod b;\n",
                      "data/b.json": "".join(f"line {k}\n" for k in range(201))}),
    ])
    for path in ("data/a.json", "src/a.rs"):
        blob = git(repo.path, "rev-parse", f"{repo.sha('base')}:{path}").strip()
        (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(x.startswith("warning: git log -M failed") for x in lines)
    assert "among Rust files only" in lines[0] and "without rename detection" in lines[1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["repo"]["renames_followed"] is False
    assert "unable to read" in manifest["repo"]["renames_off_because"]
    assert "Renames not followed" in (out / "report.md").read_text()
    files = pq.read_table(out / "files.parquet").to_pylist()
    moved = {(f["status"], f["path"]) for f in files if f["commit"] == repo.sha("move")}
    assert {("D", "src/a.rs"), ("A", "src/b.rs")} <= moved
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0 and "up to date" in err and "warning" not in err


def test_a_complete_clone_follows_renames(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "mod a;\n", "src/a.rs": "pub fn f() {}\n"}),
        Commit("move", rename={"src/a.rs": "src/b.rs"}, write={"src/lib.rs": "mod b;\n"}),
    ])
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--no-samples")
    assert code == 0 and "warning" not in err, err
    assert json.loads((out / "manifest.json").read_text())["repo"]["renames_followed"] is True
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert [(f["status"], f["old_path"], f["path"]) for f in files
            if f["commit"] == repo.sha("move") and f["path"] == "src/b.rs"] == [
        ("R", "src/a.rs", "src/b.rs")]


def test_a_missing_tree_is_one_line_with_a_hint(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Without a tree git log cannot list the changes at all: one line that says what is
    wrong, whether or not renames are followed."""
    repo = make_repo(tmp_path / "repo", [
        Commit("base", write={"src/lib.rs": "fn f() {}\n", "data/x.txt": "x\n"}),
        Commit("more", write={"data/x.txt": "y\n"}),
    ])
    tree = git(repo.path, "rev-parse", f"{repo.sha('base')}:data").strip()
    (repo.path / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert_one_line_error(err)
    assert "partial or damaged clone" in err


def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    out = tmp_path / "out"
    out.write_text("not a folder\n")
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out))
    assert code == 2
    assert_one_line_error(err)
    assert f"--out {out}: is a file, not a folder" in err
    assert out.read_text() == "not a folder\n"


def test_out_holding_other_files_or_another_kind_of_build_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A build wrote over whatever OUT held: a user's notes were deleted, the repository's own
    report.md overwritten when OUT was its work tree, and a build of one repository left its
    tables beside a later build of several in the same folder."""
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    other = make_repo(tmp_path / "other", [Commit("rs", write={"src/lib.rs": "fn g() {}\n"})])
    mine = tmp_path / "mine"
    (mine / "samples").mkdir(parents=True)
    (mine / "samples" / "notes.txt").write_text("precious\n")
    (mine / "report.md").write_text("my report\n")
    theirs = tmp_path / "theirs"  # a manifest.json of another tool's
    theirs.mkdir()
    (theirs / "manifest.json").write_text('{"mine": 1}\n')
    for out in (mine, theirs, repo.path):
        for repos in (["--repo", str(repo.path)], ["--repo", str(repo.path), "--repo",
                                                  str(other.path)]):
            code, err = run_main(capsys, *repos, "--out", str(out), "--no-samples")
            assert code == 2, err
            assert_one_line_error(err)
            assert "holds files that are not a dataset_builder output" in err
    assert (mine / "samples" / "notes.txt").read_text() == "precious\n"
    assert (mine / "report.md").read_text() == "my report\n"
    assert (theirs / "manifest.json").read_text() == '{"mine": 1}\n'
    assert git(repo.path, "status", "--porcelain") == ""
    # One kind of build, then the other, into one folder; the same kind again is fine.
    one, several = tmp_path / "one", tmp_path / "several"
    assert run_main(capsys, "--repo", str(repo.path), "--out", str(one), "--no-samples")[0] == 0
    code, err = run_main(capsys, "--repo", str(repo.path), "--repo", str(other.path), "--out",
                         str(one), "--no-samples")
    assert code == 2 and "holds the build of one repository" in err, err
    assert run_main(capsys, "--repo", str(repo.path), "--out", str(one), "--no-samples")[0] == 0
    # Another repository's build into it: refused, not replaced (two clones of one name,
    # forks say, both build to data/<name> by default: the second replaced the first).
    code, err = run_main(capsys, "--repo", str(other.path), "--out", str(one), "--no-samples")
    assert code == 2 and "holds the build of another repository" in err, err
    assert_one_line_error(err)
    held = json.loads((one / "manifest.json").read_text())["repo"]["path"]
    assert Path(held).resolve() == repo.path.resolve()
    assert run_main(capsys, "--repo", str(repo.path), "--repo", str(other.path), "--out",
                    str(several), "--no-samples")[0] == 0
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(several),
                         "--no-samples")
    assert code == 2 and "holds the build of several repositories" in err, err


def test_fractions_that_leave_no_train_split(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Test and valid fractions that add up to 1 would give every sample to them."""
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out),
                         "--test-fraction", "0.6", "--valid-fraction", "0.4")
    assert code == 2
    assert_one_line_error(err)
    assert "leave nothing for train" in err
    assert not out.exists()


def test_a_second_build_of_the_same_folder_stops_at_once(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same command started again while the first still runs would interleave the two
    builds' checkpoints and staging folders in one output folder."""
    from dataset_builder.atomic import output_lock

    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    out = tmp_path / "out"
    args = ("--repo", str(repo.path), "--out", str(out), "--no-samples")
    with output_lock(out):  # a build in progress
        code, err = run_main(capsys, *args)
        assert code == 2
        assert_one_line_error(err)
        assert "is being written by another build" in err
        assert list(out.iterdir()) == []  # it wrote nothing
    code, err = run_main(capsys, *args)
    assert code == 0, err
    assert (out / "manifest.json").exists()


def test_bad_option_values(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    for option, value, message in (
            ("--max-commits", "0", "expected an integer >= 1, got '0'"),
            ("--chunk-commits", "0", "expected an integer >= 1"),
            ("--max-file-bytes", "0", "expected an integer >= 1"),
            # argparse named the type function: "invalid _positive value: 'abc'"
            ("--max-commits", "abc", "argument --max-commits: expected an integer >= 1, "
                                     "got 'abc'"),
            ("--workers", "abc", "argument --workers: expected an integer >= 0, got 'abc'"),
            # 0 made every target a near-duplicate of every other
            ("--near-threshold", "0", "expected a number in (0, 1), got '0'"),
            ("--earliest-commit", "May 2015", "expected a date YYYY-MM-DD, got May 2015")):
        with pytest.raises(SystemExit) as exc:
            main(["--repo", str(tmp_path), option, value])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert message in err
        assert_one_line_error(err)  # argparse's usage came first, 17 lines
    repo = make_repo(tmp_path / "repo", [Commit("rs", write={"src/lib.rs": "fn f() {}\n"})])
    # 1,000 parse workers were started on 2 cores
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(tmp_path / "o"),
                         "--no-samples", "--workers", "1000")
    assert code == 0 and "warning: --workers 1000 is more than this machine can use" in err
    # A missing tokenizer is found before the history is mined, not after.
    monkeypatch.setenv("FERRIC_BASE_TOKENIZER", str(tmp_path / "nowhere"))
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(tmp_path / "p"))
    assert code == 2 and "no StarCoder2 tokenizer.json in" in err, err
    assert not (tmp_path / "p").exists()


def test_subprocess_no_traceback(tmp_path: Path) -> None:
    for repo in (tmp_path / "missing", _empty_repo(tmp_path)):
        proc = subprocess.run(
            [sys.executable, "-m", "dataset_builder", "--repo", str(repo), "--out",
             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 2
        assert_one_line_error(proc.stderr)
        assert proc.stdout == ""


# --- counted skips -----------------------------------------------------------------------------


def _big(header: str) -> bytes:
    line = b"pub const T: [u8; 4] = [1, 2, 3, 4];\n"
    return header.encode() + line * (TEN_MB // len(line) + 1)


@pytest.fixture(scope="module")
def skip_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("skips")
    sub = make_repo(base / "sub", [Commit("sub", write={"src/lib.rs": "pub fn s() {}\n"})])
    repo = make_repo(base / "repo", [
        Commit("good", write={"src/lib.rs": "pub mod a;\n", "src/a.rs": "pub fn a() {}\n"}),
        Commit("odd files", write={
            "src/binary.rs": b"fn f() {}\n\x00\x01\x02\x00",
            "src/latin1.rs": "// caf\u00e9\nfn f() {}\n".encode("latin-1"),
            "src/table.rs": _big("// @generated by a script\n"),
            "src/huge.rs": _big("// written by hand, honest\n"),
            "vendor/dep/src/lib.rs": "pub fn v() {}\n",
            "third_party/x/lib.rs": "pub fn t() {}\n",
            "target/debug/build/out.rs": "pub fn o() {}\n",
            "src/gen/hello.u.pb.rs": "pub struct HelloRequest;\n",
            # serde's macrotest records: what the compiler expanded a test into.
            "tests/expand/de_enum.expanded.rs": "#[automatically_derived]\nimpl X for Y {}\n",
            # tokei's: a build script renders it into Rust.
            "src/language/language_type.hbs.rs": "pub enum LanguageType {\n"
                                                 "    {{#each languages}}\n"
                                                 "    {{@key}},\n    {{/each}}\n}\n",
            "src/widgets/canvas.rs": "//! Vendored from <https://github.com/fdehau/tui-rs>\n"
                                     "pub fn draw() {}\n",
            "src/proto.rs": "// This variable must not be referenced except by protobuf "
                            "generated\n// code.\npub static X: u8 = 0;\n",
        }, symlink={"src/link.rs": "a.rs"}),
    ])
    # A submodule (gitlink) named like a Rust file, and a real one added by `git submodule`.
    sha = git(sub.path, "rev-parse", "HEAD").strip()
    git(repo.path, "update-index", "--add", "--cacheinfo", f"160000,{sha},gitlink.rs")
    git(repo.path, "-c", "protocol.file.allow=always", "submodule", "add", "-q",
        str(sub.path), "deps/sub")
    git(repo.path, "commit", "-q", "-m", "submodules", date=1_800_000_000)
    out = base / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet"]) == 0
    return repo.path, out, json.loads((out / "manifest.json").read_text())


def test_skip_reasons_counted(skip_repo: tuple[Path, Path, dict[str, Any]]) -> None:
    _, _, m = skip_repo
    assert m["skips"] == {
        "binary": 1,
        "generated": 3,
        "non_utf8": 1,
        "submodule": 2,
        "symlink": 1,
        "target_dir": 1,
        "template": 1,
        "too_large": 1,
        "vendored": 3,
    }
    assert m["status"] == "complete"
    assert all(m["sanity"].values())


def test_skipped_files_are_rows_without_items(skip_repo: tuple[Path, Path, dict[str, Any]]) -> None:
    import pyarrow.parquet as pq

    _, out, _ = skip_repo
    files = {f["path"]: f for f in pq.read_table(out / "files.parquet").to_pylist()}
    expected = {
        "src/binary.rs": "binary", "src/latin1.rs": "non_utf8", "src/table.rs": "generated",
        "src/huge.rs": "too_large", "src/link.rs": "symlink", "gitlink.rs": "submodule",
        "deps/sub": "submodule", "vendor/dep/src/lib.rs": "vendored",
        "third_party/x/lib.rs": "vendored", "target/debug/build/out.rs": "target_dir",
        "src/gen/hello.u.pb.rs": "generated", "src/widgets/canvas.rs": "vendored",
        "tests/expand/de_enum.expanded.rs": "generated",
        "src/language/language_type.hbs.rs": "template",
    }
    for path, reason in expected.items():
        assert files[path]["skip_reason"] == reason, path
        assert files[path]["items_added"] == 0
    assert files["src/huge.rs"]["size"] > TEN_MB
    assert files["src/a.rs"]["skip_reason"] == ""
    items = pq.read_table(out / "items.parquet", columns=["path"]).column("path").to_pylist()
    # A mention of generated code is no marker (a hand-written file may wrap such code):
    # the generator's file name is.
    assert set(items) == {"src/lib.rs", "src/a.rs", "src/proto.rs"}
    # .gitmodules is not Rust: not a file row at all.
    assert ".gitmodules" not in files


def test_max_file_bytes_option(skip_repo: tuple[Path, Path, dict[str, Any]],
                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, _ = skip_repo
    out = tmp_path / "out"
    # Every .rs file is skipped, most as too large: nothing is mined, and the one line says
    # why, with the skips counted.
    code, err = run_main(capsys, "--repo", str(repo), "--out", str(out), "--quiet",
                         "--max-file-bytes", "10")
    assert code == 2, err
    assert_one_line_error(err)
    assert "no .rs file of the selected history is mined" in err
    # huge.rs, lib.rs, a.rs, latin1.rs and proto.rs (binary, generated and vendored are
    # judged before the size).
    assert "too_large 5" in err and "binary 1" in err and "generated 3" in err
    code, err = run_main(capsys, "--repo", str(repo), "--out", str(out), "--quiet",
                         "--max-file-bytes", "20")  # lib.rs and a.rs fit
    assert code == 0, err
    skips = json.loads((out / "manifest.json").read_text())["skips"]
    assert skips["too_large"] == 2 and skips["binary"] == 1  # huge.rs, proto.rs
    assert skips["generated"] == 3 and skips["vendored"] == 3


def test_a_rust_file_that_becomes_a_symlink_ends_its_items(tmp_path: Path) -> None:
    """A .rs file replaced by a symlink (git's type change, T) kept its items alive for good:
    they are removed as in a deletion, and added again when a file comes back in its place."""
    b = "pub fn origin() -> u8 { 0 }\npub fn twice(x: u8) -> u8 { x * 2 }\n"
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub mod b;\n", "src/b.rs": b}),
        Commit("link", delete=["src/b.rs"], symlink={"src/b.rs": "lib.rs"}),
        Commit("file again", delete=["src/b.rs"], write={"src/b.rs": b}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--no-samples", "--quiet"]) == 0
    files = {(f["commit_index"], f["path"]): f for f in pq.read_table(
        out / "files.parquet").to_pylist()}
    assert files[(1, "src/b.rs")]["status"] == "T"
    assert files[(1, "src/b.rs")]["skip_reason"] == "symlink"
    assert files[(1, "src/b.rs")]["items_removed"] == 2
    assert files[(2, "src/b.rs")]["items_added"] == 2
    items = [(i["commit_index"], i["name"], i["change"]) for i in pq.read_table(
        out / "items.parquet").to_pylist() if i["path"] == "src/b.rs"]
    assert sorted(items) == [(0, "origin", "added"), (0, "twice", "added"),
                             (1, "origin", "removed"), (1, "twice", "removed"),
                             (2, "origin", "added"), (2, "twice", "added")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skips"] == {"symlink": 1}


def test_a_rust_file_renamed_to_another_kind_ends_its_items(tmp_path: Path) -> None:
    """A .rs file renamed to a name that is not Rust's (b.rs -> b.rs.bak) kept its items alive
    for good, and a file renamed back to .rs was diffed against a text never mined: the first
    is a deletion of the .rs file, the second an addition."""
    b = "pub fn origin() -> u8 { 0 }\npub fn twice(x: u8) -> u8 { x * 2 }\n"
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub mod b;\n", "src/b.rs": b}),
        Commit("aside", rename={"src/b.rs": "src/b.rs.bak"}),
        Commit("back", rename={"src/b.rs.bak": "src/c.rs"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--no-samples", "--quiet"]) == 0
    items = [(i["commit_index"], i["path"], i["name"], i["change"]) for i in pq.read_table(
        out / "items.parquet").to_pylist() if i["path"] != "src/lib.rs"]
    assert sorted(items) == [
        (0, "src/b.rs", "origin", "added"), (0, "src/b.rs", "twice", "added"),
        (1, "src/b.rs", "origin", "removed"), (1, "src/b.rs", "twice", "removed"),
        (2, "src/c.rs", "origin", "added"), (2, "src/c.rs", "twice", "added")]
    files = {(f["commit_index"], f["path"]): f for f in pq.read_table(
        out / "files.parquet").to_pylist()}
    assert files[(1, "src/b.rs.bak")]["items_removed"] == 2
    assert files[(2, "src/c.rs")]["items_added"] == 2
    assert files[(2, "src/c.rs")]["items_removed"] == 0


def test_file_with_syntax_errors_is_kept(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    repo = make_repo(tmp_path / "repo", [
        Commit("broken", write={"src/lib.rs": "fn good() {}\nfn bad( {\nstruct S;\n"}),
        Commit("fixed", write={"src/lib.rs": "fn good() {}\nfn bad() {}\nstruct S;\n"}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["file_versions_with_parse_errors"] == 1
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert files[0]["parse_errors"] > 0 and files[1]["parse_errors"] == 0
    keys = {r["key"] for r in pq.read_table(out / "items.parquet").to_pylist()}
    assert {"function:good", "struct:S"} <= keys


def test_non_utf8_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, [Commit("ok", write={"src/lib.rs": "pub fn a() {}\n"})])
    name = os.fsdecode(b"src/caf\xe9.rs")
    (repo / name).write_text("pub fn b() {}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "latin-1 name", date=1_800_000_000)
    code, err = run_main(capsys, "--repo", str(repo), "--out", str(tmp_path / "out"))
    assert code in (0, 2), err  # mined (or skipped and counted), or a clean error
    if code == 2:
        assert_one_line_error(err)


@pytest.mark.parametrize(("head", "reason"), [
    ("// @generated by a script\n", "generated"),
    ("/* automatically generated by rust-bindgen 0.69.4 */\n", "generated"),
    ('// auto-generated: "lalrpop 0.19.8"\n', "generated"),
    # LALRPOP before 0.16 wrote no header; its parsers import lalrpop_util under this alias
    ("use ast::*;\nextern crate lalrpop_util as __lalrpop_util;\n\nmod __parse__Goal {}\n",
     "generated"),
    ("// Bindings generated by `windows-bindgen` 0.58.0\n\npub type HANDLE = isize;\n",
     "generated"),
    ("//! A parser written by hand; do note the edits below.\npub fn parse() {}\n", None),
    ("/*\n   This file is autogenerated by tablegen.\n*/\npub const T: u8 = 0;\n", "generated"),
    # A marker in a string is no header (just's src/completions.rs embeds shell scripts).
    ('pub const BASH: &str = r#"\n# autogenerated completions\n"#;\n', None),
    ('fn f() -> &\'static str { "do not edit" }\n', None),
    # A generator's plain header (rust-url's IDNA table), not a doc comment of one item or
    # a sentence that only mentions it.
    ("// Generated by make_idna_table.py\n\nstatic TABLE: &[Range] = &[];\n", "generated"),
    ("/* Code generated by protoc-gen-x. */\npub struct M;\n", "generated"),
    ("/// Generated by `make_base64_decode_table.py`\nstatic T: [u8; 2] = [0, 1];\n", None),
    ("//! Types generated by the build script are re-exported here.\n", None),
    ("// these could be generated by a macro, but are not\nfn a() {}\n", None),
    ("// these could just as well be\n// generated by a script\nfn a() {}\n", None),
    ("/**\n * Generated by nobody: a doc block.\n */\npub fn a() {}\n", None),
    ("/*\n * generated by the sentence above\n */\nfn a() {}\n", None),
    ("#![allow(x)]\n// Generated by make_table.py\npub static T: [u8; 1] = [0];\n", "generated"),
    ("// Copyright 2020 Foo.\n// Licensed under MIT.\n//\n// Generated by make_tables.py.\n",
     "generated"),
    # prost-build's output before it wrote a header (tonic's out/helloworld.rs, benchmarks'
    # compiled_protos): its derives name the crate from the root.
    ("/// The request.\n#[derive(Clone, PartialEq, ::prost::Message)]\npub struct HelloRequest {\n"
     '    #[prost(string, tag = "1")]\n    pub name: String,\n}\n'
     "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]"
     "\n#[repr(i32)]\npub enum Status {\n    Unknown = 0,\n}\n", "generated"),
    # One such message written by hand (a test of tonic's), or by its imported name.
    ("#[derive(Clone, PartialEq, ::prost::Message)]\nstruct Animal {}\n\nfn main() {}\n", None),
    ("use prost::Message;\n\n#[derive(Clone, PartialEq, Message)]\npub struct Ping {}\n", None),
    # An item's doc comment tells what it does (clap's help writer), not how it was made.
    ("// Std\nuse std::cmp;\n\n/// `clap` auto-generated help writer\npub(crate) struct Help;\n",
     None),
    ("//// auto-generated: a plain comment of four slashes\npub struct T;\n", "generated"),
    # A `///` header before any code is the file's (rustls's msgs/enums.rs until 2024).
    ("/// This file is autogenerated.  See https://github.com/ctz/tls-hacking/\nuse x::y;\n",
     "generated"),
    ("#![allow(non_camel_case_types)]\n/// This file is autogenerated.\nuse x::y;\n", "generated"),
    # `cargo expand`'s output (salsa's committed `*_expanded.rs`): rustc's prelude import.
    ("#![feature(prelude_import)]\n#[prelude_import]\nuse std::prelude::rust_2021::*;\n"
     "#[macro_use]\nextern crate std;\nstruct MyInput;\n", "generated"),
    # A no_std crate's own prelude, imported so by hand (a review): not generated.
    ("#![no_std]\n#[prelude_import]\nuse crate::prelude::*;\npub mod prelude {}\n", None),
    # tonic-build's own source holds the doc line it writes: not generated.
    ("pub fn client() -> TokenStream {\n    quote! {\n        /// Generated client implementations."
     "\n        pub mod client {}\n    }\n}\n", None),
])
def test_generated_files_are_told_by_their_first_kib(head: str, reason: str | None) -> None:
    from dataset_builder.mine import content_skip_reason

    assert content_skip_reason(head.encode(), 1 << 20) == reason


def test_copied_crates_are_not_mined(tmp_path: Path) -> None:
    """A folder that holds a file only cargo writes into a crate it copies is a copy of a
    published crate in every commit: before its marker came, and after it left."""
    from dataset_builder.gitio import copied_crate_roots, open_repo

    copy = "benches/serde-1.0/src/lib.rs"
    repo = make_repo(tmp_path / "repo", [
        Commit("own code", write={
            "Cargo.toml.orig": "[package]\n",  # at the top: the repository is that crate
            "src/lib.rs": "pub mod a;\n", "src/a.rs": "pub fn a() {}\n",
            copy: "pub fn s() {}\n",
            "benches/serde-1.0-like/src/lib.rs": "pub fn own() {}\n",  # a sibling's prefix
        }),
        Commit("copy changed", write={copy: "pub fn s() {}\npub fn t() {}\n"}),
        Commit("markers", write={
            "benches/serde-1.0/Cargo.toml.orig": "[package]\n",
            "benches/syn-2/.cargo_vcs_info.json": "{}\n", "benches/syn-2/src/lib.rs": "fn y() {}\n",
            "deps/regex/.cargo-checksum.json": "{}\n", "deps/regex/src/lib.rs": "fn r() {}\n",
        }),
        Commit("marker gone", delete=["benches/serde-1.0/Cargo.toml.orig"],
               write={copy: "pub fn s() {}\n"}),
    ])
    assert copied_crate_roots(open_repo(repo.path)) == {
        "benches/serde-1.0", "benches/syn-2", "deps/regex"}
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["repo"]["copied_crates"] == ["benches/serde-1.0", "benches/syn-2", "deps/regex"]
    assert m["skips"] == {"vendored_crate": 5}  # copy.rs three times, syn's and regex's
    assert all(m["sanity"].values())
    files = pq.read_table(out / "files.parquet").to_pylist()
    assert {f["path"] for f in files if f["skip_reason"] == "vendored_crate"} == {
        copy, "benches/syn-2/src/lib.rs", "deps/regex/src/lib.rs"}
    items = set(pq.read_table(out / "items.parquet", columns=["path"]).column("path").to_pylist())
    assert items == {"src/lib.rs", "src/a.rs", "benches/serde-1.0-like/src/lib.rs"}
    nodes = set(pq.read_table(out / "modules.parquet", columns=["path"]).column("path").to_pylist())
    assert copy not in nodes and "src/a.rs" in nodes
    assert "3 folders holding a copy of a published crate" in (out / "report.md").read_text()
    samples = pq.read_table(out / "samples").column("path").to_pylist()
    assert samples and not any(p.startswith(("benches/serde-1.0/", "deps/")) for p in samples)


def test_a_file_generated_at_the_revision_is_generated_throughout(tmp_path: Path) -> None:
    """A generator's output committed before the generator wrote its header (prost's
    prost-types/src/protobuf.rs: 33 versions, 18% of its module files' target tokens) is
    skipped at every version once the revision's version says it is generated."""
    import pyarrow.parquet as pq

    table = "".join(f"pub const VALUE_{k}: u32 = {k};\n" for k in range(20))
    repo = make_repo(tmp_path / "repo", [
        Commit("hand", write={"src/lib.rs": "pub mod table;\npub fn a() -> u32 { 1 }\n",
                              "src/table.rs": table}),
        Commit("more", write={"src/table.rs": table + "pub const LAST: u32 = 0;\n"}),
        Commit("header", write={"src/table.rs": "// @generated by tablegen\n" + table}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["repo"]["generated_at_head"] == ["src/table.rs"]
    assert manifest["skips"]["generated"] == 3
    paths = set(pq.read_table(out / "items.parquet", columns=["path"]).column("path").to_pylist())
    assert paths == {"src/lib.rs"}


def test_a_generated_file_renamed_before_its_header_came_is_generated_under_its_old_name(
        tmp_path: Path) -> None:
    """tonic's `src/generated/grpc.health.v1.rs`, renamed `grpc_health_v1.rs` before its
    generator wrote a header: its versions under the old name were mined (53 samples)."""
    import pyarrow.parquet as pq

    table = "".join(f"pub const VALUE_{k}: u32 = {k};\n" for k in range(20))
    repo = make_repo(tmp_path / "repo", [
        Commit("hand", write={"src/lib.rs": "pub mod gen;\npub fn a() -> u32 { 1 }\n",
                              "src/gen/table.v1.rs": table, "src/gen/mod.rs": "pub mod t;\n"}),
        Commit("more", write={"src/gen/table.v1.rs": table + "pub const LAST: u32 = 0;\n"}),
        Commit("rename", rename={"src/gen/table.v1.rs": "src/gen/table_v1.rs"}),
        Commit("header", write={"src/gen/table_v1.rs": "// @generated by tablegen\n" + table}),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["repo"]["generated_at_head"] == ["src/gen/table.v1.rs", "src/gen/table_v1.rs"]
    paths = set(pq.read_table(out / "items.parquet", columns=["path"]).column("path").to_pylist())
    assert paths == {"src/lib.rs", "src/gen/mod.rs"}


def test_programs_that_must_not_compile_are_skipped(tmp_path: Path) -> None:
    """trybuild's and compiletest's programs written to fail (a `.stderr` of the same name
    beside them at the revision, or beside a symlink to them, or `//~ ERROR` annotations)
    are not code to learn from: actix's and time's compile-fail fixtures made 34 and 63
    samples, futures-rs's ui tests 51, Rocket's linked ones 22."""
    import pyarrow.parquet as pq

    from dataset_builder.mine import content_skip_reason

    repo = make_repo(tmp_path / "repo", [
        Commit("tests", write={
            "src/lib.rs": "pub fn a() -> u32 { 1 }\n",
            "tests/trybuild.rs": "#[test]\nfn ui() { trybuild::TestCases::new(); }\n",
            "tests/trybuild/simple-fail.rs": "fn main() { let x: u32 = \"no\"; }\n",
            "tests/trybuild/simple-pass.rs": "fn main() { let x: u32 = 1; }\n",
            "tests/ui/mismatch.rs": ("fn main() {\n    let a: i32 = \"a\"; //~ ERROR mismatched\n"
                                     "}\n")}),
        Commit("expected", write={
            "tests/trybuild/simple-fail.stderr": "error[E0308]: mismatched types\n",
            "tests/trybuild/simple-fail.rs": "fn main() { let y: u32 = \"no\"; }\n",
            # A fixture whose folder is gone from the revision (futures-rs's testcrate/ui).
            "testcrate/ui/forget.rs": "fn main() { let f: u8 = (); }\n",
            "testcrate/ui/forget.stderr": "error[E0308]: mismatched types\n",
            # Run from a symlink with the `.stderr` beside it (Rocket's ui-fail-stable/).
            "tests/ui-fail/from_param.rs": "fn main() { let z: u8 = \"z\"; }\n",
            "tests/ui-fail-stable/from_param.stderr": "error: named structs\n"},
            symlink={"tests/ui-fail-stable/from_param.rs": "../ui-fail/from_param.rs"}),
        Commit("edit", write={"testcrate/ui/forget.rs": "fn main() { let g: u8 = (); }\n"}),
        Commit("drop", delete=["testcrate/ui/forget.rs", "testcrate/ui/forget.stderr"]),
    ])
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet", "--no-samples"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["repo"]["compile_fail_paths"] == [
        "testcrate/ui/forget.rs", "tests/trybuild/simple-fail.rs",
        "tests/ui-fail-stable/from_param.rs", "tests/ui-fail/from_param.rs"]
    # each change of the three fixtures (the deletion too) and the ui test
    assert manifest["skips"]["compile_fail_test"] == 7
    paths = set(pq.read_table(out / "items.parquet", columns=["path"]).column("path").to_pylist())
    assert paths == {"src/lib.rs", "tests/trybuild.rs", "tests/trybuild/simple-pass.rs"}
    assert content_skip_reason(b"x(); //~^^ WARN unused\n", 1 << 20) == "compile_fail_test"
    assert content_skip_reason(b"let s = \"//~\";\n", 1 << 20) is None


def test_copied_crate_paths_judged_by_whole_folder_names() -> None:
    from dataset_builder.gitio import PathRules
    from dataset_builder.mine import path_skip_reason

    rules = PathRules(copied_crates=frozenset({"a/b", "c"}))
    assert path_skip_reason("a/b/src/lib.rs", "100644", rules) == "vendored_crate"
    assert path_skip_reason("c/lib.rs", "100644", rules) == "vendored_crate"
    assert path_skip_reason("a/bc/lib.rs", "100644", rules) is None
    assert path_skip_reason("a/lib.rs", "100644", rules) is None
    assert path_skip_reason("a/b/src/lib.rs", "100644") is None


@pytest.mark.parametrize(("path", "patterns", "reason"), [
    ("benches/copy/src/lib.rs", ("benches",), "excluded"),  # a folder: all below it
    ("benches/copy/src/lib.rs", ("benches/",), "excluded"),
    ("benches/copy/src/lib.rs", ("*/copy",), "excluded"),
    ("benches/copy/src/lib.rs", ("*.rs",), "excluded"),  # `*` also matches `/`
    ("src/gen/table.rs", ("src/gen/table.rs",), "excluded"),
    ("src/generic.rs", ("src/gen",), None),  # whole names, not prefixes
    ("src/lib.rs", ("Src",), None),  # case-sensitive
    ("src/lib.rs", (), None),
])
def test_exclude_patterns(path: str, patterns: tuple[str, ...], reason: str | None) -> None:
    from dataset_builder.gitio import PathRules
    from dataset_builder.mine import path_skip_reason

    assert path_skip_reason(path, "100644", PathRules(exclude=patterns)) == reason


def test_excluded_paths_are_counted_and_change_the_config_hash(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", [
        Commit("code", write={"src/lib.rs": "pub mod a;\n", "src/a.rs": "pub fn a() {}\n",
                              "bench-data/servo/style.rs": "pub fn s() {}\n"}),
        Commit("more", write={"bench-data/servo/style.rs": "pub fn s() {}\nfn t() {}\n",
                              "src/a.rs": "pub fn a() {}\npub fn b() {}\n"}),
    ])
    plain, excluding = tmp_path / "plain", tmp_path / "excluding"
    assert main(["--repo", str(repo.path), "--out", str(plain), "--quiet",
                 "--no-samples"]) == 0
    assert main(["--repo", str(repo.path), "--out", str(excluding), "--quiet", "--no-samples",
                 "--exclude", "bench-data", "--exclude", "src/a.rs"]) == 0
    m = json.loads((excluding / "manifest.json").read_text())
    assert m["skips"] == {"excluded": 4}
    assert m["config"]["exclude"] == ["bench-data", "src/a.rs"]
    assert all(m["sanity"].values())
    items = set(pq.read_table(excluding / "items.parquet", columns=["path"])
                .column("path").to_pylist())
    assert items == {"src/lib.rs"}
    before = json.loads((plain / "manifest.json").read_text())
    assert before["skips"] == {} and before["config_hash"] != m["config_hash"]
    # The report's command gives the same build again.
    line = next(x for x in (excluding / "report.md").read_text().splitlines()
                if x.startswith("Reproduce:"))
    assert line.endswith(" --exclude bench-data --exclude src/a.rs`")


def test_every_rs_file_excluded_exits_2(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """--exclude '*' left a build of no items that exited 0 (with failed sanity checks), where
    a history without .rs files exits 2."""
    repo = make_repo(tmp_path / "repo", [
        Commit("code", write={"src/lib.rs": "pub mod a;\n", "src/a.rs": "pub fn a() {}\n"}),
        Commit("more", write={"src/a.rs": "pub fn a() {}\npub fn b() {}\n"}),
    ])
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out), "--exclude", "*")
    assert code == 2, err
    assert_one_line_error(err)
    assert "no .rs file of the selected history is mined: 3 skipped (excluded 3)" in err
    assert not out.exists()


@pytest.mark.parametrize("error", [
    OSError(28, "No space left on device"),  # os.write's
    OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"),  # pyarrow's
])
def test_a_full_disk_names_the_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str],
                                             error: OSError) -> None:
    """pyarrow's write error named no file: a full disk printed only "Error writing bytes to
    file", with no folder and no word that the run resumes."""
    import dataset_builder.cli as cli

    repo = make_repo(tmp_path / "repo", [Commit("one", write={"src/lib.rs": "pub fn a() {}\n"})])

    def full(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(cli, "build_dataset", full)
    out = tmp_path / "out"
    code, err = run_main(capsys, "--repo", str(repo.path), "--out", str(out))
    assert code == 2
    assert_one_line_error(err)
    assert f"no space left on device writing under {out}" in err
    assert "run the same command again to resume" in err


def test_an_unreadable_repository_folder_is_said_to_be_unreadable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """It was reported as "not a git repository" (git's own answer). As root a chmod does
    not deny anything, so the check's access test is made to say no."""
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access  # gitio's os is this os
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder
                        else real_access(p, mode, **kw))
    assert main(["--repo", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: --repo {folder}: permission denied (cannot read the folder)"


def test_the_environment_and_the_repositorys_config_do_not_change_what_is_mined(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exported GIT_DIR (every git hook sets one) made a build of one repository mine
    another, silently; a repository's `diff.renameLimit=1` stopped its renames being
    followed. Both builds equal a plain one."""
    body = "".join(f"pub fn f{k}() -> u32 {{ {k} }}\n" for k in range(20))
    steps = [Commit("one", write={"src/lib.rs": "mod a;\nmod b;\n", "src/a.rs": body,
                                  "src/b.rs": body.replace("f", "g")}),
             # Renamed and edited (exact renames are found whatever the limit).
             Commit("move", rename={"src/a.rs": "src/c.rs", "src/b.rs": "src/d.rs"},
                    write={"src/lib.rs": "mod c;\nmod d;\n", "src/c.rs": body + "\n",
                           "src/d.rs": body.replace("f", "g") + "\n"})]
    repo = make_repo(tmp_path / "repo", steps).path
    other = make_repo(tmp_path / "other", [Commit("x", write={"src/lib.rs": "fn x() {}\n"})])
    plain = tmp_path / "plain"
    assert main(["--repo", str(repo), "--out", str(plain), "--quiet", "--no-samples"]) == 0
    git(repo, "config", "diff.renameLimit", "1")
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other.path))
    odd = tmp_path / "odd"
    assert main(["--repo", str(repo), "--out", str(odd), "--quiet", "--no-samples"]) == 0
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    for table in ("commits", "files", "items"):
        assert pq.read_table(odd / f"{table}.parquet").equals(
            pq.read_table(plain / f"{table}.parquet")), table
    assert json.loads((odd / "manifest.json").read_text())["repo"]["head"] == \
        git(repo, "rev-parse", "HEAD").strip()


def test_items_nested_past_the_recursion_limit_are_a_counted_skip(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """500 inline modules in one another crashed every run on the same file (a RecursionError
    from the parse, in a worker or not)."""
    deep = "".join(f"mod m{k} {{\n" for k in range(600)) + "fn f() {}\n" + "}\n" * 600
    repo = make_repo(tmp_path / "repo", [
        Commit("one", write={"src/lib.rs": "pub fn kept() {}\n", "src/deep.rs": deep})]).path
    for workers in ("0", "2"):
        out = tmp_path / f"out{workers}"
        code, err = run_main(capsys, "--repo", str(repo), "--out", str(out), "--no-samples",
                             "--workers", workers)
        assert code == 0, err
        m = json.loads((out / "manifest.json").read_text())
        assert m["skips"]["too_deeply_nested"] == 1
        keys = {r["key"] for r in pq.read_table(out / "items.parquet").to_pylist()}
        assert "function:kept" in keys
