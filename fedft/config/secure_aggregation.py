"""The `secure_aggregation:` section: Flower SecAgg+ over the sites' adapter deltas.

Semantics follow Flower 1.41's `SecAggPlusWorkflow`, resolved per round from the number n of
sampled sites: `num_shares` is a count (odd, >= 3) or a fraction of n; `reconstruction_threshold`
is a count (>= 2, < num_shares) or a fraction of the resolved shares (at least 2). A round
survives up to shares - threshold drop-outs among a site's neighbours; fewer than `threshold`
colluding neighbours of a site learn nothing about its delta. Cross-section checks (against
the number of sites) are in `check_against_clients`, which the schema calls.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from fedft.config.base import StrictModel

__all__ = [
    "MODULUS_RANGE",
    "SecureAggregationConfig",
    "check_against_clients",
    "resolve_shares_and_threshold",
]

# Flower's default modulus (masks and sums live in Z_{2^32}); fedft does not change it.
MODULUS_RANGE = 2**32


def _count_or_fraction(value: Any, *, field: str, min_count: int) -> Any:
    # bool is an int in Python; `num_shares: true` must not mean 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"give an integer >= {min_count} or a fraction in (0, 1], got {value!r}"
        )
    if isinstance(value, int):
        if value < min_count:
            hint = " (write 1.0 for 'all')" if value == 1 else ""
            raise ValueError(f"{field} as a count must be >= {min_count}, got {value}{hint}")
    elif not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"{field} as a fraction must be in (0, 1], got {value}")
    return value


class SecureAggregationConfig(StrictModel):
    """Flower SecAgg+ parameters; defaults give full-mesh SecAgg tolerating ~30% drop-outs."""

    enabled: bool = True
    num_shares: int | float = Field(
        1.0,
        description="Shares of each site's secrets: a count (odd, >= 3) or a fraction of the "
        "sampled sites",
    )
    reconstruction_threshold: int | float = Field(
        0.7,
        description="Shares needed to rebuild a secret: a count (>= 2) or a fraction of num_shares",
    )
    delta_clip_norm: float = Field(
        10.0, gt=0.0, allow_inf_nan=False,
        description="Per-site L2 bound on the adapter delta; sites clip to it and refuse more",
    )
    max_weight: float = Field(
        1000.0, gt=0.0, allow_inf_nan=False,
        description="Largest per-round example count a site may report; keep it close to the "
        "real one",
    )
    clipping_range: float | None = Field(
        None, gt=0.0, allow_inf_nan=False,
        description="Per-coordinate quantization range; None = derived from delta_clip_norm",
    )
    quantization_range: int = Field(
        2**22, ge=2**8, le=2**30, description="Quantization levels per coordinate"
    )
    timeout: float = Field(
        600.0, gt=0.0, le=86_400.0, allow_inf_nan=False,
        description="Seconds the server waits for replies in each SecAgg+ stage (the masking "
        "stage includes local training)",
    )

    @field_validator("num_shares", mode="before")
    @classmethod
    def _shares(cls, value: Any) -> Any:
        return _count_or_fraction(value, field="num_shares", min_count=3)

    @field_validator("reconstruction_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any, info: ValidationInfo) -> Any:
        value = _count_or_fraction(value, field="reconstruction_threshold", min_count=2)
        shares = info.data.get("num_shares")
        if isinstance(value, int) and isinstance(shares, int) and value >= shares:
            # Flower refuses threshold == shares for counts; a threshold equal to the shares
            # would also make any single drop-out abort the round.
            raise ValueError(
                f"{value} must be less than num_shares ({shares}); lower it or raise num_shares"
            )
        return value

    @field_validator("clipping_range")
    @classmethod
    def _no_saturation(cls, value: float | None, info: ValidationInfo) -> float | None:
        clip = info.data.get("delta_clip_norm")
        if value is None or clip is None:
            return value
        needed = _derived_clipping_range(clip)
        if value < needed:
            raise ValueError(
                f"{value:g} is below {needed:g}, the largest coordinate a delta within "
                f"delta_clip_norm ({clip:g}) can reach; Flower would clip it silently. "
                "Leave it unset (derived) or raise it"
            )
        return value

    @property
    def effective_clipping_range(self) -> float:
        """clipping_range, or the smallest one at which no admissible delta saturates."""
        if self.clipping_range is not None:
            return self.clipping_range
        return _derived_clipping_range(self.delta_clip_norm)


def _derived_clipping_range(clip_norm: float) -> float:
    # Sites refuse num_examples > max_weight, so Flower's weight factor round(n/W*Q)/Q is <= 1
    # and every coordinate of a delta with L2 norm <= clip_norm stays within clip_norm (equal
    # to fedft.federation.secagg.choose_clipping_range(clip_norm=..., max_weight=W); config
    # must not import federation).
    return float(clip_norm)


def resolve_shares_and_threshold(
    cfg: SecureAggregationConfig, *, num_sampled: int
) -> tuple[int, int]:
    """(shares, threshold) Flower 1.41's SecAggPlusWorkflow uses for a round with n sites.

    Mirrors its rules: a fraction of shares is rounded, made odd when below n, and replaced
    by n when <= 2; an even count below n is raised by one; a fractional threshold is rounded
    and at least 2. tests/config/test_secure_aggregation_config.py checks this against the
    workflow itself.
    """
    n = num_sampled
    if isinstance(cfg.num_shares, float):
        shares = round(cfg.num_shares * n)
        if shares < n and shares % 2 == 0:
            shares += 1
        if shares <= 2:
            shares = n
    else:
        shares = cfg.num_shares
    if isinstance(cfg.reconstruction_threshold, float):
        threshold = max(round(cfg.reconstruction_threshold * shares), 2)
    else:
        threshold = cfg.reconstruction_threshold
    if n != shares and shares % 2 == 0:
        # Flower bumps an even count after fixing the threshold (check_against_clients refuses
        # this case: Flower's sites then crash).
        shares += 1
    return shares, threshold


def check_against_clients(
    cfg: SecureAggregationConfig,
    *,
    num_clients: int,
    min_fit_clients: int,
    fraction_fit: float = 1.0,
) -> list[str]:
    """Problems of the section given the federation's size; each names its key path.

    A round samples n sites with min_fit_clients <= n <= max(num_clients * fraction_fit,
    min_fit_clients); every n in that range must give a working, overflow-free protocol.
    """
    if not cfg.enabled:
        return []
    p = "secure_aggregation"
    errors: list[str] = []
    n_min = min_fit_clients
    n_max = max(int(num_clients * fraction_fit), min_fit_clients)
    if n_min < 2:
        errors.append(
            f"federation.min_fit_clients: SecAgg+ needs at least 2 sites per round, got {n_min}"
        )
        return errors
    if isinstance(cfg.num_shares, int) and cfg.num_shares > n_min:
        # Flower builds each site's neighbourhood as a ring of num_shares sites; with fewer
        # sites the ring wraps onto itself and rounds abort for lack of neighbours.
        errors.append(
            f"{p}.num_shares: {cfg.num_shares} exceeds the fewest sites a round may sample "
            f"(federation.min_fit_clients = {n_min}); lower it or use a fraction such as 1.0"
        )
    elif isinstance(cfg.num_shares, int) and cfg.num_shares % 2 == 0 and cfg.num_shares != n_max:
        errors.append(
            f"{p}.num_shares: {cfg.num_shares} is even; Flower 1.41 then builds neighbourhoods "
            f"of {cfg.num_shares + 1} sites but tells them {cfg.num_shares}, and every site "
            "fails. Give an odd count (or a fraction such as 1.0)"
        )
    else:
        for n in sorted({n_min, n_max}):
            shares, threshold = resolve_shares_and_threshold(cfg, num_sampled=n)
            if shares > n:
                errors.append(
                    f"{p}.num_shares: resolves to {shares} shares with {n} sampled sites; "
                    "lower it"
                )
            elif threshold > shares:
                errors.append(
                    f"{p}.reconstruction_threshold: resolves to {threshold}, above the "
                    f"{shares} shares with {n} sampled sites; lower it"
                )
            elif threshold < shares // 2 + 1:
                # SecAgg+ holds against a server that lies about who dropped out only when a
                # majority of a site's neighbours is needed to rebuild its secrets.
                errors.append(
                    f"{p}.reconstruction_threshold: resolves to {threshold} of {shares} shares "
                    f"with {n} sampled sites; {threshold} colluding sites could rebuild another "
                    f"site's secrets. Give at least a majority ({shares // 2 + 1}), e.g. 0.7"
                )
    # Each site adds an integer < Q plus its weight (<= Q) to sums kept mod 2^32: n_max
    # sites must fit or the aggregate wraps around silently.
    if n_max * cfg.quantization_range >= MODULUS_RANGE:
        limit = (MODULUS_RANGE - 1) // cfg.quantization_range
        errors.append(
            f"{p}.quantization_range: {cfg.quantization_range} levels overflow the 2^32 modulus "
            f"with up to {n_max} sites per round (at most {limit} sites fit); lower it"
        )
    return errors
