"""Targets: held-out samples with the original code they replace, read from the repository.

A target is one sample of the chosen split whose code lives in known bytes of known files at its
commit: a span of one file (MICRO, SMALL, MEDIUM and their parts) or whole files (LARGE and FULL,
written as `<file_sep>path` sections). The original is read from git, not from the sample text,
because sample text may carry redactions or inline type facts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataset_builder.gitio import BlobReader, RepoError
from dataset_builder.samples import FILE_SEP, read_samples

BUCKETS = ("5-50", "51-100", "101-500", "501-1000", "1000+")
_BUCKET_EDGES = ((50, "5-50"), (100, "51-100"), (500, "101-500"), (1000, "501-1000"))


def loc_bucket(loc: int) -> str:
    for edge, name in _BUCKET_EDGES:
        if loc <= edge:
            return name
    return "1000+"


@dataclass
class Target:
    id: str
    repo: str
    git_dir: str
    commit: str
    crate_dir: str
    scale: str
    kind: str
    path: str
    paths: list[str]
    start: int  # byte span in `path` (-1 for whole-file targets)
    end: int
    part: int
    parts: int
    loc: int
    bucket: str
    original: str  # the code the candidate replaces (file sections for whole-file targets)
    context: str  # the sample's context (prompt) and suffix, for generation
    suffix: str
    type_facts: str  # the sample's rendering mode (inline tokens are stripped from candidates)
    target_tokens: int
    files: dict[str, str] = field(default_factory=dict)  # original text of every file touched

    @property
    def whole_files(self) -> bool:
        return self.start < 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Target:
        return Target(**data)


def split_files(text: str) -> dict[str, str] | None:
    """`<file_sep>path\\ncontent...` sections -> {path: content}; None when malformed."""
    if not text.startswith(FILE_SEP):
        return None
    files: dict[str, str] = {}
    for section in text.split(FILE_SEP)[1:]:
        path, newline, content = section.partition("\n")
        if not newline or not path.strip() or path in files:
            return None
        files[path.strip()] = content
    return files


def join_files(files: dict[str, str]) -> str:
    return "".join(f"{FILE_SEP}{p}\n{c}" for p, c in files.items())


def load_targets(data_dir: Path, split: str = "test", scales: list[str] | None = None,
                 limit: int | None = None, seed: int = 0) -> tuple[list[Target], Counter[str]]:
    """Targets of one split and the exclusions already known from the data (by reason).

    With limit, a deterministic sample (hash of id and seed), so every row sees the same targets.
    """
    manifest = json.loads((data_dir / "manifest.json").read_text())
    repos = manifest.get("repos") or {}
    table = read_samples(data_dir, split)
    if scales:
        table = table.filter(pc.is_in(table["scale"], value_set=pa.array(scales)))
    rows = table.to_pylist()
    excluded: Counter[str] = Counter()
    if limit is not None and len(rows) > limit:
        rows.sort(key=lambda r: hashlib.sha1(f"{seed}:{r['id']}".encode()).hexdigest())
        rows = rows[:limit]
    targets: list[Target] = []
    readers: dict[str, BlobReader] = {}
    try:
        for row in sorted(rows, key=lambda r: (r["repo"], r["commit_index"], r["id"])):
            repo = repos.get(row["repo"])
            if repo is None:
                excluded["repository_unknown"] += 1
                continue
            git_dir = str(repo["git_dir"])
            if not Path(git_dir).exists():
                excluded["repository_missing"] += 1
                continue
            if row["target_start_byte"] < 0 and row["parts"] > 1:
                excluded["multi_file_part"] += 1  # a part of a multi-file target has no byte span
                continue
            reader = readers.get(git_dir)
            if reader is None:
                reader = readers[git_dir] = BlobReader(Path(git_dir))
            paths = list(row["paths"] or [row["path"]])
            files: dict[str, str] = {}
            for path in paths:
                blob = reader.read(f"{row['commit']}:{path}")
                if blob is None:
                    break
                try:
                    files[path] = blob.decode("utf-8")
                except UnicodeDecodeError:
                    break
            if len(files) != len(paths):
                excluded["original_unreadable"] += 1
                continue
            if row["target_start_byte"] >= 0:
                data = files[row["path"]].encode("utf-8")
                start, end = row["target_start_byte"], row["target_end_byte"]
                if end > len(data):
                    excluded["span_outside_file"] += 1
                    continue
                original = data[start:end].decode("utf-8", "replace")
            else:
                start = end = -1
                original = join_files(files)
            targets.append(Target(
                id=row["id"], repo=row["repo"], git_dir=git_dir, commit=row["commit"],
                crate_dir=row["crate_dir"], scale=row["scale"], kind=row["kind"], path=row["path"],
                paths=paths, start=start, end=end, part=row["part"], parts=row["parts"],
                loc=row["target_loc"], bucket=loc_bucket(row["target_loc"]), original=original,
                context=row["context"], suffix=row["suffix"], type_facts=row["type_facts"],
                target_tokens=row["target_tokens"], files=files))
    except RepoError as exc:
        raise SystemExit(f"error: {exc}") from None
    finally:
        for reader in readers.values():
            reader.close()
    return targets, excluded


def candidate_files(target: Target, candidate: str) -> dict[str, str] | None:
    """The full text of every file the candidate changes; None when its layout is wrong."""
    if not target.whole_files:
        data = target.files[target.path].encode("utf-8")
        spliced = data[:target.start] + candidate.encode("utf-8") + data[target.end:]
        return {target.path: spliced.decode("utf-8", "replace")}
    files = split_files(candidate)
    if files is None or set(files) != set(target.paths):
        return None
    return files
