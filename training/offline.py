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


def deepspeed_on_cpu_when_no_accelerator() -> None:
    """Tell DeepSpeed it runs on the CPU where torch finds no accelerator. When it is
    installed, transformers imports it, and it warned "Setting accelerator to CPU. If you
    have GPU or other accelerator, we were unable to detect it" at every run on a CPU,
    plain (non-DeepSpeed) runs and --quiet included. A DS_ACCELERATOR of the caller's wins."""
    if "DS_ACCELERATOR" in os.environ:
        return
    import importlib.util

    import torch

    xpu = getattr(torch, "xpu", None)
    if torch.cuda.is_available() or (xpu is not None and xpu.is_available()) or \
            torch.backends.mps.is_available():
        return
    # The other accelerators DeepSpeed looks for come with packages of their own.
    if any(importlib.util.find_spec(name) is not None for name in (
            "intel_extension_for_pytorch", "torch_npu", "habana_frameworks", "torch_mlu",
            "torch_sdaa")):
        return
    os.environ["DS_ACCELERATOR"] = "cpu"


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
