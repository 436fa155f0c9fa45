"""Atomic file writes: write to a temporary file in the same folder, fsync, rename.

A reader (or a resumed run) therefore sees either the old file or the complete new one. And
one writer per output folder: see output_lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp_path) and move the result to path atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are ordinary files
    try:
        write(tmp_path)
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


class OutputBusy(OSError):
    """Another build holds the output folder."""


# atomic_write's temporary files: "." + the file's name + "." + mkstemp's 8 characters + ".tmp"
STALE_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temporaries(out: Path) -> None:
    """Remove the temporary files of atomic writes that a killed build left in OUT (kill -9
    between writing one and renaming it; a resumed build wrote the file anew and left
    them), with the output folder held, so no build is writing them."""
    try:
        found = [p for p in out.rglob(".*.tmp") if STALE_TEMPORARY.match(p.name)
                 and ".rustdoc-cache" not in p.relative_to(out).parts and p.is_file()]
    except OSError:
        return
    for path in found:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder for one build (made if missing): a second build of the same
    folder, started while the first runs (the same command in another terminal), would
    interleave their checkpoints and staging folders; it stops at once with OutputBusy
    instead. The lock is the kernel's (flock on the folder), so a build killed with
    kill -9 leaves none behind, and processes forked by the build keep holding it until
    they end. A folder made here and left empty (bad input found first) is removed."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputBusy(f"{out} is being written by another build: wait for it to "
                             "end, or give another --out") from None
        except OSError:  # a file system without locks (some network ones): none, as before
            pass
        remove_stale_temporaries(out)
        yield
    finally:
        # Removed while still held (another build cannot take a folder about to go), each
        # only when empty.
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                break
        os.close(fd)
