"""`python -m analysis compile-rate ...` and `python -m analysis humaneval ...`.

Examples:
    python -m analysis compile-rate --data data/demo --out reports/demo \\
        --baseline oracle --baseline todo --baseline mutate --model runs/demo/model
    python -m analysis humaneval --problems humaneval-rs.jsonl --model DIR --out reports/he
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from analysis.compile_rate import BASELINES, Row, RunConfig
from analysis.generate import GenerationConfig
from dataset_builder.schema import SCALES


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
    cr.add_argument("--candidates", action="append", default=[], metavar="NAME=FILE",
                    help="a row from candidates generated elsewhere (`analysis generate`)")
    cr.add_argument("--split", default="test", choices=["train", "valid", "test"])
    cr.add_argument("--scales", default=None, help="comma-separated scales (default all)")
    cr.add_argument("--limit", type=_positive_int, default=None, help="at most this many targets")
    cr.add_argument("--workers", type=_positive_int, default=None)
    cr.add_argument("--backend", default="auto", choices=["auto", "cargo", "rustc"])
    cr.add_argument("--vendor", type=Path, default=None,
                    help="a `cargo vendor` folder (default: Debian's /usr/share/cargo/registry)")
    cr.add_argument("--relax-versions", action="store_true",
                    help="dependency requirements relaxed to their semver-compatible major, so "
                         "an offline registry with older releases can satisfy them")
    cr.add_argument("--timeout", type=_positive_float, default=60.0,
                    help="seconds per compiler run")
    cr.add_argument("--memory-mb", type=_positive_int, default=4096,
                    help="memory limit per compiler run")
    _generation_args(cr)

    ex = sub.add_parser("export-targets",
                        help="write the targets as JSON lines (to generate on another machine)")
    ex.add_argument("--data", required=True, type=Path)
    ex.add_argument("--out", required=True, type=Path)
    ex.add_argument("--split", default="test", choices=["train", "valid", "test"])
    ex.add_argument("--limit", type=_positive_int, default=None)
    ge = sub.add_parser("generate", help="candidates for exported targets, as JSON lines")
    ge.add_argument("--targets", required=True, type=Path, help="from export-targets")
    ge.add_argument("--model", required=True, type=Path)
    ge.add_argument("--adapter", type=Path, default=None)
    ge.add_argument("--out", required=True, type=Path)
    _generation_args(ge)

    he = sub.add_parser("humaneval", help="MultiPL-E-style runner for HumanEval-rs JSON files")
    he.add_argument("--problems", required=True, type=Path, nargs="+",
                    help="HumanEval-rs .json/.jsonl files (name, prompt, tests[, "
                         "canonical_solution])")
    he.add_argument("--out", required=True, type=Path)
    he.add_argument("--model", type=Path, default=None)
    he.add_argument("--adapter", type=Path, default=None)
    he.add_argument("--baseline", action="append", default=[], choices=["oracle", "todo"])
    he.add_argument("--timeout", type=_positive_float, default=30.0)
    _generation_args(he)
    return parser


def _bounded(kind: type, minimum: float, above: bool) -> Any:
    """An argparse type: a number of `kind` at least `minimum` (above it, with `above`); a
    negative --limit sliced from the end, a negative --batch-size generated nothing."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}"
                                             f"number, got {text!r}") from None
        if value < minimum or (above and value == minimum):
            raise argparse.ArgumentTypeError(
                f"must be {'above' if above else 'at least'} {minimum}, got {text}")
        return value

    return parse


_positive_int = _bounded(int, 1, above=False)
_positive_float = _bounded(float, 0.0, above=True)
_non_negative_float = _bounded(float, 0.0, above=False)


def _generation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=_positive_int, default=1, help="candidates per target (pass@k)")
    p.add_argument("--temperature", type=_non_negative_float, default=0.0, help="0 = greedy")
    p.add_argument("--max-new-tokens", type=_positive_int, default=1024)
    p.add_argument("--batch-size", type=_positive_int, default=8)
    p.add_argument("--left-to-right", action="store_true", help="no FIM prompt")
    p.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")


def _gen_config(args: argparse.Namespace) -> GenerationConfig:
    if args.n > 1 and args.temperature <= 0:
        raise ValueError("--n above 1 needs --temperature above 0")
    return GenerationConfig(fim=not args.left_to_right, n=args.n, temperature=args.temperature,
                            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)


def _check_generation_settings(args: argparse.Namespace) -> None:
    """--out goes on only with the model, adapter and settings it was started with (before, a
    rerun with another model kept the old candidates and said "0 generated now")."""
    from analysis.compile_rate import fingerprint, generation_fingerprint
    from dataset_builder.atomic import atomic_write_json

    current = {"model": fingerprint(str(args.model)),
               "adapter": fingerprint(str(args.adapter) if args.adapter else None),
               "generation": generation_fingerprint(_gen_config(args))}
    settings = args.out.with_name(args.out.name + ".settings.json")
    if settings.exists() and args.out.exists() and args.out.stat().st_size:
        saved = json.loads(settings.read_text())
        changed = sorted(k for k in current if saved.get(k) != current[k])
        if changed:
            raise ValueError(f"{args.out} holds candidates from another {', '.join(changed)}: "
                             "remove it or give another --out")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings, current)


def _generate_file(args: argparse.Namespace) -> int:
    """Generate for exported targets, appending to --out (a rerun continues where it stopped)."""
    from tqdm import tqdm

    from analysis.generate import generate, load_model
    from analysis.targets import Target

    targets = []
    for number, line in enumerate(args.targets.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            targets.append(Target.from_json(json.loads(line)))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{args.targets}, line {number}: not a target written by "
                             f"`analysis export-targets` ({type(exc).__name__})") from None
    _check_generation_settings(args)
    done: set[str] = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            try:
                done.add(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError):
                continue
    todo = [t for t in targets if t.id not in done]
    model, tokenizer, device = load_model(args.model, args.adapter)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as handle, \
            tqdm(total=len(todo), desc=f"generate ({device})", unit="target",
                 disable=args.quiet) as bar:
        for target, texts in generate(model, tokenizer, device, todo, _gen_config(args)):
            handle.write(json.dumps({"id": target.id, "candidates": texts}) + "\n")
            handle.flush()
            bar.update(1)
    print(f"{len(targets)} targets, {len(todo)} generated now -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Bad input is one line on stderr and exit 2; a bug is one line and exit 1 (FERRIC_DEBUG=1
    shows the traceback). A killed or failed run resumes when started again."""
    from training.offline import stay_offline  # models load from local folders only

    stay_offline()
    try:
        return _main(argv)
    except (OSError, ValueError) as exc:
        if os.environ.get("FERRIC_DEBUG"):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("FERRIC_DEBUG"):
            raise
        from dataset_builder.children import one_line

        print(f"error: internal error: {one_line(exc)} (set "
              "FERRIC_DEBUG=1 for the traceback; re-running resumes)", file=sys.stderr)
        return 1


def _main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from training.offline import hf_progress_bars

    # --quiet: transformers' own bars too ("Loading weights" when a model row loads)
    with hf_progress_bars(not getattr(args, "quiet", False)):
        return _command(args, argv)


def _command(args: argparse.Namespace, argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    command = "python -m analysis " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    if args.command == "export-targets":
        from analysis.targets import load_targets

        targets, excluded = load_targets(args.data, args.split, None, args.limit)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as handle:
            for t in targets:
                handle.write(json.dumps(t.to_json()) + "\n")
        print(f"{len(targets)} targets -> {args.out} (excluded before checking: {dict(excluded)})")
        return 0
    if args.command == "generate":
        if not args.targets.is_file():
            raise ValueError(f"--targets {args.targets}: not a file (make it with export-targets)")
        if not (args.model / "config.json").is_file():
            raise ValueError(f"--model {args.model}: not a model folder (no config.json)")
        return _generate_file(args)
    if args.command == "humaneval":
        from analysis.humaneval import run_humaneval

        if args.model is not None and not (args.model / "config.json").is_file():
            raise ValueError(f"--model {args.model}: not a model folder (no config.json)")
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
    if len(args.adapter) > len(args.model) or len(args.name) > len(args.model):
        # each pairs with the --model of the same position; an extra one was ignored
        print(f"error: {len(args.adapter)} --adapter and {len(args.name)} --name for "
              f"{len(args.model)} --model: give at most one of each per --model "
              "('-' for no adapter)", file=sys.stderr)
        return 2
    for i, model in enumerate(args.model):
        if not (model / "config.json").is_file():
            print(f"error: {model} is not a model folder (no config.json)", file=sys.stderr)
            return 2
        adapter = args.adapter[i] if i < len(args.adapter) and args.adapter[i] != "-" else None
        default_name = (model.parent.name + "/" + model.name
                        if model.name in ("model", "final") else model.name)
        name = args.name[i] if i < len(args.name) else default_name
        rows.append(Row(name=name, model=str(model), adapter=adapter))
    for spec in args.candidates:
        name, sep, file = spec.partition("=")
        if not sep or not name or not Path(file).is_file():
            print(f"error: --candidates {spec}: expected NAME=FILE with an existing file",
                  file=sys.stderr)
            return 2
        rows.append(Row(name=name, candidates_file=file))
    if not rows:
        print("error: give at least one --baseline or --model", file=sys.stderr)
        return 2
    names = [row.name for row in rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # rows share their saved work by name: one would show the other's results
        print(f"error: two rows named {', '.join(twice)}: give each its own name "
              "(--name, or NAME= of --candidates)", file=sys.stderr)
        return 2
    scales = args.scales.split(",") if args.scales else None
    unknown = sorted(set(scales or ()) - set(SCALES))
    if unknown:
        print(f"error: --scales: unknown {', '.join(unknown)} (known: {', '.join(SCALES)})",
              file=sys.stderr)
        return 2
    if args.vendor is not None and not args.vendor.is_dir():
        print(f"error: --vendor {args.vendor} is not a folder", file=sys.stderr)
        return 2
    config = RunConfig(
        data=str(args.data), out=str(args.out), rows=rows, split=args.split,
        scales=scales, limit=args.limit,
        backend=args.backend, registry=str(args.vendor) if args.vendor else None,
        relax_versions=args.relax_versions,
        wall_seconds=args.timeout, memory_mb=args.memory_mb, generation=_gen_config(args))
    if args.workers:
        config.workers = args.workers
    from analysis.compile_rate import run

    result = run(config, command, progress=not args.quiet)
    for row in result["rows"]:
        o = row["overall"]
        rate = "n/a" if o["rate"] is None else f"{o['rate']:.1%}"
        interval = "" if not o["n"] else f" (95% CI {o['ci_low']:.1%}-{o['ci_high']:.1%})"
        print(f"{row['name']:>24}: {o['compiled']}/{o['n']} compiled = {rate}{interval}, "
              f"degenerate {row['degenerate']}")
    failed = [k for k, v in result["sanity"].items() if not v]
    if failed:
        print("sanity FAILED: " + "; ".join(failed))
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"report: {args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
