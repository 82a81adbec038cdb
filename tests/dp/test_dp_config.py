"""The `dp:` and `site_dp:` sections: bad values rejected with key, value and fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fedft.config.dp import DPConfig, SiteDPConfig, dp_cross_errors


def _messages(cls, **values) -> list[str]:
    with pytest.raises(ValidationError) as info:
        cls(**values)
    return [e["msg"] for e in info.value.errors()]


def test_defaults_are_off_and_complete():
    # Execute
    dp, site = DPConfig(), SiteDPConfig()

    # Assert
    assert (dp.enabled, dp.noise_multiplier, dp.target_epsilon, dp.target_delta) == (
        False,
        None,
        None,
        None,
    )
    assert (dp.max_grad_norm, dp.max_epsilon, dp.accountant, dp.group_size) == (
        1.0,
        None,
        "prv",
        1,
    )
    assert (site.enabled, site.noise_multiplier, site.clipping_norm) == (False, None, None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"target_epsilon": 0.0}, "dp.target_epsilon must be a finite number > 0, got 0.0"),
        ({"target_epsilon": -1}, "dp.target_epsilon must be a finite number > 0, got -1"),
        ({"target_epsilon": float("inf")}, "dp.target_epsilon must be a finite number > 0"),
        ({"target_delta": 1.0}, "dp.target_delta must be in (0, 1), got 1.0"),
        ({"target_delta": 0.0}, "dp.target_delta must be in (0, 1), got 0.0"),
        ({"target_delta": 2}, "dp.target_delta must be in (0, 1), got 2"),
        ({"noise_multiplier": 0.0}, "dp.noise_multiplier must be a finite number > 0, got 0.0"),
        ({"noise_multiplier": -0.5}, "dp.noise_multiplier must be a finite number > 0"),
        ({"max_grad_norm": 0.0}, "dp.max_grad_norm must be a finite number > 0, got 0.0"),
        ({"max_grad_norm": None}, "dp.max_grad_norm must be a finite number > 0, got None"),
        ({"max_epsilon": 0}, "dp.max_epsilon must be a finite number > 0, got 0"),
        ({"noise_multiplier": "1.0"}, "dp.noise_multiplier must be a number, got '1.0'"),
        ({"noise_multiplier": True}, "dp.noise_multiplier must be a number, got True"),
        ({"accountant": "gdp"}, "Input should be 'prv' or 'rdp'"),
        ({"group_size": 0}, "dp.group_size must be an integer from 1 to 256, got 0"),
        ({"group_size": 2.5}, "dp.group_size must be an integer from 1 to 256, got 2.5"),
        ({"group_size": True}, "dp.group_size must be an integer from 1 to 256, got True"),
        ({"group_size": 1000}, "dp.group_size must be an integer from 1 to 256, got 1000"),
        ({"noise_multipler": 1.0}, "Extra inputs are not permitted"),
    ],
)
def test_each_bad_value_is_named_with_its_value(values, expected):
    # Execute
    messages = _messages(DPConfig, **values)

    # Assert
    assert len(messages) == 1, messages
    assert expected in messages[0]


def test_enabled_needs_exactly_one_of_noise_or_target():
    # Execute
    neither = _messages(DPConfig, enabled=True)
    both = _messages(DPConfig, enabled=True, noise_multiplier=1.0, target_epsilon=3.0)

    # Assert
    assert (
        "give exactly one of dp.noise_multiplier or dp.target_epsilon (neither is set)"
        in neither[0]
    )
    assert "(both are set)" in both[0]
    assert DPConfig(enabled=True, target_epsilon=3.0).noise_multiplier is None
    assert DPConfig(enabled=False).target_epsilon is None  # off: nothing required


def test_site_dp_needs_noise_and_clipping_when_enabled():
    # Execute
    messages = _messages(SiteDPConfig, enabled=True)
    bad = _messages(SiteDPConfig, clipping_norm=0.0)

    # Assert
    assert "site_dp.noise_multiplier and site_dp.clipping_norm is not set" in messages[0]
    assert "site_dp.clipping_norm must be a finite number > 0, got 0.0" in bad[0]
    assert SiteDPConfig(enabled=True, noise_multiplier=1.0, clipping_norm=2.0).enabled


def test_cross_section_rules():
    # Prepare
    dp = DPConfig(enabled=True, target_epsilon=3.0)
    site = SiteDPConfig(enabled=True, noise_multiplier=1.0, clipping_norm=1.0, target_delta=0.3)

    # Execute
    errors = dp_cross_errors(
        dp, site, strategy_name="fedprox", proximal_mu=0.01, rounds=None, num_clients=4
    )
    clean = dp_cross_errors(
        dp, SiteDPConfig(), strategy_name="fedavg", proximal_mu=0.01, rounds=5, num_clients=4
    )

    # Assert
    assert len(errors) == 3
    assert errors[0].startswith("strategy.proximal_mu: 0.01 has no effect under dp.enabled")
    assert errors[1].startswith(
        "dp.target_epsilon: calibrating noise needs the planned number of rounds"
    )
    assert errors[2].startswith("site_dp.target_delta: 0.3 is not below 1/4")
    assert clean == []


def test_site_dp_is_accepted_with_fedavg_and_refused_with_fedadam():
    # Prepare
    from fedft.config import load_config

    site = ["site_dp.enabled=true", "site_dp.noise_multiplier=1.0", "site_dp.clipping_norm=0.5"]

    # Execute
    cfg = load_config(None, site)
    with pytest.raises(Exception) as info:
        load_config(None, [*site, "strategy.name=fedadam"])

    # Assert
    assert cfg.site_dp.enabled and cfg.strategy.name == "fedavg"
    assert "strategy.name: fedadam is not covered by site_dp" in str(info.value)
