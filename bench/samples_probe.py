"""Where the samples stage's time and memory go, scale by scale (a diagnostic, not a target).

    python bench/samples_probe.py [--memory] [--parts] [--cores] -- --repo R --out D --quiet

Runs `python -m dataset_builder` with the given arguments in this process, with its steps
wrapped: it prints when the walk, the writing of items and graphs and the history as a whole
start and end, when the samples stage starts, how long loading the history takes,
when the scale processes are forked and when each scale starts and ends (seconds since start,
with the process id, its RSS then and its peak RSS so far). `--memory` also runs every scale
in this one process (pin it to one core, `taskset -c 0`, for a run that resembles a scale
process) under tracemalloc, and lists
the largest allocation sites before each scale's leakage check and at its end: a scale
process's own data plus the history it inherits. tracemalloc slows the run several times.
`--parts` also prints, at each scale's end, the CPU seconds (`time.process_time`, so the
tokenizer's own threads count) that the scale's process spent in each of the stage's parts:
token counts, MinHash signatures, the near-duplicate index, filters and the exact hash,
contexts and type facts, redaction and the leakage check (outermost calls only).
`--cores` also reads /proc/stat every 0.1 s and prints, at the end, a line of the machine's
cores in use over the build (one character a tenth of a second: ` ` idle to `@` every core)
and their mean: what is serial shows as a stretch well below `@`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dataset_builder.build as build_module  # noqa: E402
import dataset_builder.quality as quality  # noqa: E402
import dataset_builder.samples as samples  # noqa: E402
import dataset_builder.samples_child as samples_child  # noqa: E402
from dataset_builder.cli import main as cli_main  # noqa: E402

STARTED = time.monotonic()


def _rss() -> str:
    """This process's RSS now and its peak so far (VmHWM), from /proc."""
    found = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    found[line[:5]] = int(line.split()[1]) // 1024
    except OSError:
        return ""
    return f"  [RSS {found.get('VmRSS', 0)} MiB, peak {found.get('VmHWM', 0)}]"


def _say(what: str) -> None:
    print(f"[{os.getpid()}] {time.monotonic() - STARTED:7.2f} s  {what}{_rss()}",
          file=sys.stderr, flush=True)


_SHADES = " .:-=+*#%@"


def _cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of every core together, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # idle and iowait


def _sample_cores(interval: float, shares: list[float], stop: threading.Event) -> None:
    cores = os.cpu_count() or 1
    previous = _cpu_times()
    while not stop.wait(interval):
        current = _cpu_times()
        total = current[0] - previous[0]
        shares.append((total - (current[1] - previous[1])) / total * cores if total else 0.0)
        previous = current


def _print_cores(shares: list[float], interval: float) -> None:
    cores = os.cpu_count() or 1
    shade = "".join(_SHADES[min(len(_SHADES) - 1, round(s / cores * (len(_SHADES) - 1)))]
                    for s in shares)
    per_line = int(10 / interval)
    print(f"cores in use, one character per {interval} s ({cores} cores = @):",
          file=sys.stderr)
    for at in range(0, len(shade), per_line):
        print(f"  {at * interval:6.1f} s |{shade[at:at + per_line]}|", file=sys.stderr)
    mean = sum(shares) / len(shares) if shares else 0.0
    print(f"mean cores in use {mean:.2f} of {cores}", file=sys.stderr)


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


# (label, owner, attribute): the samples stage's parts, none called inside another.
PARTS = (("token counts", samples.TokenCounter, "count"),
         ("MinHash signatures", quality.NearDuplicateIndex, "signatures"),
         ("near-duplicate index", quality.NearDuplicateIndex, "insert_unless_near"),
         ("filters and exact hash", quality.PieceChecks, "reason_and_key"),
         ("contexts and type facts", samples.Candidate, "complete"),
         ("redaction", samples, "redact"),
         ("leakage check", samples, "_leaks"))


class _PartClock:
    """CPU seconds per part in this process since the last reset."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys((label for label, _, _ in PARTS), 0.0)
        self.inside = False
        self.started = time.process_time()

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.seconds, 0.0)
        self.started = time.process_time()

    def wrap(self, label: str, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.inside:
                return original(*args, **kwargs)
            self.inside = True
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.process_time() - started
                self.inside = False

        setattr(owner, name, timed)

    def report(self, scale: str) -> None:
        total = time.process_time() - self.started
        parts = ", ".join(f"{label} {seconds:.2f} ({seconds / total:.0%})"
                          for label, seconds in self.seconds.items())
        _say(f"scale {scale}: {total:.2f} s CPU; {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--parts", action="store_true")
    parser.add_argument("--cores", action="store_true")
    parser.add_argument("build", nargs=argparse.REMAINDER, help="-- then dataset_builder's")
    args = parser.parse_args(argv)
    build = args.build[1:] if args.build[:1] == ["--"] else args.build
    if args.memory:
        tracemalloc.start(1)
        # Every scale here, one after another, so that one tracemalloc sees them all.
        samples_child.SamplesChild.available = staticmethod(lambda: False)  # type: ignore
        original = samples._in_processes

        def in_this_process(run: Any, tasks: list[str], staging: Path,
                            processes: int | None = None, meanwhile: Any = None) -> Any:
            return original(run, tasks, staging, 1, meanwhile)

        samples._in_processes = in_this_process
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
    clock = _PartClock()
    if args.parts:
        for label, owner, name in PARTS:
            clock.wrap(label, owner, name)

    def scale_started(scale: str, *_: Any) -> None:
        _say(f"scale {scale} starts")
        clock.reset()

    def scale_ended(scale: str, *_: Any) -> None:
        _say(f"scale {scale} ends")
        if args.parts:
            clock.report(scale)
        if args.memory:
            _memory(f"end of {scale}")

    _wrap(samples, "_run_scale", scale_started, scale_ended)
    if args.memory:
        _wrap(samples, "_leaks", lambda *a: _memory(
            f"leakage check ({len(a[0])} held out, {len(a[1])} train)"))
    shares: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_cores, args=(0.1, shares, stop), daemon=True)
    if args.cores:
        sampler.start()
    try:
        code = cli_main(build)
    finally:
        stop.set()
    _say(f"build ends, exit code {code}")
    if args.cores:
        sampler.join()
        _print_cores(shares, 0.1)
    return code


if __name__ == "__main__":
    sys.exit(main())
