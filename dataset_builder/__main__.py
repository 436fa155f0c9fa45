import gc
import os
import sys

from dataset_builder.children import Terminated, answer_sigterm, done_answering
from dataset_builder.plots import Drawer

answer_sigterm()

# The plot child first, while this process still has everything to import: its own import of
# matplotlib (about a second of CPU) then runs on the other core, which would idle until the
# parse workers start.
Drawer.start_early()

from dataset_builder.cli import main  # noqa: E402
from dataset_builder.schema import skip_pandas_probe  # noqa: E402

skip_pandas_probe()

# The walk allocates millions of small, acyclic objects: frequent full collections only cost
# time, and so does freeing them one by one at exit.
gc.set_threshold(200_000, 50, 1000)
code: int | None = None
try:
    code = main()
    done_answering()  # from here, a signal answered again does not stop a finished run
except Terminated:  # it came as main() returned, past the handlers that say so
    done_answering()
    if code is None:
        print("terminated: run the same command again to resume", file=sys.stderr)
        code = 143
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
