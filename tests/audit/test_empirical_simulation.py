"""End to end: a Flower simulation plants canaries at a site, trains with DP-SGD, and
`fedft audit RUN --empirical` scores them under the final adapter, next to the ledger's ε.

This is the wiring test (planting, private record, ledger claim, report, exit code); whether
the bound can catch a false claim is tested without Flower in test_canary_training.py, where
the claim is small enough to be contradicted."""

import json

import pytest

from fedft.cli import main as fedft_main
from fedft.config import load_config
from fedft.federation.simulation import simulate
from fedft.run.rundir import create_run_dir

pytestmark = pytest.mark.integration


def test_dp_run_audited_with_canaries_never_beats_the_claimed_epsilon(tmp_path, tiny_llama_path):
    # Prepare: the causal path, DP at ε ≤ 3, 32 canaries (once each) at site-0
    cfg = load_config(
        None,
        [
            "data.task=instruction",
            f"model.path={tiny_llama_path}",
            "data.partition.kind=iid",
            "data.synthetic.n_train=48",
            "data.synthetic.n_eval=8",
            "data.max_length=96",
            "federation.num_clients=2",
            "federation.rounds=2",
            "training.max_steps=4",
            "training.batch_size=8",
            "training.learning_rate=0.02",
            "dp.enabled=true",
            "dp.target_epsilon=3",
            "dp.max_epsilon=3",
            "audit.canaries.enabled=true",
            "audit.canaries.count=32",
            "audit.canaries.candidates=32",
        ],
    )
    run = simulate(cfg, create_run_dir(tmp_path / "run")).run_dir
    # Execute
    out = tmp_path / "audit.json"
    code = fedft_main(["audit", str(run.root), "--empirical", "--format", "json", "-o", str(out)])
    # Assert
    assert code == 0
    audit = json.loads(out.read_text())
    (site,) = audit["empirical"]["sites"]
    assert site["site"] == "site-0" and site["canaries"] == 32 and site["repeats"] == 1
    claimed = audit["sites"]["site-0"]["epsilon"]
    assert 0 < claimed <= 3.0
    assert site["claimed_epsilon"] == claimed
    assert site["lower_bound"]["epsilon"] <= claimed
    assert site["verdict"] == "consistent"
    assert 0.0 <= site["membership_calibrated"]["auc"] <= 1.0
    assert site["exposure"]["candidates"] == 32
    # The answer key stays in the site's private folder; the server's files never name it.
    assert (run.root / "sites" / "site-0" / "audit" / "canaries.json").is_file()
    server_files = [
        p
        for p in run.root.rglob("*")
        if p.is_file()
        and "sites" not in p.parts
        and p.suffix in (".json", ".jsonl", ".log", ".yaml")
    ]
    assert server_files
    assert not any(
        "access code of the ward safe" in p.read_text(errors="replace") for p in server_files
    )
    md = tmp_path / "audit.md"
    assert fedft_main(["audit", str(run.root), "--format", "md", "-o", str(md)]) == 0
    text = md.read_text()
    assert "Empirical audit (canaries)" in text and "not a certificate" in text
