"""Exact token counting replayed: what the samples stage's TokenCounter.count costs.

    python bench/token_count.py --repo PATH [--scale micro] [--rounds 3]

Builds PATH's dataset (history and samples, in a temporary folder) with TokenCounter.count
wrapped in the process that makes `--scale`, which saves the texts of every call. Then
replays those calls in this process, each round with a fresh counter: once as the build
counts (the tokenizer encoding what its cache lacks) and once with the tokenizer stubbed
out, so that the second figure is the Python side alone (cutting texts into pieces, the
cache). Prints the median CPU seconds (`time.process_time`; the tokenizer's own threads
count, TOKENIZERS_PARALLELISM is set to false so they do not run) of each, the calls,
texts and characters, and the characters the tokenizer encoded. A change to the counter
is judged on these replays rather than on whole builds, whose time varies by more.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["TOKENIZERS_PARALLELISM"] = "false"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dataset_builder.samples as samples  # noqa: E402
from dataset_builder.cli import main as cli_main  # noqa: E402
from dataset_builder.schema import SCALES  # noqa: E402


def capture(repo: str, scale: str, work: Path) -> list[list[str]]:
    """The texts of each TokenCounter.count call made while `scale` is made."""
    calls: list[list[str]] = []
    count, run_scale = samples.TokenCounter.count, samples._run_scale
    saved = work / "calls.pkl"

    def recording(self: samples.TokenCounter, texts: list[str]) -> list[int]:
        calls.append(list(texts))
        return count(self, texts)

    def one_scale(which: str, *args: Any, **kwargs: Any) -> Any:
        calls.clear()
        result = run_scale(which, *args, **kwargs)
        if which == scale:  # in a forked scale process: the calls go through a file
            saved.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
        return result

    samples.TokenCounter.count = recording  # type: ignore[method-assign]
    samples._run_scale = one_scale  # type: ignore[assignment]
    try:
        code = cli_main(["--repo", repo, "--out", str(work / "out"), "--quiet"])
    finally:
        samples.TokenCounter.count = count  # type: ignore[method-assign]
        samples._run_scale = run_scale
    if code != 0 or not saved.exists():
        raise SystemExit(f"error: the build of {repo} failed or made no {scale} samples")
    loaded: list[list[str]] = pickle.loads(saved.read_bytes())
    return loaded


def replay(calls: list[list[str]], stub: bool) -> tuple[float, int]:
    """CPU seconds of counting every call with a fresh counter, and the characters the
    tokenizer encoded (`stub`: a stand-in that returns at once encoded them)."""
    counter = samples.TokenCounter(samples.default_tokenizer_path())
    encoded = 0
    direct = counter.count_direct

    def counted(texts: list[str]) -> list[int]:
        nonlocal encoded
        encoded += sum(map(len, texts))
        return [len(text) for text in texts] if stub else direct(texts)

    counter.count_direct = counted  # type: ignore[method-assign]
    started = time.process_time()
    for texts in calls:
        counter.count(texts)
    return time.process_time() - started, encoded


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", required=True, help="a local Rust git repository, or 'demo'")
    p.add_argument("--scale", choices=SCALES, default="micro")
    p.add_argument("--rounds", type=int, default=3, help="replays of each kind (median)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="ferric-token-count-") as tmp:
        calls = capture(args.repo, args.scale, Path(tmp))
    texts = sum(map(len, calls))
    chars = sum(len(text) for texts_of in calls for text in texts_of)
    print(f"{args.scale} of {args.repo}: {len(calls)} count() calls, {texts} texts, "
          f"{chars / 1e6:.1f} M characters")
    for stub, label in ((False, "counting, tokenizer included"),
                        (True, "counting, tokenizer stubbed (Python side)")):
        runs = [replay(calls, stub) for _ in range(args.rounds)]
        seconds = statistics.median(s for s, _ in runs)
        print(f"{label:44} {seconds:6.2f} CPU s (median of {args.rounds}); "
              f"{runs[0][1] / 1e6:.2f} M characters encoded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
