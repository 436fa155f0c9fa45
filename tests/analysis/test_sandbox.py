"""Sandbox limits on plain commands."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.sandbox import Limits, network_namespace_available, run_sandboxed


def test_wall_limit_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = f"ferric-sleep-{time.time_ns()}"
    script = f"import subprocess, time; subprocess.Popen(['sleep', '30', '{marker}'])" \
             "; time.sleep(30)"
    started = time.perf_counter()
    result = run_sandboxed([sys.executable, "-c", script], tmp_path, Limits(wall_seconds=1))
    assert result.timed_out and result.killed_by == "timeout"
    assert time.perf_counter() - started < 10
    time.sleep(0.2)
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1


def test_output_is_capped(tmp_path: Path) -> None:
    script = "import sys\nwhile True: sys.stdout.write('x' * 65536)"
    result = run_sandboxed([sys.executable, "-c", script], tmp_path,
                           Limits(wall_seconds=20, file_bytes=4 << 20, output_bytes=1 << 20))
    assert result.killed_by == "output" and len(result.stdout) == 1 << 20 and result.truncated


def test_memory_is_limited(tmp_path: Path) -> None:
    script = "x = bytearray(3 << 30)"
    result = run_sandboxed([sys.executable, "-c", script], tmp_path,
                           Limits(memory_bytes=1 << 30))
    assert result.returncode != 0 and b"MemoryError" in result.stderr


def test_no_network_inside(tmp_path: Path) -> None:
    if not network_namespace_available():
        pytest.skip("no unprivileged network namespaces here: cargo offline only")
    result = run_sandboxed(["cat", "/proc/net/dev"], tmp_path, Limits())
    interfaces = [line.split(":")[0].strip() for line in result.stdout.decode().splitlines()[2:]]
    assert interfaces == ["lo"]


def test_programs_run_with_a_read_only_file_system(tmp_path: Path) -> None:
    from analysis.sandbox import read_only_namespace_available

    if not read_only_namespace_available():
        pytest.skip("no unprivileged mount namespaces here")
    work, outside = tmp_path / "work", tmp_path / "outside.txt"
    work.mkdir()
    script = (f"open('inside.txt', 'w').write('x')\n"
              f"try:\n    open({str(outside)!r}, 'w').write('x')\nexcept OSError:\n    pass\n")
    result = run_sandboxed([sys.executable, "-c", script], work, Limits(), writable_only=work)
    assert result.returncode == 0, result.stderr
    assert (work / "inside.txt").exists() and not outside.exists()


@pytest.mark.parametrize("isolate_network", [False, True])
def test_the_command_dies_with_the_process_that_ran_it(tmp_path: Path,
                                                       isolate_network: bool) -> None:
    """kill -9 of the run leaves no compiler behind: the kernel kills the sandboxed command
    (through `unshare` too) when its caller dies."""
    stamp = time.time_ns()
    marker = f"ferric-orphan-{stamp}"  # only the sleeper's command line holds it whole
    script = ("import sys; from pathlib import Path; "
              "from analysis.sandbox import Limits, run_sandboxed; "
              f"run_sandboxed([sys.executable, '-c', 'import time; time.sleep(30)', "
              f"'ferric-orphan-' + '{stamp}'], Path('{tmp_path}'), "
              f"Limits(wall_seconds=60), isolate_network={isolate_network})")
    caller = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0:
            assert time.monotonic() < deadline, "the sandboxed command never started"
            time.sleep(0.05)
        caller.kill()
        caller.wait()
        deadline = time.monotonic() + 5
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "the sandboxed command outlived its caller"
            time.sleep(0.05)
    finally:
        caller.kill()
        subprocess.run(["pkill", "-f", marker], capture_output=True)
