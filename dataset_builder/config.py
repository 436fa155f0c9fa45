"""Settings of a dataset build. Every field that changes the output is part of the config hash."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class MineConfig:
    repo: str
    """Path of the git repository (working tree or bare), or "demo" for the embedded one."""
    out: str
    """Output folder; created if missing."""
    rev: str = "HEAD"
    """Revision whose reachable commits are mined."""
    since: str | None = None
    """Only commits newer than this date (anything `git log --since` accepts)."""
    until: str | None = None
    """Only commits older than this date (anything `git log --until` accepts)."""
    max_commits: int | None = None
    """Keep only the oldest N commits of the selection (a consistent prefix of history)."""
    snapshot_every: int | None = None
    """Snapshots (module graphs; MEDIUM, LARGE and FULL samples) at the last commit and at
    every N-th (0: the last only; None: about ten over the history, at most every 100)."""
    renames: bool = True
    """Follow renamed files (git's rename detection, -M). A build whose `git log -M` cannot
    read a blob the repository lacks (mirrors without large binaries, damaged clones) first
    follows renames among Rust files only (`rust_paths_only`), and where a Rust blob is
    missing too turns renames off; it says so, and records why in the manifest. Without
    renames, a rename shows as a deletion and an addition."""
    rust_paths_only: bool = False
    """The walk's logs list the changes of `.rs` paths only, so that rename detection reads
    Rust blobs only (set by a build whose clone lacks another file's blob). Changes of
    other paths are not mined either way; submodules at paths not ending in `.rs` are then
    not listed, so not counted as `submodule` skips."""
    exclude: tuple[str, ...] = ()
    """Paths not mined (skip reason `excluded`): fnmatch patterns, case-sensitive, matched
    against each file's path and the folders above it, so a folder excludes everything
    below it; `*` also matches `/`. For code the build cannot tell is not the repository's
    own, such as copies of other projects kept as test data or benchmarks."""
    max_file_bytes: int = 1 << 20
    """Rust files larger than this are skipped as too_large (generated tables, bundles)."""
    chunk_commits: int = 256
    """Commits per checkpoint: a killed run resumes from the last finished chunk."""
    workers: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    """Processes that read and parse blobs ahead of the history walk (0: in-process). One per
    CPU: the walk itself waits on them most of the time."""

    def hash_fields(self, head: str) -> dict[str, object]:
        fields = asdict(self)
        fields.pop("out")
        # These change where checkpoints fall and who parses, not the content.
        fields.pop("chunk_commits")
        fields.pop("workers")
        if self.renames:  # named only when off: builds from before the field keep their hash
            fields.pop("renames")
        if not self.exclude:  # named only when set: builds from before the field keep theirs
            fields.pop("exclude")
        if not self.rust_paths_only:  # the same
            fields.pop("rust_paths_only")
        fields["head"] = head
        return fields

    def config_hash(self, head: str, version: str) -> str:
        payload = json.dumps({**self.hash_fields(head), "version": version}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
