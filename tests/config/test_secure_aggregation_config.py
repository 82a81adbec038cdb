"""The `secure_aggregation:` section: every bad value named by key, all at once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fedft.config.secure_aggregation import (
    SecureAggregationConfig,
    check_against_clients,
    resolve_shares_and_threshold,
)


def _errors(**values) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        SecureAggregationConfig(**values)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in info.value.errors()]


def test_defaults():
    cfg = SecureAggregationConfig()
    assert cfg.enabled is True
    assert (cfg.num_shares, cfg.reconstruction_threshold) == (1.0, 0.7)
    assert (cfg.delta_clip_norm, cfg.max_weight, cfg.clipping_range) == (10.0, 1000.0, None)
    assert cfg.effective_clipping_range == 10.0
    assert (cfg.quantization_range, cfg.timeout) == (2**22, 600.0)


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"num_shares": 2}, "num_shares", "as a count must be >= 3"),
        ({"num_shares": 1}, "num_shares", "write 1.0 for 'all'"),
        ({"num_shares": 0.0}, "num_shares", "as a fraction must be in (0, 1]"),
        ({"num_shares": 1.5}, "num_shares", "as a fraction must be in (0, 1]"),
        ({"num_shares": float("nan")}, "num_shares", "as a fraction must be in (0, 1]"),
        ({"num_shares": True}, "num_shares", "give an integer >= 3 or a fraction"),
        ({"num_shares": "5"}, "num_shares", "give an integer >= 3 or a fraction"),
        ({"reconstruction_threshold": 1}, "reconstruction_threshold", "as a count must be >= 2"),
        ({"reconstruction_threshold": 0.0}, "reconstruction_threshold", "as a fraction must be in (0, 1]"),
        ({"num_shares": 5, "reconstruction_threshold": 5}, "reconstruction_threshold", "5 must be less than num_shares (5)"),
        ({"num_shares": 5, "reconstruction_threshold": 7}, "reconstruction_threshold", "7 must be less than num_shares (5)"),
        ({"delta_clip_norm": 0.0}, "delta_clip_norm", "greater than 0"),
        ({"delta_clip_norm": float("inf")}, "delta_clip_norm", "finite number"),
        ({"max_weight": -1.0}, "max_weight", "greater than 0"),
        ({"clipping_range": 5.0}, "clipping_range", "5 is below 10, the largest coordinate"),
        ({"clipping_range": 0.0}, "clipping_range", "greater than 0"),
        ({"quantization_range": 2**31}, "quantization_range", "less than or equal to 1073741824"),
        ({"quantization_range": 16}, "quantization_range", "greater than or equal to 256"),
        ({"timeout": 0.0}, "timeout", "greater than 0"),
        ({"timeout": float("inf")}, "timeout", "finite number"),
        ({"timeout": 1e6}, "timeout", "less than or equal to 86400"),
        ({"num_shares_": 3}, "num_shares_", "Extra inputs are not permitted"),
    ],
)
def test_each_bad_value_is_one_error_naming_its_key(values, key, message):
    errors = _errors(**values)
    assert len(errors) == 1, errors
    assert errors[0][0] == key
    assert message in errors[0][1], errors[0][1]


def test_all_errors_at_once():
    errors = _errors(num_shares=2, reconstruction_threshold=1, timeout=-1, clipping_range=1.0)
    assert [key for key, _ in errors] == [
        "num_shares", "reconstruction_threshold", "clipping_range", "timeout",
    ]


@pytest.mark.parametrize(
    "values",
    [
        {"num_shares": 3, "reconstruction_threshold": 2},
        {"num_shares": 1.0, "reconstruction_threshold": 1.0},
        {"num_shares": 0.5, "reconstruction_threshold": 3},
        {"clipping_range": 12.0},  # wider than needed: allowed, only coarser
        {"enabled": False},
    ],
)
def test_valid_sections(values):
    SecureAggregationConfig(**values)


@pytest.mark.parametrize(
    ("values", "clients", "expected"),
    [
        ({}, {"num_clients": 4, "min_fit_clients": 2}, []),
        ({}, {"num_clients": 1000, "min_fit_clients": 3}, []),
        ({"enabled": False, "num_shares": 99}, {"num_clients": 4, "min_fit_clients": 2}, []),
        ({}, {"num_clients": 4, "min_fit_clients": 1}, ["federation.min_fit_clients: SecAgg+ needs at least 2"]),
        ({"num_shares": 5}, {"num_clients": 8, "min_fit_clients": 4}, ["secure_aggregation.num_shares: 5 exceeds the fewest"]),
        ({"num_shares": 4}, {"num_clients": 8, "min_fit_clients": 6}, ["secure_aggregation.num_shares: 4 is even"]),
        ({"num_shares": 4}, {"num_clients": 4, "min_fit_clients": 4}, []),  # 4 of 4: full mesh
        ({"reconstruction_threshold": 4}, {"num_clients": 6, "min_fit_clients": 3}, ["secure_aggregation.reconstruction_threshold: resolves to 4, above the 3 shares"]),
        ({}, {"num_clients": 1024, "min_fit_clients": 3}, ["secure_aggregation.quantization_range: 4194304 levels overflow"]),
        ({"quantization_range": 2**20}, {"num_clients": 1024, "min_fit_clients": 3}, []),
        ({}, {"num_clients": 2000, "min_fit_clients": 3, "fraction_fit": 0.1}, []),
    ],
)
def test_check_against_clients(values, clients, expected):
    errors = check_against_clients(SecureAggregationConfig(**values), **clients)
    assert len(errors) == len(expected), errors
    for got, want in zip(errors, expected, strict=True):
        assert got.startswith(want), got


@pytest.mark.parametrize(
    ("values", "n", "expected"),
    [
        ({}, 2, (2, 2)),
        ({}, 3, (3, 2)),
        ({}, 4, (4, 3)),
        ({}, 10, (10, 7)),
        ({"num_shares": 0.5, "reconstruction_threshold": 0.5}, 10, (5, 2)),  # round(2.5) = 2
        ({"num_shares": 0.4}, 10, (5, 4)),  # even 4 -> odd 5
        ({"num_shares": 0.1}, 10, (10, 7)),  # too small -> all sampled
        ({"num_shares": 3, "reconstruction_threshold": 2}, 10, (3, 2)),
    ],
)
def test_resolution_per_round(values, n, expected):
    # tests/federation/test_secagg_round.py checks these rules against Flower's workflow.
    assert resolve_shares_and_threshold(SecureAggregationConfig(**values), num_sampled=n) == expected
