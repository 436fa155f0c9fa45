"""Progress bars of a build whose processes draw on one terminal at the same time: the walk
(main process), rustdoc's runs beside it (their own process) and two scale processes. Each
process's bars go on a line of their own, drawn under one lock that forked processes share,
and are cleared when done: with all on line 0, two bars took turns on it, each erasing the
other, and the walk's finished bar was drawn over."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

# Lines counted down from the first bar's: the walk and then the first scale process on 0,
# the second scale process on 1, rustdoc's runs (beside either) on 2.
RUSTDOC_LINE = 2

_line = 0


def scale_line(k: int) -> int:
    """The line of scale process k: the lines in order, skipping rustdoc's (a machine with
    three CPUs or more runs a third scale process beside rustdoc's runs)."""
    return k + (k >= RUSTDOC_LINE)


def draw_on_line(line: int) -> None:
    """This process's bars go on `line` from now on."""
    global _line
    _line = line


def share_lock() -> None:
    """Make tqdm's write lock (a multiprocessing lock) now, before the build forks, so that
    every process's bars draw under the same one."""
    tqdm.get_lock()  # type: ignore[no-untyped-call]


def on_terminal() -> bool:
    """Whether the bars are drawn on a terminal (stderr), where lines apart mean something."""
    return sys.stderr.isatty()


def bar(iterable: Iterable[Any] | None = None, line: int | None = None, **kwargs: Any
        ) -> tqdm[Any]:
    """A tqdm bar on `line` (default this process's), cleared when closed (the build prints
    its summary at the end). Written to a file, every bar stays on line 0: a line apart is
    drawn with line feeds and cursor-up codes, which a log would only show as noise."""
    position = (_line if line is None else line) if on_terminal() else 0
    return tqdm(iterable, position=position, leave=False, **kwargs)
