"""Execute the audit notebooks headless (nbclient) on a set of outputs; fail on any error.

    python audits/run_audits.py --demo data/demo --tokenizer tok/demo --run runs/demo \
        --compile-rate reports/demo --out reports/audits
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(notebook: Path, out_dir: Path, env: dict[str, str], timeout: int = 600) -> Path:
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    old = dict(os.environ)
    os.environ.update(env)
    try:
        # Unix sockets in a private folder rather than TCP on localhost: nothing else on the
        # machine can reach the kernel (ipykernel warns about plain TCP at every start).
        with tempfile.TemporaryDirectory(prefix="ferric-kernel-") as sockets:
            # a socket's path has at most 107 bytes; with a long TMPDIR, TCP as before
            ipc = len(sockets) < 80
            manager = KernelManager(kernel_name="python3", **(
                {"transport": "ipc", "ip": str(Path(sockets) / "kernel")} if ipc else {}))
            try:
                NotebookClient(nb, km=manager, timeout=timeout,
                               resources={"metadata": {"path": str(HERE)}}).execute()
            finally:  # a kernel manager passed in is the caller's to stop
                if manager.has_kernel:
                    manager.shutdown_kernel(now=True)
    finally:
        os.environ.clear()
        os.environ.update(old)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / notebook.name
    tmp = target.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, required=True, help="dataset_builder output")
    parser.add_argument("--tokenizer", type=Path, required=True, help="tokenizer train output")
    parser.add_argument("--run", type=Path, required=True, help="training run folder")
    parser.add_argument("--compile-rate", type=Path, required=True, help="analysis report")
    parser.add_argument("--out", type=Path, default=Path("reports/audits"))
    parser.add_argument("--only", default=None, help="run only notebooks whose name has this")
    args = parser.parse_args(argv)
    env = {"FERRIC_AUDIT_DATA": str(args.demo.resolve()),
           "FERRIC_AUDIT_TOKENIZER": str(args.tokenizer.resolve()),
           "FERRIC_AUDIT_RUN": str(args.run.resolve()),
           "FERRIC_AUDIT_COMPILE_RATE": str(args.compile_rate.resolve())}
    notebooks = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [n for n in notebooks if args.only in n.name]
    failed = []
    for nb in notebooks:
        try:
            written = execute(nb, args.out, env)
            print(f"ok    {nb.name} -> {written}")
        except Exception as exc:
            first = str(exc).strip().splitlines()
            print(f"FAIL  {nb.name}: {first[-1] if first else type(exc).__name__}",
                  file=sys.stderr)
            failed.append(nb.name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
