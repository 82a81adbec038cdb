"""DeltaStrategy: Flower's strategies applied to site deltas give the right global adapter."""

import numpy as np
import pytest
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import FedAvg

from fedft.config import load_config
from fedft.federation.strategy import DeltaStrategy, RoundFailedError, build_inner_strategy, state_sha256

OK = Status(code=Code.OK, message="")


def _proxy(node_id):
    # The proxy type Flower's legacy workflows hand to strategies (no grid needed here).
    return GridClientProxy(node_id, grid=None, run_id=0)


def _fit_res(delta, n, loss=1.0):
    metrics = {"train_loss": loss, "steps": 1, "bytes_up": sum(d.nbytes for d in delta)}
    return FitRes(OK, ndarrays_to_parameters(delta), n, metrics)


def _strategy(global_arrays, inner=None, records=None):
    records = [] if records is None else records
    inner = inner or FedAvg(initial_parameters=ndarrays_to_parameters(global_arrays))
    return DeltaStrategy(
        inner,
        initial=global_arrays,
        evaluate_fn=None,
        on_round_end=lambda summary, loss, metrics, arrays: records.append((summary, arrays)),
    )


def test_fedavg_of_deltas_is_the_hand_computed_weighted_mean():
    # Prepare
    g = [np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), np.array([0.5], dtype=np.float32)]
    d1 = [np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32), np.array([2.0], dtype=np.float32)]
    d2 = [np.array([[-1.0, 4.0], [2.0, 0.0]], dtype=np.float32), np.array([-1.0], dtype=np.float32)]
    strategy = _strategy(g)
    strategy.global_arrays = g
    # Execute
    params, _ = strategy.aggregate_fit(1, [(_proxy(1), _fit_res(d1, 30)), (_proxy(2), _fit_res(d2, 10))], [])
    # Assert: g + (30*d1 + 10*d2) / 40, by hand
    out = parameters_to_ndarrays(params)
    np.testing.assert_allclose(out[0], [[1.5, 3.0], [3.5, 4.75]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[1], [0.5 + 1.25], rtol=0, atol=1e-6)
    assert all(a.dtype == np.float32 for a in out)


def test_round_summary_records_what_the_server_saw():
    g = [np.zeros(3, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records)
    strategy.global_arrays = g
    strategy.aggregate_fit(
        2, [(_proxy(3), _fit_res([np.ones(3, np.float32)], 10, loss=2.0)), (_proxy(4), _fit_res([np.ones(3, np.float32)], 30, loss=1.0))],
        [RuntimeError("site-3 crashed")],
    )
    strategy.evaluate(2, ndarrays_to_parameters(strategy.global_arrays))
    summary, arrays = records[-1]
    assert summary.finished == 2
    assert summary.failures == ["site-3 crashed"]
    assert summary.train_loss == pytest.approx((10 * 2.0 + 30 * 1.0) / 40)
    assert summary.bytes_up_per_client == 12
    assert [(s["site"], s["status"]) for s in summary.sites] == [
        ("node-3", "trained"), ("node-4", "trained"), ("unknown", "failed")
    ]
    np.testing.assert_allclose(arrays[0], np.ones(3))


def test_a_round_with_only_failures_fails_loudly():
    strategy = _strategy([np.zeros(2, dtype=np.float32)])
    with pytest.raises(RoundFailedError, match="0 of the 0 sampled sites returned an update.*first failure: boom"):
        strategy.aggregate_fit(1, [], [RuntimeError("boom")])
    assert isinstance(strategy.error, RoundFailedError)


def test_a_round_with_fewer_updates_than_min_fit_clients_stops_the_run():
    g = [np.zeros(2, dtype=np.float32)]
    strategy = DeltaStrategy(
        FedAvg(initial_parameters=ndarrays_to_parameters(g)),
        initial=g,
        evaluate_fn=None,
        on_round_end=lambda *a: None,
        min_results=2,
    )
    with pytest.raises(RoundFailedError, match=r"fewer than federation.min_fit_clients \(2\).*declined round"):
        strategy.aggregate_fit(
            1, [(_proxy(1), _fit_res([np.zeros(2, np.float32)], 5))], [RuntimeError("site-1 declined round 1: budget")]
        )


def test_a_delta_of_the_wrong_shape_is_refused():
    strategy = _strategy([np.zeros(2, dtype=np.float32)])
    with pytest.raises(RoundFailedError, match="same config"):
        strategy.aggregate_fit(1, [(_proxy(5), _fit_res([np.zeros(3, np.float32)], 5))], [])


@pytest.mark.parametrize("name", ["fedavg", "fedprox", "fedadam"])
def test_every_configured_strategy_moves_the_adapter_towards_the_deltas(name):
    cfg = load_config(None, [f"strategy.name={name}"])
    g = [np.zeros(4, dtype=np.float32)]
    strategy = _strategy(g, inner=build_inner_strategy(cfg, initial=g))
    strategy.global_arrays = g
    params, _ = strategy.aggregate_fit(1, [(_proxy(7), _fit_res([np.full(4, 0.1, np.float32)], 5))], [])
    out = parameters_to_ndarrays(params)[0]
    assert np.all(out > 0)
    if name != "fedadam":
        np.testing.assert_allclose(out, 0.1, atol=1e-7)


def test_sha256_changes_with_any_value():
    a = [np.zeros(4, dtype=np.float32)]
    b = [np.array([0, 0, 0, 1e-7], dtype=np.float32)]
    assert state_sha256(a) != state_sha256(b)


def test_an_update_beyond_the_norm_bound_is_rejected_not_applied():
    # Prepare: a bound of 1.5; one honest update (norm 1), one with norm 5 (as garbage from masks that
    # did not cancel would be)
    g = [np.zeros(2, dtype=np.float32)]
    strategy = DeltaStrategy(
        FedAvg(initial_parameters=ndarrays_to_parameters(g)),
        initial=g,
        evaluate_fn=None,
        on_round_end=lambda *a: None,
        delta_norm_bound=lambda num_examples: 1.5,
    )
    strategy.global_arrays = g
    honest = _fit_res([np.array([0.6, 0.8], np.float32)], 10)
    garbage = _fit_res([np.array([3.0, 4.0], np.float32)], 10)
    # Execute
    params, _ = strategy.aggregate_fit(1, [(_proxy(1), honest), (_proxy(2), garbage)], [])
    # Assert: only the honest update is applied; the other is recorded as a failure
    np.testing.assert_allclose(parameters_to_ndarrays(params)[0], [0.6, 0.8], atol=1e-7)
    assert strategy.fit_summary.finished == 1
    assert "L2 norm 5 exceeds the bound 1.5" in strategy.fit_summary.failures[0]
    with pytest.raises(RoundFailedError):
        strategy.aggregate_fit(2, [(_proxy(2), garbage)], [])
