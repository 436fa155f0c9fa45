import gc
import os
import sys

from dataset_builder.cli import main

# The walk allocates millions of small, acyclic objects: frequent full collections only cost
# time, and so does freeing them one by one at exit.
gc.set_threshold(200_000, 50, 1000)
code = main()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
