"""Base model loading and LoRA adapter state."""
