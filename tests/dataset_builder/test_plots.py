"""dataset_builder.plots: the plot process beside the build."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from dataset_builder import plots
from dataset_builder.plots import Drawer, render_plot


def write_text(data: dict[str, Any], dest: Path) -> None:
    dest.write_text(data["text"])


def slow_in_child(data: dict[str, Any], dest: Path) -> None:
    """Hangs in the plot process (a starved child); writes in the build process."""
    if os.getpid() != data["build_pid"]:
        time.sleep(60)
    dest.write_text("drawn here")


def slow_atomic_in_child(data: dict[str, Any], dest: Path) -> None:
    """Hangs in the plot process halfway through an atomic write (its temporary file made)."""
    from dataset_builder.atomic import atomic_write

    def write(tmp: Path) -> None:
        if os.getpid() != data["build_pid"]:
            time.sleep(60)
        tmp.write_text("drawn here")

    atomic_write(dest, write)


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


def test_a_starved_or_dead_child_leaves_the_plot_to_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Drawer, "FALLBACK_SECONDS", 0.5)
    with Drawer() as drawer:
        child = drawer.proc
        drawer.send("slow", slow_in_child, {"build_pid": os.getpid()}, tmp_path / "slow.txt")
        drawer.wait("slow")
        assert child is None or not child.is_alive()
        # Later plots are drawn here too.
        drawer.send("next", write_text, {"text": "after"}, tmp_path / "next.txt")
        drawer.wait("next")
    assert (tmp_path / "slow.txt").read_text() == "drawn here"
    assert (tmp_path / "next.txt").read_text() == "after"
    with Drawer() as drawer:
        if drawer.proc is not None:
            drawer.proc.kill()
            drawer.proc.join()
        drawer.send("gone", write_text, {"text": "still"}, tmp_path / "gone.txt")
        drawer.wait("gone")
    assert (tmp_path / "gone.txt").read_text() == "still"


def test_an_early_drawer_goes_once_to_its_own_process(tmp_path: Path) -> None:
    Drawer.start_early()
    assert plots._early is not None
    early = plots._early[1]
    pid = os.fork()
    if pid == 0:  # a forked child (the several-repositories pool) starts its own
        drawer = Drawer.take()
        code = 0 if drawer is not early else 1
        drawer.close()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with Drawer.take() as taken:
        assert taken is early
        taken.send("a", write_text, {"text": "early"}, tmp_path / "a.txt")
        taken.wait("a")
        with Drawer.take() as second:
            assert second is not early
    assert (tmp_path / "a.txt").read_text() == "early"


class SlowPipeEnd:
    """The drawer's pipe end, with a send that is still writing when the plot is drawn here.
    Records whether the pipe was closed under a send: its descriptor number would then be
    free for the plot's own file, and the send's write would land in that file (seen in CI)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sending = 0
        self.closed_under_a_send = False

    def send_bytes(self, message: bytes) -> None:
        self.sending += 1
        try:
            time.sleep(0.3)
            self.conn.send_bytes(message)
        finally:
            self.sending -= 1

    def close(self) -> None:
        self.closed_under_a_send |= self.sending > 0
        self.conn.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_the_pipe_is_not_closed_under_a_send_still_writing(tmp_path: Path) -> None:
    with Drawer() as drawer:
        if drawer.proc is None:
            pytest.skip("no fork here: nothing is sent")
        pipe = SlowPipeEnd(drawer.conn)
        drawer.conn = pipe  # type: ignore[assignment]  # a stand-in with the same calls
        drawer.proc.kill()
        drawer.proc.join()
        drawer.send("gone", write_text, {"text": "still"}, tmp_path / "gone.txt")
        drawer.wait("gone")  # the child is dead: drawn here, and the drawer closed
    assert not pipe.closed_under_a_send
    assert pipe.sending == 0
    assert (tmp_path / "gone.txt").read_text() == "still"


def test_the_plot_child_leaves_ctrl_c_to_the_build(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group; the plot child ignores it (it printed a
    KeyboardInterrupt traceback before) and is stopped by the build process."""
    import signal

    with Drawer() as drawer:
        if drawer.proc is None:
            pytest.skip("no fork here")
        drawer.send("a", write_text, {"text": "drawn"}, tmp_path / "a.txt")
        drawer.wait("a")  # the child is past its imports
        if drawer.proc is None:
            pytest.skip("the child was too slow (a loaded machine): drawn here instead")
        os.kill(drawer.proc.pid or 0, signal.SIGINT)
        time.sleep(0.5)
        assert drawer.proc.is_alive()
        drawer.send("b", write_text, {"text": "still"}, tmp_path / "b.txt")
        drawer.wait("b")
    assert (tmp_path / "b.txt").read_text() == "still"


def test_a_plot_child_stopped_mid_write_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child killed while it wrote a plot left its atomic write's temporary file in the
    output folder until the folder was next taken (2 of 5 resumed mdBook builds ended with
    a `.history.png.*.tmp` beside history.png)."""
    monkeypatch.setattr(Drawer, "FALLBACK_SECONDS", 1.0)
    with Drawer() as drawer:
        drawer.send("slow", slow_atomic_in_child, {"build_pid": os.getpid()},
                    tmp_path / "slow.png")
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob(".slow.png.*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.05)  # the child has begun its write
        drawer.wait("slow")
    assert (tmp_path / "slow.png").read_text() == "drawn here"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.png"]
