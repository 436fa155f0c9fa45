"""Benchmark: peak GPU memory and tokens/s of QLoRA training steps on 3B shapes, under a cap.

    python bench/gpu_memory.py --presets starcoder2-3b starcoderbase-3b --seq-lens 2048 8192 \\
        --cap-gib 6 --out bench/results/gpu_memory.json

For each model shape (random weights of the real shape and dtype, written once to a local
folder and loaded back quantised to NF4, as real weights would be) and each sequence length,
two recipes run a few training steps in a fresh process each, capped with
`torch.cuda.set_per_process_memory_fraction`:

- baseline: plain HF PEFT QLoRA (prepare_model_for_kbit_training defaults, LoRA on the same
  modules, `model(labels=...)` with full logits, torch AdamW);
- ferric: training.model.load_model (non-reentrant checkpointing), chunked cross-entropy
  (training.loss), paged 8-bit AdamW; with sdpa, and flash_attention_2 where it imports.

It records peak allocated and reserved memory, tokens/s over the timed steps, whether the run
fit, and the estimate of training.memory beside each measurement. Without CUDA it says so and
exits 0 (nothing to measure).
"""

# transformers, peft and bitsandbytes entry points are untyped; calling them is the job here.
# mypy: disallow-untyped-calls=False

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GIB = 1024**3


def _make_weights(preset: str, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from training.model import PRESETS, ModelRecipe, build_config

    if (folder / "config.json").exists():
        return
    spec = {k: v for k, v in PRESETS[preset].items()}
    recipe = ModelRecipe(**spec)
    config = build_config(recipe)
    with torch.device("cuda"):  # random init on the GPU: seconds instead of minutes
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    del model
    gc.collect()
    torch.cuda.empty_cache()


def _child(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from training.loss import causal_lm_loss
    from training.model import LORA_TARGETS, PRESETS, ModelRecipe, load_model

    total = torch.cuda.get_device_properties(0).total_memory
    cap = args.cap_gib * GIB
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total))
    arch = PRESETS[args.preset]["arch"]
    result: dict[str, Any] = {"preset": args.preset, "recipe": args.recipe,
                              "seq_len": args.seq_len, "attn": args.attn, "batch": 1}
    started = time.perf_counter()
    try:
        if args.recipe == "baseline":
            from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
            from transformers import AutoModelForCausalLM, BitsAndBytesConfig

            quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                       bnb_4bit_use_double_quant=True,
                                       bnb_4bit_compute_dtype=torch.bfloat16)
            model: Any = AutoModelForCausalLM.from_pretrained(
                args.weights, quantization_config=quant, dtype=torch.bfloat16,
                attn_implementation=args.attn, device_map={"": 0}, local_files_only=True)
            model = prepare_model_for_kbit_training(model)
            model = get_peft_model(model, LoraConfig(
                r=16, lora_alpha=32, lora_dropout=0.05, target_modules=LORA_TARGETS[arch],
                task_type="CAUSAL_LM"))
            params = [p for p in model.parameters() if p.requires_grad]
            optimizer: Any = torch.optim.AdamW(params, lr=1e-4)

            def loss_fn(batch: dict[str, Any]) -> Any:
                return model(input_ids=batch["input_ids"], labels=batch["labels"]).loss
        else:
            import bitsandbytes as bnb

            model, info = load_model(ModelRecipe(
                weights=args.weights, load_in_4bit=True, lora=True,
                attn_implementation=args.attn, gradient_checkpointing=True))
            result["choices"] = {k: info[k] for k in ("attn_implementation", "compute_dtype")}
            params = [p for p in model.parameters() if p.requires_grad]
            optimizer = bnb.optim.PagedAdamW8bit(params, lr=1e-4)  # type: ignore[attr-defined]

            def loss_fn(batch: dict[str, Any]) -> Any:
                return causal_lm_loss(model, batch, chunk_tokens=1024)
        result["after_load_allocated_gib"] = round(torch.cuda.memory_allocated() / GIB, 3)
        model.train()
        gen = torch.Generator(device="cuda").manual_seed(0)
        times = []
        for step in range(args.steps + 1):
            ids = torch.randint(0, 49152, (1, args.seq_len), device="cuda", generator=gen)
            batch = {"input_ids": ids, "labels": ids}
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            loss = loss_fn(batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            if step > 0:  # the first step warms kernels and the allocator up
                times.append(time.perf_counter() - t0)
            result["loss"] = round(float(loss), 4)
        result.update(
            fit=True,
            tokens_per_s=round(args.seq_len * len(times) / sum(times), 1),
            step_s=round(sum(times) / len(times), 3),
        )
    except torch.cuda.OutOfMemoryError as exc:
        result.update(fit=False, error=f"OutOfMemoryError: {str(exc).splitlines()[0][:200]}")
    except Exception as exc:  # recorded, not hidden: a failed configuration is a result too
        result.update(fit=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    result["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 3)
    result["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / GIB, 3)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--presets", nargs="+", default=["starcoder2-3b", "starcoderbase-3b"])
    p.add_argument("--seq-lens", nargs="+", type=int, default=[2048, 8192])
    p.add_argument("--recipes", nargs="+", default=["baseline", "ferric"])
    p.add_argument("--cap-gib", type=float, default=6.0)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--weights-dir", type=Path, default=Path("/tmp/ferric-bench-weights"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "gpu_memory.json")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--make-weights", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--preset", help=argparse.SUPPRESS)
    p.add_argument("--recipe", help=argparse.SUPPRESS)
    p.add_argument("--seq-len", type=int, help=argparse.SUPPRESS)
    p.add_argument("--attn", default="sdpa", help=argparse.SUPPRESS)
    p.add_argument("--weights", help=argparse.SUPPRESS)
    args = p.parse_args()

    import torch

    if args.make_weights:
        _make_weights(args.preset, Path(args.weights))
        return 0
    if args.child:
        print("RESULT " + json.dumps(_child(args)), flush=True)
        return 0
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure (bench/gpu_memory.py needs a GPU)")
        return 0

    from training.memory import Setup, estimate, shape_of

    attns = ["sdpa"] + (["flash_attention_2"] if importlib.util.find_spec("flash_attn")
                        else [])
    results = []
    for preset in args.presets:
        folder = args.weights_dir / preset
        subprocess.run([sys.executable, __file__, "--make-weights", "--preset", preset,
                        "--weights", str(folder)], check=True)
        for seq in args.seq_lens:
            for recipe in args.recipes:
                for attn in (attns if recipe == "ferric" else ["sdpa"]):
                    cmd = [sys.executable, __file__, "--child", "--preset", preset,
                           "--recipe", recipe, "--seq-len", str(seq), "--attn", attn,
                           "--weights", str(folder), "--cap-gib", str(args.cap_gib),
                           "--steps", str(args.steps)]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    line = next((ln for ln in proc.stdout.splitlines()
                                 if ln.startswith("RESULT ")), None)
                    if line is None:
                        result = {"preset": preset, "recipe": recipe, "seq_len": seq,
                                  "attn": attn, "fit": False,
                                  "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
                    else:
                        result = json.loads(line[len("RESULT "):])
                    est = estimate(shape_of(preset), Setup(
                        seq_len=seq, chunked_loss=recipe == "ferric",
                        upcast_frozen=recipe == "baseline",
                        optimizer="paged_adamw_8bit" if recipe == "ferric" else "adamw"))
                    result["estimate_peak_allocated_gib"] = est["peak_allocated_gib"]
                    if result.get("peak_allocated_gib") and result.get("fit"):
                        result["estimate_error"] = round(
                            est["peak_allocated_gib"] / result["peak_allocated_gib"] - 1, 3)
                    results.append(result)
                    print(json.dumps(result), flush=True)
    if not importlib.util.find_spec("flash_attn"):
        print("flash_attn is not installed here: flash_attention_2 rows were not measured")
    ratios = {}
    for preset in args.presets:
        for seq in args.seq_lens:
            base = next((r for r in results if r["preset"] == preset and r["seq_len"] == seq
                         and r["recipe"] == "baseline" and r.get("fit")), None)
            ours = next((r for r in results if r["preset"] == preset and r["seq_len"] == seq
                         and r["recipe"] == "ferric" and r["attn"] == "sdpa" and r.get("fit")),
                        None)
            if base and ours:
                ratios[f"{preset}@{seq}"] = round(ours["tokens_per_s"] / base["tokens_per_s"], 3)
    import transformers

    record = {
        "benchmark": "gpu_memory",
        "command": "python bench/gpu_memory.py " + " ".join(sys.argv[1:]),
        "gpu": torch.cuda.get_device_name(0),
        "capability": list(torch.cuda.get_device_capability(0)),
        "cap_gib": args.cap_gib,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": _version("peft"), "bitsandbytes": _version("bitsandbytes"),
                     "python": platform.python_version()},
        "flash_attn_available": bool(importlib.util.find_spec("flash_attn")),
        "results": results,
        "tokens_per_s_ratio_ferric_over_baseline": ratios,
        "date": time.strftime("%Y-%m-%d"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


if __name__ == "__main__":
    raise SystemExit(main())
