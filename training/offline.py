"""Models, tokenizers and adapters load from local folders: no hub access at run time."""

from __future__ import annotations

import logging
import os

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
