"""training.model, training.loss, training.attention and training.memory on tiny models."""

from __future__ import annotations

import pytest
import torch

from training.attention import choose_attention
from training.loss import causal_lm_loss
from training.memory import Setup, estimate, shape_of
from training.memory import main as memory_main
from training.model import ModelRecipe, load_model


def _tiny(arch: str, **kw: object) -> ModelRecipe:
    return ModelRecipe(arch=arch, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=2,
                       intermediate_size=128, vocab_size=500, compute_dtype="float32",
                       **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", ["starcoder2", "gpt_bigcode"])
def test_chunked_loss_equals_full_logits_loss_and_gradients(arch: str) -> None:
    torch.manual_seed(0)
    model, info = load_model(_tiny(arch, lora=True, lora_dropout=0.0))
    model.eval()  # no dropout: both losses see the same network
    ids = torch.randint(0, 500, (2, 41))
    labels = ids.clone()
    labels[0, :7] = -100
    chunked = causal_lm_loss(model, {"input_ids": ids, "labels": labels}, chunk_tokens=9)
    chunked.backward()
    grads = []
    for p in model.parameters():
        if p.requires_grad:
            assert p.grad is not None
            grads.append(p.grad.clone())
    model.zero_grad()
    full = model(input_ids=ids, labels=labels).loss
    full.backward()
    assert torch.allclose(chunked, full, atol=1e-5)
    for got, want in zip(grads, (p.grad for p in model.parameters() if p.requires_grad),
                         strict=True):
        assert want is not None and torch.allclose(got, want, atol=1e-5)
    assert 0 < info["trainable_params"] < info["total_params"]
    assert info["lora_targets"]


def test_lora_target_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="not in the model: q_proj"):
        load_model(_tiny("gpt_bigcode", lora=True, lora_targets=["q_proj", "c_fc"]))


def test_trainable_token_indices_reach_peft() -> None:
    model, _ = load_model(_tiny("starcoder2", lora=True), trainable_token_indices=[498, 499])
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("trainable_tokens" in n for n in names), names


def test_four_bit_needs_cuda_and_says_so() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        load_model(ModelRecipe(weights="/nonexistent", load_in_4bit=True))


def test_attention_choice() -> None:
    assert choose_attention("eager") == ("eager", "requested")
    impl, reason = choose_attention("auto")
    if not torch.cuda.is_available():
        assert impl == "sdpa" and "no CUDA" in reason
    with pytest.raises(ValueError):
        choose_attention("fast")


def test_memory_estimate_breakdown_and_trends() -> None:
    shape = shape_of("starcoder2-3b")
    short = estimate(shape, Setup(seq_len=2048))
    long = estimate(shape, Setup(seq_len=8192))
    plain = estimate(shape, Setup(seq_len=2048, chunked_loss=False, upcast_frozen=True,
                                  optimizer="adamw"))
    assert short["peak_allocated_gib"] < long["peak_allocated_gib"] < 6
    assert plain["parts_mib"]["logits"] > 3 * short["parts_mib"]["logits"]
    assert abs(sum(short["parts_mib"].values()) / 1024 - short["peak_allocated_gib"]) < 0.01
    # 3B parameters of which about 2.8B are in quantised linears.
    assert 2.5e9 < short["quantised_params"] < 3.2e9


def test_memory_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert memory_main(["--preset", "starcoderbase-3b", "--seq-len", "2048"]) == 0
    out = capsys.readouterr().out
    assert "peak allocated (estimate)" in out and "gpt_bigcode" in out
    assert memory_main([]) == 2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_four_bit_tiny_model_trains_on_gpu(tmp_path: object) -> None:
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    from training.model import build_config

    folder = Path(str(tmp_path)) / "tiny"
    AutoModelForCausalLM.from_config(build_config(_tiny("starcoder2"))).save_pretrained(folder)
    model, _ = load_model(ModelRecipe(weights=str(folder), load_in_4bit=True, lora=True))
    ids = torch.randint(0, 500, (1, 64), device="cuda")
    loss = causal_lm_loss(model, {"input_ids": ids, "labels": ids})
    loss.backward()
    assert torch.isfinite(loss)
