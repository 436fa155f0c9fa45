"""`python -m training.merge --run runs/NAME [--base DIR] --out DIR`: LoRA merged into fp16.

Loads the base model (the run's `model.weights`, or --base) in fp16, applies the adapter saved
by the run, merges the LoRA deltas into the weights and saves a plain model folder (with the
run's tokenizer) that transformers and the analysis stage load without PEFT.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.merge", description=__doc__)
    p.add_argument("--run", required=True, help="run folder (holds config.yaml and adapter/)")
    p.add_argument("--base", help="base model folder (default: the run's model.weights)")
    p.add_argument("--out", required=True, help="folder for the merged fp16 model")
    args = p.parse_args(argv)
    from training.offline import stay_offline

    stay_offline()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.config import ConfigError, load_config

    run = Path(args.run)
    adapter = run / "adapter"
    if not (adapter / "adapter_config.json").exists():
        print(f"error: {adapter} has no adapter_config.json (was the run a LoRA run?)",
              file=sys.stderr)
        return 2
    try:
        config = load_config(run / "config.yaml", [])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = args.base or config.model.weights
    if not base or not (Path(base) / "config.json").exists():
        print(f"error: base model folder {base!r} not found (give --base)", file=sys.stderr)
        return 2
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float16,
                                                 local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(adapter, local_files_only=True)
    if model.get_input_embeddings().num_embeddings != len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    merged.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    print(f"merged model: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
