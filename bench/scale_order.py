"""Simulate the scale processes' schedule from builds' measured scale CPU seconds.

    python bench/scale_order.py OUT [OUT ...] [--processes 2]

Each OUT is a finished build (its manifest.json has samples.cpu_seconds). Each process takes
the next scale of the order when it is free (as samples._in_processes does); printed: the
longest process's seconds under the order in use (samples._SCALE_ORDER) and under every other
order, best first, so an order is judged on measured costs rather than guessed.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataset_builder.samples import _SCALE_ORDER  # noqa: E402


def makespan(costs: dict[str, float], order: tuple[str, ...], processes: int) -> float:
    """When the last process finishes, each taking the next scale of `order` when free."""
    free = [0.0] * processes
    heapq.heapify(free)
    for scale in order:
        heapq.heappush(free, heapq.heappop(free) + costs[scale])
    return max(free)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("builds", nargs="+", type=Path, help="build folders (OUT of a build)")
    p.add_argument("--processes", type=int, default=2)
    args = p.parse_args()
    costs = {}
    for out in args.builds:
        try:
            costs[out.name] = json.loads((out / "manifest.json").read_text())[
                "samples"]["cpu_seconds"]
        except (OSError, ValueError, KeyError):
            print(f"error: {out}: no manifest with samples.cpu_seconds", file=sys.stderr)
            return 2
    orders = sorted(itertools.permutations(_SCALE_ORDER), key=lambda order: sum(
        makespan(c, order, args.processes) for c in costs.values()))
    width = max(len(name) for name in costs)
    for name, c in costs.items():
        print(f"{name:<{width}}  total {sum(c.values()):6.2f} s  in use "
              f"{makespan(c, _SCALE_ORDER, args.processes):6.2f} s  best "
              f"{makespan(c, orders[0], args.processes):6.2f} s")
    print(f"in use: {', '.join(_SCALE_ORDER)}; sum of the longest processes "
          f"{sum(makespan(c, _SCALE_ORDER, args.processes) for c in costs.values()):.2f} s")
    for order in orders[:5]:
        total = sum(makespan(c, order, args.processes) for c in costs.values())
        print(f"  {', '.join(order):40}  {total:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
