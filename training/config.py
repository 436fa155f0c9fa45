"""Run configuration: typed dataclasses loaded from YAML, with `key=value` overrides.

Every field has a docstring; the resolved config (after overrides) is written to the run
folder as config.yaml, so a run can always be reproduced from its own folder.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training.model import ModelRecipe


@dataclass
class DataConfig:
    """What the model reads."""

    data_dir: str = "data/demo"
    """A dataset_builder output folder (samples/{train,valid,test}/*.parquet)."""
    tokenizer: str | None = None
    """Tokenizer folder (an extended one from `python -m tokenizer train`); None: the base
    StarCoder2 tokenizer in ../shared/tokenizers/starcoder2 (or FERRIC_BASE_TOKENIZER)."""
    seq_len: int = 512
    """Tokens per packed training sequence."""
    scale_mix: dict[str, float] = field(default_factory=lambda: {
        "micro": 0.30, "small": 0.25, "medium": 0.25, "large": 0.15, "full": 0.05})
    """Share of documents drawn from each scale (renormalised over the scales present)."""
    fim_rate: float = 0.5
    """Share of documents turned into fill-in-the-middle examples."""
    fim_spm_rate: float = 0.5
    """Share of FIM examples in suffix-prefix-middle order (the rest prefix-suffix-middle)."""
    type_facts: str | None = None
    """Expected type-facts mode of the dataset (header, inline, none); None: whatever the
    dataset has. A mismatch is an error: inline tokens must match the tokenizer."""
    replay_dir: str | None = None
    """A folder of general Rust (.rs files, e.g. /usr/share/cargo/registry) mixed in against
    forgetting; None: no replay."""
    replay_share: float = 0.0
    """Share of documents taken from replay_dir."""
    replay_max_files: int = 2000
    """At most this many .rs files are read from replay_dir (a random choice)."""
    docs_per_epoch: int | None = None
    """Documents drawn per epoch (None: as many as train samples)."""
    max_eval_docs: int = 256
    """Valid-split documents used for eval loss."""


@dataclass
class TrainConfig:
    """How the optimisation runs."""

    output_dir: str = "runs/demo"
    """Run folder: resolved config, checkpoints, adapter or model, metrics.jsonl, TensorBoard."""
    max_steps: int = 200
    """Optimizer steps."""
    batch_size: int = 8
    """Sequences per device per step."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimizer step."""
    learning_rate: float = 1e-3
    """Peak learning rate."""
    warmup_steps: int = 20
    """Linear warm-up steps."""
    lr_scheduler: str = "cosine"
    """transformers scheduler name."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    optimizer: str = "adamw_torch"
    """transformers optim name: adamw_torch, paged_adamw_8bit (GPU), ..."""
    loss_chunk_tokens: int = 1024
    """Positions per chunk of the chunked cross-entropy (no full logits)."""
    save_steps: int = 50
    """Checkpoint every N steps (a killed run resumes from the last one)."""
    save_total_limit: int = 2
    """Checkpoints kept."""
    eval_steps: int = 50
    """Eval loss on the valid split every N steps."""
    logging_steps: int = 10
    """Loss, tokens/s and peak memory logged every N steps."""
    seed: int = 0
    """Seed of data order, FIM choices and initialisation."""
    deepspeed: str | None = None
    """DeepSpeed JSON (configs/deepspeed/); used when launched with the deepspeed launcher."""
    dataloader_workers: int = 0
    """Data loader processes."""


@dataclass
class RunConfig:
    """One training run."""

    name: str = "run"
    """Run name (reports)."""
    model: ModelRecipe = field(default_factory=ModelRecipe)
    """The model: see training.model.ModelRecipe."""
    data: DataConfig = field(default_factory=DataConfig)
    """The data: see DataConfig."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """The optimisation: see TrainConfig."""


class ConfigError(ValueError):
    pass


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if dataclasses.is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return _build(annotation, value, where)  # type: ignore[arg-type]
    if annotation is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if annotation in (int, float):
        try:
            number = annotation(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}") from None
        if annotation is int and number != value and not isinstance(value, str):
            # int(2.5) is 2: max_steps=2.5 ran two steps without a word
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return number
    if annotation is str:
        return str(value)
    if origin is list:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        return [_coerce(v, args[0], where) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{where}.{k}") for k, v in value.items()}
    return value


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}".lstrip(".")) for k, v in values.items()}
    return cls(**kwargs)


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {key} is not a section")
    node[keys[-1]] = value


def load_config(path: str | Path | None, overrides: list[str]) -> RunConfig:
    """A YAML file (or the defaults) with `key=value` overrides (dotted keys, YAML values)."""
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        tree = loaded
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        _set(tree, key.strip(), yaml.safe_load(raw) if raw else "")
    config: RunConfig = _build(RunConfig, tree, "")
    _check_ranges(config)
    return config


# Counts that must be at least 1 (train.max_steps=-1 meant "a whole epoch" to the Trainer and
# ran for many minutes; seq_len=0 failed deep in packing), and shares within [0, 1].
_POSITIVE = ("data.seq_len", "data.replay_max_files", "data.max_eval_docs", "train.max_steps",
             "train.batch_size", "train.grad_accum", "train.loss_chunk_tokens",
             "train.save_steps", "train.save_total_limit", "train.eval_steps",
             "train.logging_steps", "model.hidden_size", "model.num_layers", "model.num_heads",
             "model.num_kv_heads", "model.intermediate_size", "model.max_position_embeddings",
             "model.lora_r")
_SHARES = ("data.fim_rate", "data.fim_spm_rate", "data.replay_share", "model.lora_dropout")
_NON_NEGATIVE = ("train.learning_rate", "train.warmup_steps", "train.weight_decay",
                 "train.dataloader_workers")


def _check_ranges(config: RunConfig) -> None:
    def value(dotted: str) -> Any:
        section, name = dotted.split(".")
        return getattr(getattr(config, section), name)

    for key in _POSITIVE:
        if value(key) < 1:
            raise ConfigError(f"{key}: must be at least 1, got {value(key)!r}")
    for key in _SHARES:
        if not 0.0 <= value(key) <= 1.0:
            raise ConfigError(f"{key}: must be between 0 and 1, got {value(key)!r}")
    for key in _NON_NEGATIVE:
        if value(key) < 0:
            raise ConfigError(f"{key}: must not be negative, got {value(key)!r}")
    model = config.model
    if model.weights is None and (model.hidden_size % model.num_heads
                                  or model.num_heads % model.num_kv_heads):
        # an architecture from scratch: a mismatch failed in the first forward pass
        raise ConfigError(f"model: hidden_size ({model.hidden_size}) must be a multiple of "
                          f"num_heads ({model.num_heads}), and num_heads of num_kv_heads "
                          f"({model.num_kv_heads})")
    if config.data.docs_per_epoch is not None and config.data.docs_per_epoch < 1:
        raise ConfigError(f"data.docs_per_epoch: must be at least 1, got "
                          f"{config.data.docs_per_epoch!r}")
    if any(w < 0 for w in config.data.scale_mix.values()):
        raise ConfigError(f"data.scale_mix: shares must not be negative, got "
                          f"{config.data.scale_mix}")


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(asdict(config), sort_keys=False)
