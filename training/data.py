"""Samples -> scale mix -> FIM -> packed sequences.

Documents are drawn from the scales in the configured mix (30/25/25/15/5 by default,
renormalised over the scales present), turned into fill-in-the-middle examples at load time
with StarCoder's special tokens (PSM: `<fim_prefix>P<fim_suffix>S<fim_middle>M`; SPM:
`<fim_prefix><fim_suffix>S<fim_middle>PM`), where the middle is the sample's target, the prefix
its context and the suffix its suffix; then tokenised and packed into sequences of seq_len with
an EOS after every document. position_ids restart at 0 for every document: with
flash_attention_2 transformers turns that into variable-length attention, so documents never
attend to each other; with sdpa or eager a document can attend to earlier documents of its
sequence (separated by EOS), as in StarCoder's own pre-training.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from training.config import ConfigError, DataConfig

log = logging.getLogger(__name__)
FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX = "<fim_prefix>", "<fim_middle>", "<fim_suffix>"
SCALES = ("micro", "small", "medium", "large", "full")


def base_tokenizer_dir() -> Path:
    import os

    env = os.environ.get("FERRIC_BASE_TOKENIZER")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "tokenizers" / "starcoder2"


def load_tokenizer(folder: str | None) -> Any:
    """An HF fast tokenizer: a folder AutoTokenizer reads, or the base tokenizer.json."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if folder:
        # A wrong path reached the hub's name check ("Repo id must be in the form ...").
        if not (Path(folder) / "tokenizer.json").is_file() and \
                not (Path(folder) / "tokenizer_config.json").is_file():
            raise ConfigError(f"data.tokenizer {folder}: not a tokenizer folder (no "
                              "tokenizer.json; make one with python -m tokenizer train)")
        try:
            return AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"data.tokenizer {folder}: cannot be loaded "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    path = base_tokenizer_dir() / "tokenizer.json"
    if not path.exists():
        raise ConfigError(f"base tokenizer not found at {path} (set FERRIC_BASE_TOKENIZER)")
    return PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")


@dataclass
class Document:
    scale: str
    context: str
    target: str
    suffix: str


def read_split(data_dir: str, split: str, expected_type_facts: str | None) -> list[Document]:
    folder = Path(data_dir) / "samples" / split
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise ConfigError(f"no samples in {folder} (run python -m dataset_builder first)")
    docs: list[Document] = []
    modes: set[str] = set()
    for f in files:
        try:
            table = pq.read_table(f, columns=["scale", "context", "target", "suffix",
                                              "type_facts"])
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ConfigError(f"{f}: not a readable samples file ({exc})") from None
        for row in table.to_pylist():
            modes.add(row["type_facts"])
            docs.append(Document(row["scale"], row["context"], row["target"], row["suffix"]))
    if expected_type_facts and modes and modes != {expected_type_facts}:
        raise ConfigError(f"{folder}: samples have type facts {sorted(modes)}, the config "
                          f"expects {expected_type_facts}")
    return docs


def read_replay(folder: str, limit: int, rng: random.Random) -> list[Document]:
    paths = sorted(Path(folder).rglob("*.rs"))
    if not paths:
        raise ConfigError(f"replay_dir {folder} holds no .rs files")
    rng.shuffle(paths)
    docs = []
    for path in paths[:limit]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        docs.append(Document("replay", "", text[:200_000], ""))
    return docs


def mix_weights(docs: list[Document], mix: dict[str, float]) -> dict[str, float]:
    present = {d.scale for d in docs}
    weights = {s: w for s, w in mix.items() if s in present and w > 0}
    total = sum(weights.values())
    if total <= 0:
        raise ConfigError(f"scale_mix {mix} selects none of the scales present "
                          f"({sorted(present)})")
    return {s: w / total for s, w in weights.items()}


def render(doc: Document, rng: random.Random, config: DataConfig) -> str:
    """The document's text, as a FIM example with probability fim_rate."""
    if doc.target and rng.random() < config.fim_rate:
        prefix, middle, suffix = doc.context, doc.target, doc.suffix
        if not suffix:  # no code after the target: cut the target at a random line instead
            lines = middle.splitlines(keepends=True)
            if len(lines) > 2:
                a, b = sorted(rng.sample(range(1, len(lines)), 2))
                prefix = prefix + "".join(lines[:a])
                middle = "".join(lines[a:b])
                suffix = "".join(lines[b:])
        if rng.random() < config.fim_spm_rate:
            return f"{FIM_PREFIX}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{prefix}{middle}"
        return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}{middle}"
    return doc.context + doc.target + doc.suffix


def draw(docs: list[Document], config: DataConfig, n: int, rng: random.Random,
         replay: list[Document]) -> Iterator[Document]:
    by_scale: dict[str, list[Document]] = {}
    for d in docs:
        by_scale.setdefault(d.scale, []).append(d)
    weights = mix_weights(docs, config.scale_mix)
    scales, probs = list(weights), list(weights.values())
    for _ in range(n):
        if replay and rng.random() < config.replay_share:
            yield rng.choice(replay)
            continue
        scale = rng.choices(scales, probs)[0]
        yield rng.choice(by_scale[scale])


class PackedDataset(Dataset[dict[str, torch.Tensor]]):
    """Fixed-length sequences packed from documents, with per-document position ids.

    Texts are tokenised a batch at a time into int32 arrays, so memory holds about 8 bytes per
    token (ids and positions) instead of every document's Encoding and Python lists of ids at
    once: on actix-web's dataset (22.4 M tokens) a run with the whole-list version peaked at
    10.7 GiB RSS, 2.0 GiB with this one (README, Stage 3).
    """

    def __init__(self, texts: Iterable[str], tokenizer: Any, seq_len: int,
                 batch_docs: int = 256, progress: bool = False,
                 total: int | None = None) -> None:
        eos = tokenizer.eos_token_id
        id_chunks: list[np.ndarray] = []
        position_chunks: list[np.ndarray] = []
        packed = 0  # tokens packed so far: where this batch starts in the sequence stream
        self.documents = 0
        self.fim_documents = 0
        bar = tqdm(total=total, desc="tokenising", unit="doc", disable=not progress,
                   leave=False)
        stream = iter(texts)
        for batch in iter(lambda: list(islice(stream, batch_docs)), []):
            self.fim_documents += sum(t.startswith(FIM_PREFIX) for t in batch)
            encoded = tokenizer(batch, add_special_tokens=False,
                                return_attention_mask=False)["input_ids"]
            # a giant document cannot swamp the epoch: at most 8 sequences of it
            docs = [np.asarray(doc[: seq_len * 8], dtype=np.int32) for doc in encoded]
            del encoded
            lengths = np.fromiter((len(d) + 1 for d in docs), dtype=np.int64, count=len(docs))
            ids = np.empty(int(lengths.sum()), dtype=np.int32)
            ends = np.cumsum(lengths)
            starts = ends - lengths
            for doc, start, end in zip(docs, starts, ends, strict=True):
                ids[start:end - 1] = doc
                ids[end - 1] = eos
            id_chunks.append(ids)
            position_chunks.append(_restarting_positions(lengths, packed, seq_len))
            packed += len(ids)
            self.documents += len(batch)
            bar.update(len(batch))
        bar.close()
        flat_ids = np.concatenate(id_chunks) if id_chunks else np.empty(0, np.int32)
        del id_chunks
        n = len(flat_ids) // seq_len
        if n == 0:
            raise ConfigError(f"not enough tokens ({len(flat_ids)}) for one sequence of "
                              f"{seq_len}")
        # Views of the first n sequences (the partial last one is not used).
        self.ids = torch.from_numpy(flat_ids[: n * seq_len].reshape(n, seq_len))
        del flat_ids
        positions = np.concatenate(position_chunks)
        del position_chunks
        self.positions = torch.from_numpy(positions[: n * seq_len].reshape(n, seq_len))
        self.tokens = n * seq_len

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ids = self.ids[i].long()  # stored as int32; embeddings and the loss take int64
        return {"input_ids": ids, "labels": ids.clone(), "position_ids": self.positions[i].long()}


def _restarting_positions(lengths: np.ndarray, offset: int, seq_len: int) -> np.ndarray:
    """Position ids of documents of `lengths` packed from token `offset` of the stream, as
    int32: each document counts from 0, and a document cut by a sequence boundary counts
    from 0 again in the next sequence (the distance from the later of the two starts)."""
    index = np.arange(offset, offset + int(lengths.sum()), dtype=np.int64)
    doc_starts = np.repeat(np.cumsum(lengths) - lengths + offset, lengths)
    positions: np.ndarray = index - np.maximum(doc_starts, index // seq_len * seq_len)
    return positions.astype(np.int32)


def build_datasets(config: DataConfig, tokenizer: Any, seed: int, progress: bool = False
                   ) -> tuple[PackedDataset, PackedDataset | None, dict[str, Any]]:
    rng = random.Random(seed)
    train_docs = read_split(config.data_dir, "train", config.type_facts)
    replay = read_replay(config.replay_dir, config.replay_max_files, rng) if config.replay_dir and \
        config.replay_share > 0 else []
    n = config.docs_per_epoch or len(train_docs)
    drawn = list(draw(train_docs, config, n, rng, replay))
    # Rendered lazily, a batch at a time, in the order drawn (the same texts for a seed as
    # when they were all rendered first).
    texts = (render(d, rng, config) for d in drawn)
    train = PackedDataset(texts, tokenizer, config.seq_len, progress=progress, total=len(drawn))
    valid = None
    try:
        valid_docs = read_split(config.data_dir, "valid", config.type_facts)
        valid_docs = valid_docs[: config.max_eval_docs]
        if valid_docs:
            vrng = random.Random(seed + 1)
            valid = PackedDataset((render(d, vrng, config) for d in valid_docs), tokenizer,
                                  config.seq_len, progress=progress, total=len(valid_docs))
    except ConfigError as exc:  # no valid split, or too few tokens in it
        log.warning("no eval loss: %s", exc)
        valid = None
    drawn_scales: dict[str, int] = {}
    for d in drawn:
        drawn_scales[d.scale] = drawn_scales.get(d.scale, 0) + 1
    stats = {"train_documents": len(drawn), "train_sequences": len(train),
             "train_tokens": train.tokens, "documents_by_scale": drawn_scales,
             "fim_tokens_in_text": train.fim_documents,
             "valid_sequences": len(valid) if valid is not None else 0,
             "mix": mix_weights(train_docs, config.scale_mix)}
    return train, valid, stats
