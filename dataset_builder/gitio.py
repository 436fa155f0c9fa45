"""Reading a git repository: validation, the commit walk, and blob contents.

The commit walk is one streaming `git log --raw` process (oldest first, merges diffed against
their first parent, renames detected), and blob contents come through one persistent
`git cat-file --batch` process. Both avoid a subprocess per commit or per file, which is what
makes mining thousands of commits cheap.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataset_builder.modules import CrateRoots

_MARK = b"\x1e\x1fferric-commit\x1f"
_FORMAT = "%x1e%x1fferric-commit%x1f%H%x00%P%x00%an%x00%at%x00%ct%x00%s%x00"
_NULL_SHA = "0" * 40
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
# Every `git log`: its output as parsed here, whatever the repository's or the user's
# config says: i18n.logOutputEncoding re-encoded names and subjects, which were then read
# as UTF-8. Colours and shown signatures are turned off too, in case (git 2.39 colours no
# `--raw -z` output, and the record parser passes over a signature's lines).
_LOG_OUTPUT = ("--encoding=UTF-8", "--no-color", "--no-show-signature")


def _rust_paths(only: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(options, pathspec) of a walk's log that lists the changes of `.rs` paths only when
    `only`, and every commit still (a pathspec alone drops the commits that change no such
    path: --full-history --sparse keeps them). Rename detection then reads Rust blobs only:
    a build falls back to it where a clone lacks another file's blob (rusqlite's and
    alacritty's mirrors), rather than follow no renames. Both of a walk's logs take the
    same: the merge syncs (mine.py) read whether a merge's first-parent diff is empty from
    one and its other parents' diffs from the other."""
    return (("--full-history", "--sparse"), ("*.rs",)) if only else ((), ())


class RepoError(Exception):
    """Bad input the user can fix; the CLI prints it as one line and exits 2."""


class MissingObjectError(RepoError):
    """`git log -M` could not read an object the repository lacks (rename detection reads
    the blobs of added and deleted files of any type): the build mines again without it."""


@dataclass(slots=True)
class FileChange:
    status: str  # A added, M modified, D deleted, R renamed, C copied, T type changed
    path: str  # new path (old path for deletions)
    old_path: str  # previous path; equals path unless renamed/copied
    old_blob: str  # "" when added
    new_blob: str  # "" when deleted
    old_mode: str
    new_mode: str
    similarity: int  # rename/copy score, 0 otherwise
    # Not in the first-parent diff: a merge's file brought back in line with the merge's
    # tree (see mine.with_merge_sync).
    synced: bool = False
    # The walk's versions before this change (mine.with_merge_sync) of old_path and, for a
    # rename, of path: they differ from old_blob and "" where another branch, walked later,
    # left its own version.
    walk_old_blob: str = ""
    walk_new_blob: str = ""
    # Whether the walk held a Rust file at path before this change (with_merge_sync): not one
    # last changed before `--since`, deleted or not since.
    walk_held: bool = False


@dataclass(slots=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author: str
    authored_at: int
    committed_at: int
    subject: str
    changes: list[FileChange] = field(default_factory=list)
    # A mainline merge whose diffs against its other parents were not found (see
    # mine.with_merge_sync): it could not be synced.
    sync_missing: bool = False


@dataclass(frozen=True, slots=True)
class PathRules:
    """The paths a build leaves out besides the fixed rules of mine.path_skip_reason."""

    copied_crates: frozenset[str] = frozenset()
    """Folders that hold a copy of a published crate (copied_crate_roots)."""
    exclude: tuple[str, ...] = ()
    """The user's patterns (MineConfig.exclude)."""
    generated: frozenset[str] = frozenset()
    """Paths whose version at the revision says it is generated (mine.rules_at_head):
    every version of them is, also those from before the generator wrote its header."""
    compile_fail: frozenset[str] = frozenset()
    """Paths beside a `.stderr` of the same name at the revision (mine.rules_at_head):
    programs that must fail to compile."""


@dataclass(frozen=True, slots=True)
class RepoInfo:
    path: Path  # the repository's working tree, or the git dir for a bare repository
    git_dir: Path
    bare: bool
    shallow: bool
    head: str  # the resolved revision being mined
    rev: str
    # The paths this build does not mine besides the fixed rules: filled in by the build.
    rules: PathRules = PathRules()
    # Crate roots cargo's conventions miss (modules.crate_roots): filled in by the build.
    roots: CrateRoots | None = None


# git's documented default, whatever the repository's config says (`diff.renameLimit=1` in
# it gave hyperfine 97 more lineages: renames its diffs no longer followed).
_CONFIG = ("-c", "diff.renameLimit=1000")


def _git(git_dir: Path, *args: str) -> list[str]:
    return ["git", *_CONFIG, f"--git-dir={git_dir}", *args]


# What `git rev-parse --local-env-vars` lists (git 2.39), and `git -c`'s own: an exported
# GIT_DIR (set in every git hook) made a build of one repository mine another, silently.
_REPOSITORY_ENV = frozenset({
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE", "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM"})


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_ENV
           and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    return {**env, **_GIT_ENV}


def _rev_parse(path: Path, *args: str, ceiling: str) -> str | None:
    env = {**_env(), "GIT_CEILING_DIRECTORIES": ceiling}
    out = subprocess.run(["git", "-C", str(path), "rev-parse", *args], capture_output=True,
                         text=True, env=env, check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def open_repo(path: str | Path, rev: str = "HEAD") -> RepoInfo:
    """Validate PATH as a git repository (working tree or bare) with a commit at REV.

    Plain `git rev-parse` rather than GitPython: GitPython takes a bare repository in a folder
    not named *.git for a working tree whose parent is the work tree."""
    p = Path(path).expanduser()
    if not p.exists():
        if re.match(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:", str(path)):
            # no network at run time: a remote is cloned by the user
            raise RepoError(f"--repo {path}: a URL; clone it first (git clone {path}) "
                            "and give the folder")
        raise RepoError(f"--repo {path}: no such file or directory")
    if not p.is_dir():
        raise RepoError(f"--repo {path}: is a file, not a directory")
    if not os.access(p, os.R_OK | os.X_OK):
        # git says only that it is not a repository
        raise RepoError(f"--repo {path}: permission denied (cannot read the folder)")
    p = p.resolve()
    # The ceiling stops git from finding an enclosing repository of a plain folder.
    ceiling = str(p.parent)
    git_dir_text = _rev_parse(p, "--absolute-git-dir", ceiling=ceiling)
    if git_dir_text is None:
        # A folder of a work tree (`--repo repo/src`): say which repository holds it.
        enclosing = _rev_parse(p, "--show-toplevel", ceiling="")
        inside = f" (a folder inside the repository at {enclosing})" if enclosing else ""
        raise RepoError(f"--repo {path}: not a git repository{inside}")
    git_dir = Path(git_dir_text)
    bare = _rev_parse(p, "--is-bare-repository", ceiling=ceiling) == "true"
    if not bare:
        top = _rev_parse(p, "--show-toplevel", ceiling=ceiling)
        if top is None and git_dir.resolve() == p and p.name == ".git":
            return open_repo(p.parent, rev)  # a working tree's .git folder: that tree
        if top is None or Path(top).resolve() != p:
            where = f" (its top is {top})" if top else ""
            raise RepoError(f"--repo {path}: not the top of a git repository{where}")
    head = _rev_parse(p, "--verify", "--quiet", f"{rev}^{{commit}}", ceiling=ceiling)
    if head is None:
        refs = subprocess.run(_git(git_dir, "for-each-ref", "--count=1"), capture_output=True,
                              text=True, env=_env(), check=False).stdout.strip()
        if not refs:
            # for-each-ref passes over refs whose commits are missing, as "no commits" read
            packed = git_dir / "packed-refs"
            named = (packed.is_file() and packed.stat().st_size > 0) or any(
                f.is_file() for f in (git_dir / "refs").rglob("*"))
            if named:
                raise RepoError(f"--repo {path}: its branches or tags name commits the "
                                "repository lacks (a damaged or incomplete clone)")
            raise RepoError(f"--repo {path}: the repository has no commits")
        if rev == "HEAD":  # not given: HEAD names a branch with no commit yet
            branch = subprocess.run(_git(git_dir, "symbolic-ref", "--short", "-q", "HEAD"),
                                    capture_output=True, text=True, env=_env(),
                                    check=False).stdout.strip()
            if branch:
                raise RepoError(f"--repo {path}: its HEAD is branch {branch}, which has no "
                                "commits yet: give --rev with a branch or commit to mine")
        raise RepoError(f"--rev {rev}: not a commit in {path}")
    shallow = _rev_parse(p, "--is-shallow-repository", ceiling=ceiling) == "true"
    return RepoInfo(path=git_dir if bare else p, git_dir=git_dir, bare=bare, shallow=shallow,
                    head=head, rev=rev)


# Folder names that say only that a folder holds a repository: such a repository is named
# after the folder above it (mirrors kept as OWNER+NAME/repo were all labelled `repo`).
# Only these two: `mirror`, `clone` or `git` can be a project's own name.
_GENERIC_REPO_FOLDERS = frozenset({"repo", "repository"})


def repo_name(path: str | Path) -> str:
    """The repository's name from its path as given: the folder's name without `.git` (a
    working tree's `.git` folder: the tree's), or the name of the folder above it where
    that name is generic (`sharkdp+fd/repo` is `sharkdp+fd`). Symbolic links are not
    followed, so a link names the repository it points to, as the user called it."""
    given = Path(os.path.abspath(Path(path).expanduser()))
    if given.name == ".git":
        given = given.parent
    name = given.name.removesuffix(".git")
    if name.lower() in _GENERIC_REPO_FOLDERS and given.parent.name:
        name = given.parent.name.removesuffix(".git")
    return name or "repo"


def count_commits(info: RepoInfo, since: str | None, until: str | None) -> int:
    args = ["rev-list", "--count", *_range_args(since, until), info.head]
    out = subprocess.run(_git(info.git_dir, *args), capture_output=True, text=True, check=True,
                         env=_env())
    return int(out.stdout.strip() or 0)


def selected_commits(info: RepoInfo, since: str | None, until: str | None,
                     max_commits: int | None) -> list[str]:
    """The commits iter_commits gives, oldest first, by sha only (one `git rev-list`)."""
    args = ["rev-list", "--reverse", "--date-order", *_range_args(since, until), info.head,
            "--"]
    out = subprocess.run(_git(info.git_dir, *args), capture_output=True, text=True, check=True,
                         env=_env())
    shas = out.stdout.split()
    return shas if max_commits is None else shas[:max_commits]


def check_date(option: str, value: str) -> None:
    """Raise RepoError unless git reads `value` as a date. `git log --since` takes any text
    (an unreadable one silently means now); the expiry-date parser is the same approxidate
    but says when nothing in the text was a date."""
    # Away from any repository and the user's and system's config: a broken config there
    # would fail the call whatever the date.
    env = {**_env(), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    out = subprocess.run(["git", "-c", f"ferric.date={value}", "config", "--type=expiry-date",
                          "ferric.date"], capture_output=True, text=True, env=env,
                         check=False, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise RepoError(f"{option} {value!r}: not a date git understands "
                        "(for example 2024-01-31, '2 weeks ago' or @1700000000)")


def _range_args(since: str | None, until: str | None) -> list[str]:
    args = []
    if since:
        args.append(f"--since={since}")
    if until:
        args.append(f"--until={until}")
    return args


def _parse_record(record: bytes) -> Commit:
    # Six NUL-terminated header fields (parents may be empty), then the raw diff entries.
    fields = record.split(b"\x00", 6)
    fields += [b""] * (7 - len(fields))
    sha, parents, author, authored, committed, subject = (
        f.decode("utf-8", "replace") for f in fields[:6])
    raw = fields[6]
    commit = Commit(sha=sha, parents=tuple(parents.split()), author=author,
                    authored_at=int(authored or 0), committed_at=int(committed or 0),
                    subject=subject)
    tokens = raw.lstrip(b"\x00\n").split(b"\x00")
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        if not meta.startswith(b":"):
            i += 1
            continue
        old_mode, new_mode, old_blob, new_blob, status = meta[1:].decode().split(" ")
        letter = status[0]
        if letter in "RC":
            old_path, path = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            old_path = path = tokens[i + 1]
            i += 2
        commit.changes.append(FileChange(
            status=letter,
            path=path.decode("utf-8", "surrogateescape"),
            old_path=old_path.decode("utf-8", "surrogateescape"),
            old_blob="" if old_blob == _NULL_SHA else old_blob,
            new_blob="" if new_blob == _NULL_SHA else new_blob,
            old_mode=old_mode,
            new_mode=new_mode,
            similarity=int(status[1:] or 0),
        ))
    return commit


def iter_commits(info: RepoInfo, since: str | None = None, until: str | None = None,
                 max_commits: int | None = None, skip: int = 0,
                 renames: bool = True, rust_paths_only: bool = False
                 ) -> Generator[Commit, None, None]:
    """Commits reachable from the revision, oldest first (parents before children), with
    their file changes; merges are diffed against their first parent and, with `renames`,
    renamed files are detected (-M). `max_commits` keeps the oldest N; `skip` then drops the
    first N of those (used when resuming). `rust_paths_only`: the changes of `.rs` paths
    only (_rust_paths)."""
    options, pathspec = _rust_paths(rust_paths_only)
    cmd = _git(info.git_dir, "log", *_LOG_OUTPUT, "--reverse", "--date-order", "--root",
               "--raw", "-M" if renames else "--no-renames", "--no-abbrev", "-z",
               "--diff-merges=first-parent", *options, f"--format={_FORMAT}",
               *_range_args(since, until), info.head, "--", *pathspec)
    index = 0
    for record in _log_records(cmd, renames):
        index += 1
        if max_commits is not None and index > max_commits:
            return  # max_commits counts from the start of history, skipped ones too
        if index <= skip:
            continue
        yield _parse_record(record)


def iter_merge_sides(info: RepoInfo, since: str | None = None, until: str | None = None,
                     rust_paths_only: bool = False
                     ) -> Generator[tuple[str, list[list[FileChange]]], None, None]:
    """Each merge commit of the walk, in the walk's order, with its raw diffs against its
    parents (without rename detection): (sha, one list of changes per diff, in parent
    order). `git log --diff-merges=separate` writes one record per parent but none for an
    empty diff, so the first list is the first parent's only when the merge differs from
    its first parent."""
    options, pathspec = _rust_paths(rust_paths_only)
    cmd = _git(info.git_dir, "log", *_LOG_OUTPUT, "--reverse", "--date-order", "--merges",
               "--raw", "--no-renames", "--no-abbrev", "-z", "--diff-merges=separate",
               *options, f"--format={_FORMAT}", *_range_args(since, until), info.head, "--",
               *pathspec)
    sha = ""
    records: list[list[FileChange]] = []
    for record in _log_records(cmd, False):
        commit = _parse_record(record)
        if commit.sha != sha:
            if sha:
                yield sha, records
            sha, records = commit.sha, []
        records.append(commit.changes)
    if sha:
        yield sha, records


def first_parent_chain(info: RepoInfo) -> set[str]:
    """The commits on the revision's first-parent chain: its mainline."""
    return set(_rev_list(info, "--first-parent", info.head))


def _rev_list(info: RepoInfo, *args: str) -> list[str]:
    """The lines of `git rev-list ARGS`."""
    out = subprocess.run(_git(info.git_dir, "rev-list", *args, "--"), capture_output=True,
                         env=_env(), check=False)
    if out.returncode != 0:
        raise RepoError(f"git rev-list failed: {out.stderr.decode('utf-8', 'replace').strip()}")
    return out.stdout.decode().splitlines()


class Ancestry:
    """Which commits of the revision's history are ancestors of which: a bit set of each
    commit's ancestors, as a Python int (about n² / 16 bytes for n commits: 25 MiB at
    20,000)."""

    def __init__(self, parents: list[tuple[str, list[str]]]) -> None:
        """`parents`: each commit with its parents, parents first."""
        self.index: dict[str, int] = {}
        self.bits: list[int] = []
        for sha, commit_parents in parents:
            bits = 0
            for parent in commit_parents:
                k = self.index.get(parent)
                if k is not None:
                    bits |= self.bits[k] | (1 << k)
            self.index[sha] = len(self.bits)
            self.bits.append(bits)

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        a, c = self.index.get(ancestor), self.index.get(commit)
        return a is not None and c is not None and bool(self.bits[c] >> a & 1)


# Past this many commits the ancestry is not built (its memory grows with their square).
ANCESTRY_MAX_COMMITS = 20_000


def ancestry(info: RepoInfo) -> Ancestry | None:
    """The revision's history's Ancestry; None past ANCESTRY_MAX_COMMITS commits."""
    lines = _rev_list(info, "--topo-order", "--reverse", "--parents", info.head)
    if len(lines) > ANCESTRY_MAX_COMMITS:
        return None
    return Ancestry([(shas[0], shas[1:]) for shas in map(str.split, lines)])


def foreign_merges(info: RepoInfo) -> dict[str, tuple[int, ...]]:
    """Merges that bring in an unrelated history (`git subtree add`, a merge with
    `--allow-unrelated-histories`): each merge descended from the root of the revision's
    first-parent chain, mapped to the indexes of its parents that are not. Empty for a
    history with one root, the common case, which costs one rev-list."""
    if len(_rev_list(info, "--max-parents=0", info.head)) < 2:
        return {}
    [own_root] = _rev_list(info, "--first-parent", "--max-parents=0", info.head)
    rooted = set(_rev_list(info, "--ancestry-path", f"{own_root}..{info.head}"))
    rooted.add(own_root)
    merges: dict[str, tuple[int, ...]] = {}
    for line in _rev_list(info, "--merges", "--parents", info.head):
        sha, *parents = line.split()
        foreign = tuple(i for i, parent in enumerate(parents) if parent not in rooted)
        if sha in rooted and foreign:
            merges[sha] = foreign
    return merges


def _log_records(cmd: list[str], renames: bool) -> Iterator[bytes]:
    """The records of a streaming `git log --format=_FORMAT -z` process; a failure of git
    raises RepoError (MissingObjectError when rename detection could not read a blob)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None
    buffer = b""
    try:
        while True:
            chunk = proc.stdout.read(1 << 20)
            if chunk:
                records = (buffer + chunk).split(_MARK)
                buffer = records.pop()  # possibly incomplete: wait for more bytes
            else:
                records = [buffer]
            for record in records:
                if record:
                    yield record
            if not chunk:
                break
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
    if proc.returncode not in (0, None, -9) and err:
        last = err.splitlines()[-1]
        # "unable to read <sha>" names a blob (a tree is "unable to read tree <sha>"): only
        # rename detection reads blobs, so without it the walk can go on.
        if renames and re.search(r"unable to read [0-9a-f]{40}", last):
            raise MissingObjectError(f"git log -M failed: {last} (the repository lacks an "
                                     "object that rename detection reads)")
        raise RepoError(f"git log failed: {last}{_missing_hint(last)}")


def _missing_hint(error: str) -> str:
    return (" (the repository lacks an object: a partial or damaged clone; `git fsck` lists "
            "what is missing)" if "unable to read" in error else "")


# cat-file keeps up to 96 MiB of resolved delta bases by default, and a build runs up to three
# readers at once (the walk's, one per scale process): tokio's held 105 MiB each. 16 MiB: 43
# MiB, its blobs read in history order no slower, shuffled 0.18 s slower for 17,000
# (`/usr/bin/time git -c core.deltaBaseCacheLimit=16m cat-file --batch < IDS`, IDS the
# new_blob column of tokio's files.parquet, in order and shuffled).
_BLOB_READER_CONFIG = ("-c", "core.deltaBaseCacheLimit=16m")


class BlobReader:
    """One persistent `git cat-file --batch` process for all blob reads."""

    def __init__(self, git_dir: Path) -> None:
        self._proc = subprocess.Popen(_git(git_dir, *_BLOB_READER_CONFIG, "cat-file", "--batch"),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=_env())

    def read(self, sha: str) -> bytes | None:
        """Blob bytes, or None when the object is missing (shallow or partial clones)."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(sha.encode() + b"\n")
        proc.stdin.flush()
        return self._response()

    def _response(self) -> bytes | None:
        """One answer of cat-file: the blob's bytes, or None for a missing object."""
        assert self._proc.stdout is not None
        header = self._proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return None
        size = int(header[2])
        return self._proc.stdout.read(size + 1)[:size]  # content plus the trailing newline

    def read_many(self, shas: list[str], batch: int = 512) -> Iterator[bytes | None]:
        """Blob bytes (None when missing) of each sha, in order; consume it to the end before
        the next read. Requests go out a batch at a time: one write instead of a round trip
        per blob (each is two context switches between this process and git). A batch of
        requests is at most 33 KiB (SHA-256 names), so it fits the pipe buffer and the write
        cannot block while git waits for its output to be read."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        for start in range(0, len(shas), batch):
            part = shas[start:start + batch]
            proc.stdin.write(b"".join(sha.encode() + b"\n" for sha in part))
            proc.stdin.flush()
            for _ in part:
                yield self._response()

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        # Processes forked since this reader started (parse workers, the plot drawer) hold
        # its stdin too, so git may see no end of input until they exit; it only reads, so
        # stopping it loses nothing.
        self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    mode: str
    sha: str
    path: str


def list_tree(info: RepoInfo, commit: str) -> list[TreeEntry]:
    """All files of a commit's tree (one `git ls-tree` process per snapshot)."""
    return _ls_tree(info.git_dir, commit)


def _ls_tree(git_dir: Path, commit: str) -> list[TreeEntry]:
    out = subprocess.run(_git(git_dir, "ls-tree", "-r", "-z", "--full-tree", commit),
                         capture_output=True, check=True, env=_env()).stdout
    entries = []
    for line in out.split(b"\x00"):
        if not line:
            continue
        meta, _, path = line.partition(b"\t")
        mode, _kind, sha = meta.decode().split(" ")
        entries.append(TreeEntry(mode, sha, path.decode("utf-8", "surrogateescape")))
    return entries


# Files only cargo writes into a crate it copies: `cargo package` (so every crate unpacked
# from crates.io) writes the first two, `cargo vendor` the third.
COPIED_CRATE_MARKERS = ("Cargo.toml.orig", ".cargo_vcs_info.json", ".cargo-checksum.json")


def copied_crate_roots(info: RepoInfo, paths: Iterable[str] | None = None) -> frozenset[str]:
    """The folders below the top that hold one of COPIED_CRATE_MARKERS in any commit
    reachable from the revision: copies of published crates kept in the repository
    (rust-lang/rustc-perf keeps some hundred as benchmarks, 99% of its item rows). One
    answer for the whole history, so a path is judged alike in every commit, snapshot and
    resumed run; the top folder itself is never one (a repository made from an unpacked
    crate is that crate). `paths`: paths_in_history's answer for (at least)
    COPIED_CRATE_SPECS, where the caller asked for more in the same walk."""
    if paths is None:
        paths = paths_in_history(info, COPIED_CRATE_SPECS)
    roots = set()
    for path in paths:
        folder, _, name = path.rpartition("/")
        if folder and name in COPIED_CRATE_MARKERS:
            roots.add(folder)
    return frozenset(roots)


# Plain pathspecs: `*` matches across `/` there, and the names are checked by the caller.
COPIED_CRATE_SPECS = tuple(f"*{name}" for name in COPIED_CRATE_MARKERS)


def paths_in_history(info: RepoInfo, specs: Iterable[str], every_version: bool = False
                     ) -> dict[str, tuple[str, ...]]:
    """The paths matching `specs` that any commit reachable from the revision added,
    deleted or changed the type of, each with the blobs of its first version and of its
    last before a deletion (the versions a name that changed once was written in), or
    (`every_version`) of every version the commits wrote, modifications too, newest first.
    One `git log` of the commits that are not merges (every file a merge brings in was added by
    one of those; a merge's own edits are not looked at), restricted to those names:
    serde's history takes 0.05 s, 0.17 with the merges' first-parent diffs."""
    # Additions, deletions and type changes only, unless every version is asked for: the
    # blobs wanted are a path's first and deleted versions (a modification's would only
    # make the output long: every edit of a large history's tests).
    out = subprocess.run(_git(info.git_dir, "log", *_LOG_OUTPUT, "--format=", "--raw",
                              "--no-abbrev", "--no-renames",
                              "--diff-filter=ADMT" if every_version else "--diff-filter=ADT",
                              "--root", "--no-merges", "-z", info.head, "--", *specs),
                         capture_output=True, env=_env(), check=False)
    if out.returncode != 0:
        lines = out.stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1] if lines else f"exit code {out.returncode}"
        raise RepoError(f"git log failed: {last}{_missing_hint(last)}")
    first: dict[str, str] = {}  # path -> the blob of its oldest version (newest first here)
    deleted: dict[str, str] = {}  # path -> the blob its latest deletion removed
    every: dict[str, list[str]] = {}  # path -> every version's blob, newest first
    fields = out.stdout.split(b"\0")
    for meta, raw_path in zip(fields[::2], fields[1::2], strict=False):
        parts = meta.strip(b"\n").split(b" ")
        if len(parts) != 5 or not parts[0].startswith(b":"):
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        old, new, status = parts[2].decode(), parts[3].decode(), parts[4]
        if every_version:
            every.setdefault(path, []).append(old if status == b"D" else new)
        elif status == b"D":
            deleted.setdefault(path, old)
        else:
            first[path] = new
    if every_version:
        return {path: tuple(dict.fromkeys(shas)) for path, shas in sorted(every.items())}
    return {path: tuple(dict.fromkeys(
        sha for sha in (first.get(path), deleted.get(path)) if sha is not None))
        for path in sorted({*first, *deleted})}


def renamed_into(info: RepoInfo, paths: Iterable[str]) -> set[str]:
    """The older paths of `paths`: those that a commit reachable from the revision renamed
    into one of them, or into such an older path, and so on back. One `git log -M` of the
    commits that touch their folders (a rename out of another folder is not seen); empty
    where git cannot detect renames there (a blob missing from a mirror)."""
    wanted = set(paths)
    folders = sorted({posixpath.dirname(path) or "." for path in wanted})
    if not folders:
        return set()
    # Folder names as they are (`[`, `*` in one are no pattern); parents before children,
    # so that a chain of renames is read from its newest end whatever the commit dates.
    out = subprocess.run(_git(info.git_dir, "--literal-pathspecs", "log", *_LOG_OUTPUT,
                              "--format=", "--raw", "--no-abbrev", "-M", "--diff-filter=R",
                              "--root", "--no-merges", "--topo-order", "-z", info.head, "--",
                              *folders),
                         capture_output=True, env=_env(), check=False)
    if out.returncode != 0:
        return set()
    older: set[str] = set()
    fields = out.stdout.split(b"\0")
    at = 0
    while at + 2 < len(fields):  # newest first: a later rename is seen before an earlier
        meta = fields[at].strip(b"\n")
        if not meta.startswith(b":") or not meta.split(b" ")[-1].startswith(b"R"):
            at += 1
            continue
        old = fields[at + 1].decode("utf-8", "surrogateescape")
        new = fields[at + 2].decode("utf-8", "surrogateescape")
        at += 3
        if new in wanted or new in older:
            older.add(old)
    return older - wanted


def git_version() -> str:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("git version ")


def _safe_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's "data" filter, but a member it refuses (a symlink leaving the tree, an absolute
    path) is left out instead of failing the whole extraction."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


def missing_blobs(git_dir: Path, commit: str) -> list[str]:
    """Paths of the commit's tree whose blobs the repository lacks (a mirror or a partial
    clone without some large files). A submodule's commit is not a blob: not counted."""
    entries = [e for e in _ls_tree(git_dir, commit) if e.mode != "160000"]
    # No lazy fetch from a partial clone's promisor remote: offline it would only fail slowly.
    out = subprocess.run(_git(git_dir, "cat-file", "--batch-check=%(objectname)"),
                         input="".join(f"{e.sha}\n" for e in entries).encode(),
                         capture_output=True, env={**_env(), "GIT_NO_LAZY_FETCH": "1"})
    lines = out.stdout.decode().splitlines()  # "<sha>", or "<sha> missing"
    if out.returncode != 0 or len(lines) != len(entries):
        raise RepoError(f"git cat-file --batch-check failed on {commit}'s tree")
    return [e.path for e, line in zip(entries, lines, strict=True) if line.endswith(" missing")]


# More missing files than this and the tree is not worth extracting (a partial clone
# without blobs): the command line of exclusions would also grow past the system's limit.
MAX_PATHS_LEFT_OUT = 1000


def extract_tree(git_dir: Path, commit: str, dest: Path) -> list[str]:
    """Write the commit's whole tree (`git archive`) to dest, which must not exist yet, and
    return the paths left out because the repository lacks their blobs (git archive fails on
    the first one: it is then run again without them). Nothing when dest exists.

    Extracted into a temporary sibling and renamed into place, so a reader never sees half a
    tree; when two processes race for the same dest the loser discards its copy. Raises
    RepoError when git cannot archive the commit."""
    if dest.exists():
        return []
    dest.parent.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(_git(git_dir, "archive", "--format=tar", commit),
                             capture_output=True, env=_env())
    left_out: list[str] = []
    if archive.returncode != 0:
        with contextlib.suppress(subprocess.CalledProcessError, RepoError):
            left_out = missing_blobs(git_dir, commit)
        if len(left_out) > MAX_PATHS_LEFT_OUT:
            raise RepoError(f"git archive {commit}: {len(left_out)} files' contents are "
                            "missing from the repository")
        if left_out:
            # Pathspec magic on, whatever the caller's environment says.
            archive = subprocess.run(
                _git(git_dir, "archive", "--format=tar", commit, "--", ".",
                     *(f":(exclude,literal){path}" for path in left_out)),
                capture_output=True, env={**_env(), "GIT_LITERAL_PATHSPECS": "0",
                                          "GIT_NO_LAZY_FETCH": "1"})
    if archive.returncode != 0:
        raise RepoError(f"git archive {commit} failed: "
                        f"{archive.stderr.decode('utf-8', 'replace').strip()[-200:]}")
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter=_safe_member)
        try:
            tmp.rename(dest)
        except OSError:
            if not dest.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return left_out
