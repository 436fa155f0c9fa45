"""Causal-LM loss without full logits.

`model(labels=...)` materialises [tokens x vocab] logits (and HF upcasts them to fp32): at 8192
tokens and 49,152 entries that is 1.6 GB, plus as much again for their gradient. Here the
backbone runs to hidden states and the LM head is applied per chunk of positions under
activation checkpointing, so at most one chunk's logits exist at a time, forward and backward.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

IGNORE = -100


def _unwrap(model: nn.Module) -> nn.Module:
    get_base = getattr(model, "get_base_model", None)
    base: nn.Module = get_base() if callable(get_base) else model
    return base


def backbone_and_head(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """The decoder stack and the LM head of a (possibly PEFT-wrapped) causal LM."""
    base = _unwrap(model)
    for name in ("model", "transformer"):
        backbone = getattr(base, name, None)
        if isinstance(backbone, nn.Module):
            head = base.get_output_embeddings()  # type: ignore[operator]
            if not isinstance(head, nn.Module):
                break
            return backbone, head
    raise TypeError(f"cannot find the decoder and LM head of {type(base).__name__}")


def _chunk_loss(head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    logits = head(hidden).float()
    return F.cross_entropy(logits, labels, reduction="sum")


def _linear_chunk_loss(weight: torch.Tensor, hidden: torch.Tensor, labels: torch.Tensor
                       ) -> torch.Tensor:
    logits = F.linear(hidden, weight).float()
    return F.cross_entropy(logits, labels, reduction="sum")


def _chunk_fn(head: nn.Module) -> tuple[Any, Any, bool]:
    """(function, its first argument, whether to checkpoint it) for the LM head.

    DeepSpeed ZeRO-3 partitions parameters between forward and backward, so a recomputed chunk
    would see the head's weight as an empty shard. A frozen plain linear head (QLoRA) is then
    gathered once into a detached copy for this loss; a trainable or wrapped one is not
    checkpointed (correct, but each chunk's logits are kept for backward)."""
    weight = getattr(head, "weight", None)
    if weight is None or not hasattr(weight, "ds_id"):
        return _chunk_loss, head, True
    if isinstance(head, nn.Linear) and head.bias is None and not weight.requires_grad:
        import deepspeed

        with deepspeed.zero.GatheredParameters([weight]):
            gathered = weight.detach().clone()
        return _linear_chunk_loss, gathered, True
    return _chunk_loss, head, False


def causal_lm_loss(model: nn.Module, batch: dict[str, Any], chunk_tokens: int = 1024
                   ) -> torch.Tensor:
    """Mean next-token cross-entropy over positions whose label is not -100."""
    backbone, head = backbone_and_head(model)
    kwargs = {k: batch[k] for k in ("attention_mask", "position_ids") if batch.get(k) is not None}
    out = backbone(input_ids=batch["input_ids"], use_cache=False, **kwargs)
    hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
    labels = batch["labels"]
    hidden = hidden[:, :-1, :].reshape(-1, hidden.shape[-1])
    targets = labels[:, 1:].reshape(-1)
    keep = targets != IGNORE
    hidden, targets = hidden[keep], targets[keep]
    count = targets.numel()
    if count == 0:
        zero: torch.Tensor = hidden.sum() * 0.0
        return zero
    total = hidden.new_zeros((), dtype=torch.float32)
    fn, first, use_checkpoint = _chunk_fn(head)
    for start in range(0, count, chunk_tokens):
        h, y = hidden[start:start + chunk_tokens], targets[start:start + chunk_tokens]
        if use_checkpoint and torch.is_grad_enabled() and h.requires_grad:
            total = total + checkpoint(fn, first, h, y, use_reentrant=False)
        else:
            total = total + fn(first, h, y)
    mean: torch.Tensor = total / count
    return mean
