"""Site-level DP in Flower: the server's noise wrapper and the site's clipping of its update.

Server: Flower's legacy `DifferentialPrivacyClientSideFixedClipping` wraps the inner strategy
(FedAvg or FedProx) and adds N(0, (σ·C/m)²) to every coordinate of the aggregate it returns.
fedft's `DeltaStrategy` sits outside it and hands it weights `global + Δ̄`, where Δ̄ is the
mean of the sites' clipped deltas — under SecAgg+ the already unmasked mean, so the noise is
added after the secure sum, once. Every site reports the same weight (`reported_weight`), so
Δ̄ is the plain mean the noise is calibrated to, not a mean weighted by record counts (one
large site would then move it by more than C/m).

Site: Flower's `fixedclipping_mod` clips `weights − global`; fedft's sites send deltas, so
they clip the delta themselves (`clip_for_site_dp`), before SecAgg+ masking, to the norm the
server's wrapper announces in the round's config.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from flwr.server.strategy import DifferentialPrivacyClientSideFixedClipping, Strategy
from flwr.supercore.differential_privacy import KEY_CLIPPING_NORM

from fedft.config import Config
from fedft.dp.site_level import SiteLevelPlan
from fedft.federation.global_rng import GLOBAL_RNG_LOCK
from fedft.round.masking_bounds import clip_delta_norm

log = logging.getLogger(__name__)

__all__ = [
    "KEY_CLIPPING_NORM",
    "clip_for_site_dp",
    "reported_weight",
    "reseed_noise_source",
    "wrap_with_site_dp",
]


class _NoiseUnderRngLock(DifferentialPrivacyClientSideFixedClipping):  # type: ignore[misc]
    """Flower's wrapper, drawing its noise under `GLOBAL_RNG_LOCK` right after reseeding:
    with `federation.backend: inprocess` a site still running in this process after its round
    timed out swaps the global generators' states (`fedft.federation.global_rng`), and could
    otherwise put a predictable one back between the reseeding and the draw."""

    def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
        with GLOBAL_RNG_LOCK:
            reseed_noise_source()
            return super().aggregate_fit(server_round, results, failures)


def wrap_with_site_dp(inner: Strategy, plan: SiteLevelPlan) -> Strategy:
    """Flower's server-noise wrapper around `inner` (which must aggregate linearly)."""
    return _NoiseUnderRngLock(
        inner,
        noise_multiplier=plan.noise_multiplier,
        clipping_norm=plan.clipping_norm,
        num_sampled_clients=plan.num_sampled,
    )


def reseed_noise_source() -> None:
    """Reseed NumPy's global generator from the OS CSPRNG (19,968 bits, its full state).

    Flower's wrapper draws the noise with `np.random.normal`, the global generator. Any library
    in the server process may have seeded it (with `run.seed`, which every site knows); a site
    that could replay the noise could subtract it from the published adapter. Called right
    before each noisy aggregation.
    """
    np.random.seed(np.frombuffer(secrets.token_bytes(624 * 4), dtype=np.uint32))


def clip_for_site_dp(
    cfg: Config,
    arrays: Sequence[np.ndarray],
    *,
    server_config: Mapping[str, Any],
    site_id: str,
) -> list[np.ndarray]:
    """The site's delta clipped to the round's site-level clipping norm (or as is).

    The norm is the one the server's DP wrapper sends (`clipping_norm` in the fit config);
    under the site's own `site_dp.enabled` it must equal the site's `site_dp.clipping_norm`,
    and a server that sends none is refused: the update would be published without the noise
    the site's config promises. Raises ValueError naming the setting.
    """
    announced = server_config.get(KEY_CLIPPING_NORM)
    own = cfg.site_dp
    if announced is None:
        if own.enabled:
            raise ValueError(
                f"{site_id}: site_dp.enabled is true here, but the server's round config has no "
                f"{KEY_CLIPPING_NORM}: it does not run site-level DP; use the same config as "
                "the server"
            )
        return list(arrays)
    norm = float(announced)
    if not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"{site_id}: the server announced {KEY_CLIPPING_NORM}={announced!r}")
    if own.enabled and not math.isclose(norm, float(own.clipping_norm or 0.0), rel_tol=1e-9):
        raise ValueError(
            f"{site_id}: the server clips updates to {norm:g}, this site's "
            f"site_dp.clipping_norm is {own.clipping_norm:g}; use the same config as the server"
        )
    clipped, before = clip_delta_norm(arrays=arrays, max_norm=norm)
    if before > norm:
        log.info("%s: update norm %.4g clipped to %.4g (site-level DP)", site_id, before, norm)
    return clipped


def reported_weight(cfg: Config, *, num_records: int, site_dp_round: bool) -> int:
    """The `num_examples` a site reports: its record count, or under site-level DP one weight
    shared by every site (the plain mean DP-FedAvg's noise is calibrated to).

    That shared weight is SecAgg+'s `max_weight` when SecAgg+ is on — Flower scales each
    masked vector by weight / max_weight before quantizing, and a factor of exactly 1 loses
    no precision — and 1 otherwise. The record count itself then stays at the site.
    """
    if not site_dp_round:
        return num_records
    sa = cfg.secure_aggregation
    return max(1, int(sa.max_weight)) if sa.enabled else 1
