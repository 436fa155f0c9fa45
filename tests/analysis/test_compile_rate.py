"""compile-rate end to end on the demo dataset: baselines, a tiny model row, resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.__main__ import main
from analysis.report import pass_at_k, wilson

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None,
                                reason="no Rust toolchain (cargo, rustc) on this machine")

SHARED_TOKENIZER = Path(__file__).resolve().parents[3] / "shared" / "tokenizers" / "starcoder2"


def test_wilson_and_pass_at_k() -> None:
    low, high = wilson(63, 63)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.9426, abs=1e-3)
    low, high = wilson(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-3)
    assert wilson(0, 0) == (0.0, 0.0)
    assert pass_at_k(10, 0, 1) == 0.0 and pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, Starcoder2Config, Starcoder2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(SHARED_TOKENIZER))
    config = Starcoder2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                              num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                              max_position_embeddings=512, bos_token_id=0, eos_token_id=0)
    out = tmp_path_factory.mktemp("model") / "tiny"
    Starcoder2ForCausalLM(config).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def test_baselines_and_model_row(demo_data: Path, tiny_model: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    args = ["compile-rate", "--data", str(demo_data), "--out", str(out), "--baseline", "oracle",
            "--baseline", "todo", "--baseline", "mutate", "--model", str(tiny_model),
            "--name", "tiny", "--limit", "14", "--workers", "2", "--max-new-tokens", "24",
            "--quiet"]
    assert main(args) == 0
    bars = capsys.readouterr().err
    assert "prepare + baselines" not in bars and "generate tiny" not in bars  # --quiet
    assert "Loading weights" not in bars  # transformers' own bar, as the model row loads
    result = json.loads((out / "compile_rate.json").read_text())
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"oracle", "todo", "mutate", "tiny"}
    included = result["targets"]["included"]
    assert included >= 10 and result["targets"]["total"] == 14
    assert rows["oracle"]["overall"]["rate"] == 1.0
    assert rows["todo"]["overall"]["compiled"] == 0 and rows["todo"]["degenerate"] > 0
    assert rows["mutate"]["overall"]["rate"] < 0.9
    assert rows["tiny"]["overall"]["n"] == included
    for row in rows.values():
        assert set(row["buckets"]) == {"5-50", "51-100", "101-500", "501-1000", "1000+"}
        assert sum(c["n"] for c in row["buckets"].values()) == row["overall"]["n"]
        overall = row["overall"]
        assert overall["ci_low"] <= (overall["rate"] or 0) <= overall["ci_high"]
    assert all(result["sanity"].values()), result["sanity"]
    for name in ("report.md", "rate_by_bucket.png", "error_codes.png"):
        assert (out / name).exists()
    # resume: a second run checks nothing again and gives the same report
    verdicts = (out / "verdicts.jsonl").read_text()
    assert main(args) == 0
    assert (out / "verdicts.jsonl").read_text() == verdicts
    assert json.loads((out / "compile_rate.json").read_text())["rows"] == result["rows"]
    # ... but not the saved work of another model under the row's name, or other limits
    import shutil

    from safetensors.torch import load_file, save_file

    other = tmp_path / "other-model"
    shutil.copytree(tiny_model, other)
    weights = load_file(str(other / "model.safetensors"))
    save_file({k: v + 0.01 for k, v in weights.items()}, str(other / "model.safetensors"),
              metadata={"format": "pt"})
    capsys.readouterr()
    assert main([*args[:args.index("--model") + 1], str(other), *args[args.index("--name"):]]
                ) == 2
    assert "holds row 'tiny' from another model" in capsys.readouterr().err
    assert main([*args, "--timeout", "7"]) == 2
    assert "another wall_seconds" in capsys.readouterr().err
    assert (out / "verdicts.jsonl").read_text() == verdicts


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile-rate", "--data", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--baseline", "oracle"]) == 2
    assert "not a dataset_builder output" in capsys.readouterr().err


def test_limits_too_small_are_an_error_or_a_warning(
        demo_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits in which rustc compiles nothing are an error before any target; targets whose
    originals meet the limits are counted apart and named in a warning (they used to read as
    targets that do not build)."""
    args = ["compile-rate", "--data", str(demo_data), "--baseline", "oracle", "--limit", "3",
            "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a"), "--memory-mb", "64"]) == 2
    assert "cannot compile an empty library" in capsys.readouterr().err
    import analysis.compile_rate

    monkeypatch.setattr(analysis.compile_rate, "limits_problem", lambda limits, rustc: None)
    assert main([*args, "--out", str(tmp_path / "b"), "--timeout", "0.001"]) == 0
    err = capsys.readouterr().err
    assert "warning: 3 targets excluded because compiling them as they are met the limits " \
           "(3 timeout): raise --timeout (0.001 s)" in err, err
    result = json.loads((tmp_path / "b" / "compile_rate.json").read_text())
    assert result["excluded"] == {"original_over_limit": 3} and result["warnings"]
    assert "**Warning:** 3 targets excluded" in (tmp_path / "b" / "report.md").read_text()


def test_more_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--targets", str(tmp_path / "none.jsonl"), "--model",
                 str(tmp_path), "--out", str(tmp_path / "g.jsonl")]) == 2
    assert "not a file" in capsys.readouterr().err
    assert main(["humaneval", "--problems", str(tmp_path / "none.jsonl"), "--out",
                 str(tmp_path / "o"), "--baseline", "todo"]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_bad_candidates_duplicate_rows_and_changed_generation_are_errors(
        demo_data: Path, tiny_model: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Each of these was silently wrong: a broken line dropped (its target scored a failure),
    a string of candidates iterated by character, two rows of one name merged, and a
    generation rerun with another model keeping the old candidates."""
    targets = tmp_path / "targets.jsonl"
    assert main(["export-targets", "--data", str(demo_data), "--out", str(targets),
                 "--limit", "2"]) == 0
    ids = [json.loads(line)["id"] for line in targets.read_text().splitlines()]
    base = ["compile-rate", "--data", str(demo_data), "--limit", "2", "--quiet"]
    for bad, why in [("{,", "line 2: not JSON"),
                     (json.dumps({"id": ids[1], "candidates": "fn x() {}"}), "line 2: expected")]:
        cands = tmp_path / "c.jsonl"
        cands.write_text(json.dumps({"id": ids[0], "candidates": ["fn x() {}"]}) + "\n" + bad)
        capsys.readouterr()
        assert main([*base, "--out", str(tmp_path / "r1"), "--candidates", f"g={cands}"]) == 2
        assert why in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "r2"), "--baseline", "oracle",
                 "--candidates", f"oracle={cands}"]) == 2
    assert "two rows named oracle" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "r2"), "--baseline", "oracle",
                 "--adapter", str(tmp_path)]) == 2  # an adapter with no model was ignored
    assert "give at most one of each per --model" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: exit 2
        main([*base, "--out", str(tmp_path / "r3"), "--baseline", "oracle", "--limit", "-1"])
    gen = tmp_path / "gen.jsonl"
    first = ["generate", "--targets", str(targets), "--model", str(tiny_model), "--out",
             str(gen), "--max-new-tokens", "4", "--quiet"]
    assert main(first) == 0
    capsys.readouterr()
    assert main([*first, "--left-to-right"]) == 2
    assert "holds candidates from another generation" in capsys.readouterr().err
    assert main([*first, "--batch-size", "2"]) == 0  # a smaller batch may go on

