"""One real simulation with the issue-15 options on: planted duplicate rows removed at each
site and counted in its report and the ledger; TensorBoard and MLflow copies of the run."""

import contextlib
import io
import json
from pathlib import Path

import pytest

from fedft.cli import main as fedft_main
from fedft.data.synthetic import generate_corpus
from fedft.run.rundir import RunDir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _write_jsonl(path, rows):
    path.write_text(
        "".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in rows)
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("track")
    distinct = generate_corpus(kind="clinical", n=40, seed=3, task="classification")
    # Every row three times: each site's 60 rows hold at most 40 distinct ones.
    _write_jsonl(root / "train.jsonl", distinct * 3)
    _write_jsonl(
        root / "eval.jsonl", generate_corpus(kind="clinical", n=24, seed=4, task="classification")
    )
    argv = ["simulate", str(REPO / "configs" / "default.yaml"), "-o", str(root / "run")]
    for override in (
        f"data.train={root / 'train.jsonl'}",
        f"data.eval={root / 'eval.jsonl'}",
        "data.dedup.enabled=true",
        "tracking.tensorboard=true",
        "tracking.mlflow=true",
        "federation.num_clients=2",
        "federation.rounds=1",
        "data.max_length=64",
        "training.max_steps=2",
        "training.batch_size=8",
        "evaluation.local_baseline=false",
    ):
        argv += ["--set", override]
    with contextlib.redirect_stdout(io.StringIO()):
        assert fedft_main(argv) == 0
    return RunDir((root / "run").resolve())


def test_duplicates_are_dropped_and_counted_in_report_and_ledger(run):
    from fedft.run.ledger_verify import read_ledger

    (entry,) = [e for e in read_ledger(run.root) if e["kind"] == "round"]
    for site in entry["body"]["sites"]:
        counts = site["anonymization"]["dedup"]
        report = json.loads((run.site_dir(site["site"]) / "anonymization_report.json").read_text())
        assert {k: report["dedup"][k] for k in counts} == counts
        # Every row anonymized and not dropped for residual PII is kept or counted once.
        after_anonymization = report["rows_processed"] - report["rows_dropped"]
        assert counts["kept"] + counts["exact"] + counts["near"] == after_anonymization
        assert counts["exact"] >= 10 and counts["kept"] <= 40
        assert counts["kept"] == site["num_examples"]
    assert fedft_main(["audit", str(run.root), "--verify"]) == 0


def test_tensorboard_and_mlflow_hold_the_rounds(run, monkeypatch):
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run.root / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("eval_accuracy")] == [0, 1]
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(run.root / "mlruns").resolve().as_uri())
    (mlrun,) = client.search_runs([client.get_experiment_by_name("fedft").experiment_id])
    assert [m.step for m in client.get_metric_history(mlrun.info.run_id, "eval_loss")] == [0, 1]
