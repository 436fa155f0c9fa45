"""DeepSpeed ZeRO-2 and ZeRO-3 on CPU (DS_ACCELERATOR=cpu, one process, gloo/shm): a smoke test
that the recipe and configs/deepspeed/*.json run end to end without a GPU."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None,
                                 reason="deepspeed is not installed (pip install "
                                        "--no-build-isolation -e '.[deepspeed]')")]


@pytest.mark.parametrize(("stage", "extra"), [
    ("zero2", []), ("zero3", []),
    # LoRA keeps the LM head frozen; ZeRO-3 partitions it between forward and the recomputed
    # loss chunks (a CheckpointError on an H100 until the chunked loss gathered it)
    ("zero3", ["model.lora=true", "model.gradient_checkpointing=true",
               "train.loss_chunk_tokens=64"]),
], ids=["zero2", "zero3", "zero3-lora-chunked"])
def test_deepspeed_on_cpu(stage: str, extra: list[str], demo_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # A separate process: DeepSpeed's process group and accelerator are process-global.
    env = {**os.environ, "DS_ACCELERATOR": "cpu", "RANK": "0", "WORLD_SIZE": "1",
           "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(29500 + (os.getpid() + len(stage) + 7 * len(extra)) % 500)}
    cmd = [sys.executable, "-m", "training", "--config",
           str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet", f"data.data_dir={demo_data}",
           f"train.output_dir={out}", "train.max_steps=4", "train.save_steps=2",
           "train.eval_steps=4", "train.logging_steps=1", "model.hidden_size=32",
           "model.num_layers=1", "model.num_heads=2", "model.num_kv_heads=1",
           "model.intermediate_size=64", "data.seq_len=128", "train.batch_size=2",
           f"train.deepspeed={ROOT / 'configs/deepspeed' / (stage + '.json')}", *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["sanity"]["loss_is_finite"]
    saved = out / "adapter" / "adapter_config.json" if extra else out / "model" / "config.json"
    assert saved.exists() and (out / "checkpoint-4").exists()
    if stage == "zero2" and not extra:  # run again, finished: no fifth step
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stderr[-2000:]
        assert json.loads((out / "summary.json").read_text()) == summary
        assert not (out / "checkpoint-5").exists()
    # killed after its last checkpoint, before the summary and final model: finished from
    # the checkpoint (loaded without DeepSpeed, whose ZeRO-3 gathers the weights on save),
    # with the same eval loss and no fifth step (one was trained before)
    (out / "summary.json").unlink()
    shutil.rmtree(saved.parent)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    finished = json.loads((out / "summary.json").read_text())
    assert finished["steps"] == 4 and saved.exists() and not (out / "checkpoint-5").exists()
    assert finished["eval_loss"] == pytest.approx(summary["eval_loss"], rel=1e-4)
