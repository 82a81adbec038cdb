"""A site's own minimums: a run asking for less is declined by the site, and the ledger says so."""

import pytest

from fedft.config import load_config
from fedft.config.site_policy import SiteMinimums, unmet_minimums
from fedft.federation.client_app import SiteClient
from fedft.federation.site_identity import SiteIdentity
from fedft.round.coordinator import _site_round
from fedft.round.outcome import failure_kind
from fedft.round.summary import SiteFailure, failed_site
from fedft.run.ledger import PrivacyLedger
from fedft.run.ledger_verify import read_ledger

DP_ON = ["dp.enabled=true", "dp.target_epsilon=3", "dp.max_epsilon=3"]


@pytest.mark.parametrize(
    ("overrides", "minimums", "anonymized", "expected"),
    [
        ([], {}, True, []),
        ([], {"require_dp": True}, True, ["sample-level DP off (dp.enabled: false)"]),
        (DP_ON, {"require_dp": True, "max_epsilon": 3.0}, True, []),
        (DP_ON, {"max_epsilon": 1.0}, True, ["allows ε up to 3 (dp.max_epsilon)", "at most ε = 1"]),
        (
            ["secure_aggregation.enabled=false"],
            {"require_secure_aggregation": True},
            True,
            ["secure aggregation off"],
        ),
        ([], {"require_anonymization": True}, False, ["anonymization is disabled"]),
    ],
)
def test_unmet_minimums_name_each_requirement(overrides, minimums, anonymized, expected):
    cfg = load_config(None, ["federation.num_clients=3", *overrides])
    unmet = " | ".join(
        unmet_minimums(cfg, SiteMinimums(**minimums), anonymization_enabled=anonymized)
    )
    assert all(e in unmet for e in expected) and (bool(unmet) == bool(expected)), unmet


def test_minimums_come_from_the_node_config_and_bad_values_name_the_key():
    site = SiteIdentity.from_node_config({"site-id": "h-a", "require-dp": True, "max-epsilon": 2.5})
    assert site.minimums == SiteMinimums(require_dp=True, max_epsilon=2.5)
    with pytest.raises(ValueError, match="node config max-epsilon: Input should be greater than 0"):
        SiteIdentity.from_node_config({"max-epsilon": 0})


def test_a_site_requiring_dp_declines_a_dp_off_run_and_the_ledger_says_so(tmp_path):
    # Prepare: a DP-off run; the site's steward requires DP
    cfg = load_config(None, ["federation.num_clients=2"])
    site = SiteIdentity.from_node_config(
        {"site-id": "h-a", "require-dp": True, "state-dir": str(tmp_path / "h-a")}
    )
    client = SiteClient(cfg, site)
    # Execute
    with pytest.raises(RuntimeError) as info:
        client.fit([], {"server_round": 1})
    # Assert: a refusal (not a crash), before any data was touched
    text = str(info.value)
    assert text.startswith("h-a declined round 1: site policy: the run has sample-level DP off")
    assert failure_kind(text).value == "declined"
    assert not (tmp_path / "h-a" / "anonymization_report.json").exists()
    ledger = PrivacyLedger.open(tmp_path / "run")
    part = _site_round(failed_site(site="h-a", failure=SiteFailure("7", text, failure_kind(text))))
    ledger.append_round(
        server_round=1, global_adapter_sha256="ab" * 32, sites=[part], secure_aggregation=None
    )
    (recorded,) = read_ledger(tmp_path / "run")[0]["body"]["sites"]
    assert recorded["status"] == "declined" and "site policy" in recorded["reason"]
