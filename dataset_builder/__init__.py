"""ferric stage 1: mine a Rust repository's git history into a dataset."""

__version__ = "0.1.104"  # bumped when the same input gives other outputs: old builds rebuild
