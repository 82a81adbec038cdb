"""Plain aggregation (no SecAgg+): broken and hostile updates are rejected with the reason in
the round's record, the round goes on with the rest, and the robust aggregators resist an
outlier that plain FedAvg would follow."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.compat.grid_client_proxy import GridClientProxy

from fedft.config import load_config
from fedft.federation.strategy import DeltaStrategy, build_inner_strategy
from fedft.round.update_checks import UpdateSpec

GLOBAL = [np.zeros((2, 2), np.float32), np.zeros((2,), np.float32)]
HONEST = [np.full((2, 2), 0.1, np.float32), np.full((2,), 0.1, np.float32)]
OK = Status(code=Code.OK, message="")


def _res(delta, site):
    return FitRes(
        OK, ndarrays_to_parameters(delta), 10, {"train_loss": 1.0, "bytes_up": 24, "site_id": site}
    )


def _strategy(name="fedavg", *, num_clients=4, min_fit=2):
    cfg = load_config(
        None,
        extra={
            "secure_aggregation.enabled": False,
            "strategy.name": name,
            "federation.num_clients": num_clients,
            "federation.min_fit_clients": min_fit,
            "strategy.num_malicious": 1,
        },
    )
    records = []
    strategy = DeltaStrategy(
        build_inner_strategy(cfg, initial=GLOBAL),
        initial=GLOBAL,
        evaluate_fn=None,
        on_round_end=lambda summary, loss, metrics, arrays: records.append(summary),
        min_results=min_fit,
        update_spec=UpdateSpec.like(GLOBAL, max_norm=cfg.strategy.max_update_norm),
    )
    return strategy, records


HOSTILE = {
    "nan": [np.full((2, 2), np.nan, np.float32), HONEST[1]],
    "wrong-shape": [np.zeros((4,), np.float32), HONEST[1]],
    "missing-tensor": HONEST[:1],
    "int-dtype": [np.ones((2, 2), np.int32), HONEST[1]],
    "absurd-norm": [np.full((2, 2), 1e4, np.float32), HONEST[1]],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_update_is_rejected_and_the_round_goes_on(kind):
    # Prepare
    strategy, records = _strategy()
    results = [
        (GridClientProxy(1, grid=None, run_id=0), _res(HONEST, "site-a")),
        (GridClientProxy(2, grid=None, run_id=0), _res(HONEST, "site-b")),
        (GridClientProxy(3, grid=None, run_id=0), _res(HOSTILE[kind], "site-evil")),
    ]

    # Execute
    params, _ = strategy.aggregate_fit(1, results, [])
    strategy.evaluate(1, params)

    # Assert: the mean of the honest updates, and the rejection on record
    for got, want in zip(parameters_to_ndarrays(params), HONEST, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-7)
    summary = records[-1]
    assert summary.finished == 2
    evil = [s for s in summary.sites if s["site"] == "site-evil"]
    assert (
        evil and evil[0]["status"] == "failed" and evil[0]["reason"].startswith("update rejected:")
    )
    assert evil[0]["node"] == "node-3"


def test_a_replayed_update_is_rejected_in_a_later_round():
    # Prepare
    strategy, _ = _strategy(min_fit=1)
    a, b = GridClientProxy(1, grid=None, run_id=0), GridClientProxy(2, grid=None, run_id=0)
    other = [x * 2 for x in HONEST]
    params, _ = strategy.aggregate_fit(
        1, [(a, _res(HONEST, "site-a")), (b, _res(other, "site-b"))], []
    )
    strategy.configure_fit(2, params, _NoClients())

    # Execute: site-b replays site-a's round-1 update
    strategy.aggregate_fit(
        2,
        [
            (a, _res(other, "site-a")),
            (b, _res(HONEST, "site-b")),
            (GridClientProxy(3, grid=None, run_id=0), _res([x * 3 for x in HONEST], "site-c")),
        ],
        [],
    )

    # Assert
    reasons = {s["site"]: s.get("reason") for s in strategy.fit_summary.sites}
    assert "replay" in reasons["site-b"] and "round 1" in reasons["site-b"]
    # site-a sending what site-b sent in round 1 is a replay too
    assert "replay" in reasons["site-a"]


class _NoClients:
    """configure_fit samples nobody here; only the global adapter update matters."""

    def num_available(self):
        return 0

    def sample(self, num_clients, min_num_clients=None, criterion=None):
        return []

    def wait_for(self, num_clients, timeout):
        return True


@pytest.mark.parametrize("name", ["fedmedian", "fedtrimmedavg", "krum"])
def test_robust_aggregators_resist_one_outlier_that_fedavg_follows(name):
    # Prepare: four honest sites near 0.1, one large (but under the norm bound) outlier
    rng = np.random.default_rng(0)
    honest = [
        [x + rng.normal(0, 0.01, x.shape).astype(np.float32) for x in HONEST] for _ in range(4)
    ]
    outlier = [np.full((2, 2), 20.0, np.float32), np.full((2,), 20.0, np.float32)]
    results = [
        (GridClientProxy(i, grid=None, run_id=0), _res(d, f"s{i}"))
        for i, d in enumerate([*honest, outlier])
    ]

    # Execute
    robust, _ = _strategy(name, num_clients=5, min_fit=5)
    plain, _ = _strategy("fedavg", num_clients=5, min_fit=5)
    robust_out = parameters_to_ndarrays(robust.aggregate_fit(1, results, [])[0])
    plain_out = parameters_to_ndarrays(plain.aggregate_fit(1, results, [])[0])

    # Assert
    assert abs(float(robust_out[0].mean()) - 0.1) < 0.05
    assert float(plain_out[0].mean()) > 3.0


def test_a_node_reported_failed_at_two_secagg_stages_is_one_failed_site():
    # Prepare: three sampled, one vanished; Flower reports it once per stage it missed
    strategy, _ = _strategy(min_fit=2)
    strategy._sampled = ["1", "2", "3"]
    results = [
        (GridClientProxy(1, grid=None, run_id=0), _res(HONEST, "site-a")),
        (GridClientProxy(2, grid=None, run_id=0), _res(HONEST, "site-b")),
    ]
    vanished = [RuntimeError("Node Unavailable"), RuntimeError("Node Unavailable")]

    # Execute
    strategy.aggregate_fit(1, results, vanished)

    # Assert
    failed = [s for s in strategy.fit_summary.sites if s["status"] == "failed"]
    assert [(s["node"], s["reason"]) for s in failed] == [("node-3", "Node Unavailable")]
    assert strategy.fit_summary.failures == ["Node Unavailable"]
