"""Copies of a finished run in TensorBoard and MLflow (`tracking:`), for teams that already
look there.

The run folder stays the source of truth: everything here is read back from it —
metrics.jsonl (per-round scalars, nested dicts such as per-site metrics flattened to
`site_metrics/<site>/<key>`), config.yaml (MLflow params, a TensorBoard text) and the privacy
ledger (each site's ε per round as `dp/epsilon/<site>`, site-level DP's as
`dp/epsilon/site_level`). What a run folder does not hold (rows, texts) cannot reach a sink.
A sink that fails is logged and skipped: the run itself is complete and intact.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fedft.config.base import read_yaml
from fedft.config.tracking import TrackingConfig
from fedft.run.ledger_format import ledger_paths
from fedft.run.metrics import read_metrics
from fedft.run.rundir import RunDir

__all__ = ["TrackingError", "export_run", "missing_tracking_packages", "run_scalars"]

log = logging.getLogger(__name__)

# Sink -> (module it imports, package that ships it).
_PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow-skinny")}
# MLflow's own limits per log_batch call.
_MLFLOW_METRICS_PER_BATCH = 1000
_MLFLOW_PARAMS_PER_BATCH = 100
_MLFLOW_PARAM_CHARS = 6000


class TrackingError(RuntimeError):
    """A tracking sink is enabled but cannot run (its package is missing)."""


def missing_tracking_packages(tracking: TrackingConfig) -> list[str]:
    """One message per enabled sink whose package is not installed (empty: all fine).
    Checked before a run starts, so a missing extra does not surface after hours of training."""
    problems = []
    for sink, (module, package) in _PACKAGES.items():
        if getattr(tracking, sink) and importlib.util.find_spec(module) is None:
            problems.append(
                f"tracking.{sink}: true needs the {package} package; install fedft's tracking "
                f"extra (pip install 'fedft[tracking]') or set tracking.{sink}: false"
            )
    return problems


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, value in record.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, prefix=f"{prefix}{key}/")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                yield f"{prefix}{key}", float(value)


def _epsilons(run_dir: RunDir) -> Iterator[tuple[int, str, float]]:
    """(round, tag, ε) from the ledger's round entries; a round recorded again after a resume
    supersedes the earlier record (the caller keeps the last)."""
    path = ledger_paths(run_dir.root).ledger
    if not path.is_file():
        return
    for line in path.read_text(encoding="ascii").splitlines():
        entry = json.loads(line)
        if entry.get("kind") != "round":
            continue
        body = entry["body"]
        for site in body.get("sites", []):
            dp = site.get("dp")
            if dp is not None:
                yield body["round"], f"dp/epsilon/{site['site']}", float(dp["epsilon_total"])
        if body.get("site_dp") is not None:
            yield body["round"], "dp/epsilon/site_level", float(body["site_dp"]["epsilon_total"])


def run_scalars(run_dir: RunDir) -> dict[tuple[str, int], float]:
    """{(tag, round): value}: every finite number of metrics.jsonl (but `round`) and each
    site's ε from the ledger. Later records of a (tag, round) win (a resumed round)."""
    scalars: dict[tuple[str, int], float] = {}
    for record in read_metrics(run_dir.metrics):
        step = int(record["round"])
        for tag, value in _flatten({k: v for k, v in record.items() if k != "round"}):
            scalars[(tag, step)] = value
    for step, tag, value in _epsilons(run_dir):
        scalars[(tag, int(step))] = value
    return scalars


def _config_params(config: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(config, Mapping):
        for key, value in config.items():
            yield from _config_params(value, prefix=f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), json.dumps(config)[:_MLFLOW_PARAM_CHARS]


def _write_tensorboard(
    run_dir: RunDir, scalars: dict[tuple[str, int], float], config_text: str
) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    folder = run_dir.root / "tensorboard"
    writer = SummaryWriter(log_dir=str(folder))
    try:
        for (tag, step), value in sorted(scalars.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            writer.add_scalar(tag, value, global_step=step)
        # Four spaces: TensorBoard renders text as Markdown, this keeps the YAML verbatim.
        writer.add_text("config", "\n".join("    " + line for line in config_text.splitlines()))
    finally:
        writer.close()
    return folder


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 refuses its file store (`file:` URIs) unless MLFLOW_ALLOW_FILE_STORE is set;
    set it only around fedft's own calls so the process environment is left as found."""
    if not uri.startswith("file:"):
        yield
        return
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def mlflow_uri(run_dir: RunDir, tracking: TrackingConfig) -> str:
    """The configured URI, or the run folder's own file store (<run folder>/mlruns)."""
    return tracking.mlflow_uri or (run_dir.root / "mlruns").resolve().as_uri()


def _mlflow_key(tag: str) -> str:
    # MLflow keys allow alphanumerics, _ - . / and spaces; a site id may hold anything else.
    return re.sub(r"[^\w\-./ ]", "_", tag)


def _write_mlflow(
    run_dir: RunDir, scalars: dict[tuple[str, int], float], config: Any, tracking: TrackingConfig
) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    uri = mlflow_uri(run_dir, tracking)
    with _file_store_allowed(uri):
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(tracking.experiment)
        experiment_id = (
            experiment.experiment_id
            if experiment is not None
            else client.create_experiment(tracking.experiment)
        )
        run = client.create_run(
            experiment_id, run_name=run_dir.root.name, tags={"fedft.run_dir": str(run_dir.root)}
        )
        run_id = run.info.run_id
        metrics = [
            Metric(_mlflow_key(tag), value, 0, step)
            for (tag, step), value in sorted(scalars.items())
        ]
        params = [Param(key, value) for key, value in _config_params(config)]
        for i in range(0, len(metrics), _MLFLOW_METRICS_PER_BATCH):
            client.log_batch(run_id, metrics=metrics[i : i + _MLFLOW_METRICS_PER_BATCH])
        for i in range(0, len(params), _MLFLOW_PARAMS_PER_BATCH):
            client.log_batch(run_id, params=params[i : i + _MLFLOW_PARAMS_PER_BATCH])
        for path in (run_dir.config, run_dir.summary):
            if path.is_file():
                client.log_artifact(run_id, str(path))
        client.set_terminated(run_id)
    return f"{uri} (run {run_id})"


def export_run(run_dir: RunDir, *, tracking: TrackingConfig) -> dict[str, str]:
    """Copy the run folder's records to each enabled sink; returns {sink: where it wrote}.

    Raises TrackingError when an enabled sink's package is missing; any other failure of a
    sink is logged and that sink left out of the result.
    """
    problems = missing_tracking_packages(tracking)
    if problems:
        raise TrackingError("; ".join(problems))
    if not (tracking.tensorboard or tracking.mlflow):
        return {}
    scalars = run_scalars(run_dir)
    config_text = run_dir.config.read_text(encoding="utf-8") if run_dir.config.is_file() else ""
    written: dict[str, str] = {}
    writers = {
        "tensorboard": lambda: str(_write_tensorboard(run_dir, scalars, config_text)),
        "mlflow": lambda: _write_mlflow(
            run_dir, scalars, read_yaml(run_dir.config) if config_text else {}, tracking
        ),
    }
    for sink, write in writers.items():
        if not getattr(tracking, sink):
            continue
        try:
            written[sink] = write()
        except Exception:  # noqa: BLE001 - a sink must not fail a finished run
            log.exception("tracking: %s export failed; the run folder is complete", sink)
            continue
        log.info("tracking: %s -> %s", sink, written[sink])
    return written
