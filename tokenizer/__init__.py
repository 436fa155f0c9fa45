"""Extend the StarCoder2 tokenizer for Rust (`python -m tokenizer train|eval`)."""
