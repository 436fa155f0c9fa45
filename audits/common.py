"""Where the audit notebooks find their inputs. They read artifacts; they never produce them.

`audits/run_audits.py` sets these variables; run by hand, the defaults are `make demo`'s
outputs. Committed measurements (bench/results/) are read from the repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FERRIC_AUDIT_DATA", ROOT / "data" / "demo"))
TOKENIZER = Path(os.environ.get("FERRIC_AUDIT_TOKENIZER", ROOT / "tok" / "demo"))
RUN = Path(os.environ.get("FERRIC_AUDIT_RUN", ROOT / "runs" / "demo"))
COMPILE_RATE = Path(os.environ.get("FERRIC_AUDIT_COMPILE_RATE", ROOT / "reports" / "demo"))
RESULTS = ROOT / "bench" / "results"
AUDIT = ROOT.parent / "shared" / "reference" / "starcoder-pipeline-audit.md"


def load_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make demo` first (or set the "
                                f"FERRIC_AUDIT_* variables)")
    return json.loads(path.read_text())


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
