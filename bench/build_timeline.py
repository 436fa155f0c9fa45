"""When each phase of a dataset build runs, and how busy the machine's cores are meanwhile.

    python bench/build_timeline.py [--interval 0.1] -- --repo R --out D --quiet

Runs `python -m dataset_builder` with the given arguments in this process, its phases wrapped
to note their start and end (seconds since start, and the process: the build, the samples
stage and its scale processes are forks; `SamplesChild.build` is the build process waiting
for the samples stage), while a thread reads /proc/stat every `--interval`
seconds. Prints the phases in order of their start, a line of the cores' use over time (one
character an interval: ` ` idle to `@` every core busy) and the mean number of busy cores.
What is serial shows as phases no others overlap, or as a line well below `@`.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

_SHADES = " .:-=+*#%@"


def _cpu_times() -> tuple[int, int]:
    """(all, idle) jiffies of every core together, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # idle and iowait


def _sample_cores(interval: float, samples: list[float], stop: threading.Event) -> None:
    cores = os.cpu_count() or 1
    previous = _cpu_times()
    while not stop.wait(interval):
        current = _cpu_times()
        total = current[0] - previous[0]
        busy = total - (current[1] - previous[1])
        samples.append(busy / total * cores if total else 0.0)
        previous = current


def _wrap(owner: Any, name: str, started: float, log: str) -> None:
    function = getattr(owner, name)

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            # Appended to a file: the samples stage and its scale processes are forks.
            with open(log, "a") as handle:
                handle.write(f"{begin - started:7.2f} - {time.monotonic() - started:7.2f}  "
                             f"pid {os.getpid():>7}  {getattr(owner, '__name__', '')}."
                             f"{name}\n")

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("build_args", nargs=argparse.REMAINDER,
                        help="-- then the arguments of python -m dataset_builder")
    args = parser.parse_args(argv)
    build_args = [a for a in args.build_args if a != "--"] if args.build_args[:1] == ["--"] \
        else args.build_args
    started = time.monotonic()
    import dataset_builder.build as build
    import dataset_builder.samples as samples
    from dataset_builder.cli import main as build_main
    from dataset_builder.samples_child import SamplesChild

    descriptor, log = tempfile.mkstemp(prefix="build-timeline-")
    os.close(descriptor)
    phases: list[tuple[Any, str]] = [
        (build, "mine_history"), (build, "_write_graphs"), (build, "_add_samples"),
        (samples, "_samples_of_scales"), (samples, "_in_processes"),
        (samples, "_drop_cross_scale_leaks"), (samples, "_run_scale"),
        (SamplesChild, "build")]
    for owner, name in phases:
        _wrap(owner, name, started, log)
    shares: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_cores, args=(args.interval, shares, stop),
                               daemon=True)
    sampler.start()
    run: Callable[[list[str]], int] = build_main
    try:
        code = run(build_args)
    finally:
        stop.set()
        sampler.join()
    wall = time.monotonic() - started
    cores = os.cpu_count() or 1
    with open(log) as handle:
        lines = handle.read().splitlines()
    os.unlink(log)
    print("\nphases (seconds since start, the process, the function):")
    for line in sorted(lines, key=lambda text: float(text.split()[0])):
        print(" ", line)
    shade = "".join(_SHADES[min(len(_SHADES) - 1, round(s / cores * (len(_SHADES) - 1)))]
                    for s in shares)
    per_line = int(10 / args.interval)
    print(f"\ncores busy, one character per {args.interval} s ({cores} cores = @):")
    for at in range(0, len(shade), per_line):
        print(f"  {at * args.interval:6.1f} s |{shade[at:at + per_line]}|")
    mean = sum(shares) / len(shares) if shares else 0.0
    print(f"wall {wall:.2f} s, mean busy cores {mean:.2f} of {cores}, exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
