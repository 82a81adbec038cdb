"""The `generation_eval:` section: ROUGE-L and exact match on held-out responses (instruction
task only), with a bounded generation budget so a round's evaluation stays cheap."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from fedft.config.base import StrictModel

__all__ = ["GenerationEvalConfig"]


class GenerationEvalConfig(StrictModel):
    enabled: bool = Field(
        True, description="generate answers for held-out prompts each round (instruction task)"
    )
    max_rows: PositiveInt = Field(
        32, le=10_000, description="held-out rows generated for (the first ones, in order)"
    )
    max_new_tokens: PositiveInt = Field(
        32, le=2048, description="tokens generated per row (greedy decoding)"
    )
