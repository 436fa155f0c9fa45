"""`python -m dataset_builder --repo PATH --out DIR`: mine a Rust repository's git history."""

from __future__ import annotations

import argparse
import datetime
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from dataset_builder.atomic import STALE_TEMPORARY, OutputBusy, output_lock
from dataset_builder.build import RENAMES_OFF, BuildResult, build_dataset
from dataset_builder.cargo_manifest import DEBIAN_REGISTRY
from dataset_builder.children import Terminated, one_line
from dataset_builder.config import MineConfig
from dataset_builder.gitio import RepoError, check_date, open_repo, repo_name
from dataset_builder.report import empty_splits_note
from dataset_builder.samples import SampleConfig
from dataset_builder.schema import SPLITS

if TYPE_CHECKING:
    from rich.console import Console

DEMO = "demo"


def _console() -> Console:
    """rich's console on stderr, imported when something is printed (a tenth of a second
    that a --quiet build with nothing to say does not spend)."""
    from rich.console import Console

    return Console(stderr=True)


def default_demo_dir() -> Path:
    cache = os.environ.get("FERRIC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ferric")
    return Path(cache) / "demo-repo"


def _integer(text: str, least: int) -> int:
    # ArgumentTypeError, not ValueError: argparse would name this function in its message.
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"expected an integer >= {least}, got {text!r}")
    return value


def _positive(text: str) -> int:
    return _integer(text, 1)


def _non_negative(text: str) -> int:
    return _integer(text, 0)


class _OneLineErrors(argparse.ArgumentParser):
    """A bad option is one line (argparse printed its 17-line usage above the error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see python -m dataset_builder --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _OneLineErrors(
        prog="python -m dataset_builder",
        description="Mine a Rust repository's git history into commits, item versions, module "
                    "graphs and a commit dependency DAG.")
    p.add_argument("--repo", action="append", default=[],
                   help="path of a git repository (working tree or bare), or 'demo' for the "
                        "embedded demo repository; repeat it for several repositories")
    p.add_argument("--repos-file", type=Path, default=None,
                   help="a file with one repository path per line (# comments allowed)")
    p.add_argument("--holdout-repo", action="append", default=[],
                   help="with several repositories: this one's samples all go to the test "
                        "split (a split by whole repository); its label or its path as given "
                        "to --repo; repeatable")
    p.add_argument("--out", help="output folder (default: data/<repository name>)")
    p.add_argument("--rev", default="HEAD", help="mine the commits reachable from this revision")
    p.add_argument("--since", help="only commits newer than this date (git log --since)")
    p.add_argument("--until", help="only commits older than this date (git log --until)")
    p.add_argument("--max-commits", type=_positive, help="keep the oldest N selected commits")
    p.add_argument("--snapshot-every", type=_non_negative, default=None,
                   help="snapshots (module graphs; medium/large/full samples) at the last "
                        "commit and every N-th, and for the samples at the newest commit of "
                        "a split that has none of them (0: last only; default: about ten, at "
                        "most every 100 commits)")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="do not mine paths matching this fnmatch pattern, or below a folder "
                        "matching it (`*` also matches `/`), e.g. 'benches/vendored-*'; "
                        "repeatable")
    p.add_argument("--max-file-bytes", type=_positive, default=MineConfig.max_file_bytes,
                   help="skip larger .rs files as too_large")
    p.add_argument("--chunk-commits", type=_positive, default=256,
                   help="commits per checkpoint (a killed run resumes from the last one)")
    p.add_argument("--workers", type=_non_negative, default=None,
                   help="parse worker processes (default: one per CPU, at most 4; 0: none)")
    p.add_argument("--demo-dir", type=Path, default=None,
                   help="where --repo demo is materialised (default: ~/.cache/ferric/demo-repo)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary table")
    g = p.add_argument_group("samples (part 2)")
    g.add_argument("--no-samples", action="store_true",
                   help="mine the history only; write no training samples")
    g.add_argument("--type-facts", choices=("header", "inline", "none"), default="header",
                   help="how type facts are rendered in samples (default: header)")
    g.add_argument("--budgets", type=_budgets, default=(2048, 8192, 16384, 32768, 32768),
                   help="token budgets micro,small,medium,large,full "
                        "(default 2048,8192,16384,32768,32768)")
    g.add_argument("--test-fraction", type=_fraction, default=0.1,
                   help="the newest commits holding this fraction of the item changes "
                        "are the test split")
    g.add_argument("--valid-fraction", type=_fraction, default=0.1,
                   help="the next-newest commits holding this fraction: the valid split")
    g.add_argument("--rustdoc", choices=("head", "snapshots", "none"), default="head",
                   help="snapshots at which nightly rustdoc JSON gives resolved types")
    g.add_argument("--rustdoc-max-crates", type=_non_negative,
                   default=SampleConfig.rustdoc_max_crates, metavar="N",
                   help="crates rustdoc documents per snapshot at most: those with a "
                        "src/lib.rs first, then the most Rust files (default %(default)s; 0: all)")
    g.add_argument("--vendor", type=Path, default=None, metavar="DIR",
                   help="offline crates for rustdoc when a crate's own manifests do not "
                        "resolve offline: a `cargo vendor` folder (default: Debian's "
                        "/usr/share/cargo/registry where it exists)")
    g.add_argument("--near-threshold", type=_similarity, default=0.7,
                   help="Jaccard similarity of near-duplicate targets (MinHash LSH)")
    g.add_argument("--earliest-commit", type=_day, default=SampleConfig.earliest_commit,
                   metavar="DAY",
                   help="drop samples of commits made before this day (default %(default)s, "
                        "Rust 1.0; '' keeps all)")
    return p


def _day(text: str) -> str:
    """An ISO date (YYYY-MM-DD), or '' for none."""
    if text:
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text}") from None
    return text


def _budgets(text: str) -> tuple[int, int, int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 5 integers, got {text}") from None
    if len(values) != 5 or min(values) < 64:
        raise argparse.ArgumentTypeError(f"expected 5 integers >= 64, got {text}")
    return values[0], values[1], values[2], values[3], values[4]


def _number(text: str, zero_allowed: bool) -> float:
    """A number in [0, 1) (or (0, 1)); ArgumentTypeError, not ValueError, so that argparse
    says what is expected rather than naming this function."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0 <= value < 1 if zero_allowed else 0 < value < 1):
        interval = "[0, 1)" if zero_allowed else "(0, 1)"
        raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
    return value


def _fraction(text: str) -> float:
    return _number(text, zero_allowed=True)


def _similarity(text: str) -> float:
    """A Jaccard threshold: 0 would make every pair of targets near-duplicates."""
    return _number(text, zero_allowed=False)


def _summary(result: BuildResult, console: Console) -> None:
    from rich.table import Table

    m = result.manifest
    counts = m["counts"]
    table = Table(title=f"dataset_builder: {m['repo']['label']} -> {result.out}")
    table.add_column("what")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("commits (merges)", f"{counts['commits']} ({counts['merges']})"),
        (".rs file changes", counts["rs_file_changes"]),
        ("item versions", counts["item_rows"]),
        ("item lineages", counts["lineages"]),
        ("file versions with parse errors", counts["file_versions_with_parse_errors"]),
        ("skipped .rs versions", sum(m["skips"].values())),
        ("DAG nodes / edges", f"{m['dag']['nodes']} / {m['dag']['edges']}"),
        ("DAG longest path", m["dag"]["longest_path"]),
        ("modules (last snapshot)", m["module_graph"]["nodes"]),
        ("elapsed s", m["elapsed_seconds"]),
    ]
    for reason, count in m["skips"].items():
        rows.append((f"  skipped: {reason}", count))
    scales = m.get("samples", {}).get("scales", {})
    for scale, st in scales.items():
        rows.append((f"samples {scale} (kept / produced)", f"{st['kept']} / {st['produced']}"))
    split_rows = {split: sum(st["splits"].get(split, 0) for st in scales.values())
                  for split in SPLITS}
    if scales:
        rows.append(("samples train / valid / test", " / ".join(map(str, split_rows.values()))))
    rustdoc = m.get("samples", {}).get("rustdoc", {})
    if rustdoc.get("runs"):
        documented = sum(run["result"] == "ok" for run in rustdoc["runs"])
        rows.append(("rustdoc crates documented / run",
                     f"{documented} / {len(rustdoc['runs'])}"))
        rows.append(("rustdoc functions resolved",
                     rustdoc.get("functions_with_resolved_signature", 0)))
        if rustdoc.get("missing_crates"):
            rows.append(("  offline registry lacks",
                         ", ".join(list(rustdoc["missing_crates"])[:5])))
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)
    if scales and (note := empty_splits_note(split_rows)):
        console.print(f"[yellow]{note}[/]", markup=True, highlight=False)
    failed = [k for k, ok in m["sanity"].items() if not ok]
    if failed:
        console.print(f"[bold red]sanity checks failed:[/] {', '.join(failed)}")


def _sample_config(args: argparse.Namespace) -> SampleConfig | None:
    if args.no_samples:
        return None
    registry = args.vendor or (DEBIAN_REGISTRY if DEBIAN_REGISTRY.is_dir() else None)
    return SampleConfig(
        type_facts=args.type_facts, budgets=args.budgets, test_fraction=args.test_fraction,
        valid_fraction=args.valid_fraction, rustdoc=args.rustdoc,
        rustdoc_max_crates=args.rustdoc_max_crates,
        rustdoc_registry=str(registry.resolve()) if registry else None,
        near_threshold=args.near_threshold, split_snapshots=args.snapshot_every != 0,
        earliest_commit=args.earliest_commit)


# What a build writes into OUT: its outputs, and the work of an unfinished run (checkpoints,
# staged samples, cached rustdoc JSON, an atomic write's temporary file `.<name>.*.tmp`).
_BUILD_ENTRIES = frozenset({
    "commits.parquet", "files.parquet", "items.parquet", "modules.parquet", "dag.graphml",
    "module_graph.graphml", "report.md", "history.png", "samples", "samples.png",
    "type_tokens.json", "manifest.json", "repos", ".rustdoc-cache", RENAMES_OFF})
_BUILD_PREFIXES = (".work-", ".samples-", *(f".{name}." for name in _BUILD_ENTRIES))


def output_kind(out: Path) -> str | None:
    """What OUT holds: "empty" (or missing), "single" or "several" (a build of one or of
    several repositories: its manifest, or the checkpoints of a first run killed before it),
    or None (files that are no build's: a build would overwrite or delete them)."""
    try:
        entries = list(out.iterdir()) if out.is_dir() else []
    except OSError:
        return None
    if not entries:
        return "empty"
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        manifest = None
    if isinstance(manifest, dict) and manifest.get("stage") == "dataset_builder":
        return "several" if "multi_repo" in manifest else "single"
    if (out / "manifest.json").exists():
        return None  # another tool's
    # No manifest: a first run killed before it, or outputs partly removed by hand. Every
    # entry must then be one a build writes (a user's file beside them is not), and one at
    # least a build's own (not just a `samples` folder and a `report.md`).
    names = [e.name for e in entries]
    if all(n in _BUILD_ENTRIES or n.startswith(_BUILD_PREFIXES) for n in names) and any(
            n.endswith((".parquet", ".graphml")) or n.startswith((".work-", ".samples-"))
            or n in ("repos", RENAMES_OFF) or STALE_TEMPORARY.match(n) for n in names):
        return "several" if "repos" in names else "single"
    return None


def check_output(out: Path, several: bool, repo: Path | None = None) -> None:
    """Raise OutputBusy (a one-line error) when OUT holds files that are no build's (the
    build deleted or overwrote them: a user's notes, the repository's own work tree), a
    build of the other kind (whose files would be left beside this one's), or, given the
    `repo` about to be built, a build of another repository: the default OUT is named after
    the repository's folder, and two of one name (mirrors kept as OWNER+NAME/repo, before
    they were named after OWNER+NAME; forks) went to the same one, the second build
    replacing the first."""
    kind = output_kind(out)
    if repo is not None and kind == "single":
        held = _built_repository(out)
        if held is not None and os.path.realpath(held) != os.path.realpath(repo):
            raise OutputBusy(f"--out {out} holds the build of another repository ({held}): "
                             "give another --out, or remove that folder to replace it")
    if kind is None:
        names = sorted(e.name for e in out.iterdir())
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise OutputBusy(f"--out {out} holds files that are not a dataset_builder output "
                         f"({shown}): give a new or empty folder")
    if kind in ("single", "several") and (kind == "several") != several:
        held, given = ("one repository", "several") if kind == "single" else \
            ("several repositories", "one")
        raise OutputBusy(f"--out {out} holds the build of {held}; a build of {given} goes to "
                         "a folder of its own (or remove that one)")


def _built_repository(out: Path) -> str | None:
    """The path of the repository whose build OUT holds, as its manifest names it."""
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        path = manifest["repo"]["path"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if isinstance(path, str) else None


COMBINED_OUT = "data/combined"  # --out of a build of several repositories, by default


def _many(args: argparse.Namespace, repos: list[str]) -> int:
    """Several repositories: built in parallel into OUT/repos/<label>, then combined."""
    from dataset_builder.multi import build_many

    paths, names = [], {}
    for repo in repos:
        if repo == DEMO and not Path(DEMO).exists():
            from dataset_builder.demo import materialise

            repo = str(materialise(args.demo_dir or default_demo_dir()))
            names[repo] = DEMO
        paths.append(repo)
    out = Path(args.out or COMBINED_OUT)
    workers = args.workers if args.workers else (os.cpu_count() or 1)
    config = {"rev": args.rev, "since": args.since, "until": args.until,
              "max_commits": args.max_commits, "snapshot_every": args.snapshot_every,
              "max_file_bytes": args.max_file_bytes, "chunk_commits": args.chunk_commits,
              "exclude": tuple(args.exclude),
              # parse workers inside each repository's build: the repositories share the CPUs
              "workers": max(0, workers // max(1, min(workers, len(paths))) - 1)}
    check_output(out, several=True)
    with output_lock(out):
        manifest, up_to_date = build_many(paths, out, config, _sample_config(args),
                                          args.holdout_repo, workers,
                                          progress=not args.quiet, names=names)
    if up_to_date:
        print(f"{out}: up to date (config hash {manifest['config_hash']})", file=sys.stderr)
    elif not args.quiet:
        _console().print((out / "report.md").read_text())
    failed = [k for k, ok in manifest["sanity"].items() if not ok]
    if failed:
        _console().print(f"[bold red]sanity checks failed:[/] {', '.join(failed)}")
    return 0


def _os_error_line(exc: OSError, out: str | None) -> str:
    """An OSError in one line. A full disk names the output folder (pyarrow's write errors
    name no file) and says that the run resumes: every write is atomic."""
    text = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    if exc.errno == errno.ENOSPC or "No space left on device" in str(exc):
        where = f" writing under {out}" if out else ""
        return (f"error: no space left on device{where}: free some space, then run the same "
                "command again to resume")
    return f"error: {text}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out_path: str | None = args.out  # for a message when the disk is full
    try:
        repos = list(args.repo)
        if args.repos_file is not None:
            from dataset_builder.multi import read_repos_file

            repos += read_repos_file(args.repos_file)
        if not repos:
            print("error: give --repo PATH (or --repos-file FILE)", file=sys.stderr)
            return 2
        for option, value in (("--since", args.since), ("--until", args.until)):
            if value is not None:
                check_date(option, value)
        if not args.no_samples and args.test_fraction + args.valid_fraction >= 1:
            print(f"error: --test-fraction {args.test_fraction} and --valid-fraction "
                  f"{args.valid_fraction} leave nothing for train (their sum must be < 1)",
                  file=sys.stderr)
            return 2
        if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
            print(f"error: --out {args.out}: is a file, not a folder", file=sys.stderr)
            return 2
        if not args.no_samples:
            # Found now, not after the history (minutes on a long one).
            from dataset_builder.samples import default_tokenizer_path, tokenizer_json

            try:
                tokenizer_json(default_tokenizer_path())
            except FileNotFoundError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        most = max(4, os.cpu_count() or 1)
        if args.workers is not None and args.workers > most:
            # 1,000 parse workers on 2 cores took ten times as long as 2.
            print(f"warning: --workers {args.workers} is more than this machine can use: "
                  f"{most}", file=sys.stderr)
            args.workers = most
        if args.vendor is not None and not args.vendor.is_dir():
            print(f"error: --vendor {args.vendor} is not a folder", file=sys.stderr)
            return 2
        if len(repos) > 1:
            out_path = args.out or COMBINED_OUT
            return _many(args, repos)
        if args.holdout_repo:
            print("error: --holdout-repo needs several repositories", file=sys.stderr)
            return 2
        label = None
        repo_path = repos[0]
        if repo_path == DEMO and not Path(DEMO).exists():
            from dataset_builder.demo import materialise

            repo_path = str(materialise(args.demo_dir or default_demo_dir()))
            label = DEMO
        info = open_repo(repo_path, args.rev)
        label = label or repo_name(repo_path)
        out = out_path = args.out or str(Path("data") / label)
        config = MineConfig(repo=str(info.path), out=out, rev=args.rev, since=args.since,
                            until=args.until, max_commits=args.max_commits,
                            snapshot_every=args.snapshot_every,
                            exclude=tuple(args.exclude), max_file_bytes=args.max_file_bytes,
                            chunk_commits=args.chunk_commits,
                            **({"workers": args.workers} if args.workers is not None else {}))
        sample_config = _sample_config(args)
        check_output(Path(out), several=False, repo=info.path)
        with output_lock(Path(out)):
            result = build_dataset(config, info, progress=not args.quiet, repo_label=label,
                                   sample_config=sample_config)
    except (RepoError, OutputBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        detail = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
        print(f"error: git failed: {detail[-1] if detail else exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(_os_error_line(exc, out_path), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        stopped = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{stopped}: run the same command again to resume", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except Exception as exc:  # a bug, not bad input: still one line unless asked for more
        if os.environ.get("FERRIC_DEBUG"):
            raise
        print(f"error: internal error: {one_line(exc)} "
              "(set FERRIC_DEBUG=1 for the traceback; re-running resumes)", file=sys.stderr)
        return 1
    if result.up_to_date:
        print(f"{result.out}: up to date (config hash {result.manifest['config_hash']})",
              file=sys.stderr)
    elif not args.quiet:
        _summary(result, _console())
    return 0
