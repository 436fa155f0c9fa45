"""QLoRA fine-tuning of StarCoder-family models on ferric samples (`python -m training`)."""

__version__ = "0.1.0"
