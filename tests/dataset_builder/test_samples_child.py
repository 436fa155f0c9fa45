"""The samples stage in a process forked before the history walk (samples_child)."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from pathlib import Path
from typing import Any

import pytest

import dataset_builder.samples_child as samples_child
from dataset_builder.cli import main
from dataset_builder.samples import build_samples

from .conftest import linear_repo

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork")


class _Unpicklable(Exception):
    def __init__(self, code: int, where: str) -> None:  # pickling calls it with one argument
        super().__init__(f"code {code} in {where}")


def test_samples_are_built_in_a_child_forked_before_the_walk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """build_samples runs in another process, which rustdoc's runs are started in (once
    modules.parquet is written) and which is gone after the build."""
    repo = linear_repo(tmp_path / "repo", 4)
    real = build_samples

    def recording(out: Path, *args: Any, **kwargs: Any) -> dict[str, Any]:
        ahead = kwargs["rustdoc_ahead"]
        (out / "seen.json").write_text(json.dumps({
            "pid": os.getpid(), "parent": os.getppid(),
            # Started here, and with modules.parquet to read: it chose the last snapshot.
            "modules_written_before_rustdoc": ahead is not None and len(ahead.chosen) == 1}))
        return real(out, *args, **kwargs)

    monkeypatch.setattr(samples_child, "build_samples", recording)
    out = tmp_path / "out"
    assert main(["--repo", str(repo.path), "--out", str(out), "--quiet"]) == 0
    seen = json.loads((out / "seen.json").read_text())
    assert seen["pid"] != os.getpid() and seen["parent"] == os.getpid()
    assert seen["modules_written_before_rustdoc"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["samples"]["scales"]["micro"]["kept"] > 0
    assert all(manifest["sanity"].values())
    assert not multiprocessing.active_children()


def test_a_samples_child_gone_before_the_history_ends_is_reported(tmp_path: Path) -> None:
    """Killed while it waits (by the OOM killer, say): the build says so, in one line."""
    from dataset_builder.gitio import open_repo
    from dataset_builder.samples import SampleConfig

    repo = linear_repo(tmp_path / "repo", 2)
    child = samples_child.SamplesChild(open_repo(str(repo.path)), tmp_path / "out", "repo",
                                       SampleConfig(), 1 << 20, False)
    try:
        child.proc.kill()
        child.proc.join()
        child.start_rustdoc()  # no error here: build() reports it
        with pytest.raises(RuntimeError, match=r"process died \(exit code -9\)"):
            child.build("hash")
    finally:
        child.close()
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("failure", ["oserror", "unpicklable", "exit"])
def test_a_failing_samples_child_is_reported_in_one_line(
        failure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The child's exception is raised in the build process as the CLI expects (an OSError:
    exit code 2), one that cannot be pickled as its line, a child that died as its exit
    code; never a traceback, and no process is left behind."""
    repo = linear_repo(tmp_path / "repo", 3)

    def failing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if failure == "oserror":
            raise FileNotFoundError(2, f"no tokenizer (pid {os.getpid()})", "tokenizer.json")
        if failure == "unpicklable":
            raise _Unpicklable(7, f"pid {os.getpid()}")
        os._exit(3)

    monkeypatch.setattr(samples_child, "build_samples", failing)
    code = main(["--repo", str(repo.path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capfd.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    if failure == "oserror":
        assert code == 2 and "no tokenizer" in lines[0] and "tokenizer.json" in lines[0]
        pid = int(re.search(r"pid (\d+)", lines[0]).group(1))  # type: ignore[union-attr]
        assert pid != os.getpid()
    elif failure == "unpicklable":
        assert code == 1 and "_Unpicklable: code 7 in pid" in lines[0]
    else:
        assert code == 1 and "exit code 3" in lines[0]
    assert not multiprocessing.active_children()
    # The history is complete: the same command builds the samples (in this process).
    monkeypatch.undo()
    assert main(["--repo", str(repo.path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
