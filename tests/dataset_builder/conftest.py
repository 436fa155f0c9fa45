"""Helpers to build tiny, deterministic git repositories inside tests.

`make_repo(tmp_path / "repo", [Commit(...), Branch(...), ...])` runs the steps in order with
plain `git` commands. Every commit gets a fixed author and committer date (one hour after the
previous one), so the same steps always give the same commit ids.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BASE_DATE = 1_700_000_000  # 2023-11-14T22:13:20Z
HOUR = 3600


def git_env(date: int | None = None) -> dict[str, str]:
    """An environment that ignores the user's git config and fixes identities and dates."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Ferric Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Ferric Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{date} +0000"
    return env


def git(repo: Path, *args: str, date: int | None = None, input: bytes | None = None) -> str:
    """Run `git -C repo ARGS` and return its stdout (raises on failure)."""
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False,
                          env=git_env(date), input=input)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class Commit:
    """Write, delete, rename and symlink files, then commit everything."""

    message: str
    write: Mapping[str, str | bytes] = field(default_factory=dict)
    delete: Sequence[str] = ()
    rename: Mapping[str, str] = field(default_factory=dict)  # old path -> new path
    symlink: Mapping[str, str] = field(default_factory=dict)  # link path -> target
    allow_empty: bool = False


@dataclass(frozen=True)
class Branch:
    """Create a branch at the current commit and switch to it."""

    name: str


@dataclass(frozen=True)
class Checkout:
    name: str


@dataclass(frozen=True)
class Merge:
    """`git merge --no-ff` of a branch into the current one (always a real merge commit).
    With `delete`, a merge that conflicts is resolved by deleting those paths."""

    branch: str
    message: str
    delete: Sequence[str] = ()
    strategy: str = ""  # `git merge -s`: "ours" keeps the current tree


Step = Commit | Branch | Checkout | Merge


@dataclass
class BuiltRepo:
    path: Path
    shas: dict[str, str]  # commit message -> sha
    order: list[str]  # shas in the order the steps made them

    def sha(self, message: str) -> str:
        return self.shas[message]


def _apply(repo: Path, step: Commit) -> None:
    for old, new in step.rename.items():
        (repo / new).parent.mkdir(parents=True, exist_ok=True)
        git(repo, "mv", old, new)
    for path in step.delete:
        git(repo, "rm", "-q", "-r", path)
    for path, content in step.write.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8"))
    for path, link_target in step.symlink.items():
        link = repo / path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(link_target)
    git(repo, "add", "-A")


def make_repo(path: Path, steps: Sequence[Step], start: int = BASE_DATE) -> BuiltRepo:
    """A git repository at PATH (branch `main`) made by running STEPS in order."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    built = BuiltRepo(path, {}, [])
    date = start
    for step in steps:
        if isinstance(step, Commit):
            _apply(path, step)
            date += HOUR
            extra = ["--allow-empty"] if step.allow_empty else []
            git(path, "commit", "-q", "--no-verify", *extra, "-m", step.message, date=date)
        elif isinstance(step, Branch):
            git(path, "checkout", "-q", "-b", step.name)
            continue
        elif isinstance(step, Checkout):
            git(path, "checkout", "-q", step.name)
            continue
        elif step.delete:
            date += HOUR
            # Exits 1 on the expected conflict; the deletions resolve it.
            subprocess.run(["git", "-C", str(path), "merge", "-q", "--no-ff", "--no-commit",
                            step.branch], capture_output=True, env=git_env(date), check=False)
            git(path, "rm", "-q", "--", *step.delete)
            git(path, "commit", "-q", "--no-verify", "-m", step.message, date=date)
        else:
            date += HOUR
            strategy = ["-s", step.strategy] if step.strategy else []
            git(path, "merge", "-q", "--no-ff", *strategy, "-m", step.message, step.branch,
                date=date)
        sha = git(path, "rev-parse", "HEAD").strip()
        built.shas[step.message] = sha
        built.order.append(sha)
    return built


def linear_repo(path: Path, n: int, start: int = BASE_DATE) -> BuiltRepo:
    """N commits; commit k adds src/mK.rs (whose fK calls f(K-1) of the previous commit's
    module) and a `mod` line in src/lib.rs; every third commit also edits the previous module."""
    steps: list[Step] = []
    mods: list[str] = []
    for k in range(n):
        mods.append(f"pub mod m{k};\n")
        body = f"crate::m{k - 1}::f{k - 1}() + {k}" if k else "0"
        write = {"src/lib.rs": "".join(mods),
                 f"src/m{k}.rs": f"/// Function {k}.\npub fn f{k}() -> u32 {{ {body} }}\n"}
        if k >= 2 and k % 3 == 0:
            prev = f"crate::m{k - 2}::f{k - 2}() * 2" if k > 2 else "1"
            write[f"src/m{k - 1}.rs"] = (
                f"/// Function {k - 1}.\npub fn f{k - 1}() -> u32 {{ {prev} }}\n")
        steps.append(Commit(f"commit {k}", write=write))
    return make_repo(path, steps, start)
