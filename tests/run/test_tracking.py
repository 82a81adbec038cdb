"""Tests for fedft.run.tracking: TensorBoard and MLflow copies read back with the libraries'
own readers, from what a run folder holds."""

from __future__ import annotations

import json

import pytest

from fedft.config import load_config
from fedft.config.tracking import TrackingConfig
from fedft.run import tracking as tracking_module
from fedft.run.ledger_format import ledger_paths
from fedft.run.metrics import append_metrics
from fedft.run.rundir import create_run_dir
from fedft.run.tracking import TrackingError, export_run, missing_tracking_packages, run_scalars

ROWS = [
    {"round": 0, "eval_loss": 1.2, "eval_accuracy": 0.4, "train_loss": None, "aborted": False},
    {
        "round": 1,
        "eval_loss": 0.9,
        "eval_accuracy": 0.6,
        "train_loss": 1.0,
        "aborted": False,
        "site_metrics": {"site-0": {"eval_accuracy": 0.7, "n_eval": 10}},
    },
]


def _round_entry(server_round, eps):
    sites = [{"site": s, "dp": {"epsilon_total": e}} for s, e in eps.items()]
    return {"kind": "round", "body": {"round": server_round, "sites": sites, "site_dp": None}}


@pytest.fixture
def run_dir(tmp_path):
    run = create_run_dir(tmp_path / "run")
    run.config.write_text("run:\n  name: demo\ndp:\n  enabled: true\n  noise_multiplier: 1.1\n")
    for row in ROWS:
        append_metrics(run.metrics, row)
    entries = [{"kind": "run_start", "body": {}}, _round_entry(1, {"site-0": 0.5, "site-1": 0.7})]
    ledger_paths(run.root).ledger.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return run


def test_scalars_come_from_metrics_and_ledger(run_dir):
    scalars = run_scalars(run_dir)
    assert scalars[("eval_accuracy", 1)] == 0.6
    assert scalars[("site_metrics/site-0/n_eval", 1)] == 10.0
    assert scalars[("dp/epsilon/site-1", 1)] == 0.7
    # None and booleans are not scalars; `round` is the step, not a value
    assert ("train_loss", 0) not in scalars and ("aborted", 1) not in scalars
    assert not any(tag == "round" for tag, _ in scalars)


def test_tensorboard_event_files_parse_with_the_expected_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    written = export_run(run_dir, tracking=TrackingConfig(tensorboard=True))

    acc = EventAccumulator(written["tensorboard"])
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert {
        "eval_loss",
        "eval_accuracy",
        "dp/epsilon/site-0",
        "site_metrics/site-0/eval_accuracy",
    } <= set(tags)
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("eval_loss")] == [(0, 1.2), (1, 0.9)]
    assert [e.value for e in acc.Scalars("dp/epsilon/site-0")] == [0.5]


def test_mlflow_file_store_holds_metrics_params_and_config(run_dir, monkeypatch):
    from mlflow.tracking import MlflowClient

    written = export_run(run_dir, tracking=TrackingConfig(mlflow=True, experiment="t"))
    # The process environment is left as it was (the opt-in is set only around fedft's calls)
    assert "MLFLOW_ALLOW_FILE_STORE" not in __import__("os").environ

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(run_dir.root / "mlruns").resolve().as_uri())
    assert written["mlflow"].startswith("file:")
    (run,) = client.search_runs([client.get_experiment_by_name("t").experiment_id])
    history = client.get_metric_history(run.info.run_id, "eval_accuracy")
    assert [(m.step, m.value) for m in history] == [(0, 0.4), (1, 0.6)]
    assert client.get_metric_history(run.info.run_id, "dp/epsilon/site-1")[0].value == 0.7
    assert run.data.params["dp.noise_multiplier"] == "1.1"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"config.yaml"}


def test_off_by_default_and_nothing_written(run_dir):
    cfg = load_config(None, [])
    assert not cfg.tracking.tensorboard and not cfg.tracking.mlflow
    assert export_run(run_dir, tracking=cfg.tracking) == {}
    assert not (run_dir.root / "tensorboard").exists() and not (run_dir.root / "mlruns").exists()


def test_a_missing_extra_is_named_with_its_fix(run_dir, monkeypatch):
    real = tracking_module.importlib.util.find_spec
    monkeypatch.setattr(
        tracking_module.importlib.util,
        "find_spec",
        lambda name: None if name == "mlflow" else real(name),
    )
    tracking = load_config(None, ["tracking.mlflow=true", "tracking.tensorboard=true"]).tracking
    (problem,) = missing_tracking_packages(tracking)
    assert "tracking.mlflow" in problem and "pip install 'fedft[tracking]'" in problem
    with pytest.raises(TrackingError, match="mlflow-skinny"):
        export_run(run_dir, tracking=tracking)


def test_unknown_tracking_keys_are_refused():
    with pytest.raises(ValueError, match="tracking.tensorbord"):
        load_config(None, ["tracking.tensorbord=true"])
