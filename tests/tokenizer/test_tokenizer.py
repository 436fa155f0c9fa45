"""tokenizer: extension design invariants, CLI, fertility report, embedding resize."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer

from tokenizer.__main__ import default_base
from tokenizer.__main__ import main as tok_main
from tokenizer.embeddings import resize_embeddings_mean
from tokenizer.extend import (
    BaseTokenizer,
    Candidate,
    _boundary_after,
    _escape_onig,
    build_extended,
    count_candidates,
    equivalent_pre_tokenizer,
    literals_pattern,
)

BASE = default_base()
FIM = ("<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<file_sep>",
       "<|endoftext|>")


def _sources(folder: Path) -> list[str]:
    """UTF-8 sources only (the demo crate keeps one Latin-1 file on purpose)."""
    texts = []
    for f in sorted(folder.rglob("*.rs")):
        try:
            texts.append(f.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            continue
    return texts


def _vectors() -> list[tuple[str, list[int]]]:
    texts = (BASE / "test-vectors.inp").read_text().split("\n__ggml_vocab_test__\n")
    ids = [[int(x) for x in line.split()]
           for line in (BASE / "test-vectors.out").read_text().split("\n")]
    return list(zip(texts, ids, strict=False))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo crate's sources at HEAD: real Rust, available everywhere."""
    from dataset_builder.cli import default_demo_dir
    from dataset_builder.demo import materialise

    repo = materialise(default_demo_dir())
    return repo / "src"


@pytest.fixture(scope="module")
def trained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "ext"
    types = out.parent / "types.json"
    types.write_text(json.dumps({"mode": "inline", "tokens": {"<TYPE:Vec>": 3,
                                                              "<TRAIT:Display>": 1}}))
    assert tok_main(["train", "--files", f"{corpus}/**/*.rs", "--add", "300", "--out",
                     str(out), "--type-tokens", str(types), "--quiet"]) == 0
    return out


def test_equivalent_pre_tokenizer_reproduces_the_base_vectors() -> None:
    data = json.loads((BASE / "tokenizer.json").read_text())
    data["pre_tokenizer"] = equivalent_pre_tokenizer([])
    tok = Tokenizer.from_str(json.dumps(data))
    vectors = _vectors()
    assert len(vectors) == 47
    assert all(tok.encode(text).ids == ids for text, ids in vectors)


def test_extension_changes_nothing_where_no_new_token_applies(trained: Path,
                                                              corpus: Path) -> None:
    base = Tokenizer.from_file(str(BASE / "tokenizer.json"))
    ext = Tokenizer.from_file(str(trained / "tokenizer.json"))
    added = [t["text"] for t in json.loads((trained / "extension.json").read_text())["tokens"]]
    checked = 0
    lines = [line for text in _sources(corpus) for line in text.split("\n")]
    lines += [text for text, _ in _vectors()]
    for line in lines:
        if any(token in line for token in added):
            continue
        assert ext.encode(line).ids == base.encode(line).ids, line
        checked += 1
    assert checked > 50


def test_round_trip_fim_specials_and_autotokenizer(trained: Path, corpus: Path) -> None:
    from transformers import AutoTokenizer

    ext = Tokenizer.from_file(str(trained / "tokenizer.json"))
    for text in _sources(corpus):
        assert ext.decode(ext.encode(text).ids, skip_special_tokens=False) == text
    for special in (*FIM, "<TYPE:Vec>", "<TRAIT:Display>"):
        assert len(ext.encode(special).ids) == 1, special
    auto = AutoTokenizer.from_pretrained(str(trained))
    assert len(auto) > 49152 + 300
    code = "fn main() -> Result<(), Error> { Ok(()) }"
    assert auto.decode(auto(code)["input_ids"]) == code
    ext_info = json.loads((trained / "extension.json").read_text())
    assert len(ext_info["tokens"]) == 300 and all(t["why"] for t in ext_info["tokens"])


def test_new_tokens_are_used_and_save_tokens(trained: Path, corpus: Path) -> None:
    base = Tokenizer.from_file(str(BASE / "tokenizer.json"))
    ext = Tokenizer.from_file(str(trained / "tokenizer.json"))
    text = "\n".join(_sources(corpus))
    assert len(ext.encode(text).ids) < 0.95 * len(base.encode(text).ids)


def test_candidate_counts_equal_counting_every_line_occurrence() -> None:
    """Distinct lines are pre-tokenised once; the counts must equal those of the direct
    count over every occurrence (the first version's loop, kept here as the reference)."""
    from collections import Counter

    base = BaseTokenizer(BASE / "tokenizer.json")

    def reference(texts: list[str]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            for line in text.split("\n"):
                pieces = base.pieces(line)
                for i in range(len(pieces)):
                    joined = ""
                    for k in range(3):
                        if i + k >= len(pieces):
                            break
                        piece = pieces[i + k]
                        if any(c.isdigit() for c in piece) or (k > 0 and piece.isspace()):
                            break
                        joined += piece
                        if len(joined) > 24:
                            break
                        if joined.strip() and not joined.isspace():
                            counts[joined] += 1
        return counts

    rng = random.Random(3)
    lines = ["    let mut x = Vec::new();", "impl<T: Clone> Foo<T> {", "}", "", "  ",
             "fn a1(&self) -> u32 { 0 }", "// é ünïcode", "pub struct Bar<'a>(&'a str);"]
    texts = ["\n".join(rng.choice(lines) for _ in range(rng.randint(0, 30)))
             for _ in range(40)]
    got = count_candidates(base, iter(texts))
    assert got == reference(texts) and got["impl"] > 1


def test_chain_merges_form_cross_boundary_tokens() -> None:
    base = BaseTokenizer(BASE / "tokenizer.json")
    cands = [Candidate(" Result<", 10, 2, 2), Candidate("::new(", 10, 3, 3)]
    data, added = build_extended(base, cands, [])
    tok = Tokenizer.from_str(json.dumps(data))
    enc = tok.encode("let r: Result<u8, E> = Foo::new(1);")
    words = [tok.id_to_token(i) for i in enc.ids]
    assert "ĠResult<" in words and "::new(" in words
    # On pre-token boundaries only: no new token inside `MyResult<<` or `::newline`.
    for text in ("x: MyResult<<T>>", "a::newline(1)", " Result<<", "(Result<T>", "::new(("):
        assert tok.encode(text).ids == base.tokenizer.encode(text).ids, text
    assert added


def test_eval_writes_report_with_sweep_and_memory(trained: Path, corpus: Path,
                                                  tmp_path: Path) -> None:
    code = tok_main(["eval", "--tokenizer", str(trained), "--files", f"{corpus}/**/*.rs",
                     "--out", str(tmp_path), "--quiet"])
    assert code == 0
    report = json.loads((tmp_path / "fertility.json").read_text())
    assert report["extended"]["round_trip_failures"] == 0
    assert report["token_reduction"] > 0.05
    assert report["fim_tokens_single"]
    gains = [s["gain"] for s in report["sweep"]]
    assert gains[0] == 0 and gains == sorted(gains)  # more tokens, more savings
    at_trained = next(s["gain"] for s in report["sweep"] if s["added_tokens"] == 300)
    assert at_trained == pytest.approx(report["token_reduction"], abs=1e-3)
    assert any(m["vocab_size"] == 256_000 for m in report["embedding_memory_d3072"])
    assert (tmp_path / "fertility.png").exists() and (tmp_path / "fertility.md").exists()


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    assert tok_main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert tok_main(["train", "--files", str(tmp_path / "*.rs"), "--out", str(tmp_path)]) == 2
    assert tok_main(["eval", "--tokenizer", str(tmp_path), "--files", "x"]) == 2
    assert tok_main(["train", "--files", "x", "--base", str(tmp_path), "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 4 and "Traceback" not in err


@pytest.mark.parametrize("arch,tied", [("starcoder2", True), ("starcoder2", False),
                                       ("gpt_bigcode", True)])
def test_resize_embeddings_mean(trained: Path, arch: str, tied: bool) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.data import load_tokenizer
    from training.model import ModelRecipe, build_config

    config = build_config(ModelRecipe(arch=arch, hidden_size=32, num_layers=1, num_heads=2,
                                      num_kv_heads=1, intermediate_size=64))
    config.tie_word_embeddings = tied
    model = AutoModelForCausalLM.from_config(config)
    base_tok = load_tokenizer(None)
    ext_tok = AutoTokenizer.from_pretrained(str(trained))
    old = model.get_input_embeddings().weight.detach().clone()
    old_out = model.get_output_embeddings().weight.detach().clone()
    new_ids = resize_embeddings_mean(model, base_tok, ext_tok)
    assert new_ids == list(range(49152, len(ext_tok)))
    emb = model.get_input_embeddings().weight
    assert emb.shape[0] == len(ext_tok)
    assert torch.equal(emb[:49152], old)
    probe = new_ids[0]
    parts = base_tok(ext_tok.decode([probe]), add_special_tokens=False)["input_ids"]
    assert torch.allclose(emb[probe], old[parts].mean(dim=0))
    out = model.get_output_embeddings().weight
    assert out.shape[0] == len(ext_tok)
    if not tied:
        assert torch.allclose(out[probe], old_out[parts].mean(dim=0))


def test_literal_trie_matches_as_the_longest_first_alternation() -> None:
    """The literals' trie regex pre-tokenizes every text as the alternation of each literal's
    boundary pattern, longest first, does: prefixes of one another, look-aheads that fail
    on the longer literal and hold on the shorter, literals ending in letters, spaces and
    punctuation. Random literals and texts over a small alphabet, so that they meet often."""
    base = json.loads((BASE / "tokenizer.json").read_text())

    def pre_tokens(patterns: list[str], texts: list[str]) -> list[list[str]]:
        data = {**base}
        data["pre_tokenizer"] = equivalent_pre_tokenizer(patterns)
        pre = Tokenizer.from_str(json.dumps(data)).pre_tokenizer
        assert pre is not None
        return [[piece for piece, _ in pre.pre_tokenize_str(text)] for text in texts]

    rng = random.Random(7)
    alphabet = "ab :<(&'_\tx.-|"
    for _ in range(10):
        literals = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6)))
                           for _ in range(60)} - {""})
        literals = [t for t in literals if t.strip()]
        texts = ["".join(rng.choice(alphabet + "\n9") for _ in range(rng.randint(0, 80)))
                 for _ in range(400)]
        flat = [_escape_onig(t) + _boundary_after(t)  # the alternation used before
                for t in sorted(literals, key=len, reverse=True)]
        assert pre_tokens([literals_pattern(literals)], texts) == pre_tokens(flat, texts)


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import tokenizer.__main__ as cli

    def fails(args: object) -> int:
        raise RuntimeError("first line\nsecond line")

    monkeypatch.delenv("FERRIC_DEBUG", raising=False)
    monkeypatch.setattr(cli, "train", fails)
    assert tok_main(["train", "--files", str(tmp_path / "*.rs"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: internal error: RuntimeError: first line ...")


def test_bad_type_tokens_corrupt_samples_and_tokenizer_are_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "a.rs"
    src.write_text("fn main() { let x = 1; }\n" * 20)
    out = tmp_path / "tok"
    base = ["train", "--files", str(src), "--add", "4", "--quiet"]
    # a typo'd --type-tokens dropped every type token without a word
    assert tok_main([*base, "--out", str(out), "--type-tokens", str(tmp_path / "nope.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert tok_main([*base, "--out", str(out), "--type-tokens", str(bad)]) == 2
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert tok_main([*base, "--out", str(afile)]) == 2
    samples = tmp_path / "ds" / "samples" / "train"
    samples.mkdir(parents=True)
    (samples / "micro-00000.parquet").write_bytes(b"not parquet")
    assert tok_main(["train", "--data", str(tmp_path / "ds"), "--out", str(out)]) == 2
    assert tok_main([*base, "--out", str(out)]) == 0
    (out / "tokenizer.json").write_text("{")
    assert tok_main(["eval", "--tokenizer", str(out), "--files", str(src), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and err.count("error:") == 5, err

