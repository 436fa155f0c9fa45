"""Which attention implementation a run uses, and why (logged in the run's report)."""

from __future__ import annotations

import importlib.util

import torch

CHOICES = ("auto", "sdpa", "eager", "flash_attention_2")


def choose_attention(requested: str) -> tuple[str, str]:
    """(implementation, reason). `auto` takes FlashAttention-2 when the package imports and the
    GPU is Ampere (sm_80) or newer, else PyTorch SDPA. flash-attn is never required."""
    if requested not in CHOICES:
        raise ValueError(f"attn_implementation must be one of {', '.join(CHOICES)}, "
                         f"got {requested!r}")
    if requested != "auto":
        return requested, "requested"
    if not torch.cuda.is_available():
        return "sdpa", "no CUDA device: PyTorch SDPA"
    major, minor = torch.cuda.get_device_capability()
    if major < 8:
        return "sdpa", f"GPU is sm_{major}{minor}; FlashAttention-2 needs sm_80 or newer"
    if importlib.util.find_spec("flash_attn") is None:
        return "sdpa", "flash_attn is not installed"
    return "flash_attention_2", f"flash_attn installed and GPU is sm_{major}{minor}"
