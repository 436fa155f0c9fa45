"""No hub at run time: the CLIs turn it off, and the import-time hub attempt stays quiet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.offline import stay_offline


def test_hub_off_unless_the_caller_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    stay_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    stay_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "0"


def test_importing_peft_makes_no_hub_attempt_and_no_warning() -> None:
    """On a CPU with AVX512-BF16, bitsandbytes (imported by peft) asks the hub for a kernel
    and warns when it cannot; `make demo`'s training printed that warning."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists() or "avx512_bf16" not in cpuinfo.read_text():
        pytest.skip("this CPU has no AVX512-BF16: bitsandbytes does not reach for the hub")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    # Without stay_offline the import warns, where these versions reach for the hub at
    # all (so the check below can fail); peft 0.22 and huggingface_hub 2.5, installed by a
    # fresh `make test` on 2026-12-07, no longer do.
    bare = subprocess.run([sys.executable, "-c", "import peft"], capture_output=True,
                          text=True, env={**env, "HF_HUB_OFFLINE": "1"}, timeout=120,
                          check=True)
    if "kernels-community" not in bare.stderr:
        pytest.skip("these peft and bitsandbytes versions do not reach for the hub on import")
    code = "from training.offline import stay_offline; stay_offline(); import peft"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=True)
    assert "kernels-community" not in done.stderr, done.stderr
    assert "publisher trust" not in done.stderr, done.stderr


def test_deepspeed_is_told_cpu_where_there_is_no_accelerator() -> None:
    """transformers imports DeepSpeed when it is installed, and DeepSpeed warned that it was
    "unable to detect" an accelerator at every CPU run (`make demo`'s, --quiet too)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed")
    if torch.cuda.is_available():
        pytest.skip("an accelerator is here: DeepSpeed finds it")
    env = {k: v for k, v in os.environ.items() if k != "DS_ACCELERATOR"}
    code = ("from training.offline import deepspeed_on_cpu_when_no_accelerator as f; f(); "
            "import os; print(os.environ['DS_ACCELERATOR']); import deepspeed")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    assert done.stdout.splitlines()[0] == "cpu"
    assert "unable to detect" not in done.stdout + done.stderr, done.stdout + done.stderr
    # without it, the same import warns (so the check above can fail); a caller's value wins
    bare = subprocess.run([sys.executable, "-c", "import deepspeed"], capture_output=True,
                          text=True, env=env, timeout=300, check=True)
    assert "unable to detect" in bare.stdout + bare.stderr
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**env, "DS_ACCELERATOR": "cuda"}, timeout=300, check=False)
    assert kept.stdout.splitlines()[:1] == ["cuda"]
