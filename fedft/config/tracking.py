"""The `tracking:` section: optional copies of a run's records in TensorBoard and MLflow.

Off by default. The run folder stays the source of truth: the sink reads what the run already
wrote there (metrics.jsonl, config.yaml, the privacy ledger) and never sees a row or a text.
Both need the `tracking` extra (`pip install 'fedft[tracking]'`).
"""

from __future__ import annotations

from pydantic import Field

from fedft.config.base import StrictModel

__all__ = ["TrackingConfig"]


class TrackingConfig(StrictModel):
    tensorboard: bool = Field(
        False, description="write TensorBoard event files to <run folder>/tensorboard"
    )
    mlflow: bool = Field(False, description="log the run to MLflow (see mlflow_uri)")
    mlflow_uri: str | None = Field(
        None,
        description=(
            "MLflow tracking URI (e.g. sqlite:///mlflow.db or http://host:5000); None = a local "
            "file store in <run folder>/mlruns"
        ),
    )
    experiment: str = Field(
        "fedft",
        min_length=1,
        max_length=200,
        description="MLflow experiment the run is filed under",
    )
