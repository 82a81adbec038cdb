"""DeltaStrategy: Flower's strategies applied to site deltas give the right global adapter."""

import numpy as np
import pytest
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import FedAvg

from fedft.config import load_config
from fedft.federation.strategy import DeltaStrategy, build_inner_strategy
from fedft.model.state import state_sha256
from fedft.round.summary import FitSummary, RoundFailedError

OK = Status(code=Code.OK, message="")


def _proxy(node_id):
    # The proxy type Flower's legacy workflows hand to strategies (no grid needed here).
    return GridClientProxy(node_id, grid=None, run_id=0)


def _fit_res(delta, n, loss=1.0):
    metrics = {"train_loss": loss, "steps": 1, "bytes_up": sum(d.nbytes for d in delta)}
    return FitRes(OK, ndarrays_to_parameters(delta), n, metrics)


def _strategy(global_arrays, inner=None, records=None, **options):
    """A DeltaStrategy over FedAvg that appends (summary, arrays) of each round to `records`;
    `options` are DeltaStrategy's other keyword arguments."""
    records = [] if records is None else records
    inner = inner or FedAvg(initial_parameters=ndarrays_to_parameters(global_arrays))
    return DeltaStrategy(
        inner,
        initial=global_arrays,
        evaluate_fn=None,
        on_round_end=lambda summary, loss, metrics, arrays: records.append((summary, arrays)),
        **options,
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
    # A round whose only (SecAgg+) aggregate is garbage applies nothing: it is aborted
    params, _ = strategy.aggregate_fit(2, [(_proxy(2), garbage)], [])
    assert params is None and "L2 norm 5 exceeds" in strategy.fit_summary.failures[0]


def _site_dp_strategy(g, *, num_clients=3, noise=1.5, clip=0.5, records=None):
    cfg = load_config(
        None,
        [
            f"federation.num_clients={num_clients}",
            f"federation.min_fit_clients={num_clients}",
            "site_dp.enabled=true",
            f"site_dp.noise_multiplier={noise}",
            f"site_dp.clipping_norm={clip}",
        ],
    )
    strategy = _strategy(g, inner=build_inner_strategy(cfg, initial=g), records=records)
    strategy.global_arrays = g
    return strategy


def _site_fit_res(delta, site_id, weight=1):
    metrics = {"steps": 1, "bytes_up": sum(d.nbytes for d in delta), "site_id": site_id}
    return FitRes(OK, ndarrays_to_parameters(delta), weight, metrics)


@pytest.mark.parametrize("secure_sum", [False, True])
def test_site_level_noise_lands_on_the_mean_update_with_std_sigma_c_over_m(secure_sum):
    # Prepare: 3 sites, σ = 1.5, C = 0.5; 240,000 coordinates so the std is measured to ~0.2%.
    rng = np.random.default_rng(7)
    g = [rng.normal(size=(400, 300)).astype(np.float32), rng.normal(size=120_000).astype(np.float32)]
    deltas = [[rng.normal(scale=1e-3, size=a.shape).astype(np.float32) for a in g] for _ in range(3)]
    mean = [np.mean([d[i] for d in deltas], axis=0) for i in range(2)]
    # Under SecAgg+ the workflow hands every result the already-unmasked mean.
    uploads = [mean] * 3 if secure_sum else deltas
    strategy = _site_dp_strategy(g)

    # Execute
    params, _ = strategy.aggregate_fit(
        1, [(_proxy(i), _site_fit_res(u, f"site-{i}")) for i, u in enumerate(uploads)], []
    )

    # Assert: what is left after removing global + mean update is N(0, (σ·C/m)²), by hand
    out = parameters_to_ndarrays(params)
    residual = np.concatenate([(o - a - m).ravel() for o, a, m in zip(out, g, mean)])
    expected = 1.5 * 0.5 / 3
    assert abs(residual.mean()) < 5 * expected / np.sqrt(residual.size)
    assert residual.std() == pytest.approx(expected, rel=0.01)


def test_site_level_noise_is_not_replayable_from_numpy_seed():
    # Prepare: a library seeding NumPy's global generator with a known seed (e.g. run.seed)
    g = [np.zeros(1000, dtype=np.float32)]
    delta = [np.zeros(1000, dtype=np.float32)]
    outs = []
    for _ in range(2):
        strategy = _site_dp_strategy(g)
        np.random.seed(0)
        # Execute
        params, _ = strategy.aggregate_fit(
            1, [(_proxy(i), _site_fit_res(delta, f"s{i}")) for i in range(3)], []
        )
        outs.append(parameters_to_ndarrays(params)[0])

    # Assert: two aggregations after the same seed add different noise
    assert not np.allclose(outs[0], outs[1])


def test_site_level_dp_stops_the_round_when_a_sampled_site_is_missing():
    # Prepare: the wrapper expects 3 sites; 2 arrive and one failed
    g = [np.zeros(4, dtype=np.float32)]
    strategy = _site_dp_strategy(g)
    ok = [(_proxy(i), _site_fit_res([np.zeros(4, np.float32)], f"s{i}")) for i in range(2)]

    # Execute / Assert
    with pytest.raises(RoundFailedError, match="site-level DP needs an update from each of the 3 sampled sites, 2 arrived"):
        strategy.aggregate_fit(1, ok, [RuntimeError("s2 declined round 1: budget")])


def test_site_level_dp_refuses_sites_with_different_weights():
    g = [np.zeros(4, dtype=np.float32)]
    strategy = _site_dp_strategy(g)
    results = [(_proxy(i), _site_fit_res([np.zeros(4, np.float32)], f"s{i}", weight=w)) for i, w in enumerate([1, 1, 50])]
    with pytest.raises(RoundFailedError, match=r"same weight \(a plain mean\), got \[1, 50\]"):
        strategy.aggregate_fit(1, results, [])


def test_site_level_dp_sends_the_clipping_norm_and_checks_the_number_sampled():
    from flwr.server.client_manager import SimpleClientManager

    # Prepare: planned for 3 sites; first 3, then 4 connect
    g = [np.zeros(4, dtype=np.float32)]
    manager = SimpleClientManager()
    for i in range(3):
        manager.register(_proxy(i))
    strategy = _site_dp_strategy(g)

    # Execute
    instructions = strategy.configure_fit(1, ndarrays_to_parameters(g), manager)
    manager.register(_proxy(3))

    # Assert
    assert [ins.config["clipping_norm"] for _, ins in instructions] == [0.5] * 3
    with pytest.raises(RoundFailedError, match="4 sites sampled, but site-level DP was planned for 3"):
        strategy.configure_fit(2, ndarrays_to_parameters(g), manager)


def test_sites_are_named_by_their_declared_id_with_the_node_id_kept():
    # Prepare: round 1 teaches the server which node is which site; in round 2 node 8 fails
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records)
    strategy.global_arrays = g
    d = [np.ones(2, np.float32)]
    strategy._sampled = ["7", "8"]
    strategy.aggregate_fit(1, [(_proxy(7), _site_fit_res(d, "st-marys")), (_proxy(8), _site_fit_res(d, "general"))], [])

    # Execute
    strategy._sampled = ["7", "8"]
    strategy.aggregate_fit(2, [(_proxy(7), _site_fit_res(d, "st-marys"))], [RuntimeError("general declined round 2")])
    strategy.evaluate(2, ndarrays_to_parameters(strategy.global_arrays))

    # Assert
    sites = records[-1][0].sites
    assert [(s["site"], s["node"], s["status"]) for s in sites] == [
        ("st-marys", "node-7", "trained"),
        ("general", "node-8", "failed"),
    ]
    assert "site_id" not in sites[0]["metrics"]


def test_a_round_the_workflow_ended_without_aggregating_is_recorded_as_aborted():
    # Prepare: Flower's SecAgg+ workflow skips aggregate_fit when too few sites answer in time
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records)
    strategy.evaluate(0, ndarrays_to_parameters(g))
    strategy.fit_summary = FitSummary(server_round=1, sampled=3)
    strategy._sampled = ["1", "2", "3"]

    # Execute
    strategy.evaluate(1, ndarrays_to_parameters(g))

    # Assert: recorded as aborted, every sampled site failed, adapter unchanged, run goes on
    summary, arrays = records[-1]
    assert summary.aborted and summary.finished == 0
    assert [s["status"] for s in summary.sites] == ["failed"] * 3
    assert "round aborted" in summary.sites[0]["reason"]
    np.testing.assert_array_equal(arrays[0], g[0])
    assert strategy.error is None


def _declined(site: str, server_round: int) -> Exception:
    # A site's refusal as Flower's simulation engine reports it (error reason, Ray's wrapping)
    return Exception(
        f"<class 'flwr.client.client_app.ClientAppException'>:<'RuntimeError: {site} declined "
        f"round {server_round}: the round would take ε to 8.4, above dp.max_epsilon = 8'>"
    )


def test_a_secagg_round_halted_by_declines_stops_the_run_naming_them():
    # Prepare: SecAgg+ halted (too few answered) and handed over the sites' errors: 2 of 3
    # declined for budget, which they will do again next round
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records, min_results=2)
    strategy.fit_summary = FitSummary(server_round=4, sampled=3)
    strategy._sampled = ["1", "2", "3"]
    declines = [_declined("site-0", 4), _declined("site-1", 4)]

    # Execute
    with pytest.raises(RoundFailedError, match="fewer than federation.min_fit_clients.*site-0 declined round 4"):
        strategy.record_halted_round(declines + declines[:1])  # Flower lists an error twice

    # Assert: the stopping round is recorded with who declined and why, not as a timeout
    summary, _ = records[-1]
    assert summary.aborted
    assert [(s["site"], s["kind"]) for s in summary.sites] == [("site-0", "declined"), ("site-1", "declined")]
    assert "above dp.max_epsilon" in summary.sites[0]["reason"]
    assert isinstance(strategy.error, RoundFailedError)


def test_a_secagg_round_halted_with_enough_sites_left_is_aborted_and_keeps_the_decline():
    # Prepare: 1 of 4 declined; the others timed out this once
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records, min_results=2)
    strategy.fit_summary = FitSummary(server_round=2, sampled=4)
    strategy._sampled = ["1", "2", "3", "4"]
    # Execute
    strategy.record_halted_round([_declined("site-3", 2)])
    strategy.evaluate(2, ndarrays_to_parameters(g))
    # Assert: aborted round, the decline named, three aborted sites, the run goes on
    summary, _ = records[-1]
    assert summary.aborted and strategy.error is None
    kinds = sorted(s["kind"] for s in summary.sites)
    assert kinds == ["aborted", "aborted", "aborted", "declined"]


def test_three_aborted_rounds_in_a_row_stop_the_run():
    g = [np.zeros(2, dtype=np.float32)]
    strategy = _strategy(g)
    for server_round in (1, 2):
        strategy.evaluate(server_round, ndarrays_to_parameters(g))
    with pytest.raises(RoundFailedError, match="3 rounds in a row aborted"):
        strategy.evaluate(3, ndarrays_to_parameters(g))


def test_under_secagg_a_round_that_could_not_be_unmasked_is_aborted_not_fatal():
    # Prepare: SecAgg+ on (a norm bound is set); the workflow hands over no aggregate
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records, delta_norm_bound=lambda counts: 1.0, min_results=2)

    # Execute
    params, _ = strategy.aggregate_fit(1, [], [RuntimeError("Not enough shares to recover secret")])
    strategy.evaluate(1, ndarrays_to_parameters(g))

    # Assert
    assert params is None and strategy.error is None
    summary, _ = records[-1]
    assert summary.aborted
    assert summary.failures[0].startswith("round aborted")
    assert summary.failures[1] == "Not enough shares to recover secret"


def test_a_sites_refusal_is_recorded_as_declined_and_a_crash_as_an_error():
    # Prepare: nodes 7 and 8 known from round 1; in round 2, 8 declines (as Flower reports it)
    # and an unattributable crash arrives
    from flwr.common import Error

    from fedft.round.outcome import FailureKind, declined_message

    g = [np.zeros(2, dtype=np.float32)]
    strategy = _strategy(g)
    strategy.global_arrays = g
    d = [np.ones(2, np.float32)]
    strategy._sampled = ["7", "8"]
    strategy.aggregate_fit(1, [(_proxy(7), _site_fit_res(d, "st-marys")), (_proxy(8), _site_fit_res(d, "general"))], [])
    refusal = declined_message(site_id="general", server_round=2, reason="privacy budget")
    wire = Exception(Error(code=2, reason=f"<class 'RuntimeError'>:<'{refusal}'>"))

    # Execute
    strategy._sampled = ["7", "8", "9"]
    strategy.aggregate_fit(2, [(_proxy(7), _site_fit_res(d, "st-marys"))], [wire, RuntimeError("boom")])

    # Assert
    kinds = [(s["site"], s.get("kind")) for s in strategy.fit_summary.sites]
    assert kinds == [("st-marys", None), ("general", FailureKind.DECLINED), ("node-9", FailureKind.ERROR)]


def test_when_every_site_refuses_the_round_is_recorded_and_the_error_is_short():
    # Prepare: 2 sampled nodes never seen before; both decline, as Ray reports it (colours, repr)
    from fedft.round.outcome import FailureKind, declined_message

    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = _strategy(g, records=records)
    strategy.global_arrays = g
    strategy._sampled = ["7", "8"]
    strategy.fit_summary = FitSummary(server_round=3, sampled=2)
    ray = "\x1b[36mray::ClientAppActor.run()\x1b[39m (pid=1, ip=10.0.0.2)\nRuntimeError: "
    failures = [
        RuntimeError(ray + declined_message(site_id=s, server_round=3, reason="privacy budget"))
        for s in ("site-0", "site-1")
    ]

    # Execute
    with pytest.raises(RoundFailedError) as info:
        strategy.aggregate_fit(3, [], failures)

    # Assert: the round is in the record (nothing applied), refusals named by the sites' ids
    summary, arrays = records[-1]
    assert summary.server_round == 3 and summary.aborted and arrays == g
    assert [(s["site"], s["kind"]) for s in summary.sites] == [
        ("site-0", FailureKind.DECLINED),
        ("site-1", FailureKind.DECLINED),
    ]
    assert summary.sites[0]["reason"] == "site-0 declined round 3: privacy budget"
    message = str(info.value)
    assert "\x1b" not in message and "ip=" not in message and len(message) < 400


def test_a_rounds_record_waits_for_the_sites_scores_and_keeps_only_numbers():
    from flwr.common import EvaluateRes

    # Prepare
    g = [np.zeros(2, dtype=np.float32)]
    records = []
    strategy = DeltaStrategy(
        FedAvg(initial_parameters=ndarrays_to_parameters(g)),
        initial=g,
        evaluate_fn=None,
        on_round_end=lambda summary, loss, metrics, arrays: records.append(summary),
        site_evaluation=True,
        evaluate_config={"local_baseline": True},
    )
    params = ndarrays_to_parameters(g)
    reply = {"eval_accuracy": 0.75, "eval_macro_f1": 0.5, "site_id": "site-a", "note": "text"}

    # Execute: round 0's central evaluation, then the sites' scores
    strategy.evaluate(0, params)
    waiting = (len(records), strategy.awaiting_site_metrics)
    strategy.aggregate_evaluate(
        0, [(_proxy(1), EvaluateRes(OK, 0.4, 12, reply))], [RuntimeError("site-b timed out")]
    )

    # Assert
    assert waiting == (0, True)
    assert records[0].site_metrics == {
        "site-a": {"eval_accuracy": 0.75, "eval_macro_f1": 0.5, "n_eval": 12}
    }
    assert not strategy.awaiting_site_metrics
    # Nothing waits: no one is asked; a round whose scores never come is written at the next fit.
    assert strategy.configure_evaluate(1, params, client_manager=None) == []
    strategy.evaluate(0, params)
    strategy.flush_pending()
    assert len(records) == 2 and records[1].site_metrics == {}
