"""Peak RSS of every process a command starts, from /proc (Linux).

    python bench/peak_rss.py [--interval 0.1] [--top 8] -- \
        python -m dataset_builder --repo R --out D --quiet

Polls /proc every `--interval` seconds for the command's process tree (children of children
included) and prints the command's wall time, exit code and each process's peak VmRSS with when
it was reached and its command line (shortened), largest first: the largest is what the memory
target (1 GiB) is about. A fork counts the pages it shares with its parent, as the kernel's
RSS does. A process that lives shorter than the interval can be missed. Last, the peak of
the whole tree's memory at one poll: its processes' PSS summed (`smaps_rollup`, each shared
page split among its sharers), what the machine holds for the build at once, and each
process's share then.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:  # gone meanwhile
        pass
    return found


def _proc_kib(pid: int, name: str, field: str) -> int | None:
    """A `field:` line's KiB in /proc/PID/NAME (`status`'s VmRSS, `smaps_rollup`'s Pss)."""
    try:
        with open(f"/proc/{pid}/{name}") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _command_line(pid: int) -> str:
    """The process's command line, shortened: a fork of Python shows its parent's, so a
    parse worker and the main process read alike; cargo, git and rustdoc stand out."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(os.path.basename(w.decode(errors="replace")) if i == 0
                    else w.decode(errors="replace") for i, w in enumerate(words) if w)
    return text if len(text) <= 60 else text[:57] + "..."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--top", type=int, default=8, help="processes to list")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or not os.path.isdir("/proc/self/task"):
        print("error: give a command after --, on Linux", file=sys.stderr)
        return 2
    started = time.monotonic()
    proc = subprocess.Popen(command)
    peaks: dict[int, tuple[int, float, float]] = {}  # pid -> (KiB, when, first seen)
    names: dict[int, str] = {}
    # (summed PSS KiB, when, pid -> PSS KiB then)
    tree_peak: tuple[int, float, dict[int, int]] = (0, 0.0, {})
    while proc.poll() is None:
        now = time.monotonic() - started
        stack, tree = [proc.pid], []
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(_children(pid))
        for pid in tree:
            kib = _proc_kib(pid, "status", "VmRSS:")
            if kib is None:
                continue
            first = peaks[pid][2] if pid in peaks else now
            if pid not in names:
                names[pid] = _command_line(pid)
            if pid not in peaks or kib > peaks[pid][0]:
                peaks[pid] = (kib, now, first)
        pss = {pid: _proc_kib(pid, "smaps_rollup", "Pss:") or 0 for pid in tree}
        if sum(pss.values()) > tree_peak[0]:
            tree_peak = (sum(pss.values()), now, pss)
        time.sleep(args.interval)
    print(f"exit code {proc.returncode}, wall {time.monotonic() - started:.1f} s")
    for pid, (kib, when, first) in sorted(peaks.items(), key=lambda kv: -kv[1][0])[:args.top]:
        print(f"pid {pid} peak {kib / 1024:.0f} MiB at {when:.1f} s (seen from {first:.1f} s)  "
              f"{names.get(pid, '?')}")
    print(f"whole tree: peak {tree_peak[0] / 1024:.0f} MiB of PSS summed at {tree_peak[1]:.1f} s "
          f"({len(tree_peak[2])} processes)")
    for pid, kib in sorted(tree_peak[2].items(), key=lambda kv: -kv[1]):
        if kib:
            first = peaks[pid][2] if pid in peaks else tree_peak[1]
            print(f"  pid {pid} PSS {kib / 1024:.0f} MiB then (seen from {first:.1f} s)  "
                  f"{names.get(pid, '?')}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
