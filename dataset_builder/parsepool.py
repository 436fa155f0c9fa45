"""Blob reading and parsing in worker processes, ahead of the (sequential) history walk.

The walk itself must run in commit order (the symbol table and the DAG depend on it), but
reading and parsing the blobs of the next chunk of commits does not: workers do that while the
main process handles the current chunk. Every path is routed to the same worker, so that worker
holds the file's previous syntax tree and re-parses the next version incrementally; new paths
are spread by name, and a path moves when one worker falls behind the others.
Results are the same as parsing in-process, whichever worker parses what.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from dataset_builder.children import exit_with_parent
from dataset_builder.gitio import BlobReader, Commit, PathRules
from dataset_builder.mine import NO_RULES, Blob, BlobCache, path_skip_reason
from dataset_builder.rust_items import Item, ParsedFile

Task = tuple[str, str]  # (blob sha, sha of the same file's previous version or "")
Result = tuple[str, str, Blob, bytes | None, float]  # ..., the task's CPU seconds
# Items carried over from the previous version travel as runs of its item list: (i, j) for
# previous.items[i:j] as they were, (i, j, bytes, lines) for the same items moved by that
# much (an unchanged item's bytes, hence its length and line count, are the same).
_Run = tuple[int, int] | tuple[int, int, int, int]
# Rebalancing (ParsePool._rebalance): batches of measured parse costs it looks at, and the
# imbalance, as a share of their total, that moves a path to another worker.
REBALANCE_WINDOW = 8
REBALANCE_GAP = 0.2
# Batches collected after the first one routed by a move before the next is weighed: half
# the window, which path_to_move reads paths' recent costs from. Counted in collected
# batches, not submitted ones: the walk collects a batch some AHEAD_CHUNKS chunks (mine.py)
# after submitting it, and costs read sooner would still be those of the old routing.
REBALANCE_PAUSE = REBALANCE_WINDOW // 2


def _compact(parsed: ParsedFile, previous: ParsedFile | None,
             carried_runs: Iterable[tuple[int, int, int, int, int]] = ()) -> list[Item | _Run]:
    """The parse's items as runs of the previous version's where they are unchanged (same
    key, text and parent: moved at most), the others whole. `carried_runs`, those of an
    incremental parse from `previous` (ParsedFile.carried_runs), are taken as they are; the
    other items are looked up by key."""
    if previous is None:
        return list(parsed.items)
    old = previous.items
    items = parsed.items
    index = {item.key: k for k, item in enumerate(old)}
    compact: list[Item | _Run] = []
    first = end = -1  # the open run: old[first:end], moved by shift
    shift = (0, 0)

    def close() -> None:
        if first >= 0:
            compact.append((first, end) if shift == (0, 0) else (first, end, *shift))

    runs = iter(carried_runs)
    run = next(runs, None)
    at = 0
    while at < len(items):
        if run is not None and run[0] == at:
            _, run_first, run_end, dbytes, dlines = run
            if run_first == end and (dbytes, dlines) == shift:
                end = run_end
            else:
                close()
                first, end, shift = run_first, run_end, (dbytes, dlines)
            at += run_end - run_first
            run = next(runs, None)
            continue
        item = items[at]
        at += 1
        k = index.get(item.key, -1)
        # The same key and text in another block (its parent renumbered) is not unchanged,
        # nor what its context reads otherwise: references less its block's generic
        # parameters, errors by tree-sitter's recovery (image's `fn from_color(&mut self,
        # &Other);`, the same text under `FromColor<Sized? Other>` and `FromColor<Other>`:
        # the older parse's `Other` came back, and --workers 0 and 2 wrote other items).
        if k < 0 or old[k].digest != item.digest or old[k].parent != item.parent or \
                old[k].references != item.references or old[k].has_error != item.has_error:
            close()
            first = end = -1
            compact.append(item)
            continue
        before = old[k]
        moved = (item.start_byte - before.start_byte, item.start_line - before.start_line)
        if k == end and moved == shift:
            end += 1
        else:
            close()
            first, end, shift = k, k + 1, moved
    close()
    return compact


def _expand(entries: list[Item | _Run], previous: ParsedFile | None) -> list[Item]:
    if previous is None:
        return entries  # type: ignore[return-value]
    old = previous.items
    items: list[Item] = []
    for entry in entries:
        if isinstance(entry, Item):
            items.append(entry)
        elif len(entry) == 2:
            items.extend(old[entry[0] : entry[1]])
        else:
            first, end, dbytes, dlines = entry
            items.extend([item.moved(item.start_byte + dbytes, item.end_byte + dbytes,
                                     item.start_line + dlines, item.end_line + dlines)
                          for item in old[first:end]])
    return items


def _carried_runs(entries: list[Item | _Run]) -> list[tuple[int, int, int]]:
    """(first index in the expanded list, first, end) of each run of carried-over items."""
    runs: list[tuple[int, int, int]] = []
    at = 0
    for entry in entries:
        if isinstance(entry, Item):
            at += 1
        else:
            runs.append((at, entry[0], entry[1]))
            at += entry[1] - entry[0]
    return runs


def _worker(index: int, git_dir: Path, max_bytes: int, inbox: Any, outbox: Any,
            parent_pid: int) -> None:
    exit_with_parent(parent_pid)
    # Ctrl-C reaches the whole process group: the walk answers it, and ParsePool.close()
    # stops the workers (None in their inbox, then kill), without tracebacks from here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with BlobReader(git_dir) as reader:
        cache = BlobCache(reader, max_bytes)
        while True:
            message = inbox.get()
            if message is None:
                return
            chunk_id, tasks = message
            results: list[Result] = []
            parsed_before, incremental_before = cache.parsed, cache.incremental
            reused = 0
            for (sha, previous), data in zip(
                    tasks, reader.read_many([sha for sha, _ in tasks]), strict=True):
                started = time.process_time()
                prior = cache.trees.get(previous) if previous else None
                earlier = cache.trees.get(sha)
                if earlier is not None:
                    # Parsed here before and dropped by the main process since (a merge or
                    # revert back to it): the parse is still in this worker's tree cache.
                    cache.trees.move_to_end(sha)
                    blob = Blob(earlier.parsed, None, len(earlier.source))
                    reused += 1
                else:
                    blob = cache.parse(sha, data, previous)
                full = blob.parsed
                if prior is None or full is None:
                    previous = ""  # parsed from scratch, or not parsed
                if full is not None:
                    # Item groups stay here: only the next incremental parse uses them.
                    items: Any = full.items
                    uses: Any = full.uses
                    if prior is not None:
                        # Unchanged items as references to the previous version, which the
                        # main process already holds: far less to pickle; the same for the
                        # use paths (None: those of the previous version).
                        # An incremental parse from prior says which items it carried
                        # over (one from the tree cache may have had another previous).
                        items = _compact(full, prior.parsed,
                                         full.carried_runs if earlier is None else ())
                        uses = None if full.uses == prior.parsed.uses else full.uses
                    blob = Blob(ParsedFile(items, full.error_nodes, full.mods, uses),
                                blob.skip, blob.size)
                results.append((sha, previous, blob, data if blob.skip is None else None,
                                time.process_time() - started))
            # The main process keeps the parses; the worker keeps only its tree LRU.
            cache.blobs.clear()
            outbox.put((chunk_id, index, results, cache.parsed - parsed_before,
                        cache.incremental - incremental_before, reused))


def path_to_move(worker_costs: list[list[float]], path_costs: list[dict[str, float]],
                 route: dict[str, int]) -> tuple[str, int] | None:
    """Which path to give to which worker, from the last batches' CPU seconds per worker and
    per path (None: leave things as they are). The walk waits for the slowest worker, so
    when one has had much more work than another (a gap over REBALANCE_GAP of the total),
    the path that cost it most in the latest batches, and less than half the gap, moves to
    the least loaded one; its next version is parsed from scratch there."""
    workers = len(worker_costs[0]) if worker_costs else 0
    if workers < 2:
        return None
    loads = [sum(costs[w] for costs in worker_costs) for w in range(workers)]
    heavy = max(range(workers), key=loads.__getitem__)
    light = min(range(workers), key=loads.__getitem__)
    gap = loads[heavy] - loads[light]
    if gap <= REBALANCE_GAP * sum(loads):
        return None
    recent: defaultdict[str, float] = defaultdict(float)
    for costs in path_costs[-max(1, len(path_costs) // 2):]:
        for path, cost in costs.items():
            recent[path] += cost
    movable = [(cost, path) for path, cost in recent.items()
               if route.get(path) == heavy and cost < gap / 2]
    if not movable:
        return None
    return max(movable)[1], light


class ParsePool:
    def __init__(self, git_dir: Path, max_bytes: int, workers: int,
                 rules: PathRules = NO_RULES) -> None:
        self.rules = rules  # paths not mined besides the fixed rules: not parsed either
        ctx = mp.get_context("fork")
        self.inboxes: list[Any] = []
        self.outbox = ctx.Queue()
        parent_pid = os.getpid()
        self.procs: list[BaseProcess] = []
        for i in range(workers):
            inbox = ctx.SimpleQueue()
            proc = ctx.Process(target=_worker, args=(i, git_dir, max_bytes, inbox, self.outbox,
                                                     parent_pid),
                               daemon=True, name=f"ferric-parse-{i}")
            proc.start()
            # The worker holds the inbox's only read end (closed here before the next fork):
            # a worker that dies (the OOM killer's kill -9) breaks the pipe, so a put raises
            # instead of waiting for ever on a full pipe nobody reads.
            inbox._reader.close()  # type: ignore[attr-defined]
            self.inboxes.append(inbox)
            self.procs.append(proc)
        self.in_flight: dict[int, list[str]] = {}  # chunk -> blobs submitted, not collected
        self.pins: dict[int, list[str]] = {}  # chunk -> blobs held for it
        self.early: dict[int, list[Any]] = {}
        self.parsed = 0
        self.incremental = 0
        self.again = 0  # dropped blobs that a worker parsed again (not from its tree cache)
        self.sent_again = 0  # dropped blobs sent to a worker again
        # Each path stays with one worker, which keeps its previous tree (see _rebalance).
        self.route: dict[str, int] = {}
        self.task_path: dict[str, str] = {}  # blob sent -> its path
        # Per collected batch: CPU seconds of each worker, and of each path's tasks.
        self.worker_costs: deque[list[float]] = deque(maxlen=REBALANCE_WINDOW)
        self.path_costs: deque[dict[str, float]] = deque(maxlen=REBALANCE_WINDOW)
        self.collected = -1  # the last batch collected
        self.weigh_after = REBALANCE_WINDOW - 1  # no move before this batch is collected
        self.moved = 0  # paths moved to another worker
        self.worker_seconds = [0.0] * workers  # CPU seconds of all their tasks

    def submit(self, chunk_id: int, commits: Iterable[Commit], cache: BlobCache) -> None:
        per_worker: list[list[Task]] = [[] for _ in self.inboxes]
        earlier = {sha for shas in self.in_flight.values() for sha in shas}
        flying = set(earlier)  # and this chunk's
        sent_to: dict[str, int] = {}
        sent: list[str] = []
        pins: list[str] = []

        self._rebalance(chunk_id)

        def worker_of(path: str, old_path: str) -> int:
            worker = self.route.get(path)
            if worker is None:
                # A renamed file stays where its previous version was parsed.
                worker = self.route.get(old_path)
                if worker is None:  # spread by name: a batch of new files splits evenly
                    worker = zlib.crc32(path.encode()) % len(self.inboxes)
                self.route[path] = worker
            return worker

        def add(sha: str, previous: str, path: str, old_path: str) -> None:
            if not sha:
                return
            if sha in cache.blobs or sha in flying:
                # Parsed already, or on its way: held until this chunk is processed, so the
                # walk finds it even if its path moves on meanwhile.
                cache.hold(sha)
                pins.append(sha)
                return
            # Never parsed, or dropped since (a merge or revert back to an old version).
            worker = worker_of(path, old_path)
            sent.append(sha)
            flying.add(sha)
            sent_to[sha] = worker
            # A worker may send unchanged items as references to the previous version, so
            # the main process must have it when it expands them: it is in the cache, or
            # comes with an earlier chunk, or earlier in this worker's own results (another
            # worker's results for this chunk may be read later).
            if previous and (previous in cache.blobs or previous in earlier or
                             sent_to.get(previous) == worker):
                cache.hold(previous)  # until this chunk is processed
                pins.append(previous)
            else:
                previous = ""  # parsed from scratch
            self.task_path[sha] = path
            per_worker[worker].append((sha, previous))

        for commit in commits:
            for change in commit.changes:
                mode = change.new_mode if change.status != "D" else change.old_mode
                if path_skip_reason(change.path, mode, self.rules) is not None:
                    continue
                add(change.old_blob, "", change.old_path, change.old_path)
                if change.status != "D":
                    add(change.new_blob, change.old_blob, change.path, change.old_path)
        self.in_flight[chunk_id] = sent
        self.pins[chunk_id] = pins
        for inbox, tasks, proc in zip(self.inboxes, per_worker, self.procs, strict=True):
            try:
                inbox.put((chunk_id, tasks))
            except OSError:  # its reader is gone
                raise RuntimeError(f"parse worker died: {proc.name}") from None

    def collect(self, chunk_id: int, cache: BlobCache) -> None:
        """Wait for every worker's results for the chunk and put them into the cache.
        A fast worker may already have sent the next chunk's results: those are kept."""
        remaining = len(self.inboxes)
        worker_costs = [0.0] * len(self.inboxes)
        path_costs: defaultdict[str, float] = defaultdict(float)
        while remaining:
            early = self.early.get(chunk_id)
            if early:
                message = early.pop()
            else:
                try:
                    message = self.outbox.get(timeout=1.0)
                except queue.Empty:
                    dead = [p.name for p in self.procs if not p.is_alive()]
                    if dead:
                        raise RuntimeError(f"parse worker died: {', '.join(dead)}") from None
                    continue
            got_id, worker, results, parsed, incremental, reused = message
            if got_id != chunk_id:
                self.early.setdefault(got_id, []).append(message)
                continue
            remaining -= 1
            self.parsed += parsed
            self.incremental += incremental
            self.again -= reused
            for sha, previous, blob, data, cost in results:
                worker_costs[worker] += cost
                path_costs[self.task_path.pop(sha, "")] += cost
                if sha in cache.dropped:
                    self.sent_again += 1
                    self.again += blob.parsed is not None
                if previous and blob.parsed is not None:
                    prior = cache.blobs[previous].parsed
                    assert prior is not None
                    blob.parsed.carried = _carried_runs(blob.parsed.items)
                    blob.parsed.carried_from = previous
                    blob.parsed.items = _expand(blob.parsed.items, prior)
                    if blob.parsed.uses is None:
                        blob.parsed.uses = prior.uses
                cache.blobs[sha] = blob
                if data is not None:
                    cache.sources[sha] = data
        self.worker_costs.append(worker_costs)
        self.collected = chunk_id
        for worker, cost in enumerate(worker_costs):
            self.worker_seconds[worker] += cost
        self.path_costs.append(path_costs)
        self.early.pop(chunk_id, None)
        self.in_flight.pop(chunk_id, None)

    def _rebalance(self, batch_id: int) -> None:
        """Before batch_id is routed: move a path if the collected costs say so."""
        if self.collected < self.weigh_after:
            return
        move = path_to_move(list(self.worker_costs), list(self.path_costs), self.route)
        if move is not None:
            path, worker = move
            self.route[path] = worker
            self.moved += 1
            self.weigh_after = batch_id + REBALANCE_PAUSE

    def unpin(self, chunk_id: int, cache: BlobCache) -> None:
        """After the chunk is processed: the blobs it needed are held only by the paths (if
        any) that still have them."""
        for sha in self.pins.pop(chunk_id, ()):
            cache.release(sha)

    def close(self, wanted: bool = True) -> None:
        """Stop the workers: when they finish what they have (`wanted`), or at once (an
        error or Ctrl-C in the walk: what they parse would be thrown away)."""
        for inbox, proc in zip(self.inboxes, self.procs, strict=True):
            if not wanted:
                proc.kill()
            elif proc.is_alive():
                with contextlib.suppress(OSError):  # it died meanwhile
                    inbox.put(None)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
