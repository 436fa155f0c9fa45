"""`python -m analysis compile-rate ...` and `python -m analysis humaneval ...`.

Examples:
    python -m analysis compile-rate --data data/demo --out reports/demo \\
        --baseline oracle --baseline todo --baseline mutate --model runs/demo/model
    python -m analysis humaneval --problems humaneval-rs.jsonl --model DIR --out reports/he
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from analysis.compile_rate import BASELINES, Row, RunConfig
from analysis.generate import GenerationConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="Score Rust candidates by whether they compile.")
    sub = parser.add_subparsers(dest="command", required=True)
    cr = sub.add_parser("compile-rate", help="cargo compile rate on held-out targets")
    cr.add_argument("--data", required=True, type=Path, help="dataset_builder output folder")
    cr.add_argument("--out", required=True, type=Path, help="report folder")
    cr.add_argument("--baseline", action="append", default=[], choices=BASELINES,
                    help="a row that needs no model (repeatable)")
    cr.add_argument("--model", action="append", default=[], type=Path,
                    help="local transformers model folder: a model row (repeatable)")
    cr.add_argument("--adapter", action="append", default=[],
                    help="PEFT adapter for the model of the same position ('-' for none)")
    cr.add_argument("--name", action="append", default=[],
                    help="row name for the model of the same position")
    cr.add_argument("--split", default="test", choices=["train", "valid", "test"])
    cr.add_argument("--scales", default=None, help="comma-separated scales (default all)")
    cr.add_argument("--limit", type=int, default=None, help="at most this many targets")
    cr.add_argument("--workers", type=int, default=None)
    cr.add_argument("--backend", default="auto", choices=["auto", "cargo", "rustc"])
    cr.add_argument("--vendor", type=Path, default=None,
                    help="a `cargo vendor` folder (default: Debian's /usr/share/cargo/registry)")
    cr.add_argument("--timeout", type=float, default=60.0, help="seconds per compiler run")
    cr.add_argument("--memory-mb", type=int, default=4096, help="memory limit per compiler run")
    _generation_args(cr)

    he = sub.add_parser("humaneval", help="MultiPL-E-style runner for HumanEval-rs JSON files")
    he.add_argument("--problems", required=True, type=Path, nargs="+",
                    help="HumanEval-rs .json/.jsonl files (name, prompt, tests[, "
                         "canonical_solution])")
    he.add_argument("--out", required=True, type=Path)
    he.add_argument("--model", type=Path, default=None)
    he.add_argument("--adapter", type=Path, default=None)
    he.add_argument("--baseline", action="append", default=[], choices=["oracle", "todo"])
    he.add_argument("--timeout", type=float, default=30.0)
    _generation_args(he)
    return parser


def _generation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, default=1, help="candidates per target (pass@k)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--max-new-tokens", type=int, default=1024)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--left-to-right", action="store_true", help="no FIM prompt")
    p.add_argument("--quiet", action="store_true")


def _gen_config(args: argparse.Namespace) -> GenerationConfig:
    if args.n > 1 and args.temperature <= 0:
        raise SystemExit("error: --n above 1 needs --temperature above 0")
    return GenerationConfig(fim=not args.left_to_right, n=args.n, temperature=args.temperature,
                            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    command = "python -m analysis " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    if args.command == "humaneval":
        from analysis.humaneval import run_humaneval

        try:
            run_humaneval(args, _gen_config(args), command)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"report: {args.out / 'report.md'}")
        return 0
    if not (args.data / "manifest.json").is_file():
        print(f"error: {args.data} is not a dataset_builder output (no manifest.json)",
              file=sys.stderr)
        return 2
    rows = [Row(name=b, baseline=b) for b in dict.fromkeys(args.baseline)]
    for i, model in enumerate(args.model):
        if not (model / "config.json").is_file():
            print(f"error: {model} is not a model folder (no config.json)", file=sys.stderr)
            return 2
        adapter = args.adapter[i] if i < len(args.adapter) and args.adapter[i] != "-" else None
        name = args.name[i] if i < len(args.name) else \
            (model.parent.name + "/" + model.name if model.name in ("model", "final") else model.name)
        rows.append(Row(name=name, model=str(model), adapter=adapter))
    if not rows:
        print("error: give at least one --baseline or --model", file=sys.stderr)
        return 2
    if args.vendor is not None and not args.vendor.is_dir():
        print(f"error: --vendor {args.vendor} is not a folder", file=sys.stderr)
        return 2
    config = RunConfig(
        data=str(args.data), out=str(args.out), rows=rows, split=args.split,
        scales=args.scales.split(",") if args.scales else None, limit=args.limit,
        backend=args.backend, registry=str(args.vendor) if args.vendor else None,
        wall_seconds=args.timeout, memory_mb=args.memory_mb, generation=_gen_config(args))
    if args.workers:
        config.workers = args.workers
    from analysis.compile_rate import run

    result = run(config, command)
    for row in result["rows"]:
        o = row["overall"]
        rate = "n/a" if o["rate"] is None else f"{o['rate']:.1%}"
        print(f"{row['name']:>24}: {o['compiled']}/{o['n']} compiled = {rate} "
              f"(95% CI {o['ci_low']:.1%}-{o['ci_high']:.1%}), degenerate {row['degenerate']}")
    failed = [k for k, v in result["sanity"].items() if not v]
    if failed:
        print("sanity FAILED: " + "; ".join(failed))
    print(f"report: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
