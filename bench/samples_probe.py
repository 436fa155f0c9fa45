"""Where the samples stage's time and memory go, scale by scale (a diagnostic, not a target).

    python bench/samples_probe.py [--memory] -- --repo R --out D --quiet

Runs `python -m dataset_builder` with the given arguments in this process, with its steps
wrapped: it prints when the walk, the writing of items and graphs and the history as a whole
start and end, when the samples stage starts, how long loading the history takes,
when the scale processes are forked and when each scale starts and ends (seconds since start,
with the process id). `--memory` also runs every scale in this one process (pin it to one
core, `taskset -c 0`, for a run that resembles a scale process) under tracemalloc, and lists
the largest allocation sites before each scale's leakage check and at its end: a scale
process's own data plus the history it inherits. tracemalloc slows the run several times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dataset_builder.build as build_module  # noqa: E402
import dataset_builder.samples as samples  # noqa: E402
import dataset_builder.samples_child as samples_child  # noqa: E402
from dataset_builder.cli import main as cli_main  # noqa: E402

STARTED = time.monotonic()


def _say(what: str) -> None:
    print(f"[{os.getpid()}] {time.monotonic() - STARTED:7.2f} s  {what}", file=sys.stderr,
          flush=True)


def _memory(tag: str, top: int = 14) -> None:
    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics("lineno")
    _say(f"{tag}: {sum(s.size for s in stats) / 2**20:.0f} MiB traced")
    for stat in stats[:top]:
        print(f"    {stat.size / 2**20:8.1f} MiB {stat.count:9d} {stat.traceback}",
              file=sys.stderr)


def _wrap(owner: Any, name: str, before: Callable[..., None] | None = None,
          after: Callable[..., None] | None = None) -> None:
    original = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args)
        result = original(*args, **kwargs)
        if after is not None:
            after(*args)
        return result

    setattr(owner, name, wrapped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("build", nargs=argparse.REMAINDER, help="-- then dataset_builder's")
    args = parser.parse_args(argv)
    build = args.build[1:] if args.build[:1] == ["--"] else args.build
    if args.memory:
        tracemalloc.start(1)
        # Every scale here, one after another, so that one tracemalloc sees them all.
        samples_child.SamplesChild.available = staticmethod(lambda: False)  # type: ignore
        original = samples._in_processes
        samples._in_processes = (
            lambda run, tasks, staging, processes=None: original(run, tasks, staging, 1))
    _wrap(samples_child, "build_samples", lambda *a: _say("samples stage starts"),
          lambda *a: _say("samples stage ends"))
    for step in ("mine_history", "_write_items", "_write_graphs", "_mine"):  # the history's
        _wrap(build_module, step, lambda *a, step=step: _say(f"{step} starts"),
              lambda *a, step=step: _say(f"{step} ends"))
    _wrap(build_module, "build_samples", lambda *a: _say("samples stage starts"),
          lambda *a: _say("samples stage ends"))
    _wrap(samples.History, "__init__", lambda *a: _say("history loads"),
          lambda *a: _say("history loaded"))
    _wrap(samples, "_in_processes", lambda *a: _say(f"scales {a[1]} start"))
    def scale_ended(scale: str, *_: Any) -> None:
        _say(f"scale {scale} ends")
        if args.memory:
            _memory(f"end of {scale}")

    _wrap(samples, "_run_scale", lambda *a: _say(f"scale {a[0]} starts"), scale_ended)
    if args.memory:
        _wrap(samples, "_leaks", lambda *a: _memory(
            f"leakage check ({len(a[0])} held out, {len(a[1])} train)"))
    code = cli_main(build)
    _say(f"build ends, exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
