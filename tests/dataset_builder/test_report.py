"""dataset_builder.report: the plot process beside the build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dataset_builder.report import Drawer, render_plot


def write_text(data: dict[str, Any], dest: Path) -> None:
    dest.write_text(data["text"])


def fail(data: dict[str, Any], dest: Path) -> None:
    raise ValueError(f"cannot draw {data['text']}")


def test_drawer_draws_each_plot_when_sent(tmp_path: Path) -> None:
    with Drawer() as drawer:
        drawer.send("a", write_text, {"text": "first"}, tmp_path / "a.txt")
        drawer.send("b", write_text, {"text": "second"}, tmp_path / "b.txt")
        drawer.wait("b")  # answers for a arrive first and are kept
        drawer.wait("a")
    assert (tmp_path / "a.txt").read_text() == "first"
    assert (tmp_path / "b.txt").read_text() == "second"


def test_drawer_failure_is_one_line_and_does_not_stop_it(tmp_path: Path) -> None:
    with Drawer() as drawer:
        drawer.send("bad", fail, {"text": "this"}, tmp_path / "bad.png")
        with pytest.raises(RuntimeError, match=r"^drawing bad failed: ValueError: cannot draw "
                                               r"this$"):
            drawer.wait("bad")
        drawer.send("good", write_text, {"text": "ok"}, tmp_path / "good.txt")
        drawer.wait("good")
    assert (tmp_path / "good.txt").read_text() == "ok"
    assert not (tmp_path / "bad.png").exists()


def test_history_plot_is_a_png(tmp_path: Path) -> None:
    data = {"series": [[3, 0, 1] * 200, [1, 2, 0] * 200, [0, 1, 1] * 200],
            "degrees": [0, 1, 5, 2] * 150}
    with Drawer() as drawer:
        drawer.send("history.png", render_plot, data, tmp_path / "history.png")
        drawer.wait("history.png")
    assert (tmp_path / "history.png").read_bytes().startswith(b"\x89PNG")


def test_closing_without_waiting_stops_the_child() -> None:
    drawer = Drawer()
    proc = drawer.proc
    drawer.close()
    assert proc is None or not proc.is_alive()
