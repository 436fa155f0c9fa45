"""Fixtures shared across the test packages."""

from __future__ import annotations

from pathlib import Path

import pytest


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
