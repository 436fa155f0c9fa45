"""The model side of a run: architecture, 4-bit quantisation, LoRA, attention, checkpointing.

Weights only ever come from a local folder (no model hub here); a model without weights is
built from its config (the tiny CPU recipe trains one from scratch; the GPU benchmark uses
random weights of the real 3B shapes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.attention import choose_attention

log = logging.getLogger(__name__)

LORA_TARGETS = {
    "starcoder2": ["q_proj", "k_proj", "v_proj", "o_proj", "c_fc", "c_proj"],
    "gpt_bigcode": ["c_attn", "c_proj", "c_fc"],
}

# The real shapes (from the models' published config.json files).
PRESETS: dict[str, dict[str, Any]] = {
    "starcoder2-3b": {"arch": "starcoder2", "hidden_size": 3072, "num_layers": 30,
                      "num_heads": 24, "num_kv_heads": 2, "intermediate_size": 12288,
                      "max_position_embeddings": 16384, "vocab_size": 49152},
    "starcoderbase-3b": {"arch": "gpt_bigcode", "hidden_size": 2816, "num_layers": 36,
                         "num_heads": 22, "num_kv_heads": 1, "intermediate_size": 11264,
                         "max_position_embeddings": 8192, "vocab_size": 49152},
    "tiny": {"arch": "starcoder2", "hidden_size": 128, "num_layers": 2, "num_heads": 4,
             "num_kv_heads": 2, "intermediate_size": 512, "max_position_embeddings": 4096,
             "vocab_size": 49152},
}


@dataclass
class ModelRecipe:
    """How the model is built, quantised and adapted."""

    weights: str | None = None
    """Local folder with config.json and weights; None builds the model from the shape below
    with random weights (training from scratch)."""
    arch: str = "starcoder2"
    """starcoder2 or gpt_bigcode (StarCoderBase); read from config.json when `weights` is set."""
    hidden_size: int = 256
    """Width (from-scratch models only)."""
    num_layers: int = 4
    """Transformer blocks (from-scratch models only)."""
    num_heads: int = 4
    """Attention heads (from-scratch models only)."""
    num_kv_heads: int = 2
    """Key/value heads (starcoder2 grouped-query attention; gpt_bigcode is multi-query)."""
    intermediate_size: int = 1024
    """MLP width (from-scratch models only)."""
    max_position_embeddings: int = 4096
    """Longest sequence (from-scratch models only)."""
    vocab_size: int = 49152
    """Vocabulary of a from-scratch model (resized to the tokenizer's when they differ)."""
    load_in_4bit: bool = False
    """NF4 4-bit base weights through bitsandbytes (QLoRA); needs CUDA."""
    bnb_4bit_quant_type: str = "nf4"
    """4-bit data type: nf4 or fp4."""
    bnb_4bit_use_double_quant: bool = True
    """Quantise the quantisation constants too (about 0.37 bits per parameter saved)."""
    bnb_4bit_quant_storage: str = "uint8"
    """Storage dtype of packed 4-bit weights; set it to the model dtype (bfloat16) for ZeRO-3,
    which shards parameters and needs them in one dtype."""
    compute_dtype: str = "auto"
    """auto (bf16 on sm_80 or newer, fp16 on older GPUs, fp32 on CPU), bfloat16, float16,
    float32."""
    lora: bool = False
    """Train LoRA adapters instead of all weights."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA input."""
    lora_targets: list[str] | None = None
    """Module names to adapt; None: the architecture's defaults (LORA_TARGETS). A name that
    matches no module is an error."""
    attn_implementation: str = "auto"
    """auto, sdpa, eager or flash_attention_2 (auto: see training.attention)."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass (non-reentrant)."""
    upcast_frozen_to_fp32: bool = False
    """Keep peft's prepare_model_for_kbit_training upcast of frozen norms and embeddings to
    fp32. Off by default: fp32 norms make every activation fp32, which rules out SDPA's flash
    kernel (measured: a 6 GiB fp32 attention matrix at 8192 tokens on StarCoder2-3B) and
    doubles the activation memory."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further config.json fields for a from-scratch model."""


def resolve_dtype(name: str) -> torch.dtype:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.bfloat16 if torch.cuda.get_device_capability()[0] >= 8 \
                else torch.float16
        return torch.float32
    dtypes = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if name not in dtypes:
        raise ValueError(f"compute_dtype must be auto or one of {', '.join(dtypes)}, got {name}")
    return dtypes[name]


def build_config(recipe: ModelRecipe, vocab_size: int | None = None) -> Any:
    """A transformers config for a from-scratch model of the recipe's shape."""
    from transformers import GPTBigCodeConfig, Starcoder2Config

    vocab = vocab_size or recipe.vocab_size
    if recipe.arch == "starcoder2":
        return Starcoder2Config(
            vocab_size=vocab, hidden_size=recipe.hidden_size,
            num_hidden_layers=recipe.num_layers, num_attention_heads=recipe.num_heads,
            num_key_value_heads=recipe.num_kv_heads,
            intermediate_size=recipe.intermediate_size,
            max_position_embeddings=recipe.max_position_embeddings,
            sliding_window=None, use_bias=True, tie_word_embeddings=True,
            bos_token_id=0, eos_token_id=0, **recipe.extra)
    if recipe.arch == "gpt_bigcode":
        return GPTBigCodeConfig(
            vocab_size=vocab, n_embd=recipe.hidden_size, n_layer=recipe.num_layers,
            n_head=recipe.num_heads, n_inner=recipe.intermediate_size,
            n_positions=recipe.max_position_embeddings, multi_query=True,
            bos_token_id=0, eos_token_id=0, **recipe.extra)
    raise ValueError(f"arch must be starcoder2 or gpt_bigcode, got {recipe.arch!r}")


def check_lora_targets(model: nn.Module, targets: list[str]) -> None:
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(f"LoRA target modules not in the model: {', '.join(missing)} "
                         f"(its linear layers: {', '.join(sorted(_linear_names(model)))})")


def _linear_names(model: nn.Module) -> set[str]:
    return {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
            if isinstance(module, nn.Linear) or "Linear" in type(module).__name__}


def load_model(recipe: ModelRecipe, *, vocab_size: int | None = None,
               trainable_token_indices: list[int] | None = None
               ) -> tuple[nn.Module, dict[str, Any]]:
    """The model ready to train, and a record of the choices made."""
    from transformers import AutoConfig, AutoModelForCausalLM

    dtype = resolve_dtype(recipe.compute_dtype)
    attn, attn_reason = choose_attention(recipe.attn_implementation)
    info: dict[str, Any] = {"compute_dtype": str(dtype).removeprefix("torch."),
                            "attn_implementation": attn, "attn_reason": attn_reason}
    quant = None
    model: Any
    if recipe.load_in_4bit:
        if not torch.cuda.is_available():
            raise RuntimeError("load_in_4bit needs a CUDA GPU (bitsandbytes NF4); "
                               "use a config without 4-bit on CPU")
        from transformers import BitsAndBytesConfig

        storage = {"uint8": torch.uint8, "bfloat16": torch.bfloat16,
                   "float16": torch.float16}[recipe.bnb_4bit_quant_storage]
        quant = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type=recipe.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=recipe.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_storage=storage)
    if recipe.weights:
        folder = Path(recipe.weights)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"model weights folder {folder} has no config.json "
                                    "(weights load from local folders only)")
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        info["arch"] = config.model_type
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=dtype, attn_implementation=attn,
            quantization_config=quant, device_map={"": 0} if quant is not None else None)
    else:
        if quant is not None:
            raise ValueError("load_in_4bit needs `weights` (a folder to quantise on load)")
        config = build_config(recipe, vocab_size)
        info["arch"] = recipe.arch
        model = AutoModelForCausalLM.from_config(config, dtype=dtype,
                                                 attn_implementation=attn)
    if vocab_size is not None and model.get_input_embeddings().num_embeddings != vocab_size \
            and recipe.weights:
        info["note"] = "vocabulary differs from the tokenizer's: resize with " \
                       "tokenizer.embeddings.resize_embeddings_mean before training"
    if recipe.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=recipe.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
        if not recipe.upcast_frozen_to_fp32:
            for param in model.parameters():
                if param.dtype == torch.float32 and not param.requires_grad:
                    param.data = param.data.to(dtype)
    elif recipe.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x name
            model.activation_checkpointing_enable(
                activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if recipe.lora:
        from peft import LoraConfig, get_peft_model

        arch = info["arch"]
        targets = recipe.lora_targets or LORA_TARGETS.get(arch)
        if not targets:
            raise ValueError(f"no default LoRA targets for {arch}; set model.lora_targets")
        check_lora_targets(model, targets)
        lora_kwargs: dict[str, Any] = {}
        if trainable_token_indices:
            lora_kwargs["trainable_token_indices"] = list(trainable_token_indices)
        peft_config = LoraConfig(r=recipe.lora_r, lora_alpha=recipe.lora_alpha,
                                 lora_dropout=recipe.lora_dropout, target_modules=targets,
                                 task_type="CAUSAL_LM", **lora_kwargs)
        model = get_peft_model(model, peft_config)
        if recipe.gradient_checkpointing and not recipe.load_in_4bit:
            model.enable_input_require_grads()
        info["lora_targets"] = targets
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    info.update(trainable_params=trainable, total_params=total)
    log.info("model: %s", info)
    return model, info
