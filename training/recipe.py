"""The training recipe: config -> model + data -> HF Trainer -> run folder.

HF Trainer gives checkpoint resume (a run killed with kill -9 resumes from its last checkpoint
with the same step count and data order), eval, TensorBoard and the DeepSpeed integration
(when launched with the `deepspeed` launcher and `train.deepspeed` set). The loss is ferric's
chunked cross-entropy (training.loss), so no full logits are ever held.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from training.config import ConfigError, RunConfig, dump_config, load_config
from training.data import build_datasets, load_tokenizer
from training.loss import causal_lm_loss
from training.model import load_model

log = logging.getLogger(__name__)


TRAINER_STATE = "trainer_state.json"  # the Trainer writes it last into a checkpoint


def _last_checkpoint(output_dir: Path) -> str | None:
    checkpoints = sorted(output_dir.glob("checkpoint-*"),
                         key=lambda p: int(p.name.split("-")[-1]))
    # A checkpoint being written when the run died has no trainer_state.json yet.
    complete = [p for p in checkpoints if (p / TRAINER_STATE).exists()]
    return str(complete[-1]) if complete else None


def _checkpoint_step(checkpoint: str) -> int:
    state = json.loads((Path(checkpoint) / TRAINER_STATE).read_text())
    return int(state["global_step"])


# What a run may change when it goes on from its own checkpoints: when it stops, how often it
# saves, evaluates and logs, and knobs of memory and speed that leave the arithmetic alone.
# Anything else would resume a checkpoint of another model, data stream or optimiser (a
# changed hidden_size failed with a page of shape mismatches, after overwriting config.yaml).
RESUMABLE_CHANGES = frozenset({
    "name", "train.output_dir", "train.max_steps", "train.save_steps",
    "train.save_total_limit", "train.eval_steps", "train.logging_steps",
    "train.dataloader_workers", "train.loss_chunk_tokens", "data.max_eval_docs",
    "model.attn_implementation", "model.gradient_checkpointing"})
_PATH_KEYS = frozenset({"data.data_dir", "data.tokenizer", "data.replay_dir", "model.weights",
                        "train.deepspeed"})


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and key != "scale_mix" and key != "extra":
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _check_resume_config(out: Path, config: RunConfig, resume: str | None) -> None:
    """A run folder with checkpoints (`resume`, the last) goes on only with its own config,
    but for RESUMABLE_CHANGES (a ConfigError names what differs)."""
    saved_path = out / "config.yaml"
    if resume is None or not saved_path.exists():
        return
    saved = _flat(asdict(load_config(saved_path, [])))
    current = _flat(asdict(config))

    def same(key: str) -> bool:
        a, b = saved.get(key), current.get(key)
        if key in _PATH_KEYS and a is not None and b is not None:
            return bool(os.path.realpath(a) == os.path.realpath(b))
        return bool(a == b)

    changed = [k for k in current if k not in RESUMABLE_CHANGES and not same(k)]
    if changed:
        raise ConfigError(f"{out} holds checkpoints of a run with another "
                          f"{', '.join(changed)}: give another train.output_dir, or remove "
                          "the folder to start afresh")


def _finished_summary(out: Path, config: RunConfig, resume: str | None,
                      resume_step: int) -> dict[str, Any] | None:
    """The saved summary when the run folder already holds this run, finished: its summary
    and final model are of its last checkpoint (`resume`, at `resume_step`), which reached
    max_steps. Nothing is loaded, trained or evaluated again (under DeepSpeed a finished run
    went on a step each time)."""
    final = out / ("adapter" if config.model.lora else "model")
    summary_path = out / "summary.json"
    if resume is None or not summary_path.exists() or not final.is_dir():
        return None
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    if summary.get("steps") != resume_step or resume_step < config.train.max_steps:
        return None
    log.info("%s: finished at step %d (%s); nothing to do", out, resume_step, resume)
    return summary


def _logged_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return 1 << 62  # a line cut by the kill: dropped with the steps after the checkpoint


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run(config: RunConfig, progress: bool = True) -> dict[str, Any]:
    """Train, save, evaluate and report; progress=False silences transformers' bars too
    (saving printed "Writing model shards" under --quiet), for this call only."""
    from training.offline import hf_progress_bars

    with hf_progress_bars(progress):
        return _run(config, progress)


def _run(config: RunConfig, progress: bool) -> dict[str, Any]:
    from transformers import Trainer, TrainerCallback, TrainerState, TrainingArguments

    out = Path(config.train.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # The last complete checkpoint, looked up once: nothing below writes one before train().
    resume = _last_checkpoint(out)
    resume_step = _checkpoint_step(resume) if resume else 0
    _check_resume_config(out, config, resume)
    _atomic_text(out / "config.yaml", dump_config(config))
    finished = _finished_summary(out, config, resume, resume_step)
    if finished is not None:
        return finished
    torch.manual_seed(config.train.seed)

    tokenizer = load_tokenizer(config.data.tokenizer)
    base_vocab = len(tokenizer)
    new_token_ids: list[int] = []
    model: Any
    model, info = load_model(config.model, vocab_size=base_vocab)
    if config.model.weights and model.get_input_embeddings().num_embeddings < base_vocab:
        from tokenizer.embeddings import resize_embeddings_mean

        base = load_tokenizer(None)
        new_token_ids = resize_embeddings_mean(model, base, tokenizer)
        info["new_token_ids"] = len(new_token_ids)
    # One tokenising bar under the deepspeed launcher, as the Trainer draws its bars: rank 0's.
    train_set, valid_set, data_stats = build_datasets(
        config.data, tokenizer, config.train.seed,
        progress=progress and os.environ.get("RANK", "0") == "0")
    log.info("data: %s", data_stats)

    metrics_path = out / "metrics.jsonl"

    class Metrics(TrainerCallback):
        """tokens/s and peak memory beside the loss, one JSON line per log event."""

        def __init__(self) -> None:
            self.t0 = time.perf_counter()
            self.step0 = 0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.t0, self.step0 = time.perf_counter(), state.global_step
            # A run killed after its last checkpoint logged steps it now trains again: their
            # lines go, so every step has one line (step 7 was there twice).
            if metrics_path.exists() and args.process_index == 0:
                kept = [line for line in metrics_path.read_text().splitlines()
                        if line.strip() and _logged_step(line) <= state.global_step]
                _atomic_text(metrics_path, "".join(f"{line}\n" for line in kept))

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kw: Any) -> None:
            elapsed = time.perf_counter() - self.t0
            steps = state.global_step - self.step0
            tokens = steps * config.train.batch_size * config.train.grad_accum * \
                config.data.seq_len * max(1, args.world_size)
            record = {"step": state.global_step, **(logs or {}),
                      "tokens_per_s": round(tokens / elapsed, 1) if elapsed > 0 else None,
                      "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 3)
                      if torch.cuda.is_available() else None}
            with metrics_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")

    class ChunkedLossTrainer(Trainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Our loss is a per-micro-batch mean, not a sum over num_items_in_batch: the Trainer
            # must divide it by the accumulation steps (it skips that when it believes the model
            # normalises by num_items_in_batch, and the loss and gradients came out GA times too
            # large: 43 instead of 10.9 at grad_accum=4).
            self.model_accepts_loss_kwargs = False

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            loss = causal_lm_loss(model, inputs, config.train.loss_chunk_tokens)
            return (loss, None) if return_outputs else loss

        def prediction_step(self, model: Any, inputs: dict[str, Any],
                            prediction_loss_only: bool, ignore_keys: Any = None) -> Any:
            with torch.no_grad():
                loss = causal_lm_loss(model, self._prepare_inputs(inputs),
                                      config.train.loss_chunk_tokens)
            return loss.detach(), None, None

    t = config.train
    # Killed after its last checkpoint, before its summary: the checkpoint is loaded, saved and
    # evaluated, nothing trained. Resumed at max_steps, transformers 5.x still trains one step
    # (a finished run run again went on to 5, 6, ... of 4 steps). Done without DeepSpeed:
    # its engine loads checkpoints only inside train(), and evaluates without training only
    # under ZeRO-3; the checkpoint holds the weights in transformers' format (ZeRO-3 gathers
    # them on save, configs/deepspeed/zero3.json).
    only_finish = bool(resume) and resume_step >= t.max_steps
    # Each run logs into its own folder, also when several runs share a process (tests).
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out / "tensorboard")
    args = TrainingArguments(
        output_dir=str(out), max_steps=t.max_steps, per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size, gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.learning_rate, warmup_steps=t.warmup_steps,
        lr_scheduler_type=t.lr_scheduler, weight_decay=t.weight_decay, optim=t.optimizer,
        logging_steps=t.logging_steps, save_steps=t.save_steps,
        save_total_limit=t.save_total_limit, eval_strategy="steps" if valid_set else "no",
        eval_steps=t.eval_steps, seed=t.seed, data_seed=t.seed,
        bf16=info["compute_dtype"] == "bfloat16" and torch.cuda.is_available(),
        fp16=info["compute_dtype"] == "float16" and torch.cuda.is_available(),
        report_to=["tensorboard"],
        dataloader_num_workers=t.dataloader_workers,
        deepspeed=None if only_finish else t.deepspeed,
        disable_tqdm=not progress, remove_unused_columns=False,
        # Checkpointing is left at its default, off: load_model already set it up
        # (non-reentrant). Naming it warns on transformers >= 5.x, where the argument is
        # `activation_checkpointing` and `gradient_checkpointing` a deprecated alias.
        use_cpu=not torch.cuda.is_available(),
    )
    trainer = ChunkedLossTrainer(model=model, args=args, train_dataset=train_set,
                                 eval_dataset=valid_set, callbacks=[Metrics()])
    started = time.perf_counter()
    trained = True
    train_metrics: dict[str, Any] = {}
    if only_finish:
        assert resume is not None
        log.info("%s has reached max_steps=%d: loading it, nothing to train", resume,
                 t.max_steps)
        trainer._load_from_checkpoint(resume)
        trainer.state = TrainerState.load_from_json(str(Path(resume) / TRAINER_STATE))
        trained = False
    else:
        if resume:
            log.info("resuming from %s", resume)
        train_metrics = trainer.train(resume_from_checkpoint=resume).metrics
    wall = time.perf_counter() - started
    final = out / ("adapter" if config.model.lora else "model")
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    # The Trainer already evaluates at the last step (transformers >= 4.5x, step strategy);
    # a second pass over the valid split cost as long again (93 s on actix-web's). A run that
    # trained nothing now evaluates afresh: the valid split may have changed since.
    final_evals = [r["eval_loss"] for r in trainer.state.log_history
                   if "eval_loss" in r and r.get("step") == trainer.state.global_step]
    eval_loss = final_evals[-1] if final_evals and trained else \
        trainer.evaluate()["eval_loss"] if valid_set else None
    history = [r for r in trainer.state.log_history if "loss" in r]
    summary = {
        "run": config.name, "output": str(final), "steps": trainer.state.global_step,
        "resumed_from": resume, "train_loss_first": history[0]["loss"] if history else None,
        "train_loss_last": history[-1]["loss"] if history else None,
        "eval_loss": eval_loss,
        "eval_perplexity": math.exp(eval_loss) if eval_loss is not None and eval_loss < 50
        else None,
        "wall_s_this_run": round(wall, 1), "train_runtime_s": train_metrics.get("train_runtime"),
        "model": info, "data": data_stats,
    }
    # None is "not measured": a run shorter than logging_steps logs no loss, and one logged
    # loss cannot show a decrease (that was reported as a failure).
    summary["sanity"] = {
        "loss_is_finite": all(math.isfinite(r["loss"]) for r in history) if history else None,
        "loss_decreased": history[-1]["loss"] < history[0]["loss"] if len(history) > 1
        else None,
        "reached_max_steps": trainer.state.global_step >= t.max_steps,
    }
    _atomic_text(out / "summary.json", json.dumps(summary, indent=2, default=str) + "\n")
    _write_report(out, summary, trainer.state.log_history)
    return summary


def _write_report(out: Path, summary: dict[str, Any], log_history: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["step"], r["loss"]) for r in log_history if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in log_history if "eval_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", label="eval loss (valid split)")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=110)
    plt.close(fig)
    lines = [
        f"# Training run: {summary['run']}", "",
        f"Reproduce: `python -m training --config {out / 'config.yaml'}`", "",
        "| what | value |", "|---|---|",
        f"| steps | {summary['steps']} |",
        f"| train loss first → last | {summary['train_loss_first']} → "
        f"{summary['train_loss_last']} |",
        f"| eval loss (valid) | {summary['eval_loss']} |",
        f"| attention | {summary['model'].get('attn_implementation')} "
        f"({summary['model'].get('attn_reason')}) |",
        f"| compute dtype | {summary['model'].get('compute_dtype')} |",
        f"| trainable / total parameters | {summary['model'].get('trainable_params')} / "
        f"{summary['model'].get('total_params')} |",
        f"| training documents by scale | {summary['data']['documents_by_scale']} |",
        f"| FIM documents | {summary['data']['fim_tokens_in_text']} |",
        f"| wall time of this invocation | {summary['wall_s_this_run']} s |",
        "", "![loss](loss.png)", "", "## Sanity checks", "",
        "| check | result |", "|---|---|",
        *[f"| {k} | {_verdict(v)} |" for k, v in summary["sanity"].items()],
        "",
    ]
    _atomic_text(out / "report.md", "\n".join(lines))


def _verdict(ok: bool | None) -> str:
    return "not measured (too few logged losses)" if ok is None else \
        "pass" if ok else "**FAIL**"
