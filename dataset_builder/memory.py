"""Giving freed memory back to the system between the build's large steps."""

from __future__ import annotations

import contextlib
import ctypes
import gc

import pyarrow as pa


def return_memory(collect: bool = True) -> None:
    """Give freed memory back to the system: Arrow's pool and glibc's heap keep it
    otherwise, and the peak RSS of a process that runs several large steps one after
    another (the history walk, then the samples; one scale, then the next) counts what they
    kept. `collect`: free unreachable cycles first (a full collection walks every object:
    tenths of a second in a large process)."""
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)
