"""Site-level DP (DP-FedAvg) in a real Flower simulation with SecAgg+: sites clip, the server
adds the noise after the secure sum, and the ledger, the audit and the model card state the
site-level (ε, δ) with the parameters it is recomputed from."""

import json
from pathlib import Path

import pytest

from fedft.cli import main as fedft_main
from fedft.config import load_config
from fedft.dp.accounting import site_level_epsilon
from fedft.federation.simulation import simulate
from fedft.run.ledger_verify import read_ledger
from fedft.run.metrics import read_metrics
from fedft.run.rundir import create_run_dir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]

TINY = [
    "federation.num_clients=3",
    "federation.min_fit_clients=3",
    "federation.rounds=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=48",
    "data.max_length=64",
    "training.max_steps=3",
    "training.batch_size=8",
    "secure_aggregation.enabled=true",
    "site_dp.enabled=true",
    "site_dp.noise_multiplier=1.0",
    "site_dp.clipping_norm=0.5",
    "evaluation.local_baseline=false",
]


def test_site_level_dp_with_secagg_completes_and_the_audit_states_site_level_epsilon(tmp_path):
    # Prepare
    cfg = load_config(REPO / "configs" / "default.yaml", TINY)

    # Execute
    result = simulate(cfg, create_run_dir(tmp_path / "site-dp"))
    root = str(result.run_dir.root)
    report = tmp_path / "audit.json"
    assert fedft_main(["audit", root, "--verify"]) == 0
    assert fedft_main(["audit", root, "--format", "json", "-o", str(report)]) == 0
    markdown = tmp_path / "audit.md"
    assert fedft_main(["audit", root, "--format", "md", "-o", str(markdown)]) == 0
    exported = tmp_path / "adapter"
    assert fedft_main(["export", root, "-o", str(exported)]) == 0

    # Assert: every round is recorded with the server mechanism and ε over the rounds so far
    expected = [
        site_level_epsilon(noise_multiplier=1.0, sample_rate=1.0, rounds=r, delta=1 / 30, accountant="prv")
        for r in (1, 2)
    ]
    rounds = [e["body"] for e in read_ledger(result.run_dir.root) if e["kind"] == "round"]
    assert [b["site_dp"]["rounds"] for b in rounds] == [1, 2]
    assert [b["site_dp"]["epsilon_total"] for b in rounds] == pytest.approx(expected, rel=1e-9)
    assert all(b["secure_aggregation"]["enabled"] for b in rounds)
    for body in rounds:
        server = body["site_dp"]
        assert (server["num_sampled"], server["num_clients"], server["sample_rate"]) == (3, 3, 1.0)
        assert server["noise_std"] == pytest.approx(1.0 * 0.5 / 3)
        # Sites are named by their id, with the node id kept; weights are not record counts.
        assert [s["site"] for s in body["sites"]] == ["site-0", "site-1", "site-2"]
        assert all(s["node"].startswith("node-") and s["num_examples"] is None for s in body["sites"])
    audit = json.loads(report.read_text())
    server = audit["site_level"]
    assert audit["ledger"]["ok"] is True
    assert server["epsilon"] == pytest.approx(expected[-1], rel=1e-6)
    assert (server["delta"], server["noise_multiplier"], server["clipping_norm"]) == (1 / 30, 1.0, 0.5)
    assert (server["sample_rate"], server["steps"], server["rounds"]) == (1.0, 2, 2)
    assert sorted(audit["sites"]) == ["site-0", "site-1", "site-2"]
    assert "Each site as a whole: (ε = " in markdown.read_text()
    assert "Site-level differential privacy (DP-FedAvg on the server)" in (exported / "MODEL_CARD.md").read_text()
    records = read_metrics(result.run_dir.metrics)
    assert [r["clients_finished"] for r in records[1:]] == [3, 3]
    assert all(0.0 <= r["eval_accuracy"] <= 1.0 for r in records)


RECIPE_TINY = [
    "federation.num_clients=3",
    "federation.min_fit_clients=3",
    "federation.rounds=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=48",
    "data.max_length=64",
    "dp.physical_batch_size=8",
]


def test_the_dp_preset_plans_trains_within_budget_and_exports_a_mean_pooled_adapter(tmp_path):
    # Prepare: simulations/dp-hospitals.yaml, shrunk (3 sites of ~32 records, 2 rounds).
    cfg = load_config(REPO / "simulations" / "dp-hospitals.yaml", RECIPE_TINY)
    plan_lines: list[str] = []

    # Execute
    result = simulate(cfg, create_run_dir(tmp_path / "dp-preset"), on_dp_plan=plan_lines.extend)
    root = str(result.run_dir.root)
    report = tmp_path / "audit.json"
    assert fedft_main(["audit", root, "--format", "json", "-o", str(report)]) == 0
    exported = tmp_path / "adapter"
    assert fedft_main(["export", root, "-o", str(exported)]) == 0

    # Assert: the plan was shown and logged before training (q = 1, per-group bounds) ...
    assert sum("records, σ" in line for line in plan_lines) == 3
    assert any("(q 1)" in line for line in plan_lines)
    assert any("clip lora 0.1, head 1" in line for line in plan_lines)
    assert "DP plan: site 0:" in result.run_dir.log.read_text()
    # ... every site spent at most the target, and nearly all of it (calibrated, exact) ...
    audit = json.loads(report.read_text())
    epsilons = [s["epsilon"] for s in audit["sites"].values()]
    assert len(epsilons) == 3 and all(7.5 <= e <= 8.0 for e in epsilons)
    # ... one noisy step per site and round, and the export records its pooling.
    records = read_metrics(result.run_dir.metrics)
    assert [r["clients_finished"] for r in records[1:]] == [3, 3]
    assert json.loads((exported / "fedft_head.json").read_text()) == {"pooling": "mean"}
