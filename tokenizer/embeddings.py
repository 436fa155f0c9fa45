"""Embedding rows for new tokens: the mean of the base rows of the sub-tokens they replace."""

from __future__ import annotations

from typing import Any

import torch


@torch.no_grad()
def resize_embeddings_mean(model: Any, base_tokenizer: Any, extended_tokenizer: Any
                           ) -> list[int]:
    """Resize the model's input (and, if untied, output) embeddings to the extended
    tokenizer's size. Each new row is the mean of the base rows of the tokens its string
    encodes to under the base tokenizer. Returns the new token ids, for PEFT's
    `trainable_token_indices`."""
    old_size = model.get_input_embeddings().num_embeddings
    new_size = len(extended_tokenizer)
    if new_size <= old_size:
        return []
    vocab = extended_tokenizer.convert_ids_to_tokens(list(range(old_size, new_size)))
    plans: list[list[int]] = []
    for token_id, token in zip(range(old_size, new_size), vocab, strict=True):
        text = extended_tokenizer.decode([token_id])
        ids = [i for i in base_tokenizer(text, add_special_tokens=False)["input_ids"]
               if i < old_size]
        plans.append(ids or [base_tokenizer.eos_token_id])
        del token
    tied = model.get_output_embeddings() is not None and \
        model.get_output_embeddings().weight is model.get_input_embeddings().weight
    model.resize_token_embeddings(new_size, mean_resizing=False)
    tables = [model.get_input_embeddings().weight]
    output = model.get_output_embeddings()
    if output is not None and not tied and output.weight is not tables[0]:
        tables.append(output.weight)
    for table in tables:
        for row, ids in zip(range(old_size, new_size), plans, strict=True):
            table[row] = table[ids].mean(dim=0)
    return list(range(old_size, new_size))
