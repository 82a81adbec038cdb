"""The `strategy:` section: how the server combines the sites' updates.

`fedavg`, `fedprox` and `fedadam` average (FedAdam then takes an adaptive server step); they
work with SecAgg+, which only ever reveals a sum. The robust aggregators — `fedmedian`
(coordinate-wise median), `fedtrimmedavg` (mean without the `trim_fraction` largest and
smallest values per coordinate) and `krum` (the update closest to its neighbours) — resist a
minority of broken or hostile sites, but must look at every site's update individually, which
is exactly what SecAgg+ prevents; they also are not a mean of clipped updates, so site-level
DP's noise is not calibrated to them. fedft refuses both combinations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt

from fedft.config.base import StrictModel

ROBUST = ("fedmedian", "fedtrimmedavg", "krum")


class StrategyConfig(StrictModel):
    name: Literal["fedavg", "fedprox", "fedadam", "fedmedian", "fedtrimmedavg", "krum"] = "fedavg"
    proximal_mu: float = Field(0.01, ge=0.0, description="FedProx only")
    server_learning_rate: float = Field(0.01, gt=0.0, description="FedAdam only (eta)")
    beta_1: float = Field(0.9, ge=0.0, lt=1.0)
    beta_2: float = Field(0.99, ge=0.0, lt=1.0)
    tau: float = Field(1e-3, gt=0.0, description="FedAdam adaptivity")
    trim_fraction: float = Field(
        0.2, gt=0.0, lt=0.5, description="FedTrimmedAvg: share cut at each end"
    )
    num_malicious: NonNegativeInt = Field(1, description="Krum: sites assumed hostile per round")
    # Honest FFA-LoRA deltas have norms around 1; far above means a broken or hostile site.
    max_update_norm: float | None = Field(
        100.0,
        gt=0.0,
        allow_inf_nan=False,
        description="Without SecAgg+: a site's update with a larger L2 norm is rejected (null: "
        "no bound). With SecAgg+ sites clip to secure_aggregation.delta_clip_norm themselves",
    )


def strategy_cross_errors(
    strategy: StrategyConfig, *, secure_aggregation: bool, site_dp: bool, min_fit_clients: int
) -> list[str]:
    errors = []
    if strategy.name in ROBUST and secure_aggregation:
        errors.append(
            f"strategy.name: {strategy.name} needs every site's update in the clear, which "
            "SecAgg+ hides; set secure_aggregation.enabled: false, or use fedavg/fedprox/fedadam"
        )
    if strategy.name in ROBUST and site_dp:
        errors.append(
            f"strategy.name: {strategy.name} is not covered by site_dp (its noise is calibrated "
            "to a mean of clipped updates); use fedavg or fedprox"
        )
    if strategy.name == "krum" and min_fit_clients < 2 * strategy.num_malicious + 3:
        errors.append(
            f"strategy.num_malicious: Krum tolerates f hostile sites only with at least 2f + 3 "
            f"updates per round; federation.min_fit_clients is {min_fit_clients}, so f must be "
            f"<= {max(0, (min_fit_clients - 3) // 2)}"
        )
    return errors
