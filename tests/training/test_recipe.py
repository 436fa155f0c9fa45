"""training: configs, data pipeline, a tiny run end to end, LoRA + merge, kill -9 resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from training.__main__ import main as train_main
from training.config import ConfigError, RunConfig, load_config
from training.data import (
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    Document,
    PackedDataset,
    load_tokenizer,
    mix_weights,
    read_split,
    render,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = ["model.hidden_size=64", "model.num_layers=2", "model.intermediate_size=128",
        "data.seq_len=128", "train.batch_size=4", "train.logging_steps=2",
        "train.eval_steps=1000", "data.max_eval_docs=8"]


@pytest.mark.parametrize("path", sorted((ROOT / "configs" / "training").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_training_config_loads_and_starts_with_its_command(path: Path) -> None:
    config = load_config(path, [])
    assert isinstance(config, RunConfig)
    assert path.read_text().startswith("# python -m training --config")
    if "3b" in path.name:
        assert config.model.load_in_4bit and config.model.lora
        assert config.model.bnb_4bit_use_double_quant
        assert config.train.optimizer == "paged_adamw_8bit"


def test_deepspeed_configs_are_json() -> None:
    for path in (ROOT / "configs" / "deepspeed").glob("*.json"):
        stage = json.loads(path.read_text())["zero_optimization"]["stage"]
        assert stage in (2, 3)


def test_overrides_are_typed_and_unknown_keys_fail() -> None:
    config = load_config(None, ["train.max_steps=7", "model.lora=true",
                                "model.lora_targets=q_proj,v_proj", "data.fim_rate=0.25"])
    assert config.train.max_steps == 7 and config.model.lora is True
    assert config.model.lora_targets == ["q_proj", "v_proj"]
    assert config.data.fim_rate == 0.25
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, ["train.max_stepz=7"])
    with pytest.raises(ConfigError, match="expected int"):
        load_config(None, ["train.max_steps=many"])
    # -1 was "a whole epoch" to the Trainer (minutes on the demo), 0 a failure deep inside
    for bad, why in [("train.max_steps=-1", "at least 1"), ("data.seq_len=0", "at least 1"),
                     ("data.fim_rate=2", "between 0 and 1"),
                     ("train.learning_rate=-0.1", "not be negative"),
                     ("model.num_heads=3", "multiple of num_heads")]:
        with pytest.raises(ConfigError, match=why):
            load_config(None, [bad])


def test_fim_formats_and_mix() -> None:
    import random

    config = load_config(None, ["data.fim_rate=1.0", "data.fim_spm_rate=0.0"]).data
    doc = Document("micro", "CTX", "TARGET", "SUF")
    psm = render(doc, random.Random(0), config)
    assert psm == f"{FIM_PREFIX}CTX{FIM_SUFFIX}SUF{FIM_MIDDLE}TARGET"
    config.fim_spm_rate = 1.0
    spm = render(doc, random.Random(0), config)
    assert spm == f"{FIM_PREFIX}{FIM_SUFFIX}SUF{FIM_MIDDLE}CTXTARGET"
    config.fim_rate = 0.0
    assert render(doc, random.Random(0), config) == "CTXTARGETSUF"
    weights = mix_weights([Document("micro", "", "x", ""), Document("full", "", "y", "")],
                          {"micro": 0.3, "small": 0.25, "full": 0.05})
    assert weights == pytest.approx({"micro": 0.3 / 0.35, "full": 0.05 / 0.35})


def test_fim_tokens_are_single_tokens_and_packing_restarts_positions() -> None:
    tok = load_tokenizer(None)
    for special in (FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX):
        assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1
    texts = ["fn a() {}\n" * 30, "struct B;\n" * 5, "fn c() -> u8 { 1 }\n" * 40]
    ds = PackedDataset(texts, tok, 64)
    item = ds[0]
    assert item["input_ids"].shape == (64,)
    eos = tok.eos_token_id
    flat_ids = ds.ids.view(-1).tolist()
    flat_pos = ds.positions.view(-1).tolist()
    for i in range(1, len(flat_ids)):
        if flat_ids[i - 1] == eos:  # a new document starts at position 0
            assert flat_pos[i] == 0
    assert all(row[0] == 0 for row in ds.positions.tolist())


def _packed_reference(texts: list[str], tok: object, seq_len: int
                      ) -> tuple[list[int], list[int]]:
    """Packing as written first: every text at once, Python lists, a row loop."""
    eos = tok.eos_token_id  # type: ignore[attr-defined]
    ids: list[int] = []
    positions: list[int] = []
    for doc in tok(texts, add_special_tokens=False)["input_ids"]:  # type: ignore[operator]
        doc = [*doc[: seq_len * 8], eos]
        ids.extend(doc)
        positions.extend(range(len(doc)))
    n = len(ids) // seq_len
    pos = torch.tensor(positions[: n * seq_len]).view(n, seq_len)
    for row in pos:
        if row[0] != 0:
            restarts = (row == 0).nonzero()
            lead = int(restarts[0]) if len(restarts) else seq_len
            row[:lead] -= row[0].clone()
    return ids[: n * seq_len], pos.view(-1).tolist()


def test_batched_packing_equals_packing_everything_at_once() -> None:
    import random

    rng = random.Random(7)
    words = ["fn", "let", "x", "impl", "Foo", "<T>", "{", "}", "(", ")", ";", "\n", "'a",
             FIM_PREFIX, FIM_MIDDLE]
    texts = ["".join(rng.choice(words) + " " for _ in range(rng.choice([0, 3, 40, 300])))
             for _ in range(61)]
    texts.append("fn f() {}\n" * 400)  # over 8 sequences of 32 tokens: cut
    tok = load_tokenizer(None)
    ref_ids, ref_pos = _packed_reference(texts, tok, 32)
    for batch_docs in (1, 5, 256):
        ds = PackedDataset(iter(texts), tok, 32, batch_docs=batch_docs)
        assert ds.ids.view(-1).tolist() == ref_ids
        assert ds.positions.view(-1).tolist() == ref_pos
        assert ds.documents == len(texts)
        assert ds.fim_documents == sum(t.startswith(FIM_PREFIX) for t in texts)
        item = ds[3]
        assert item["input_ids"].dtype == item["position_ids"].dtype == torch.long


def test_type_facts_mismatch_is_an_error(demo_data: Path) -> None:
    with pytest.raises(ConfigError, match="expects inline"):
        read_split(str(demo_data), "train", "inline")


def test_tiny_run_end_to_end(demo_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = train_main(["--config", str(ROOT / "configs/training/tiny-cpu.yaml"),
                           "--quiet", f"data.data_dir={demo_data}", f"train.output_dir={out}",
                           "train.max_steps=6", "train.save_steps=3", *TINY])
    assert code == 0
    # our own arguments use no deprecated names (make demo printed one such warning)
    assert not [w for w in caught if "checkpointing" in str(w.message)], caught
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["eval_loss"] is not None
    assert summary["sanity"]["loss_is_finite"]
    assert (out / "model" / "config.json").exists() and (out / "config.yaml").exists()
    assert (out / "report.md").exists() and (out / "loss.png").exists()
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("tokens_per_s" in m and m.get("loss") for m in metrics)
    # the valid split is evaluated once at the last step, not again for the summary
    final_evals = [m for m in metrics if "eval_loss" in m and m["step"] == 6]
    assert len(final_evals) == 1 and final_evals[0]["eval_loss"] == summary["eval_loss"]
    assert list((out / "tensorboard").rglob("events.out.tfevents*"))
    resolved = load_config(out / "config.yaml", [])
    assert resolved.train.max_steps == 6


def test_a_run_shorter_than_logging_steps_reports_loss_checks_as_not_measured(
        demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "short"
    code = train_main(["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
                       f"data.data_dir={demo_data}", f"train.output_dir={out}",
                       "train.max_steps=1", *TINY, "train.logging_steps=10"])
    assert code == 0
    sanity = json.loads((out / "summary.json").read_text())["sanity"]
    assert sanity == {"loss_is_finite": None, "loss_decreased": None, "reached_max_steps": True}
    printed = capsys.readouterr()
    assert "failed" not in printed.out
    assert "not measured: loss_is_finite, loss_decreased" in printed.out
    assert "Writing model shards" not in printed.err  # --quiet: transformers' bars too
    report = (out / "report.md").read_text()
    assert "| loss_decreased | not measured" in report and "FAIL" not in report


def test_lora_run_and_merge(demo_data: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from training.merge import main as merge_main
    from training.model import ModelRecipe, build_config

    base = tmp_path / "base"
    recipe = ModelRecipe(hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
                         intermediate_size=128)
    AutoModelForCausalLM.from_config(build_config(recipe)).save_pretrained(base)
    out = tmp_path / "lora"
    args = ["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
            f"data.data_dir={demo_data}", f"train.output_dir={out}", f"model.weights={base}",
            "model.lora=true", "train.max_steps=3", *TINY]
    assert train_main(args) == 0
    assert (out / "adapter" / "adapter_config.json").exists()
    adapter = (out / "adapter" / "adapter_model.safetensors").read_bytes()
    assert train_main(args) == 0  # finished: the checkpoint's adapter is loaded, not trained on
    assert (out / "adapter" / "adapter_model.safetensors").read_bytes() == adapter
    assert json.loads((out / "summary.json").read_text())["steps"] == 3
    merged = tmp_path / "merged"
    assert merge_main(["--run", str(out), "--out", str(merged)]) == 0
    model = AutoModelForCausalLM.from_pretrained(merged)
    assert not any("lora" in n for n, _ in model.named_parameters())
    assert merge_main(["--run", str(tmp_path / "nothing"), "--out", str(merged)]) == 2


@pytest.mark.slow
def test_kill_9_and_resume_continues_the_run(demo_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "resume"
    cmd = [sys.executable, "-m", "training", "--config",
           str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
           f"data.data_dir={demo_data}", f"train.output_dir={out}", "train.max_steps=16",
           "train.save_steps=4", *TINY]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "checkpoint-8" / "trainer_state.json").exists():
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint-8").exists(), "no checkpoint before the kill"
    assert not (out / "summary.json").exists()
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 16
    assert summary["resumed_from"] and "checkpoint-" in summary["resumed_from"]
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert max(steps) == 16


def test_a_finished_run_run_again_trains_nothing_and_a_longer_one_goes_on(
        demo_data: Path, tmp_path: Path) -> None:
    # transformers 5.x, resumed at max_steps, trained one step more each time it was run.
    out = tmp_path / "again"
    args = ["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
            f"data.data_dir={demo_data}", f"train.output_dir={out}", *TINY,
            "train.save_steps=2"]
    assert train_main([*args, "train.max_steps=4"]) == 0
    first = json.loads((out / "summary.json").read_text())
    weights = (out / "model" / "model.safetensors").read_bytes()
    assert train_main([*args, "train.max_steps=4"]) == 0  # finished: nothing to do
    assert json.loads((out / "summary.json").read_text()) == first
    assert not (out / "checkpoint-5").exists()
    # killed after its last checkpoint, before the model and summary: the checkpoint is loaded
    shutil.rmtree(out / "model")
    (out / "summary.json").unlink()
    assert train_main([*args, "train.max_steps=4"]) == 0
    again = json.loads((out / "summary.json").read_text())
    assert again["steps"] == 4 and not (out / "checkpoint-5").exists()
    assert (out / "model" / "model.safetensors").read_bytes() == weights
    assert again["eval_loss"] == first["eval_loss"]
    assert again["resumed_from"].endswith("checkpoint-4")
    assert train_main([*args, "train.max_steps=6"]) == 0
    longer = json.loads((out / "summary.json").read_text())
    assert longer["steps"] == 6 and (out / "checkpoint-6").exists()
    assert (out / "model" / "model.safetensors").read_bytes() != weights


def test_a_run_folder_goes_on_only_with_its_own_config(
        demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "own"
    args = ["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
            f"data.data_dir={demo_data}", f"train.output_dir={out}", *TINY,
            "train.save_steps=2", "train.max_steps=2"]
    assert train_main(args) == 0
    saved = (out / "config.yaml").read_text()
    capsys.readouterr()
    assert train_main([*args, "model.hidden_size=32", "train.learning_rate=0.01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "model.hidden_size, train.learning_rate" in err, err
    assert (out / "config.yaml").read_text() == saved  # the folder still says what it holds
    # how long it runs, how often it saves and logs, and paths spelled otherwise may change
    relative = os.path.relpath(demo_data)
    assert train_main([*args[:-1], "train.max_steps=3", "train.logging_steps=1",
                       f"data.data_dir={relative}"]) == 0


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import training.recipe

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error(s) in loading state_dict:\n\tsize mismatch ...\n\t...")

    monkeypatch.delenv("FERRIC_DEBUG", raising=False)
    monkeypatch.setattr(training.recipe, "run", fails)
    assert train_main(["train.max_steps=1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: Error(s) in loading state_dict: ..." in err


def test_resumed_run_logs_each_step_once_and_bad_inputs_are_config_errors(
        demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "relog"
    args = ["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
            f"data.data_dir={demo_data}", f"train.output_dir={out}", *TINY,
            "train.save_steps=2", "train.max_steps=4", "train.logging_steps=1"]
    assert train_main(args) == 0
    # as if killed after step 4 was logged but before its checkpoint was complete
    shutil.rmtree(out / "checkpoint-4")
    shutil.rmtree(out / "model")
    (out / "summary.json").unlink()
    with (out / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "lo')  # a line cut by the kill
    assert train_main(args) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == [1, 2, 3, 4], steps
    # a tokenizer path that is not one reached the hub's repo-id check; a corrupt parquet
    # and 2.5 steps were an internal error and a silent truncation
    capsys.readouterr()
    assert train_main([*args[:4], f"train.output_dir={tmp_path / 'x'}",
                       f"data.tokenizer={tmp_path / 'nope'}"]) == 2
    assert train_main([*args[:4], f"train.output_dir={tmp_path / 'y'}",
                       "train.max_steps=2.5"]) == 2
    broken = tmp_path / "broken"
    shutil.copytree(demo_data, broken)
    next((broken / "samples" / "train").glob("*.parquet")).write_bytes(b"not parquet")
    assert train_main([*args[:3], f"data.data_dir={broken}",
                       f"train.output_dir={tmp_path / 'z'}"]) == 2
    err = capsys.readouterr().err
    assert "not a tokenizer folder" in err and "whole number" in err
    assert "not a readable samples file" in err and "internal" not in err


def test_gradient_accumulation_averages_the_loss(demo_data: Path, tmp_path: Path) -> None:
    # The Trainer skips dividing by the accumulation steps when it thinks the loss is normalised
    # by num_items_in_batch; ferric's loss is a micro-batch mean, so it must divide.
    out = tmp_path / "run"
    code = train_main(["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
                       f"data.data_dir={demo_data}", f"train.output_dir={out}", *TINY,
                       "train.max_steps=1", "train.logging_steps=1", "train.save_steps=10",
                       "train.eval_steps=10", "train.grad_accum=4"])
    assert code == 0
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    first = next(m["loss"] for m in metrics if "loss" in m)
    assert 9.0 < first < 12.0  # ln(49152) = 10.8 at initialisation, not 4x that
