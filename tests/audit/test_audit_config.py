"""The audit: section: off by default, unknown keys and bad values named by key path."""

import pytest

from fedft.config import ConfigError, load_config


def test_canaries_are_off_by_default_and_need_consent_for_real_sites():
    cfg = load_config(None)
    assert cfg.audit.canaries.enabled is False
    assert cfg.audit.canaries.consent is False


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("audit.canaries.count=1", "audit.canaries.count"),
        ("audit.canaries.repeats=0", "audit.canaries.repeats"),
        ("audit.canaries.candidates=1", "audit.canaries.candidates"),
        ("audit.canaries.confidence=1.0", "audit.canaries.confidence"),
        ("audit.canaries.canaris=3", "audit.canaries.canaris: unknown key"),
        ("audit.canaries.sites=[server]", "audit.canaries.sites"),
    ],
)
def test_bad_values_name_the_key(override, expected):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert any(e.startswith(expected) for e in info.value.errors), info.value.errors
