"""Base class of every config section: unknown keys are errors, values are immutable."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    # A misspelled key in a privacy tool must never pass silently (e.g. `noise_multipler`).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
