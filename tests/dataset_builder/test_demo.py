"""Tests for the embedded demo repository (dataset_builder.demo)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dataset_builder.demo import (
    HISTORY_FILE,
    MARKER_NAME,
    Branch,
    Checkout,
    Commit,
    Delete,
    Edit,
    Generate,
    HistoryError,
    Hunk,
    Merge,
    Rename,
    Step,
    Write,
    WriteHex,
    format_history,
    materialise,
    parse_history,
)

SAMPLE = """\
# A comment in the header.

=== commit 2024-01-02T03:04:05+01:00 First commit
--- write src/a.rs
fn a() {}
\\=== not a directive
\\\\ starts with a backslash

--- write-hex notes.bin
e9 00
ff
=== branch topic
=== commit Second commit
--- edit src/a.rs
<<<<<<<
fn a() {}
=======
fn a() {
}
>>>>>>>

<<<<<<<
\\=== not a directive
=======
>>>>>>>
--- rename src/a.rs src/b.rs
--- delete notes.bin
--- generate src/t.rs prime_table 3
=== checkout main
=== merge topic
"""

SAMPLE_STEPS: list[Step] = [
    Commit(
        message="First commit",
        date="2024-01-02T03:04:05+01:00",
        ops=(
            Write("src/a.rs", "fn a() {}\n=== not a directive\n\\ starts with a backslash\n"),
            WriteHex("notes.bin", b"\xe9\x00\xff"),
        ),
    ),
    Branch("topic"),
    Commit(
        message="Second commit",
        date=None,
        ops=(
            Edit(
                "src/a.rs",
                (
                    Hunk("fn a() {}\n", "fn a() {\n}\n"),
                    Hunk("=== not a directive\n", ""),
                ),
            ),
            Rename("src/a.rs", "src/b.rs"),
            Delete("notes.bin"),
            Generate("src/t.rs", "prime_table", ("3",)),
        ),
    ),
    Checkout("main"),
    Merge(branch="topic", message="Merge branch 'topic'", date=None),
]


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return proc.stdout


def git_bytes(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def head_sha(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def demo_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return materialise(tmp_path_factory.mktemp("demo") / "repo")


# --- parsing ---------------------------------------------------------------------------------


def test_parse_sample_covers_every_step_and_escape() -> None:
    assert parse_history(SAMPLE) == SAMPLE_STEPS


def test_parse_format_round_trip() -> None:
    for steps in (SAMPLE_STEPS, parse_history(HISTORY_FILE.read_text(encoding="utf-8"))):
        text = format_history(steps)
        assert parse_history(text) == steps
        assert format_history(parse_history(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "stray line\n=== commit x\n",
        "=== commit 2024-01-01T00:00:00+00:00\n",
        "=== commit c\n--- frobnicate a.rs\n",
        "=== commit c\n--- edit a.rs\nno hunk\n",
        "=== commit c\n--- edit a.rs\n<<<<<<<\nold\n=======\nnew\n",
        "=== commit c\n--- edit a.rs\n<<<<<<<\n=======\nnew\n>>>>>>>\n",
        "=== commit c\n--- delete a.rs\nleftover\n",
        "=== commit c\n--- write-hex a.bin\nzz\n",
        "=== commit c\n--- write ../escape.rs\nx\n",
        "=== commit c\n--- generate t.rs no_such_generator\n",
        "=== rebase main\n",
    ],
)
def test_parse_rejects_malformed_scripts(text: str) -> None:
    with pytest.raises(HistoryError):
        parse_history(text)


# --- the shipped history ---------------------------------------------------------------------


def test_history_has_enough_commits_and_one_real_merge(demo_repo: Path) -> None:
    assert int(git(demo_repo, "rev-list", "--count", "HEAD")) >= 40
    merges = git(demo_repo, "rev-list", "--merges", "HEAD").split()
    assert len(merges) == 1
    assert len(git(demo_repo, "rev-list", "--parents", "-n1", merges[0]).split()) == 3
    assert git(demo_repo, "branch", "--show-current").strip() == "main"
    authors = set(git(demo_repo, "log", "--format=%an <%ae>|%cn <%ce>").splitlines())
    assert authors == {"Ferric Demo <demo@ferric.invalid>|Ferric Demo <demo@ferric.invalid>"}
    assert git(demo_repo, "status", "--porcelain") == ""


def test_history_has_rename_and_deletion(demo_repo: Path) -> None:
    raw = git(demo_repo, "log", "--raw", "-M", "--diff-merges=first-parent", "--format=")
    assert re.search(r"\sR\d+\tsrc/util\.rs\tsrc/collections\.rs$", raw, re.M)
    assert re.search(r"\sD\tsrc/debug\.rs$", raw, re.M)


def test_history_has_a_syntax_error_fixed_later(demo_repo: Path) -> None:
    broken = git(demo_repo, "log", "--format=%H", "--grep=^Add % operator$").split()
    assert len(broken) == 1
    before = git(demo_repo, "show", f"{broken[0]}:src/eval/mod.rs")
    after = git(demo_repo, "show", f"{broken[0]}~1:src/eval/mod.rs")
    head = git(demo_repo, "show", "HEAD:src/eval/mod.rs")
    assert before.count("{") != before.count("}")
    assert after.count("{") == after.count("}")
    assert head.count("{") == head.count("}")


def test_non_utf8_source_is_outside_the_module_tree(demo_repo: Path) -> None:
    data = git_bytes(demo_repo, "show", "HEAD:src/legacy/latin1_notes.rs")
    assert b"\xe9" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    lib = git(demo_repo, "show", "HEAD:src/lib.rs")
    assert "legacy" not in lib and "latin1" not in lib


def test_large_generated_file(demo_repo: Path) -> None:
    tables = git(demo_repo, "show", "HEAD:src/tables.rs").splitlines()
    assert tables[0] == "// @generated by ferric demo; DO NOT EDIT."
    assert len(tables) >= 2000
    assert "pub mod tables;" in git(demo_repo, "show", "HEAD:src/lib.rs")


def test_head_crate_shape(demo_repo: Path) -> None:
    files = git(demo_repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    modules = [f for f in files if f.startswith("src/") and f.endswith(".rs")]
    assert "src/lib.rs" in modules and "src/eval/mod.rs" in modules
    assert len(modules) >= 8
    skip = {"src/tables.rs", "src/legacy/latin1_notes.rs"}
    lines = sum(
        len(git(demo_repo, "show", f"HEAD:{f}").splitlines()) for f in modules if f not in skip
    )
    assert 1000 <= lines <= 2000, f"demo crate should stay at 1,000-2,000 lines, has {lines}"
    manifest = git(demo_repo, "show", "HEAD:Cargo.toml")
    assert 'edition = "2021"' in manifest
    assert manifest.rstrip().endswith("[dependencies]")  # present but empty
    assert "dev-dependencies" not in manifest


# --- materialise() behaviour -------------------------------------------------------------------


def test_materialise_is_deterministic_and_home_independent(
    demo_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hostile user configuration must not leak into the commits.
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    hostile = (
        "[user]\n\tname = Someone Else\n\temail = x@example.com\n"
        "[core]\n\tautocrlf = true\n[init]\n\tdefaultBranch = trunk\n"
        "[commit]\n\tgpgsign = true\n"
    )
    (home / ".gitconfig").write_text(hostile)
    (home / ".config" / "git" / "config").write_text(hostile)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Intruder")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00+00:00")
    again = materialise(tmp_path / "again")
    assert head_sha(again) == head_sha(demo_repo)
    assert git(again, "rev-parse", "main") == git(demo_repo, "rev-parse", "main")


def test_materialise_reuses_a_complete_build(tmp_path: Path) -> None:
    dest = materialise(tmp_path / "repo")
    marker = dest / ".git" / MARKER_NAME
    inode = (dest / ".git").stat().st_ino
    assert materialise(dest) == dest
    assert (dest / ".git").stat().st_ino == inode  # not rebuilt

    marker.write_text("outdated\n")
    materialise(dest)
    assert (dest / ".git").stat().st_ino != inode  # an outdated demo is rebuilt
    assert marker.read_text() != "outdated\n"

    inode = (dest / ".git").stat().st_ino
    materialise(dest, force=True)
    assert (dest / ".git").stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # no temp dirs left behind


def test_materialise_refuses_foreign_directories(tmp_path: Path) -> None:
    dest = tmp_path / "precious"
    dest.mkdir()
    (dest / "data.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        materialise(dest)
    assert (dest / "data.txt").read_text() == "keep me"
    materialise(dest, force=True)
    assert not (dest / "data.txt").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert (materialise(empty) / ".git" / MARKER_NAME).is_file()


def test_materialise_custom_history_dates_and_ops(tmp_path: Path) -> None:
    history = tmp_path / "history.txt"
    history.write_text(SAMPLE)
    repo = materialise(tmp_path / "repo", history_file=history)
    dates = git(repo, "log", "--format=%ad %s", "--date=iso-strict", "--topo-order").splitlines()
    assert dates == [
        "2024-01-02T05:04:05+01:00 Merge branch 'topic'",
        "2024-01-02T04:04:05+01:00 Second commit",
        "2024-01-02T03:04:05+01:00 First commit",
    ]
    assert sorted(git(repo, "ls-files").split()) == ["src/b.rs", "src/t.rs"]
    assert (repo / "src" / "b.rs").read_text() == "fn a() {\n}\n\\ starts with a backslash\n"
    assert (
        "pub static PRIMES: [u32; PRIME_COUNT] = [\n    2,\n    3,\n    5,\n];"
        in (repo / "src" / "t.rs").read_text()
    )

    broken = tmp_path / "broken.txt"
    broken.write_text("=== commit c\n--- edit missing.rs\n<<<<<<<\na\n=======\nb\n>>>>>>>\n")
    with pytest.raises(HistoryError, match=r"missing\.rs"):
        materialise(tmp_path / "never", history_file=broken)
    assert not (tmp_path / "never").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.txt", "history.txt", "repo"]


# --- the crate builds --------------------------------------------------------------------------


def _cargo(demo_repo: Path, tmp_path: Path, *args: str) -> None:
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not on PATH")
    # Build outside the repo so the shared fixture's work tree stays clean.
    env = {**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    proc = subprocess.run(
        ["cargo", *args, "--offline"], cwd=demo_repo, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_head_passes_cargo_check(demo_repo: Path, tmp_path: Path) -> None:
    _cargo(demo_repo, tmp_path, "check", "--all-targets")


def test_head_passes_cargo_test(demo_repo: Path, tmp_path: Path) -> None:
    _cargo(demo_repo, tmp_path, "test", "--quiet")
