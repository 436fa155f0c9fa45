"""Candidates from a model: a local transformers folder, with an optional PEFT adapter.

FIM prompts use StarCoder's tokens (`<fim_prefix>context<fim_suffix>suffix<fim_middle>`), or
left-to-right (the context alone). Greedy by default; `n` samples at `temperature` for pass@k.
Generation of a function or impl stops once the item is complete (braces balanced and
tree-sitter sees an item without errors) and is cut there; module and multi-file targets stop
at end of text. Prompts are batched by length. Runs on CPU (slowly) or GPU.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.candidates import item_complete
from analysis.targets import Target
from dataset_builder.type_facts import strip_inline

log = logging.getLogger(__name__)

FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX = "<fim_prefix>", "<fim_middle>", "<fim_suffix>"
STOP_STRINGS = ("<|endoftext|>", "<file_sep>", FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, "<fim_pad>")
# Largest number of new tokens by LOC bucket (a Rust line is ~10 StarCoder2 tokens).
MAX_NEW_BY_BUCKET = {"5-50": 768, "51-100": 1536, "101-500": 6144, "501-1000": 12288,
                     "1000+": 16384}
_ITEM_KINDS = frozenset({"function", "method", "impl"})


@dataclass(frozen=True)
class GenerationConfig:
    """How candidates are generated."""

    fim: bool = True
    """FIM prompt (prefix and suffix) instead of left-to-right."""
    n: int = 1
    """Candidates per target (n > 1 samples; pass@k is reported)."""
    temperature: float = 0.0
    """0 is greedy (then n must be 1)."""
    top_p: float = 0.95
    max_new_tokens: int = 1024
    """Upper bound on new tokens, whatever the bucket allows."""
    batch_size: int = 8
    seed: int = 0


def load_model(model_dir: Path, adapter_dir: Path | None, device: str | None = None
               ) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok_dir = adapter_dir if adapter_dir and (adapter_dir / "tokenizer.json").exists() \
        else model_dir
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir))
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() \
        else torch.float32
    model: Any = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.to(device)
    model.eval()
    if tokenizer.eos_token is None and "<|endoftext|>" in tokenizer.get_vocab():
        tokenizer.eos_token = "<|endoftext|>"  # the shared StarCoder2 folder names no specials
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return model, tokenizer, device


def _max_positions(model: Any) -> int:
    config = model.config
    for key in ("max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048


def build_prompt(target: Target, tokenizer: Any, fim: bool, room: int) -> str:
    """The prompt, cut to `room` tokens: the context keeps its end, the suffix its start."""
    context_ids = tokenizer(target.context, add_special_tokens=False)["input_ids"]
    suffix_ids = tokenizer(target.suffix, add_special_tokens=False)["input_ids"] if fim else []
    budget = max(16, room - 4)
    if len(context_ids) + len(suffix_ids) > budget:
        keep_suffix = min(len(suffix_ids), budget // 4)
        suffix_ids = suffix_ids[:keep_suffix]
        context_ids = context_ids[-(budget - keep_suffix):]
    context = str(tokenizer.decode(context_ids))
    if not fim:
        return context
    return f"{FIM_PREFIX}{context}{FIM_SUFFIX}{tokenizer.decode(suffix_ids)}{FIM_MIDDLE}"


def finish(text: str, target: Target) -> str:
    """Cut a raw generation to the candidate: at a stop string, at the end of the item."""
    cut = len(text)
    for stop in STOP_STRINGS:
        if target.whole_files and stop == "<file_sep>":
            continue
        at = text.find(stop)
        if at >= 0:
            cut = min(cut, at)
    text = text[:cut]
    if target.type_facts == "inline":
        text = strip_inline(text)
    if target.kind in _ITEM_KINDS:
        end = item_complete(text)
        if end:
            return text.encode("utf-8")[:end].decode("utf-8", "replace")
    return text


class _ItemStop:
    """Stops each sequence once its text holds a complete item (checked every few tokens)."""

    def __init__(self, tokenizer: Any, prompt_len: int, kinds: list[str], every: int = 8):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self.kinds, self.every = kinds, every
        self.calls = 0
        self.finished: set[int] = set()  # rows already complete are not decoded again

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        self.calls += 1
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for row in self.finished:
            done[row] = True
        if self.calls % self.every:
            return done
        n_per = input_ids.shape[0] // len(self.kinds)
        for row in range(input_ids.shape[0]):
            if row in self.finished:
                continue
            kind = self.kinds[row // max(1, n_per)]
            text = self.tokenizer.decode(input_ids[row, self.prompt_len:],
                                         skip_special_tokens=False)
            stopped = any(s in text for s in STOP_STRINGS if s != "<file_sep>")
            balanced = "{" in text and text.count("{") <= text.count("}")
            if stopped or (kind in _ITEM_KINDS and balanced and item_complete(text)):
                done[row] = True
                self.finished.add(row)
        return done


def generate(model: Any, tokenizer: Any, device: str, targets: list[Target],
             config: GenerationConfig) -> Iterator[tuple[Target, list[str]]]:
    """(target, n candidates) in batches; the caller writes them as they come (resumable)."""
    import torch
    from transformers import StoppingCriteriaList

    if config.temperature == 0 and config.n > 1:
        raise ValueError("n > 1 needs a temperature above 0")
    torch.manual_seed(config.seed)
    positions = _max_positions(model)
    ordered = sorted(targets, key=lambda t: len(t.context) + len(t.suffix))
    for start in range(0, len(ordered), config.batch_size):
        batch = ordered[start:start + config.batch_size]
        max_new = min(config.max_new_tokens,
                      max(MAX_NEW_BY_BUCKET[t.bucket] for t in batch), positions // 2)
        prompts = [build_prompt(t, tokenizer, config.fim, positions - max_new) for t in batch]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(device) for k, v in enc.items()}
        prompt_len = enc["input_ids"].shape[1]
        stop = _ItemStop(tokenizer, prompt_len, [t.kind for t in batch])
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p}
            if config.temperature > 0 else {"do_sample": False})
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=max_new, num_return_sequences=config.n,
                                 stopping_criteria=StoppingCriteriaList([stop]),
                                 pad_token_id=tokenizer.pad_token_id, **sampling)
        for i, target in enumerate(batch):
            texts = []
            for k in range(config.n):
                ids = out[i * config.n + k, prompt_len:]
                raw = tokenizer.decode(ids, skip_special_tokens=False)
                raw = raw.replace(tokenizer.pad_token or "\x00", "") \
                    if tokenizer.pad_token != tokenizer.eos_token else raw
                texts.append(finish(raw, target))
            yield target, texts
