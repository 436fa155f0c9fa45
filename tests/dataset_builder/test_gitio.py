"""dataset_builder.gitio: repository validation, the commit walk and blob reads."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dataset_builder.gitio import (
    BlobReader,
    Commit,
    FileChange,
    RepoError,
    count_commits,
    extract_tree,
    iter_commits,
    list_tree,
    open_repo,
)
from tests.dataset_builder.conftest import (
    BASE_DATE,
    HOUR,
    BuiltRepo,
    Checkout,
    Merge,
    git,
    git_env,
    linear_repo,
    make_repo,
)
from tests.dataset_builder.conftest import Branch as BranchStep
from tests.dataset_builder.conftest import Commit as CommitStep


def _changes(commit: Commit) -> dict[str, FileChange]:
    return {c.path: c for c in commit.changes}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> BuiltRepo:
    """main: init, topic branch (add t.rs), main edit, --no-ff merge, rename, delete."""
    return make_repo(tmp_path_factory.mktemp("gitio") / "repo", [
        CommitStep("init", write={"src/lib.rs": "pub mod a;\n", "src/a.rs": "pub fn a() {}\n",
                                  "README.md": "hi\n"}),
        BranchStep("topic"),
        CommitStep("topic adds t", write={"src/t.rs": "pub fn t() {}\n"}),
        CommitStep("topic edits a", write={"src/a.rs": "pub fn a() { t() }\n"}),
        Checkout("main"),
        CommitStep("main edits lib", write={"src/lib.rs": "pub mod a;\npub mod t;\n"}),
        Merge("topic", "merge topic"),
        CommitStep("rename a to b", rename={"src/a.rs": "src/b.rs"}),
        CommitStep("delete t", delete=["src/t.rs"]),
    ])


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=git_env())


# --- the commit walk -------------------------------------------------------------------------


def test_iter_commits_oldest_first_parents_before_children(history: BuiltRepo) -> None:
    info = open_repo(history.path)
    commits = list(iter_commits(info))
    assert len(commits) == len(history.order) == 7
    assert commits[0].sha == history.sha("init")
    assert commits[0].parents == ()
    assert commits[-1].sha == history.sha("delete t")
    seen: set[str] = set()
    for commit in commits:
        assert all(p in seen for p in commit.parents), commit.subject
        seen.add(commit.sha)
    assert {c.sha for c in commits} == set(history.order)
    by_sha = {c.sha: c for c in commits}
    first = by_sha[history.sha("init")]
    assert first.author == "Ferric Test"
    assert first.authored_at == first.committed_at == BASE_DATE + HOUR
    assert first.subject == "init"
    # The root commit reports its files as added (diffed against the empty tree).
    assert {c.path: c.status for c in first.changes} == {
        "src/lib.rs": "A", "src/a.rs": "A", "README.md": "A"}
    assert all(c.old_blob == "" and len(c.new_blob) == 40 for c in first.changes)


def test_merge_is_diffed_against_first_parent(history: BuiltRepo) -> None:
    commits = {c.sha: c for c in iter_commits(open_repo(history.path))}
    merge = commits[history.sha("merge topic")]
    assert merge.parents == (history.sha("main edits lib"), history.sha("topic edits a"))
    # Against the first parent (main), the merge brings in what the topic branch did.
    changes = _changes(merge)
    assert set(changes) == {"src/t.rs", "src/a.rs"}
    assert changes["src/t.rs"].status == "A"
    assert changes["src/a.rs"].status == "M"
    a_old = git(history.path, "rev-parse", f"{history.sha('main edits lib')}:src/a.rs").strip()
    a_new = git(history.path, "rev-parse", f"{history.sha('topic edits a')}:src/a.rs").strip()
    assert (changes["src/a.rs"].old_blob, changes["src/a.rs"].new_blob) == (a_old, a_new)


def test_rename_reported_with_old_path(history: BuiltRepo) -> None:
    commits = {c.sha: c for c in iter_commits(open_repo(history.path))}
    rename = commits[history.sha("rename a to b")]
    assert len(rename.changes) == 1
    change = rename.changes[0]
    assert (change.status, change.old_path, change.path) == ("R", "src/a.rs", "src/b.rs")
    assert change.similarity == 100
    assert change.old_blob == change.new_blob != ""


def test_deletion_reported_with_old_blob(history: BuiltRepo) -> None:
    commits = {c.sha: c for c in iter_commits(open_repo(history.path))}
    deletion = commits[history.sha("delete t")]
    (change,) = deletion.changes
    assert (change.status, change.path, change.old_path) == ("D", "src/t.rs", "src/t.rs")
    expected = git(history.path, "rev-parse", f"{history.sha('topic adds t')}:src/t.rs").strip()
    assert change.old_blob == expected
    assert change.new_blob == ""
    assert change.new_mode == "000000"


def test_max_commits_keeps_oldest(history: BuiltRepo) -> None:
    info = open_repo(history.path)
    everything = [c.sha for c in iter_commits(info)]
    assert [c.sha for c in iter_commits(info, max_commits=3)] == everything[:3]
    assert [c.sha for c in iter_commits(info, max_commits=100)] == everything


def test_skip_drops_first(history: BuiltRepo) -> None:
    info = open_repo(history.path)
    everything = [c.sha for c in iter_commits(info)]
    assert [c.sha for c in iter_commits(info, skip=4)] == everything[4:]
    assert list(iter_commits(info, skip=len(everything))) == []


def test_skip_with_max_commits_is_the_same_prefix_of_history(history: BuiltRepo) -> None:
    """A resumed run calls iter_commits(max_commits=N, skip=done): it must stop at the N-th
    commit overall, or a resumed `--max-commits` run mines more commits than it should."""
    info = open_repo(history.path)
    everything = [c.sha for c in iter_commits(info)]
    assert [c.sha for c in iter_commits(info, max_commits=5, skip=2)] == everything[2:5]


def test_since_until(tmp_path: Path) -> None:
    built = linear_repo(tmp_path / "repo", 6)  # commit k at BASE_DATE + (k + 1) hours
    info = open_repo(built.path)

    def iso(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")

    since = iso(BASE_DATE + 3 * HOUR - 60)  # just before commit 2
    until = iso(BASE_DATE + 5 * HOUR + 60)  # just after commit 4
    got = [c.subject for c in iter_commits(info, since=since, until=until)]
    assert got == ["commit 2", "commit 3", "commit 4"]
    assert count_commits(info, since, until) == 3
    assert [c.subject for c in iter_commits(info, since=since)] == [
        "commit 2", "commit 3", "commit 4", "commit 5"]
    assert [c.subject for c in iter_commits(info, until=until)] == [
        f"commit {k}" for k in range(5)]


# --- repository kinds ------------------------------------------------------------------------


def test_working_tree_repo_info(history: BuiltRepo) -> None:
    info = open_repo(history.path)
    assert info.path == history.path.resolve()
    assert info.git_dir == history.path.resolve() / ".git"
    assert not info.bare and not info.shallow
    assert info.head == history.sha("delete t")
    assert info.rev == "HEAD"
    assert open_repo(history.path, "topic").head == history.sha("topic edits a")
    files = {e.path for e in list_tree(info, info.head)}
    assert files == {"README.md", "src/lib.rs", "src/b.rs"}


@pytest.mark.parametrize("dest", ["mirror.git", "plain/repo"])
def test_bare_clone(history: BuiltRepo, tmp_path: Path, dest: str) -> None:
    target = tmp_path / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    _run(["git", "clone", "-q", "--bare", str(history.path), str(target)])
    info = open_repo(target)
    assert info.bare
    assert info.path == info.git_dir == target.resolve()
    assert info.head == history.sha("delete t")
    commits = list(iter_commits(info))
    assert [c.sha for c in commits] == [c.sha for c in iter_commits(open_repo(history.path))]


def test_shallow_clone(history: BuiltRepo, tmp_path: Path) -> None:
    target = tmp_path / "shallow"
    _run(["git", "clone", "-q", "--depth", "3", f"file://{history.path}", str(target)])
    info = open_repo(target)
    assert info.shallow
    commits = list(iter_commits(info))
    assert len(commits) == 3
    assert commits[-1].sha == history.sha("delete t")
    # The shallow root is reported as adding every file it has.
    assert {c.status for c in commits[0].changes} == {"A"}


def test_blob_reader(history: BuiltRepo) -> None:
    info = open_repo(history.path)
    sha = git(history.path, "rev-parse", "HEAD:src/lib.rs").strip()
    other = git(history.path, "rev-parse", "HEAD:README.md").strip()
    with BlobReader(info.git_dir) as reader:
        assert reader.read(sha) == b"pub mod a;\npub mod t;\n"
        assert reader.read("0123456789" * 4) is None
        # The process survives a miss and keeps answering, in any order.
        assert reader.read(other) == b"hi\n"
        assert reader.read(sha) == b"pub mod a;\npub mod t;\n"


def test_blob_reader_read_many(tmp_path: Path) -> None:
    """Batched reads give what single reads give, across batch edges, with missing objects
    and large blobs (more output than a pipe holds), and single reads still work after."""
    files = {f"f{k}.rs": f"pub fn f{k}() {{}}\n" * (k * 900 + 1) for k in range(7)}
    built = make_repo(tmp_path / "repo", [CommitStep("files", write=files)])
    shas = [git(built.path, "rev-parse", f"HEAD:{name}").strip() for name in files]
    missing = "0123456789" * 4
    wanted = [shas[0], missing, *shas[1:], shas[3], missing, shas[6]]
    with BlobReader(open_repo(built.path).git_dir) as reader:
        expected = [reader.read(sha) for sha in wanted]
        assert list(reader.read_many(wanted, batch=3)) == expected
        assert list(reader.read_many(wanted)) == expected
        assert list(reader.read_many([])) == []
        assert reader.read(shas[2]) == files["f2.rs"].encode()
    assert expected[1] is None and expected[2] == files["f1.rs"].encode()


def test_blob_reader_closes_while_a_forked_child_holds_its_pipe(history: BuiltRepo) -> None:
    """A process forked after the reader started (a parse worker, the plot process) holds
    git's stdin too; closing must not wait for that process to end."""
    import multiprocessing as mp
    import time

    reader = BlobReader(open_repo(history.path).git_dir)
    child = mp.get_context("fork").Process(target=time.sleep, args=(60,), daemon=True)
    child.start()
    try:
        reader.close()
        assert child.is_alive()  # close() returned before the child let go of the pipe
    finally:
        child.kill()
        child.join()


def test_blob_reader_binary_content(tmp_path: Path) -> None:
    data = bytes(range(256)) * 3 + b"\n\n"
    built = make_repo(tmp_path / "repo", [CommitStep("bin", write={"x.bin": data})])
    sha = git(built.path, "rev-parse", "HEAD:x.bin").strip()
    with BlobReader(open_repo(built.path).git_dir) as reader:
        assert reader.read(sha) == data


# --- open_repo errors ------------------------------------------------------------------------


def test_open_repo_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="no such file"):
        open_repo(tmp_path / "nope")


def test_open_repo_file(tmp_path: Path) -> None:
    path = tmp_path / "file.rs"
    path.write_text("fn main() {}\n")
    with pytest.raises(RepoError, match="is a file"):
        open_repo(path)


def test_open_repo_plain_directory(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(RepoError, match="not a git repository"):
        open_repo(tmp_path / "plain")


def test_open_repo_plain_directory_inside_another_repo(history: BuiltRepo,
                                                       tmp_path: Path) -> None:
    """A folder in another repository's work tree must not be taken for that repository."""
    nested = history.path / "untracked-dir"
    nested.mkdir(exist_ok=True)
    try:
        with pytest.raises(RepoError):
            open_repo(nested)
        # A tracked sub-folder is not the top either; the message names the top.
        with pytest.raises(RepoError,
                           match=f"inside the repository at {history.path.resolve()}"):
            open_repo(history.path / "src")
    finally:
        nested.rmdir()


def test_open_repo_given_a_working_trees_git_folder(history: BuiltRepo) -> None:
    """`--repo PATH/.git` is the repository whose work tree is PATH (it said "not the top of
    a git repository (top: None)")."""
    assert open_repo(history.path / ".git") == open_repo(history.path)


def test_open_repo_empty_repo(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "empty")
    with pytest.raises(RepoError, match="no commits"):
        open_repo(tmp_path / "empty")


def test_open_repo_bad_rev(history: BuiltRepo) -> None:
    with pytest.raises(RepoError, match="--rev no-such-branch"):
        open_repo(history.path, "no-such-branch")
    # A tree or blob id is not a commit.
    tree = git(history.path, "rev-parse", "HEAD^{tree}").strip()
    with pytest.raises(RepoError, match="not a commit"):
        open_repo(history.path, tree)


def test_extract_tree_leaves_out_files_whose_blobs_are_missing(tmp_path: Path) -> None:
    """A mirror without a large asset (nom's lacks an .mp4): git archive fails on it, so the
    tree is extracted without it and the path is returned; a complete tree returns nothing."""
    repo = make_repo(tmp_path / "repo", [
        CommitStep("init", write={"src/lib.rs": "pub fn f() {}\n", "Cargo.toml": "[package]\n",
                                  "assets/big, odd.bin": "x" * 100, "assets/gone.bin": "y"}),
    ])
    assert extract_tree(repo.path / ".git", "HEAD", tmp_path / "whole") == []
    for path in ("assets/big, odd.bin", "assets/gone.bin"):
        blob = git(repo.path, "rev-parse", f"HEAD:{path}").strip()
        (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    dest = tmp_path / "tree"
    assert extract_tree(repo.path / ".git", "HEAD", dest) == ["assets/big, odd.bin",
                                                             "assets/gone.bin"]
    assert (dest / "src" / "lib.rs").read_text() == "pub fn f() {}\n"
    assert (dest / "Cargo.toml").exists()
    assert not (dest / "assets").exists()


def test_extract_tree_gives_up_on_a_tree_mostly_missing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """More missing files than MAX_PATHS_LEFT_OUT (a partial clone without blobs): one
    RepoError, not a command line of exclusions past the system's limit."""
    from dataset_builder import gitio

    repo = make_repo(tmp_path / "repo", [
        CommitStep("init", write={"src/lib.rs": "pub fn f() {}\n", "a.bin": "a", "b.bin": "b"}),
    ])
    for path in ("a.bin", "b.bin"):
        blob = git(repo.path, "rev-parse", f"HEAD:{path}").strip()
        (repo.path / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    monkeypatch.setattr(gitio, "MAX_PATHS_LEFT_OUT", 1)
    with pytest.raises(RepoError, match="2 files' contents are missing"):
        extract_tree(repo.path / ".git", "HEAD", tmp_path / "tree")
    assert not (tmp_path / "tree").exists()


def test_the_walk_reads_the_same_whatever_the_repositorys_log_encoding(tmp_path: Path) -> None:
    """A latin-1 log output encoding in the repository's config (i18n.logOutputEncoding)
    read names and subjects back as U+FFFD. (--no-color and --no-show-signature are passed
    too, but change nothing measurable here: git 2.39 colours no `--raw -z` output, and the
    walk's parser already passed over a shown signature's lines.)"""
    repo = make_repo(tmp_path / "r", [
        CommitStep("first", {"src/lib.rs": "pub fn a() {}\n"}),
        CommitStep("café für Zoë", {"src/lib.rs": "pub fn a() {}\npub fn b() {}\n",
                                    "src/é.rs": "pub fn c() {}\n"}),
    ])
    plain = list(iter_commits(open_repo(repo.path)))
    git(repo.path, "config", "i18n.logOutputEncoding", "ISO-8859-1")
    configured = list(iter_commits(open_repo(repo.path)))
    assert configured == plain
    assert configured[-1].subject == "café für Zoë"
    assert {c.path for c in configured[-1].changes} == {"src/lib.rs", "src/é.rs"}
