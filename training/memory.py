"""Estimate the peak GPU memory of a QLoRA run, with a breakdown.

    python -m training.memory --preset starcoder2-3b --seq-len 2048
    python -m training.memory --config configs/training/starcoder2-3b-qlora-6gb.yaml

The figures are arithmetic on the model's shape, not a measurement; bench/gpu_memory.py
measures the same runs on a GPU and the README compares the two.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.model import LORA_TARGETS, PRESETS

GIB = 1024**3
MIB = 1024**2


@dataclass
class Shape:
    arch: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int


@dataclass
class Setup:
    seq_len: int = 2048
    batch: int = 1
    lora_r: int = 16
    double_quant: bool = True
    chunked_loss: bool = True
    loss_chunk: int = 1024
    gradient_checkpointing: bool = True
    optimizer: str = "paged_adamw_8bit"
    """paged_adamw_8bit (2 bytes of state per trainable parameter) or adamw (8 bytes)."""
    compute_bytes: int = 2
    upcast_frozen: bool = False
    """Frozen norms and embeddings in fp32 (peft's default; the plain baseline)."""


def _linears(shape: Shape) -> dict[str, tuple[int, int]]:
    """(in, out) of each quantised linear layer of one block."""
    d, head_dim = shape.hidden, shape.hidden // shape.heads
    kv = shape.kv_heads * head_dim
    if shape.arch == "starcoder2":
        return {"q_proj": (d, d), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (d, d),
                "c_fc": (d, shape.ffn), "c_proj": (shape.ffn, d)}
    return {"c_attn": (d, d + 2 * kv), "attn.c_proj": (d, d), "c_fc": (d, shape.ffn),
            "mlp.c_proj": (shape.ffn, d)}


def estimate(shape: Shape, setup: Setup) -> dict[str, Any]:
    """Bytes of each part at the training peak (one step, batch of `batch` x `seq_len`)."""
    d, L, V, T = shape.hidden, shape.layers, shape.vocab, setup.seq_len * setup.batch
    linears = _linears(shape)
    quantised = L * sum(i * o for i, o in linears.values())
    # NF4: 4 bits per weight; absmax per 64 weights: fp32, or 8-bit plus an fp32 per 256
    # blocks with double quantisation.
    constants = quantised / 64 * (1 + 4 / 256 if setup.double_quant else 4)
    # prepare_model_for_kbit_training upcasts every non-quantised parameter to fp32: the
    # (tied) embedding, norms and biases.
    embedding = V * d
    small = L * (4 * d + sum(o for _, o in linears.values())) + 2 * d
    target_names = LORA_TARGETS[shape.arch]
    lora = L * sum(setup.lora_r * (i + o) for name, (i, o) in linears.items()
                   if name.rsplit(".", 1)[-1] in target_names)
    state_bytes = 2 if setup.optimizer == "paged_adamw_8bit" else 8
    cb = setup.compute_bytes
    if setup.gradient_checkpointing:
        # Two hidden-size tensors per block survive from forward to backward (the block's
        # input and its residual/LoRA inputs: calibrated on bench/results/gpu_memory.json,
        # where one was too few by 0.85 GiB at 8192 tokens), plus one block's activations
        # while it is recomputed.
        saved = 2 * L * T * d * cb
        block = T * (4 * d + 2 * shape.ffn) * cb + T * d * 4
    else:
        saved = L * T * (8 * d + 3 * shape.ffn) * cb
        block = 0
    # Dequantised copy of the largest weight during a 4-bit matmul (forward and backward).
    dequant = max(i * o for i, o in linears.values()) * cb
    positions = min(T, setup.loss_chunk) if setup.chunked_loss else T
    # The head's compute-dtype logits and their fp32 upcast for the positions in flight (one
    # chunk under checkpointing), plus the fp32 gradient of all of them when not chunked.
    logits = positions * V * (cb + 4 + (0 if setup.chunked_loss else 4))
    # fp32 activations rule out SDPA's flash kernel; the math kernel materialises the scores
    # and their softmax for every head.
    attention = 2 * shape.heads * T * setup.seq_len * 4 if setup.upcast_frozen else 0
    parts = {
        "weights_4bit": quantised * 0.5,
        "quant_constants": constants,
        "embedding_and_head": embedding * (4 if setup.upcast_frozen else cb),
        "norms_biases": small * (4 if setup.upcast_frozen else cb),
        "lora_params_fp32": lora * 4,
        "lora_grads_fp32": lora * 4,
        "optimizer_states": lora * state_bytes,
        "activations_saved": saved,
        "activations_recompute": block,
        "dequant_buffer": dequant,
        "logits": logits,
        "attention_matrix": attention,
    }
    total = sum(parts.values())
    return {
        "shape": asdict(shape), "setup": asdict(setup),
        "parts_mib": {k: round(v / MIB, 1) for k, v in parts.items()},
        "peak_allocated_gib": round(total / GIB, 3),
        # The CUDA context (kernels, cuBLAS workspaces) is outside the allocator's figures.
        "cuda_context_gib": 0.5,
        "total_with_context_gib": round(total / GIB + 0.5, 3),
        "lora_params": lora,
        "quantised_params": quantised,
        "params_total": quantised + embedding + small,
    }


def shape_of(preset: str) -> Shape:
    p = PRESETS[preset]
    return Shape(p["arch"], p["hidden_size"], p["num_layers"], p["num_heads"],
                 p["num_kv_heads"], p["intermediate_size"], p["vocab_size"])


def _print(result: dict[str, Any]) -> None:
    shape, setup = result["shape"], result["setup"]
    print(f"{shape['arch']} d={shape['hidden']} L={shape['layers']} V={shape['vocab']} | "
          f"seq {setup['seq_len']} x batch {setup['batch']}, LoRA r={setup['lora_r']}, "
          f"{'chunked' if setup['chunked_loss'] else 'full'} loss, "
          f"{'checkpointing' if setup['gradient_checkpointing'] else 'no checkpointing'}, "
          f"{setup['optimizer']}")
    for name, mib in result["parts_mib"].items():
        print(f"  {name:26s} {mib:10.1f} MiB")
    print(f"  {'peak allocated (estimate)':26s} {result['peak_allocated_gib'] * 1024:10.1f} MiB"
          f" = {result['peak_allocated_gib']:.2f} GiB (+ ~{result['cuda_context_gib']} GiB "
          "CUDA context)")


def compare(path: str) -> int:
    """Markdown table: measured peak (bench/gpu_memory.py JSON) against this estimate."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    print(f"GPU: {record['gpu']}; cap {record['cap_gib']} GiB; {record['command']}")
    print("| model | tokens | recipe | fit | peak allocated GiB | peak reserved GiB | "
          "estimate GiB | estimate error | tokens/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in record["results"]:
        baseline = r["recipe"] == "baseline"
        est = estimate(shape_of(r["preset"]), Setup(
            seq_len=r["seq_len"], chunked_loss=not baseline, upcast_frozen=baseline,
            optimizer="adamw" if baseline else "paged_adamw_8bit"))["peak_allocated_gib"]
        measured = r.get("peak_allocated_gib")
        error = f"{est / measured - 1:+.1%}" if r.get("fit") and measured else "–"
        print(f"| {r['preset']} | {r['seq_len']} | {r['recipe']} ({r['attn']}) | "
              f"{'yes' if r.get('fit') else 'no (OOM)'} | "
              f"{measured if r.get('fit') else '–'} | "
              f"{r.get('peak_reserved_gib', '–') if r.get('fit') else '–'} | {est:.2f} | "
              f"{error} | {r.get('tokens_per_s', '–')} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.memory", description=__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), help="a model shape")
    p.add_argument("--config", help="a training YAML (its model and seq_len are used)")
    p.add_argument("--seq-len", type=int, nargs="+", default=None)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--baseline", action="store_true",
                   help="plain QLoRA: full logits loss and 32-bit AdamW")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--compare", metavar="JSON",
                   help="print the estimate beside each measurement of bench/gpu_memory.py")
    args = p.parse_args(argv)
    if args.compare:
        return compare(args.compare)
    seq_lens = args.seq_len or [2048, 8192]
    lora_r = 16
    if args.config:
        try:
            from training.config import load_config

            cfg = load_config(args.config, [])
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        m = cfg.model
        preset = next((k for k, v in PRESETS.items()
                       if v["arch"] == m.arch and v["hidden_size"] == m.hidden_size
                       and v["num_layers"] == m.num_layers), None)
        shape = shape_of(preset) if preset else Shape(
            m.arch, m.hidden_size, m.num_layers, m.num_heads, m.num_kv_heads,
            m.intermediate_size, m.vocab_size)
        lora_r = m.lora_r
        seq_lens = args.seq_len or [cfg.data.seq_len]
    elif args.preset:
        shape = shape_of(args.preset)
    else:
        print("error: give --preset or --config", file=sys.stderr)
        return 2
    results = []
    for seq in seq_lens:
        setup = Setup(seq_len=seq, batch=args.batch, lora_r=lora_r,
                      chunked_loss=not args.baseline, upcast_frozen=args.baseline,
                      optimizer="adamw" if args.baseline else "paged_adamw_8bit")
        results.append(estimate(shape, setup))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            _print(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
