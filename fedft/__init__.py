"""fedft: federated, privacy-preserving fine-tuning of language models."""

__version__ = "0.1.0"
