"""dataset_builder.parsepool: which worker parses which path, and how parses travel."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from dataset_builder.mine import _outside_runs
from dataset_builder.parsepool import _carried_runs, _compact, _expand, path_to_move
from dataset_builder.rust_items import Previous, parse_rust


def test_balanced_workers_keep_their_paths() -> None:
    worker_costs = [[1.0, 0.9], [0.8, 1.0]]
    path_costs = [{"a.rs": 1.0, "b.rs": 0.9}, {"a.rs": 0.8, "b.rs": 1.0}]
    assert path_to_move(worker_costs, path_costs, {"a.rs": 0, "b.rs": 1}) is None


def test_busiest_worker_gives_its_costliest_recent_path_that_fits_the_gap() -> None:
    route = {"big.rs": 0, "mid.rs": 0, "old.rs": 0, "small.rs": 0, "other.rs": 1}
    worker_costs = [[5.0, 0.5], [4.0, 0.5]]  # worker 0: 9 s, worker 1: 1 s; gap 8 s
    path_costs = [
        {"old.rs": 3.5, "big.rs": 1.0, "other.rs": 0.5},  # older half: not counted
        {"big.rs": 4.5, "mid.rs": 2.0, "small.rs": 0.5, "other.rs": 0.5},
    ]
    # big.rs (4.5 s) would overshoot (more than half the gap), old.rs was busy only earlier.
    assert path_to_move(worker_costs, path_costs, route) == ("mid.rs", 1)


def test_nothing_to_move_with_one_worker_or_no_history() -> None:
    assert path_to_move([], [], {}) is None
    assert path_to_move([[3.0]], [{"a.rs": 3.0}], {"a.rs": 0}) is None
    # A single hot path bigger than half the gap stays: moving it would only swap roles.
    assert path_to_move([[4.0, 0.0]], [{"a.rs": 4.0}], {"a.rs": 0}) is None


def test_moves_wait_for_the_costs_of_batches_routed_after_the_last_one() -> None:
    """Costs come from collected batches, which lag the submitted ones by the whole window
    the workers may be ahead: a move is weighed only once REBALANCE_WINDOW batches have been
    collected, and the next only once REBALANCE_PAUSE batches routed after it have."""
    from collections import deque
    from types import SimpleNamespace

    from dataset_builder.parsepool import REBALANCE_PAUSE, REBALANCE_WINDOW, ParsePool

    pool = SimpleNamespace(route={f"{k}.rs": 0 for k in range(40)}, moved=0, collected=-1,
                           weigh_after=REBALANCE_WINDOW - 1,
                           worker_costs=deque(maxlen=REBALANCE_WINDOW),
                           path_costs=deque(maxlen=REBALANCE_WINDOW))

    def collect(batch_id: int) -> None:  # every batch as uneven as before: worker 0 busy
        pool.worker_costs.append([4.0, 0.0])
        pool.path_costs.append({f"{k}.rs": 0.1 for k in range(40) if pool.route[f"{k}.rs"] == 0})
        pool.collected = batch_id

    moves_at = []
    ahead = 32  # batches submitted before the first is collected
    for batch_id in range(200):
        before = pool.moved
        ParsePool._rebalance(pool, batch_id)  # type: ignore[arg-type]
        if pool.moved > before:
            moves_at.append((batch_id, pool.collected))
        if batch_id >= ahead:
            collect(batch_id - ahead)
    assert moves_at[0][1] == REBALANCE_WINDOW - 1
    for (moved, _), (_, seen) in itertools.pairwise(moves_at):
        assert seen >= moved + REBALANCE_PAUSE
    assert len(moves_at) < 200 // REBALANCE_PAUSE


def _functions(bodies: dict[str, str]) -> str:
    return "".join(f"fn {name}() -> u32 {{\n    {body}\n}}\n\n" for name, body in bodies.items())


def test_carried_items_travel_as_runs_and_expand_to_the_parse() -> None:
    """A version sent against its previous one: unchanged items as runs of the previous
    item list (moved runs with their shift), changed ones whole; expanding gives the
    worker's parse exactly."""
    bodies = {f"f{i}": f"{i} + 1" for i in range(40)}
    old_src = _functions(bodies).encode()
    old, old_tree = parse_rust(old_src)
    edited = dict(bodies)
    edited["f5"] = "let x = 2;\n    x * 7"  # one more line: later items move
    edited["f30"] = "30 + 2"
    del edited["f20"]
    new_src = ("struct Top;\n" + _functions(edited)).encode()
    new, _ = parse_rust(new_src, previous=Previous(old_src, old_tree, old))
    compact = _compact(new, old)
    assert _expand(compact, old) == new.items
    runs = [entry for entry in compact if isinstance(entry, tuple)]
    assert len(compact) < len(new.items) // 4
    assert all(len(run) == 4 for run in runs)  # `struct Top;` moved every function
    assert _expand(_compact(old, old), old) == old.items
    assert _compact(old, old) == [(0, len(old.items))]


def test_an_item_whose_references_its_block_changed_travels_whole() -> None:
    """The same method text under a block with and without the generic parameter it names:
    its references differ, so the worker sends it whole, not as the previous parse's item
    (image's `fn from_color(&mut self, &Other);` kept the `Other` of a parse whose trait had
    no generics: --workers 0 and 2 wrote other items.parquet)."""
    method = "    fn convert(&self, other: &Other) -> u8;\n"
    plain = f"pub trait Convert {{\n{method}}}\n\npub struct Other;\n".encode()
    generic = f"pub trait Convert<Other> {{\n{method}}}\n\npub struct Other;\n".encode()
    old, _ = parse_rust(plain)
    new, _ = parse_rust(generic)  # parsed afresh, as a worker may have
    [old_method] = [i for i in old.items if i.name == "convert"]
    [new_method] = [i for i in new.items if i.name == "convert"]
    assert (old_method.key, old_method.digest, old_method.parent) == \
        (new_method.key, new_method.digest, new_method.parent)
    assert "Other" in old_method.references and "Other" not in new_method.references
    assert _expand(_compact(new, old), old) == new.items
    assert new_method in _compact(new, old)


def test_carried_runs_leave_exactly_the_changed_items_to_compare() -> None:
    """The runs the main process keeps after expanding: the items outside them are the ones
    a key-and-digest comparison with the old version finds added, modified or removed."""
    bodies = {f"f{i}": f"{i} + 1" for i in range(30)}
    old_src = _functions(bodies).encode()
    old, old_tree = parse_rust(old_src)
    edited = dict(bodies)
    edited["f3"] = "3 * 9"
    del edited["f12"]
    edited["g"] = "7"
    moved = {k: edited[k] for k in [*list(edited)[20:], *list(edited)[:20]]}  # reordered
    new_src = _functions(moved).encode()
    new, _ = parse_rust(new_src, previous=Previous(old_src, old_tree, old))
    compact = _compact(new, old)
    runs = _carried_runs(compact)
    items = _expand(compact, old)
    for start, first, end in runs:
        assert [(i.key, i.digest) for i in items[start:start + end - first]] == \
            [(i.key, i.digest) for i in old.items[first:end]]
    changed, unmatched = _outside_runs(items, old.items, runs)
    old_by_key = {i.key: i for i in old.items}
    new_keys = {i.key for i in items}
    assert changed == [i for i in items if i.key not in old_by_key
                       or old_by_key[i.key].digest != i.digest]
    assert [i.key for i in unmatched if i.key not in new_keys] == \
        [i.key for i in old.items if i.key not in new_keys]
    assert {i.key for i in changed} == {"function:f3", "function:g"}
    assert _outside_runs(items, old.items, []) == (items, old.items)


@pytest.mark.parametrize("seed", range(25))
def test_compacting_with_the_carried_runs_equals_comparing_item_by_item(seed: int) -> None:
    """The runs an incremental parse carried over, taken whole, give the same compact list
    as looking every item up in the previous version (blocks of repeated headers added,
    removed and swapped, bodies edited)."""
    rng = random.Random(seed)
    blocks = [f"impl S {{\n    fn m{i}(&self) {{ {i} }}\n}}\n" if i % 3 else
              f"fn f{i}() -> u8 {{ {i} }}\n" for i in range(30)]
    src = "".join(blocks).encode()
    parsed, tree = parse_rust(src)
    previous = Previous(src, tree, parsed)
    carried = 0
    for _ in range(8):
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(blocks))
            action = rng.randrange(4)
            if action == 0:
                blocks.insert(at, "impl S {\n    fn extra(&self) {}\n}\n")
            elif action == 1 and len(blocks) > 2:
                del blocks[at]
            elif action == 2:
                other = rng.randrange(len(blocks))
                blocks[at], blocks[other] = blocks[other], blocks[at]
            else:
                blocks[at] = blocks[at].replace("{ ", "{ 1 + ", 1)
        src = "".join(blocks).encode()
        new, tree = parse_rust(src, previous=previous)
        carried += len(new.carried_runs)
        compact = _compact(new, previous.parsed, new.carried_runs)
        assert compact == _compact(new, previous.parsed)
        assert _expand(compact, previous.parsed) == new.items
        previous = Previous(src, tree, new)
    assert carried  # the chains did carry runs over


def test_workers_leave_ctrl_c_to_the_walk_and_stop_at_once_when_not_wanted(
        tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: a worker ignores it (no traceback of its own;
    the walk answers it) and close(wanted=False) stops the workers at once."""
    import os
    import signal
    import time

    from dataset_builder.parsepool import ParsePool
    from tests.dataset_builder.conftest import linear_repo

    def ignores_sigint(pid: int) -> bool:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
        return False

    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    repo = linear_repo(tmp_path / "repo", 2)
    pool = ParsePool(repo.path / ".git", 1 << 20, 2)
    try:
        pid = pool.procs[0].pid or 0
        deadline = time.monotonic() + 10
        while not ignores_sigint(pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker's first step: not yet, just after the fork
        os.kill(pid, signal.SIGINT)
        time.sleep(0.5)
        assert pool.procs[0].is_alive()
    finally:
        started = time.monotonic()
        pool.close(wanted=False)
    assert time.monotonic() - started < 2
    assert not any(proc.is_alive() for proc in pool.procs)


def test_a_worker_killed_outright_is_reported_not_waited_for(tmp_path: Path) -> None:
    """A parse worker killed with kill -9 (the OOM killer) left the walk blocked for ever on
    a put into its inbox, a full pipe that the other workers held open too."""
    import os
    import signal
    import threading

    from dataset_builder.gitio import BlobReader, iter_commits, open_repo
    from dataset_builder.mine import BlobCache
    from dataset_builder.parsepool import ParsePool
    from tests.dataset_builder.conftest import linear_repo

    repo = linear_repo(tmp_path / "repo", 3)
    info = open_repo(repo.path)
    commits = list(iter_commits(info))
    pool = ParsePool(info.git_dir, 1 << 20, 2)
    cache = BlobCache(BlobReader(info.git_dir), 1 << 20)
    errors: list[BaseException] = []

    def submit_for_ever() -> None:
        try:
            for chunk in range(100_000):  # fills the dead worker's pipe, then blocks
                pool.submit(chunk, commits, cache)
                cache.blobs.clear()
                pool.in_flight.clear()
        except BaseException as exc:
            errors.append(exc)

    try:
        os.kill(pool.procs[0].pid or 0, signal.SIGKILL)
        pool.procs[0].join(5)
        walk = threading.Thread(target=submit_for_ever, daemon=True)
        walk.start()
        walk.join(20)
        assert not walk.is_alive(), "blocked on the dead worker's inbox"
        assert len(errors) == 1 and "parse worker died: ferric-parse-0" in str(errors[0])
    finally:
        pool.close(wanted=False)
