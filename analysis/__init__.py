"""Score Rust candidates by whether they compile (`python -m analysis compile-rate|humaneval`).

targets.py (held-out code from git) -> candidates.py (guards, probes, baselines) ->
generate.py (a local model) -> checker.py + sandbox.py (cargo/rustc, sandboxed; the harness
manifest from dataset_builder/cargo_manifest.py)
-> report.py (Wilson intervals, buckets, plots); compile_rate.py runs it all in workers.
"""
