"""Models, tokenizers and adapters load from local folders: no hub access at run time."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

# On a CPU with AVX512-BF16, importing bitsandbytes (peft does) asks the `kernels` package
# for a hub kernel: a network call, then a warning that it failed. Offline it fails at once,
# and its two warnings say nothing about this run (the 4-bit path is CUDA's here anyway).
QUIET_LOGGERS = ("bitsandbytes.backends.cpu.ops", "kernels._internals.hf_hub")


def stay_offline() -> None:
    """Turn the Hugging Face hub off (unless the caller's environment sets HF_HUB_OFFLINE)
    and quiet the warnings of libraries that try it anyway."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def hf_progress_bars(enabled: bool) -> Iterator[None]:
    """transformers' own bars ("Loading weights", "Writing model shards") off inside the
    block when not enabled (--quiet), and back on after it if they were on before."""
    from transformers.utils import logging as hf_logging

    silenced = not enabled and hf_logging.is_progress_bar_enabled()
    if silenced:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if silenced:
            hf_logging.enable_progress_bar()
