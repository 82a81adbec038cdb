"""A site's fit step, called directly (the same object Flower calls): what it checks and sends."""

import numpy as np
import pytest

from fedft.config import load_config
from fedft.config.anonymization import policy_hash
from fedft.federation.client_app import (
    ANONYMIZATION_METRIC_PREFIX,
    DECLARED_FIT_METRICS,
    SiteClient,
    SiteIdentity,
)
from fedft.model.state import frozen_adapter_sha256, state_sha256, trainable_state
from fedft.round.summary import SITE_ID_METRIC
from fedft.round.workload import cached_workload

SMALL = [
    "federation.num_clients=2",
    "data.synthetic.n_train=40",
    "data.synthetic.n_eval=8",
    "data.max_length=32",
    "training.max_steps=2",
    "training.batch_size=4",
    "training.learning_rate=0.5",  # large on purpose: the delta must exceed the clip bound
    "secure_aggregation.delta_clip_norm=0.01",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    cfg = load_config(None, SMALL)
    sites_root = tmp_path_factory.mktemp("sites")
    client = SiteClient(cfg, SiteIdentity(site_id="site-0", partition_id=0, data_path=None), sites_root=sites_root)
    params = list(trainable_state(cached_workload(cfg).model).values())
    return cfg, client, params


def _config(cfg, params, **extra):
    return {
        "server_round": 1,
        "global_sha256": state_sha256(params),
        "frozen_sha256": frozen_adapter_sha256(cached_workload(cfg).model),
        **extra,
    }


def test_fit_sends_a_clipped_delta_and_only_declared_scalars(site):
    cfg, client, params = site
    # Execute
    delta, num_examples, metrics = client.fit(params, _config(cfg, params))
    # Assert
    declared = set(DECLARED_FIT_METRICS)
    assert declared <= set(metrics)
    # The site's id is the one string it sends (a name from its node config, not data).
    assert metrics.pop(SITE_ID_METRIC) == client.site.site_id
    # ... and the sha256 of its own anonymization policy (hex, not data).
    assert metrics.pop("anon_policy_hash") == policy_hash(cfg.anonymization)
    # ... and its signature over its record, with its public key (run.site_signature).
    assert len(metrics.pop("site_signature")) == 88 and len(metrics.pop("site_public_key")) == 64
    assert all(k in declared or k.startswith(ANONYMIZATION_METRIC_PREFIX) for k in metrics)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["anon_rows"] == 20 and metrics["anon_entities"] > 0
    assert (client.state_dir / "anonymization_report.json").is_file()
    assert [d.shape for d in delta] == [p.shape for p in params]
    norm = float(np.sqrt(sum(np.sum(d.astype(np.float64) ** 2) for d in delta)))
    assert norm == pytest.approx(cfg.secure_aggregation.delta_clip_norm, rel=1e-4)
    assert num_examples == 20
    assert metrics["bytes_up"] == sum(p.nbytes for p in params)


def test_fit_refuses_a_head_fit_its_config_does_not_ask_for(site):
    cfg, client, params = site
    with pytest.raises(ValueError, match="feature statistics .* that this site's config does not allow"):
        client.fit(params, _config(cfg, params, head_fit=1))


def test_evaluate_sends_aggregate_scores_of_its_held_out_split_and_its_baseline(site):
    # Prepare: the site holds 20 rows; 15% of them as generated held-out notes -> 3
    cfg, client, params = site
    config = {"server_round": 0, "global_sha256": state_sha256(params), "local_baseline": True}

    # Execute: round 0 (the start), then round 1 (the baseline trains one local round)
    loss0, n0, metrics0 = client.evaluate(params, config)
    loss1, n1, metrics1 = client.evaluate(params, {**config, "server_round": 1})
    again = client.evaluate(params, {**config, "server_round": 1})[2]

    # Assert: scalars only, the site's id the one string; the baseline from round 1 on
    assert n0 == n1 == 3 and loss0 == loss1 > 0
    assert metrics0.pop(SITE_ID_METRIC) == client.site.site_id
    assert set(metrics0) == {"eval_accuracy", "eval_macro_f1"}
    assert set(metrics1) == {
        "eval_accuracy", "eval_macro_f1", "local_accuracy", "local_macro_f1", SITE_ID_METRIC
    }
    assert all(isinstance(v, float) for k, v in metrics1.items() if k != SITE_ID_METRIC)
    assert again == metrics1  # read back from the site's folder, not trained twice
    assert len(list((client.state_dir / "local-baseline").glob("*/scores-1.json"))) == 1
    with pytest.raises(ValueError, match="hash mismatch"):
        client.evaluate(params, {**config, "global_sha256": "0" * 64})


def test_fit_refuses_a_global_adapter_that_does_not_match_its_hash(site):
    cfg, client, params = site
    tampered = [p.copy() for p in params]
    tampered[0].flat[0] += 1.0
    with pytest.raises(ValueError, match="global adapter hash mismatch"):
        client.fit(tampered, _config(cfg, params))


def test_fit_refuses_a_different_frozen_init(site):
    cfg, client, params = site
    with pytest.raises(ValueError, match="frozen LoRA matrices differ"):
        client.fit(params, _config(cfg, params, frozen_sha256="0" * 64))


def test_fit_refuses_parameters_of_another_layout(site):
    cfg, client, params = site
    with pytest.raises(ValueError, match="different configs"):
        client.fit(params[:-1], {"server_round": 1})


def test_site_identity_comes_from_the_node_config():
    assert SiteIdentity.from_node_config({"partition-id": 3, "num-partitions": 4}) == SiteIdentity("site-3", 3, None)
    node = {"site-id": "st-marys", "data-path": "/d/train.jsonl", "policy-path": "/d/p.yaml", "state-dir": "/s"}
    assert SiteIdentity.from_node_config(node) == SiteIdentity("st-marys", None, "/d/train.jsonl", "/d/p.yaml", "/s")


def test_dp_fit_reports_its_privacy_account_and_declines_past_the_budget(tmp_path):
    # Prepare: a budget that admits one round of these settings but not two
    cfg = load_config(
        None,
        SMALL
        + [
            "dp.enabled=true",
            "dp.noise_multiplier=1.0",
            "dp.max_epsilon=6.0",
            "strategy.proximal_mu=0",
            "training.learning_rate=0.01",
            "secure_aggregation.delta_clip_norm=10",
        ],
    )
    client = SiteClient(cfg, SiteIdentity(site_id="site-0", partition_id=0, data_path=None), sites_root=tmp_path)
    params = list(trainable_state(cached_workload(cfg).model).values())
    # Execute
    _, _, metrics = client.fit(params, _config(cfg, params))
    # Assert: the account travels, the un-noised loss does not, the budget is on the site's disk
    assert "train_loss" not in metrics
    assert metrics["dp_noise_multiplier"] == 1.0 and metrics["dp_steps"] == 2
    assert 0 < metrics["dp_epsilon_round"] <= metrics["dp_epsilon_total"] <= 6.0
    assert (tmp_path / "site-0" / "dp-budget.json").is_file()
    with pytest.raises(RuntimeError, match="site-0 declined round"):
        for server_round in range(2, 50):
            client.fit(params, _config(cfg, params, server_round=server_round))
