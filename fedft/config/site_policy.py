"""A site's own minimum privacy requirements, set by its data steward, not by the coordinator.

In a deployment the run config (DP, SecAgg+, anonymization) comes from the coordinator. A site
states what it insists on in its SuperNode's node config:

    require-dp = true                    # sample-level DP-SGD (dp.enabled)
    max-epsilon = 3.0                    # the run's dp.max_epsilon must be set and ≤ this
    require-secure-aggregation = true    # SecAgg+ (secure_aggregation.enabled)
    require-anonymization = true         # the anonymization policy the site applies is enabled

A run asking for less is declined by that site with the reason, every round (recorded as
declined in the ledger); nothing is trained and nothing leaves the site.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError

from fedft.config.base import StrictModel
from fedft.config.schema import Config

__all__ = ["SiteMinimums", "unmet_minimums"]

# node config key -> field
_NODE_KEYS = {
    "require-dp": "require_dp",
    "max-epsilon": "max_epsilon",
    "require-secure-aggregation": "require_secure_aggregation",
    "require-anonymization": "require_anonymization",
}


class SiteMinimums(StrictModel):
    require_dp: bool = False
    max_epsilon: float | None = Field(None, gt=0.0, description="largest dp.max_epsilon accepted")
    require_secure_aggregation: bool = False
    require_anonymization: bool = False

    @classmethod
    def from_node_config(cls, node_config: Mapping[str, Any]) -> SiteMinimums:
        """The minimums in a node config; raises ValueError naming the node config key."""
        values = {f: node_config[k] for k, f in _NODE_KEYS.items() if k in node_config}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = next(k for k, f in _NODE_KEYS.items() if f == err["loc"][0])
            raise ValueError(
                f"node config {key}: {err['msg']} (got {err.get('input')!r})"
            ) from None


def unmet_minimums(
    cfg: Config, minimums: SiteMinimums, *, anonymization_enabled: bool
) -> list[str]:
    """Every requirement of the site the run's config does not meet, one sentence each."""
    unmet = []
    dp = cfg.dp
    if (minimums.require_dp or minimums.max_epsilon is not None) and not dp.enabled:
        unmet.append("the run has sample-level DP off (dp.enabled: false); this site requires it")
    elif minimums.max_epsilon is not None and (
        dp.max_epsilon is None or dp.max_epsilon > minimums.max_epsilon
    ):
        asked = "no cap" if dp.max_epsilon is None else f"ε up to {dp.max_epsilon:g}"
        unmet.append(
            f"the run allows {asked} (dp.max_epsilon); this site's policy allows at most "
            f"ε = {minimums.max_epsilon:g}"
        )
    if minimums.require_secure_aggregation and not cfg.secure_aggregation.enabled:
        unmet.append("the run has secure aggregation off; this site requires SecAgg+")
    if minimums.require_anonymization and not anonymization_enabled:
        unmet.append("anonymization is disabled in the policy for this site; it requires it")
    return unmet
