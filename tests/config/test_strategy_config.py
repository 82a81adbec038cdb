"""`strategy:`: robust aggregators are offered only where they can work."""

from __future__ import annotations

import pytest

from fedft.config import ConfigError, load_config

PLAIN = {
    "secure_aggregation.enabled": False,
    "federation.num_clients": 5,
    "federation.min_fit_clients": 5,
}


@pytest.mark.parametrize("name", ["fedmedian", "fedtrimmedavg", "krum"])
def test_robust_strategies_load_without_secure_aggregation(name):
    assert load_config(None, extra={**PLAIN, "strategy.name": name}).strategy.name == name


@pytest.mark.parametrize("name", ["fedmedian", "fedtrimmedavg", "krum"])
def test_robust_strategies_are_refused_with_secure_aggregation(name):
    with pytest.raises(
        ConfigError, match=f"strategy.name: {name} needs every site's update in the clear"
    ):
        load_config(
            None, extra={**PLAIN, "secure_aggregation.enabled": True, "strategy.name": name}
        )


def test_robust_strategies_are_refused_with_site_level_dp():
    extra = {
        **PLAIN,
        "strategy.name": "fedmedian",
        "site_dp.enabled": True,
        "site_dp.noise_multiplier": 1.0,
        "site_dp.clipping_norm": 1.0,
    }
    with pytest.raises(ConfigError, match="fedmedian is not covered by site_dp"):
        load_config(None, extra=extra)


@pytest.mark.parametrize(
    ("min_fit", "f", "ok"), [(5, 1, True), (4, 1, False), (7, 2, True), (6, 2, False)]
)
def test_krum_needs_2f_plus_3_updates(min_fit, f, ok):
    extra = {
        **PLAIN,
        "federation.num_clients": 8,
        "federation.min_fit_clients": min_fit,
        "strategy.name": "krum",
        "strategy.num_malicious": f,
    }
    if ok:
        load_config(None, extra=extra)
    else:
        with pytest.raises(ConfigError, match="strategy.num_malicious"):
            load_config(None, extra=extra)


@pytest.mark.parametrize("value", [0.0, 0.5, -0.1])
def test_trim_fraction_must_leave_a_middle(value):
    with pytest.raises(ConfigError, match="strategy.trim_fraction"):
        load_config(
            None, extra={**PLAIN, "strategy.name": "fedtrimmedavg", "strategy.trim_fraction": value}
        )
