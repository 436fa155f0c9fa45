"""The audit notebooks, executed headless (nbclient) on demo outputs made here; any error fails."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["model.hidden_size=32", "model.num_layers=1", "model.num_heads=2", "model.num_kv_heads=1",
        "model.intermediate_size=64", "data.seq_len=128", "train.batch_size=2"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("cargo") is None,
                                 reason="the compile-rate report needs a Rust toolchain")]


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory, demo_data: Path) -> dict[str, Path]:
    from analysis.__main__ import main as analysis_main
    from tokenizer.__main__ import main as tokenizer_main
    from training.__main__ import main as train_main

    base = tmp_path_factory.mktemp("demo")
    data, tok, run, report = demo_data, base / "tok", base / "run", base / "report"
    assert tokenizer_main(["train", "--data", str(data), "--add", "512", "--out", str(tok),
                           "--quiet"]) == 0
    assert tokenizer_main(["eval", "--tokenizer", str(tok), "--data", str(data), "--quiet"]) == 0
    assert train_main(["--config", str(ROOT / "configs/training/tiny-cpu.yaml"), "--quiet",
                       f"data.data_dir={data}", f"data.tokenizer={tok}",
                       f"train.output_dir={run}", "train.max_steps=4", "train.save_steps=4",
                       "train.eval_steps=4", *TINY]) == 0
    assert analysis_main(["compile-rate", "--data", str(data), "--out", str(report),
                          "--baseline", "oracle", "--baseline", "todo", "--baseline", "mutate",
                          "--model", str(run / "model"), "--name", "tiny", "--limit", "12",
                          "--max-new-tokens", "16", "--workers", "2", "--quiet"]) == 0
    return {"data": data, "tok": tok, "run": run, "report": report, "base": base}


def _runner() -> ModuleType:  # audits/ is a folder of notebooks, not a package
    spec = importlib.util.spec_from_file_location("run_audits", ROOT / "audits" / "run_audits.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "audits").glob("0*.ipynb")))
def test_notebook_runs(notebook: str, demo_outputs: dict[str, Path]) -> None:
    out = demo_outputs["base"] / "audits"
    code = _runner().main(["--demo", str(demo_outputs["data"]), "--tokenizer",
                           str(demo_outputs["tok"]), "--run", str(demo_outputs["run"]),
                           "--compile-rate", str(demo_outputs["report"]), "--out", str(out),
                           "--only", notebook])
    assert code == 0
    assert (out / notebook).exists()
