"""The MultiPL-E-style runner on problems written here, in HumanEval-rs format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.__main__ import main

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None,
                                reason="no Rust toolchain (cargo, rustc) on this machine")

PROBLEMS = [
    {"name": "HumanEval_0_add", "language": "rs",
     "prompt": "/// Add two numbers.\nfn add(x: isize, y: isize) -> isize {\n",
     "tests": "\n}\n\nfn main() {\n    let candidate = add;\n"
              "    assert_eq!(candidate(2, 3), 5);\n}\n",
     "stop_tokens": ["\n}"], "canonical_solution": "    x + y"},
    {"name": "HumanEval_1_max", "language": "rs",
     "prompt": "/// The largest element.\nfn max_element(l: Vec<isize>) -> isize {\n",
     "tests": "\n}\n\nfn main() {\n    let candidate = max_element;\n"
              "    assert_eq!(candidate(vec![1, 9, 3]), 9);\n}\n",
     "stop_tokens": ["\n}"], "canonical_solution": "    *l.iter().min().unwrap()"},  # wrong
]


def test_oracle_and_todo_rows(tmp_path: Path) -> None:
    problems = tmp_path / "he.jsonl"
    problems.write_text("\n".join(json.dumps(p) for p in PROBLEMS) + "\n")
    out = tmp_path / "report"
    assert main(["humaneval", "--problems", str(problems), "--out", str(out),
                 "--baseline", "oracle", "--baseline", "todo", "--quiet"]) == 0
    rows = {r["name"]: r for r in json.loads((out / "humaneval.json").read_text())["rows"]}
    assert rows["oracle"]["compile"]["compiled"] == 2 and rows["oracle"]["pass@1"] == 0.5
    assert rows["todo"]["compile"]["compiled"] == 0
    assert rows["todo"]["problems"][0]["verdicts"][0]["failure"] == "degenerate"
    assert (out / "report.md").exists()


def test_bad_problem_file_is_one_line(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "x"}\n')
    assert main(["humaneval", "--problems", str(bad), "--out", str(tmp_path / "o"),
                 "--baseline", "todo"]) == 2
    assert "needs name, prompt and tests" in capsys.readouterr().err
    # one name twice (in a file, or across --problems files): the second was scored with the
    # first's completions
    twice = tmp_path / "twice.jsonl"
    twice.write_text("\n".join(json.dumps(p) for p in [PROBLEMS[0], PROBLEMS[0]]) + "\n")
    assert main(["humaneval", "--problems", str(twice), "--out", str(tmp_path / "o"),
                 "--baseline", "todo"]) == 2
    assert "problem 'HumanEval_0_add' appears twice in it" in capsys.readouterr().err
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(PROBLEMS[0]) + "\n")
    assert main(["humaneval", "--problems", str(one), str(one), "--out",
                 str(tmp_path / "o"), "--baseline", "todo"]) == 2
    assert "appears twice in it" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps(PROBLEMS[0]) + "\n")
    assert main(["humaneval", "--problems", str(one), str(other), "--out",
                 str(tmp_path / "o"), "--baseline", "todo"]) == 2
    assert f"also in {one}" in capsys.readouterr().err


def test_a_program_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    from analysis.sandbox import read_only_namespace_available

    if not read_only_namespace_available():
        pytest.skip("no unprivileged mount namespaces here: programs run with limits only")
    escape = tmp_path / "escaped.txt"
    problem = dict(PROBLEMS[0])
    problem["canonical_solution"] = f'    let _ = std::fs::write("{escape}", "x");\n    x + y'
    problems = tmp_path / "he.jsonl"
    problems.write_text(json.dumps(problem) + "\n")
    out = tmp_path / "report"
    assert main(["humaneval", "--problems", str(problems), "--out", str(out),
                 "--baseline", "oracle", "--quiet"]) == 0
    row = json.loads((out / "humaneval.json").read_text())["rows"][0]
    assert row["pass@1"] == 1.0 and not escape.exists()
