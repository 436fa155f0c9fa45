"""External anchor: a MultiPL-E-style runner for HumanEval-rs problems the user supplies.

Each problem (a .jsonl line or an element of a .json list) has `name`, `prompt` (signature and
doc comment, the body open), `tests` (MultiPL-E's text that closes the function and adds
`fn main` with assertions) and optionally `canonical_solution` (for the oracle row) and
`stop_tokens`. Program = prompt + completion + tests, compiled with `rustc --edition 2021`
in the sandbox, then run in the sandbox: compile rate and pass@k, with Wilson intervals.
No problem set ships with ferric (none can be downloaded here).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path
from typing import Any

from analysis import candidates as cands
from analysis.checker import toolchain
from analysis.generate import GenerationConfig
from analysis.report import cell, pass_at_k
from analysis.sandbox import Limits, run_sandboxed, sandbox_env
from dataset_builder.atomic import atomic_write_json, atomic_write_text

DEFAULT_STOPS = ["\n}", "\nfn ", "\n#[", "\n///", "\n//", "\nstruct ", "\nimpl "]


def load_problems(paths: list[Path]) -> list[dict[str, Any]]:
    """The problems of every file, in order. Names must be unique: rows keep their
    completions by name, so a second problem of one name would be scored with the first's."""
    problems: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise ValueError(f"{path} is not a file")
        text = path.read_text(encoding="utf-8")
        try:
            items = json.loads(text) if text.lstrip().startswith("[") else \
                [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON or JSON lines ({exc.msg}, line {exc.lineno})") \
                from None
        for item in items:
            if not isinstance(item, dict) or not {"name", "prompt", "tests"} <= set(item):
                raise ValueError(f"{path}: every problem needs name, prompt and tests")
            name = str(item["name"])
            if name in seen:
                where = "twice in it" if seen[name] == path else f"also in {seen[name]}"
                raise ValueError(f"{path}: problem {name!r} appears {where}: names must be "
                                 "unique")
            seen[name] = path
            problems.append(item)
    return problems


def _cut(completion: str, stops: list[str]) -> str:
    at = min((completion.find(s) for s in stops if s in completion), default=len(completion))
    return completion[:at]


def _complete(problems: list[dict[str, Any]], model_dir: Path, adapter: Path | None,
              config: GenerationConfig) -> dict[str, list[str]]:
    import torch

    from analysis.generate import load_model

    model, tokenizer, device = load_model(model_dir, adapter)
    torch.manual_seed(config.seed)
    out: dict[str, list[str]] = {}
    for start in range(0, len(problems), config.batch_size):
        batch = problems[start:start + config.batch_size]
        enc = tokenizer([p["prompt"] for p in batch], return_tensors="pt", padding=True,
                        add_special_tokens=False).to(device)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p}
            if config.temperature > 0 else {"do_sample": False})
        with torch.no_grad():
            gen = model.generate(**enc, max_new_tokens=min(config.max_new_tokens, 512),
                                 num_return_sequences=config.n,
                                 pad_token_id=tokenizer.pad_token_id, **sampling)
        width = enc["input_ids"].shape[1]
        for i, problem in enumerate(batch):
            stops = list(problem.get("stop_tokens") or DEFAULT_STOPS)
            out[problem["name"]] = [
                _cut(tokenizer.decode(gen[i * config.n + k, width:], skip_special_tokens=True),
                     stops) for k in range(config.n)]
    return out


def evaluate(problem: dict[str, Any], completion: str, timeout: float) -> dict[str, Any]:
    """Compile prompt + completion + tests; run it if it compiled."""
    function = problem["prompt"] + completion + "\n}\n"
    if cands.degenerate(function[function.find("fn "):] if "fn " in function else function):
        return {"compiled": False, "passed": False, "failure": "degenerate"}
    program = problem["prompt"] + completion + problem["tests"]
    limits = Limits(wall_seconds=timeout, memory_bytes=2 << 30)
    with tempfile.TemporaryDirectory(prefix="ferric-he-") as tmp:
        work = Path(tmp)
        (work / "main.rs").write_text(program)
        built = run_sandboxed([toolchain()["rustc"], "--edition", "2021", "-C", "opt-level=0",
                               "-o", "main", "main.rs"], work, limits, sandbox_env())
        if built.returncode != 0:
            codes = sorted(set(re.findall(rb"error\[(E\d{4})\]", built.stderr)))
            return {"compiled": False, "passed": False, "failure": built.killed_by or
                    "compile_error", "codes": [c.decode() for c in codes]}
        # the program runs with the whole file system read-only except its own folder
        ran = run_sandboxed([str(work / "main")], work, limits, sandbox_env(),
                            writable_only=work)
    return {"compiled": True, "passed": ran.returncode == 0,
            "failure": "" if ran.returncode == 0 else (ran.killed_by or "test_failed")}


def run_humaneval(args: argparse.Namespace, config: GenerationConfig, command: str) -> None:
    problems = load_problems(args.problems)
    rows: dict[str, dict[str, list[str]]] = {}
    for baseline in dict.fromkeys(args.baseline):
        if baseline == "oracle":
            missing = [p["name"] for p in problems if "canonical_solution" not in p]
            if missing:
                raise ValueError(f"oracle row needs canonical_solution ({len(missing)} lack it)")
            rows["oracle"] = {p["name"]: [p["canonical_solution"]] for p in problems}
        else:
            rows["todo"] = {p["name"]: ["    todo!()"] for p in problems}
    if args.model is not None:
        rows[args.model.name] = _complete(problems, args.model, args.adapter, config)
    if not rows:
        raise ValueError("give --model or --baseline")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for name, completions in rows.items():
        per_problem = []
        for problem in problems:
            verdicts = [evaluate(problem, c, args.timeout) for c in completions[problem["name"]]]
            per_problem.append({"name": problem["name"], "verdicts": verdicts})
        n_total = sum(len(p["verdicts"]) for p in per_problem)
        compiled = sum(v["compiled"] for p in per_problem for v in p["verdicts"])
        passed = sum(v["passed"] for p in per_problem for v in p["verdicts"])
        k_max = max(len(p["verdicts"]) for p in per_problem)
        row: dict[str, Any] = {"name": name, "compile": cell(compiled, n_total),
                               "pass": cell(passed, n_total), "problems": per_problem}
        for k in (1, 5, 10):
            if k <= k_max:
                row[f"pass@{k}"] = sum(pass_at_k(len(p["verdicts"]), sum(
                    v["passed"] for v in p["verdicts"]), k) for p in per_problem) / len(per_problem)
        results.append(row)
    atomic_write_json(out / "humaneval.json", {"command": command, "rows": results})
    lines = ["# HumanEval-rs (MultiPL-E style)", "", f"Reproduce: `{command}`", "",
             f"{len(problems)} problems; compiler `{toolchain()['version']}`.", "",
             "| row | compiled | compile rate (95% CI) | pass@1 |", "|---|---|---|---|"]
    for row in results:
        c = row["compile"]
        lines.append(f"| {row['name']} | {c['compiled']}/{c['n']} | {c['rate']:.1%} "
                     f"({c['ci_low']:.1%}–{c['ci_high']:.1%}) | {row['pass@1']:.3f} |")
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
