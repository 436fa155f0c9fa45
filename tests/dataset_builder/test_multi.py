"""Several repositories in one dataset: per-repository builds, holdout, cross-repo leakage."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dataset_builder.cli import main
from dataset_builder.gitio import open_repo, repo_name
from dataset_builder.multi import unique_labels
from dataset_builder.samples import read_samples
from tests.dataset_builder.conftest import Commit, make_repo

SHARED_FN = """pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .filter(|(key, _)| !key.is_empty())
        .collect()
}
"""


def _crate(path: Path, name: str, extra_last: str) -> Path:
    steps = [Commit("init", {"Cargo.toml": f'[package]\nname = "{name}"\nversion = "0.1.0"\n'
                                          'edition = "2021"\n',
                             "src/lib.rs": "pub mod a;\n", "src/a.rs": SHARED_FN})]
    for k in range(1, 10):
        steps.append(Commit(f"f{k}", {f"src/m{k}.rs": f"pub fn {name}_f{k}(x: u32) -> u32 {{\n"
                                                      f"    x * {k} + {k * 7}\n}}\n",
                                      "src/lib.rs": "pub mod a;\n" + "".join(
                                          f"pub mod m{i};\n" for i in range(1, k + 1))}))
    steps.append(Commit("last", {"src/a.rs": SHARED_FN + extra_last}, allow_empty=True))
    return make_repo(path, steps).path


def test_holdout_and_cross_repository_leakage(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    one = _crate(tmp_path / "one", "one", "")
    # `two`'s newest commit rewrites a.rs to a near copy of `one`'s train function
    two = _crate(tmp_path / "two", "two", "\npub fn extra() -> u8 {\n    1\n}\n")
    repos_file = tmp_path / "repos.txt"
    repos_file.write_text(f"# two crates\n{one}\n\n{two}\n")
    out = tmp_path / "out"
    args = ["--repos-file", str(repos_file), "--out", str(out), "--quiet", "--rustdoc", "none"]
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["repos"]) == {"one", "two"}
    assert (out / "repos" / "one" / "manifest.json").exists()
    assert all(manifest["sanity"].values()), manifest["sanity"]
    samples = read_samples(out).to_pylist()
    assert {s["repo"] for s in samples} == {"one", "two"}
    # the same function in both histories: never in one's train and two's test at once
    leak = manifest["samples"]["leakage"]
    assert leak["test_near_duplicates_after"] == 0
    assert "test_train_pairs_compared_exactly" in leak  # checked by exact Jaccard too

    held = tmp_path / "held"
    assert main([*args[:2], "--out", str(held), "--holdout-repo", "two", "--quiet",
                 "--rustdoc", "none"]) == 0
    rows = read_samples(held).to_pylist()
    assert all(r["split"] == "test" for r in rows if r["repo"] == "two")
    assert any(r["split"] == "train" for r in rows if r["repo"] == "one")
    test_two = pq.read_table(held / "samples" / "test" / "two.parquet").num_rows
    dropped = json.loads((held / "manifest.json").read_text())["samples"]["leakage"][
        "test_dropped_cross_repo"].get("two", 0)
    assert dropped >= 1  # parse_pairs of `two` is a near-duplicate of `one`'s train sample
    held_leak = json.loads((held / "manifest.json").read_text())["samples"]["leakage"]
    assert held_leak["test_near_duplicates_after"] == 0
    assert test_two > 0
    # The held-out repository's own build is all test: none of its samples is dropped as a
    # near-duplicate of its own train split, which it no longer has.
    own = json.loads((held / "repos" / "two" / "manifest.json").read_text())["samples"]
    assert set(own["split_commits"]) == {"test"} and own["config"]["holdout_repos"] == ["two"]
    assert not any(st["leakage"]["test_dropped"] for st in own["scales"].values())
    other = json.loads((held / "repos" / "one" / "manifest.json").read_text())["samples"]
    assert other["config"]["holdout_repos"] == [] and "train" in other["split_commits"]
    # a re-run is up to date, says so (it printed nothing) and changes nothing
    before = (held / "manifest.json").read_text()
    capsys.readouterr()
    assert main([*args[:2], "--out", str(held), "--holdout-repo", "two", "--quiet",
                 "--rustdoc", "none"]) == 0
    assert (held / "manifest.json").read_text() == before
    assert f"{held}: up to date (config hash " in capsys.readouterr().err


def test_unknown_holdout_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    one = _crate(tmp_path / "one", "one", "")
    two = _crate(tmp_path / "two", "two", "")
    assert main(["--repo", str(one), "--repo", str(two), "--holdout-repo", "nope",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "not among the repositories" in capsys.readouterr().err
    assert main(["--repo", str(one), "--holdout-repo", "one", "--quiet",
                 "--out", str(tmp_path / "p")]) == 2
    capsys.readouterr()
    # Every repository held out: no train split at all (it exited 0 with empty train/valid).
    assert main(["--repo", str(one), "--repo", str(two), "--holdout-repo", "one",
                 "--holdout-repo", "two", "--out", str(tmp_path / "q"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "names every repository" in err and len(err.strip().splitlines()) == 1


def test_holdout_by_path_where_labels_are_alike(tmp_path: Path) -> None:
    """Two clones of one name (forks, say) are labelled crate, crate-2; --holdout-repo takes
    the path given to --repo too, so the user need not work out which is which."""
    one = _crate(tmp_path / "a" / "crate", "one", "")
    two = _crate(tmp_path / "b" / "crate", "two", "")
    out = tmp_path / "out"
    assert main(["--repo", str(one), "--repo", str(two), "--holdout-repo", str(two),
                 "--out", str(out), "--quiet", "--rustdoc", "none"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["samples"]["holdout"] == ["crate-2"]
    rows = read_samples(out).to_pylist()
    assert rows and all(r["split"] == "test" for r in rows if r["repo"] == "crate-2")
    assert any(r["split"] == "train" for r in rows if r["repo"] == "crate")


def test_a_repos_file_names_its_line_and_must_list_something(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing path in a repos file read as `--repo PATH: no such file`, naming neither
    the file nor its line; a file of comments only asked for `--repo PATH`."""
    repos_file = tmp_path / "repos.txt"
    repos_file.write_text("# mine\n\nother/anyhow  # relative\n")
    assert main(["--repos-file", str(repos_file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"--repos-file {repos_file}, line 3: other/anyhow: no such file or folder " \
           "(relative to " in err, err
    repos_file.write_text("# nothing yet\n")
    assert main(["--repos-file", str(repos_file), "--out", str(tmp_path / "o")]) == 2
    assert f"--repos-file {repos_file} lists no repositories" in capsys.readouterr().err


def test_a_repository_given_twice_is_one_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Built twice, its samples would be in the combined dataset twice."""
    one = _crate(tmp_path / "one", "one", "")
    two = _crate(tmp_path / "two", "two", "")
    out = tmp_path / "o"
    assert main(["--repo", str(one), "--repo", str(two), "--repo", f"{one}/", "--out",
                 str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: --repo {one}/: given twice (also as {one})"
    assert not out.exists()


def test_a_working_trees_git_folder_is_that_repository(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """`one/.git` is `one`: labelled `one` (not `repo`, from an empty name), and given
    beside `one` it is the same repository given twice."""
    one = _crate(tmp_path / "one", "one", "")
    two = _crate(tmp_path / "two", "two", "")
    out = tmp_path / "o"
    assert main(["--repo", str(one), "--repo", f"{one}/.git", "--out", str(out),
                 "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == \
        f"error: --repo {one}/.git: given twice (also as {one})"
    assert not out.exists()
    assert unique_labels([open_repo(f"{one}/.git").path, open_repo(two).path,
                          open_repo(f"{two}/").path]) == ["one", "two", "two-2"]


def test_a_link_names_the_repository_it_points_to(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A bare mirror in a folder `repo`, given through a link `fd`, is labelled `fd` (the
    label names --holdout-repo, the samples' `repo` and the default output folder); the link
    beside its target is the same repository given twice."""
    one = _crate(tmp_path / "one", "one", "")
    mirror = tmp_path / "mirrors" / "sharkdp+fd" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(one), str(mirror)], check=True)
    link = tmp_path / "fd"
    link.symlink_to(mirror)
    assert repo_name(link) == "fd" and repo_name(mirror) == "sharkdp+fd"
    assert repo_name(tmp_path / "serde" / "repository") == "serde"
    assert repo_name(tmp_path / "x" / "mirror") == "mirror"  # a project may be called so
    assert repo_name(f"{one}/.git") == "one" and repo_name(tmp_path / "x.git") == "x"
    out = tmp_path / "o"
    assert main(["--repo", str(link), "--repo", str(one), "--holdout-repo", "none",
                 "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == \
        "error: --holdout-repo none: not among the repositories (fd, one)"
    assert main(["--repo", str(link), "--repo", str(mirror), "--out", str(out),
                 "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == \
        f"error: --repo {mirror}: given twice (also as {link})"
    assert not out.exists()


def test_an_empty_split_is_readable_and_named(tmp_path: Path) -> None:
    """With no valid samples, valid's folder still reads as a table of the samples' schema,
    in one repository's build and in several's; report.md says the split is empty
    (`datasets.load_dataset` raises on it); the other splits are not named."""
    from dataset_builder.schema import SAMPLES

    one = _crate(tmp_path / "one", "one", "")
    two = _crate(tmp_path / "two", "two", "")
    common = ["--quiet", "--rustdoc", "none", "--valid-fraction", "0"]
    single, several = tmp_path / "single", tmp_path / "several"
    assert main(["--repo", str(one), "--out", str(single), *common]) == 0
    assert main(["--repo", str(one), "--repo", str(two), "--out", str(several), *common]) == 0
    for out in (single, several):
        valid = pq.read_table(out / "samples" / "valid")
        assert valid.num_rows == 0 and valid.schema.equals(SAMPLES)
        assert pq.read_table(out / "samples" / "train").num_rows > 0
        report = (out / "report.md").read_text()
        assert "No samples in valid:" in report
        assert "No samples in train" not in report and "and test" not in report


def _pool_worker_answers(queue: Any) -> None:
    import os
    import signal
    import time

    import dataset_builder.multi as multi

    stopping = multiprocessing.get_context("fork").Event()
    multi._pool_worker(os.getppid(), stopping)
    os.kill(os.getpid(), signal.SIGINT)  # idle: passed over
    time.sleep(0.2)
    multi._busy = True
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        queue.put("busy worker went on")
    except KeyboardInterrupt:
        queue.put("busy worker stopped")
    multi._busy = False
    stopping.set()
    try:
        multi._build_one(None, None)  # type: ignore[arg-type]
        queue.put("queued build started")
    except KeyboardInterrupt:
        queue.put("queued build not started")


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_ctrl_c_stops_a_pool_workers_build_and_an_idle_worker_passes_it_over() -> None:
    """Ctrl-C reaches every pool worker: an idle one printed a traceback from the pool's
    queue (2 of 23 interrupted builds of three repositories); a build queued before it must
    not start."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_pool_worker_answers, args=(queue,))
    worker.start()
    worker.join(30)
    assert worker.exitcode == 0
    assert [queue.get(timeout=5) for _ in range(2)] == ["busy worker stopped",
                                                        "queued build not started"]


def test_an_inline_build_of_several_repositories_lists_its_type_tokens(tmp_path: Path) -> None:
    """OUT/type_tokens.json, which the tokenizer reads, was written only inside repos/<label>/:
    a combined inline build's <TYPE:…> tokens were split into base tokens."""
    from dataset_builder.type_facts import INLINE_TOKEN
    from tokenizer.__main__ import main as tok_main

    one = _crate(tmp_path / "one", "one", "")
    two = _crate(tmp_path / "two", "two", "\npub fn extra() -> u8 {\n    1\n}\n")
    out = tmp_path / "out"
    assert main(["--repo", str(one), "--repo", str(two), "--out", str(out), "--quiet",
                 "--rustdoc", "none", "--type-facts", "inline"]) == 0
    listed = json.loads((out / "type_tokens.json").read_text())
    found: dict[str, int] = {}
    for row in read_samples(out).to_pylist():
        for text in (row["context"], row["target"], row["suffix"]):
            for token in INLINE_TOKEN.findall(text):
                found[token] = found.get(token, 0) + 1
    assert listed["mode"] == "inline"
    assert found and listed["tokens"] == found
    # The combined report has a table per scale and the histogram, as one repository's has.
    manifest = json.loads((out / "manifest.json").read_text())
    rows = read_samples(out).to_pylist()
    for scale, st in manifest["samples"]["scales"].items():
        own = [json.loads((out / "repos" / label / "manifest.json").read_text())[
            "samples"]["scales"][scale] for label in ("one", "two")]
        assert st["produced"] == sum(o["produced"] for o in own)
        assert st["kept_in_repositories"] == sum(o["kept"] for o in own)
        assert st["written"] == sum(r["scale"] == scale for r in rows) == \
            st["kept_in_repositories"] - st["test_dropped_cross_repo"]
    report = (out / "report.md").read_text()
    assert "| micro | " in report and "![target tokens per scale](samples.png)" in report
    assert (out / "samples.png").stat().st_size > 1000
    tok = tmp_path / "tok"
    assert tok_main(["train", "--data", str(out), "--add", "4", "--out", str(tok),
                     "--quiet"]) == 0
    specials = json.loads((tok / "extension.json").read_text())["special_tokens"]
    assert specials == sorted(found)
    # A build whose list is gone: the tokenizer says so instead of leaving the tokens out.
    (out / "type_tokens.json").unlink()
    assert tok_main(["train", "--data", str(out), "--add", "4", "--out", str(tok),
                     "--quiet"]) == 2
