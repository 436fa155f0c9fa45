"""Blob reading and parsing in worker processes, ahead of the (sequential) history walk.

The walk itself must run in commit order (the symbol table and the DAG depend on it), but
reading and parsing the blobs of the next chunk of commits does not: workers do that while the
main process handles the current chunk. Every path is routed to the same worker, so that worker
holds the file's previous syntax tree and re-parses the next version incrementally. Results are
the same as parsing in-process, whichever worker parses what.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import zlib
from collections.abc import Iterable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from dataset_builder.gitio import BlobReader, Commit
from dataset_builder.mine import Blob, BlobCache, path_skip_reason

Task = tuple[str, str]  # (blob sha, sha of the same file's previous version or "")
Result = tuple[str, Blob, bytes | None]


def _worker(git_dir: Path, max_bytes: int, inbox: Any, outbox: Any) -> None:
    with BlobReader(git_dir) as reader:
        cache = BlobCache(reader, max_bytes)
        while True:
            message = inbox.get()
            if message is None:
                return
            chunk_id, tasks = message
            results: list[Result] = []
            parsed, incremental = cache.parsed, cache.incremental
            for sha, previous in tasks:
                blob, data = cache.get(sha, True, previous)
                results.append((sha, blob, data if blob.skip is None else None))
            # The main process keeps the parses; the worker keeps only its tree LRU.
            cache.blobs.clear()
            outbox.put((chunk_id, results, cache.parsed - parsed,
                        cache.incremental - incremental))


class ParsePool:
    def __init__(self, git_dir: Path, max_bytes: int, workers: int) -> None:
        ctx = mp.get_context("fork")
        self.inboxes = [ctx.SimpleQueue() for _ in range(workers)]
        self.outbox = ctx.Queue()
        self.procs: list[BaseProcess] = [
            ctx.Process(target=_worker, args=(git_dir, max_bytes, inbox, self.outbox),
                        daemon=True, name=f"ferric-parse-{i}")
            for i, inbox in enumerate(self.inboxes)]
        for proc in self.procs:
            proc.start()
        self.submitted: set[str] = set()
        self.parsed = 0
        self.incremental = 0

    def submit(self, chunk_id: int, commits: Iterable[Commit], cache: BlobCache) -> None:
        per_worker: list[list[Task]] = [[] for _ in self.inboxes]

        def add(sha: str, previous: str, path: str) -> None:
            if sha and sha not in cache.blobs and sha not in self.submitted:
                self.submitted.add(sha)
                per_worker[zlib.crc32(path.encode()) % len(per_worker)].append((sha, previous))

        for commit in commits:
            for change in commit.changes:
                mode = change.new_mode if change.status != "D" else change.old_mode
                if path_skip_reason(change.path, mode) is not None:
                    continue
                add(change.old_blob, "", change.old_path)
                if change.status != "D":
                    add(change.new_blob, change.old_blob, change.path)
        for inbox, tasks in zip(self.inboxes, per_worker, strict=True):
            inbox.put((chunk_id, tasks))

    def collect(self, chunk_id: int, cache: BlobCache) -> None:
        """Wait for every worker's results for the chunk and put them into the cache."""
        remaining = len(self.inboxes)
        while remaining:
            try:
                got_id, results, parsed, incremental = self.outbox.get(timeout=1.0)
            except queue.Empty:
                dead = [p.name for p in self.procs if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"parse worker died: {', '.join(dead)}") from None
                continue
            assert got_id == chunk_id, (got_id, chunk_id)
            remaining -= 1
            self.parsed += parsed
            self.incremental += incremental
            for sha, blob, data in results:
                cache.blobs[sha] = blob
                if data is not None:
                    cache.sources[sha] = data

    def close(self) -> None:
        for inbox, proc in zip(self.inboxes, self.procs, strict=True):
            if proc.is_alive():
                inbox.put(None)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
