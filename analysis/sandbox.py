"""Running the compiler on untrusted code: limits, process-group kill, capped output, no network.

Generated code is only ever compiled, never run (the HumanEval runner is the exception and uses
the same limits). Compiling can still hurt: const evaluation that never ends, macro expansion
that eats memory, diagnostics by the gigabyte, and whatever a build script or proc macro would
do. Build scripts and proc macros cannot come from a candidate (the harness writes the manifest;
see dataset_builder/cargo_manifest.py); everything else is bounded here:

* wall-clock limit, then SIGKILL to the whole process group (cargo's rustc children included);
* SIGKILL from the kernel when the process that ran the command dies (a run killed with kill -9
  has no timer left to stop it); what the command itself started (cargo's rustc) then runs on
  to its end under the same limits;
* RLIMIT_AS (memory), RLIMIT_CPU, RLIMIT_FSIZE (no file, output included, grows past the cap);
* stdout/stderr go to files and only the first `output_bytes` are read back;
* a private network namespace (`unshare --net`, as an unprivileged user namespace) where the
  kernel permits it; otherwise an environment without proxies and cargo forced offline;
* programs that are *run* (HumanEval) also get a read-only file system except their own
  folder (`writable_only`). Compiler runs do not: no candidate code executes while compiling,
  and the mount setup (~35 ms) would cost a fifth of a check.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dataset_builder.children import exit_with_parent

# Kept from the caller's environment: what rustup and the toolchain need to be found.
_KEEP_ENV = ("PATH", "HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "LANG", "TMPDIR")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one compiler run."""

    wall_seconds: float = 60.0
    """Wall-clock limit; the process group is killed after it."""
    cpu_seconds: int = 120
    """CPU-time limit per process (RLIMIT_CPU)."""
    memory_bytes: int = 4 << 30
    """Address-space limit per process (RLIMIT_AS)."""
    file_bytes: int = 512 << 20
    """Largest file any process may write, captured output included (RLIMIT_FSIZE)."""
    output_bytes: int = 1 << 20
    """How much of stdout and stderr is read back."""


@dataclass
class RunResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    truncated: bool
    wall_seconds: float
    killed_by: str = ""  # one of KILLS, or "" (ended by itself)


# What stopped a command that the sandbox (or a limit) stopped: RunResult.killed_by.
KILLS = frozenset({"timeout", "memory", "cpu", "output"})


@functools.cache
def network_namespace_available() -> bool:
    """Whether `unshare --user --map-root-user --net` works (not in every container)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        done = subprocess.run([unshare, "--user", "--map-root-user", "--net", "true"],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def sandbox_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment: no proxies, no credentials, cargo offline."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update({"CARGO_NET_OFFLINE": "true", "CARGO_TERM_COLOR": "never",
                "RUST_BACKTRACE": "0"})
    if extra:
        env.update(extra)
    return env


def _in_child(limits: Limits, parent_pid: int) -> None:
    """After the fork, before exec: the limits, and a kill when the caller dies (a run killed
    with kill -9 runs no timer and no cleanup; the compiler would go on without it)."""
    exit_with_parent(parent_pid)
    _set_limits(limits)


def _set_limits(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_head(path: Path, cap: int) -> tuple[bytes, bool]:
    with open(path, "rb") as handle:
        data = handle.read(cap + 1)
    return data[:cap], len(data) > cap


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# Inside a private mount namespace: every mount becomes read-only except the one folder the
# program may write (bound onto itself first, so it is a mount of this namespace and may stay
# writable). Used to *run* generated programs (HumanEval), not to compile.
_READ_ONLY = r"""
writable="$1"; shift
mount --bind "$writable" "$writable" || exit 97
awk '{print $2}' /proc/self/mounts | sort -r | while read -r m; do
  mount -o remount,bind,ro "$m" 2>/dev/null
done
mount -o remount,bind,rw "$writable" || exit 97
cd "$writable" && exec "$@"
"""


@functools.cache
def read_only_namespace_available() -> bool:
    """Whether mounts can be made read-only in a user + mount namespace here."""
    if not network_namespace_available():
        return False
    with tempfile.TemporaryDirectory(prefix="ferric-ro-") as tmp:
        probe = Path(tmp) / "w"
        probe.mkdir()
        outside = Path(tmp) / "outside"
        done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--net", "--",
                               "sh", "-c", _READ_ONLY, "sh", str(probe), "sh", "-c",
                               f"touch ok && touch {outside} 2>/dev/null; true"],
                              capture_output=True, timeout=10)
        return done.returncode == 0 and (probe / "ok").exists() and not outside.exists()


# What a program says when the address-space limit stops it: Rust's allocator, and the
# dynamic loader when a shared library cannot even be mapped (rustc under ~100 MiB).
_OUT_OF_MEMORY = (b"memory allocation of", b"out of memory",
                  b"failed to map segment from shared object", b"Cannot allocate memory")


def run_sandboxed(cmd: list[str], cwd: Path, limits: Limits, env: dict[str, str] | None = None,
                  isolate_network: bool = True, writable_only: Path | None = None) -> RunResult:
    """Run cmd under the limits; never raises for what the command does.

    writable_only: the file system is read-only except this folder (where namespaces allow;
    `read_only_namespace_available()` says whether they do)."""
    if writable_only is not None and read_only_namespace_available():
        cmd = ["unshare", "--user", "--map-root-user", "--mount", "--net", "--",
               "sh", "-c", _READ_ONLY, "sh", str(writable_only), *cmd]
    elif isolate_network and network_namespace_available():
        cmd = ["unshare", "--user", "--map-root-user", "--net", "--", *cmd]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ferric-run-") as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, env=env or sandbox_env(),
                                    start_new_session=True,
                                    preexec_fn=functools.partial(_in_child, limits, os.getpid()))
            # A timer kills the group; a blocking wait returns the moment the process ends
            # (Popen.wait(timeout) polls with sleeps, which costs tens of ms per short run).
            fired = threading.Event()

            def expire() -> None:
                fired.set()
                _kill_group(proc.pid)

            timer = threading.Timer(limits.wall_seconds, expire)
            timer.start()
            try:
                proc.wait()
            finally:
                timer.cancel()
            timed_out = fired.is_set()
            # Whatever the command left running (a daemonised child) goes with the group.
            _kill_group(proc.pid)
        stdout, t1 = _read_head(out_path, limits.output_bytes)
        stderr, t2 = _read_head(err_path, limits.output_bytes)
        # Some programs (Python) ignore SIGXFSZ and stop on EFBIG instead: a full file tells.
        hit_file_cap = max(out_path.stat().st_size, err_path.stat().st_size) >= limits.file_bytes
    code = proc.returncode
    killed_by = ""
    if timed_out:
        killed_by = "timeout"
    elif code == -signal.SIGXFSZ or (code != 0 and hit_file_cap):
        killed_by = "output"
    elif code in (-signal.SIGXCPU, -signal.SIGKILL) and not timed_out:
        killed_by = "cpu" if code == -signal.SIGXCPU else "memory"
    elif code != 0 and any(sign in stderr for sign in _OUT_OF_MEMORY):
        killed_by = "memory"
    return RunResult(code, stdout, stderr, timed_out, t1 or t2,
                     time.perf_counter() - started, killed_by)
