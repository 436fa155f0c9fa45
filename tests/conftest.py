"""Fixtures shared across the test packages."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def temporary_files_in_pytest_folders(tmp_path_factory: pytest.TempPathFactory
                                      ) -> Iterator[None]:
    """Temporary folders the code makes (and processes it starts make) go under pytest's own
    folder, which pytest prunes: tests that kill a process with SIGKILL, on purpose, leave
    its temporary folders behind, and in /tmp those accumulated run after run."""
    folder = tmp_path_factory.mktemp("tmp")
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    yield
    if before is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before
    tempfile.tempdir = None


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded demo repository built once per session (samples, no rustdoc). Read-only:
    tests write their own outputs elsewhere."""
    from dataset_builder.cli import default_demo_dir
    from dataset_builder.cli import main as build_main
    from dataset_builder.demo import materialise

    out = tmp_path_factory.mktemp("data") / "demo"
    assert build_main(["--repo", str(materialise(default_demo_dir())), "--out", str(out),
                       "--quiet", "--rustdoc", "none"]) == 0
    return out
