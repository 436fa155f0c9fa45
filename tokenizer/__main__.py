"""`python -m tokenizer train|eval`: Rust tokens for StarCoder2, and what they save.

    python -m tokenizer train --data data/demo --add 2048 --out tok/demo
    python -m tokenizer eval --tokenizer tok/demo --data data/demo
    python -m tokenizer eval --tokenizer tok/demo --files '/usr/share/cargo/registry/**/*.rs'
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

SWEEP = (0, 128, 256, 512, 1024, 2048, 4096, 8192)
EMBED_DIM = 3072  # StarCoder2-3B


def default_base() -> Path:
    env = os.environ.get("FERRIC_BASE_TOKENIZER")
    return Path(env) if env else \
        Path(__file__).resolve().parents[2] / "shared" / "tokenizers" / "starcoder2"


class InputError(Exception):
    pass


def _texts(data: str | None, files: str | None, split: str) -> tuple[list[str], str]:
    if files:
        paths = sorted(glob.glob(files, recursive=True))
        texts = []
        for p in paths:
            try:
                texts.append(Path(p).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        if not texts:
            raise InputError(f"--files {files}: no readable UTF-8 files")
        return texts, f"{len(texts)} files matching {files}"
    if data:
        import pyarrow.parquet as pq

        folder = Path(data) / "samples" / split
        parts = sorted(folder.glob("*.parquet"))
        if not parts:
            raise InputError(f"--data {data}: no samples in {folder}")
        texts = []
        for part in parts:
            try:
                table = pq.read_table(part, columns=["target"])
            except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
                raise InputError(f"{part}: not a readable samples file ({exc})") from None
            texts.extend(table.column("target").to_pylist())
        if not texts:
            raise InputError(f"--data {data}: the {split} split is empty")
        return texts, f"{len(texts)} {split} targets of {data}"
    raise InputError("give --data DATA_DIR or --files GLOB")


def _base(path: str | None) -> Any:
    from tokenizer.extend import BaseTokenizer

    folder = Path(path) if path else default_base()
    file = folder / "tokenizer.json" if folder.is_dir() else folder
    if not file.exists():
        raise InputError(f"base tokenizer not found: {file}")
    try:
        return BaseTokenizer(file)
    except Exception as exc:  # a corrupt file is bad input
        raise InputError(f"cannot load base tokenizer {file}: {exc}") from None


def train(args: argparse.Namespace) -> int:
    from tokenizer.extend import (
        build_extended,
        count_candidates,
        rank_candidates,
        save_tokenizer,
    )

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: a file, not a folder")
    if args.type_tokens and not Path(args.type_tokens).is_file():
        raise InputError(f"--type-tokens {args.type_tokens}: no such file")
    base = _base(args.base)
    texts, source = _texts(args.data, args.files, "train")
    started = time.monotonic()
    counts = count_candidates(base, tqdm(texts, desc="counting", unit="text",
                                         disable=args.quiet))
    ranked = rank_candidates(base, counts)
    chosen = ranked[: args.add]
    specials: list[str] = []
    type_tokens = Path(args.type_tokens) if args.type_tokens else (
        Path(args.data) / "type_tokens.json" if args.data else None)
    if type_tokens and type_tokens.exists():
        try:
            listed = json.loads(type_tokens.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{type_tokens}: not JSON ({exc.msg})") from None
        if not isinstance(listed, dict) or not isinstance(listed.get("tokens", {}), dict):
            raise InputError(f"{type_tokens}: expected {{\"tokens\": {{...}}}} as dataset_builder "
                             "writes it")
        specials = sorted(listed.get("tokens", {}))
    elif args.data and not args.type_tokens:
        from dataset_builder.type_facts import has_inline_tokens

        # Without the list, the specials were left out without a word and every <TYPE:…>
        # token split into base tokens (combined builds lacked the file until 0.1.8).
        if any(has_inline_tokens(t) for t in texts):
            raise InputError(f"--data {args.data}: its samples carry inline type facts but "
                             "it has no type_tokens.json (rebuild it with this ferric's "
                             "dataset_builder, or give --type-tokens)")
    data, added = build_extended(base, chosen, specials)
    save_tokenizer(data, out)
    extension = {
        "base": str(base.path), "source": source, "requested": args.add,
        "tokens": [{"text": c.text, "frequency": c.frequency, "base_tokens": c.base_tokens,
                    "saving": c.saving, "why": c.why()} for c in chosen],
        "vocabulary_entries_added": len(added), "special_tokens": specials,
        "ranked_candidates": [{"text": c.text, "saving": c.saving} for c in ranked],
        "vocab_size": len(data["model"]["vocab"]) + len(data["added_tokens"]),
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    tmp = out / "extension.json.tmp"
    tmp.write_text(json.dumps(extension, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, out / "extension.json")
    print(f"{out}: {len(chosen)} Rust tokens ({len(added)} vocabulary entries with chain "
          f"intermediates) + {len(specials)} type-fact specials, learned from {source}")
    return 0


def _measure(tok: Any, texts: list[str]) -> dict[str, Any]:
    lines = sum(max(1, t.count("\n")) for t in texts)
    chars = sum(len(t) for t in texts)
    tokens = 0
    failures = 0
    for enc, text in zip(tok.encode_batch(texts, add_special_tokens=False), texts, strict=True):
        tokens += len(enc.ids)
        if tok.decode(enc.ids, skip_special_tokens=False) != text:
            failures += 1
    return {"tokens": tokens, "lines": lines, "chars": chars,
            "tokens_per_line": round(tokens / lines, 4),
            "chars_per_token": round(chars / max(1, tokens), 4), "round_trip_failures": failures}


def evaluate(args: argparse.Namespace) -> int:
    from tokenizers import Tokenizer

    from tokenizer.extend import Candidate, build_extended

    folder = Path(args.tokenizer)
    if not (folder / "tokenizer.json").exists() or not (folder / "extension.json").exists():
        raise InputError(f"--tokenizer {folder}: not a folder written by `tokenizer train`")
    try:
        extension = json.loads((folder / "extension.json").read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{folder / 'extension.json'}: not JSON ({exc.msg})") from None
    base = _base(args.base or str(Path(extension["base"]).parent))
    texts, source = _texts(args.data, args.files, "test")
    try:
        extended = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # the tokenizers library raises a bare Exception
        raise InputError(f"{folder / 'tokenizer.json'}: not a tokenizer ({exc})") from None
    result_base = _measure(base.tokenizer, texts)
    result_ext = _measure(extended, texts)
    gain = 1 - result_ext["tokens"] / max(1, result_base["tokens"])
    ranked = [Candidate(c["text"], 0, 2, 2) for c in extension["ranked_candidates"]]
    sweep = []
    for n in tqdm(sorted({n for n in SWEEP if n <= len(ranked)} | {len(extension["tokens"])}),
                  desc="sweep", disable=args.quiet):
        # Candidates keep their texts; piece counts are recomputed when building.
        cands = [Candidate(c.text, 0, 2, len(base.pieces(c.text))) for c in ranked[:n]]
        data, _ = build_extended(base, cands, [])
        tok = Tokenizer.from_str(json.dumps(data))
        m = _measure(tok, texts)
        sweep.append({"added_tokens": n, "vocab_size": len(data["model"]["vocab"]),
                      "tokens": m["tokens"], "gain": round(1 - m["tokens"] /
                                                           max(1, result_base["tokens"]), 4),
                      "round_trip_failures": m["round_trip_failures"]})
    sizes = sorted({49152, *(s["vocab_size"] for s in sweep), 65536, 100_000, 256_000})
    memory = [{"vocab_size": v, "fp32_mib": round(v * EMBED_DIM * 4 / 2**20, 1),
               "bf16_mib": round(v * EMBED_DIM * 2 / 2**20, 1),
               "untied_bf16_mib": round(2 * v * EMBED_DIM * 2 / 2**20, 1)} for v in sizes]
    fim_single = all(len(extended.encode(t, add_special_tokens=False).ids) == 1
                     for t in ("<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>",
                               "<file_sep>", "<|endoftext|>"))
    report = {"tokenizer": str(folder), "data": source, "base": result_base,
              "extended": result_ext, "token_reduction": round(gain, 4), "sweep": sweep,
              "embedding_memory_d3072": memory, "fim_tokens_single": fim_single,
              "command": "python -m tokenizer " + " ".join(sys.argv[1:])}
    out = Path(args.out) if args.out else folder
    out.mkdir(parents=True, exist_ok=True)
    (out / "fertility.json").write_text(json.dumps(report, indent=1) + "\n")
    _plot(sweep, out / "fertility.png")
    (out / "fertility.md").write_text(_markdown(report))
    print(f"{source}: base {result_base['tokens']} tokens, extended {result_ext['tokens']} "
          f"({gain:.1%} fewer); round-trip failures "
          f"{result_ext['round_trip_failures']}; FIM tokens single: {fim_single}; "
          f"report {out / 'fertility.md'}")
    return 1 if result_ext["round_trip_failures"] or result_base["round_trip_failures"] else 0


def _plot(sweep: list[dict[str, Any]], dest: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = sorted({(s["added_tokens"], s["gain"]) for s in sweep})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([p[0] for p in points], [100 * p[1] for p in points], "o-")
    ax.set_xscale("symlog", linthresh=128)
    ax.set_xlabel("Rust tokens added")
    ax.set_ylabel("fewer tokens than base (%)")
    ax.set_title("Token savings on held-out code")
    fig.tight_layout()
    fig.savefig(dest, dpi=110)
    plt.close(fig)


def _markdown(r: dict[str, Any]) -> str:
    b, e = r["base"], r["extended"]
    rows = "\n".join(f"| {s['added_tokens']} | {s['vocab_size']} | {s['tokens']} | "
                     f"{100 * s['gain']:.2f}% | {s['round_trip_failures']} |" for s in r["sweep"])
    mem = "\n".join(f"| {m['vocab_size']} | {m['fp32_mib']} | {m['bf16_mib']} | "
                    f"{m['untied_bf16_mib']} |" for m in r["embedding_memory_d3072"])
    return f"""# Tokenizer fertility: {r['tokenizer']}

Reproduce: `{r['command']}`. Held-out text: {r['data']}.

| tokenizer | tokens | tokens per line | characters per token | round-trip failures |
|---|---|---|---|---|
| base StarCoder2 | {b['tokens']} | {b['tokens_per_line']} | {b['chars_per_token']} | \
{b['round_trip_failures']} |
| extended | {e['tokens']} | {e['tokens_per_line']} | {e['chars_per_token']} | \
{e['round_trip_failures']} |

Token reduction: **{100 * r['token_reduction']:.2f}%**. FIM and special tokens stay single
tokens: {r['fim_tokens_single']}.

![gain against added tokens](fertility.png)

## Sweep: gain against the number of added tokens

| added | vocabulary | tokens | reduction | round-trip failures |
|---|---|---|---|---|
{rows}

## Embedding memory (V x d x bytes, d = 3072)

| vocabulary | fp32 MiB | bf16 MiB | untied in+out bf16 MiB |
|---|---|---|---|
{mem}
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tokenizer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="learn Rust tokens from the train split")
    t.add_argument("--data", help="dataset_builder output folder (its train split is used)")
    t.add_argument("--files", help="glob of .rs files instead of --data")
    t.add_argument("--base", help="base tokenizer folder (default ../shared/tokenizers/...)")
    t.add_argument("--add", type=int, default=2048, help="new tokens to add (default 2048)")
    t.add_argument("--type-tokens", help="JSON of inline type-fact tokens (default: "
                                         "DATA_DIR/type_tokens.json)")
    t.add_argument("--out", required=True, help="output tokenizer folder")
    t.add_argument("--quiet", action="store_true")
    e = sub.add_parser("eval", help="fertility base vs extended, round trips, sweep")
    e.add_argument("--tokenizer", required=True, help="folder written by `tokenizer train`")
    e.add_argument("--data", help="dataset_builder output folder (its test split is used)")
    e.add_argument("--files", help="glob of .rs files instead of --data")
    e.add_argument("--base", help="base tokenizer folder (default: the one trained from)")
    e.add_argument("--out", help="report folder (default: the tokenizer folder)")
    e.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.command == "train" and args.add < 0:
        print("error: --add must be >= 0", file=sys.stderr)
        return 2
    try:
        return train(args) if args.command == "train" else evaluate(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line unless asked for more
        if os.environ.get("FERRIC_DEBUG"):
            raise
        from dataset_builder.children import one_line

        print(f"error: internal error: {one_line(exc)} (set "
              "FERRIC_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
