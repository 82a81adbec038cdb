"""Site data preparation: every text column anonymized before tokenization; counts only out."""

import json

import datasets
import pytest

from fedft.config.anonymization import AnonymizationConfig
from fedft.data.synthetic import generate_corpus
from fedft.round.prepare import TEXT_COLUMNS, anonymize_dataset, anonymizer_for

STRUCTURED = {"US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "MEDICAL_RECORD_NUMBER", "CREDIT_CARD", "IBAN_CODE"}


@pytest.mark.parametrize("task", ["classification", "instruction"])
def test_no_planted_identifier_survives_in_any_text_column(tmp_path, task):
    # Prepare
    records = generate_corpus(kind="clinical", n=30, seed=5, task=task)
    columns = TEXT_COLUMNS[task]
    ds = datasets.Dataset.from_list([{c: r[c] for c in (*columns, "label") if c in r} for r in records])
    anonymizer = anonymizer_for(AnonymizationConfig(), state_dir=tmp_path, create_secret=True)
    # Execute
    out, report = anonymize_dataset(ds, task=task, anonymizer=anonymizer)
    # Assert
    texts = [t for c in columns for t in out[c]]
    planted = [p["value"] for r in records for p in r["pii"] if p["entity"] in STRUCTURED]
    assert planted, "the corpus must plant structured identifiers"
    leaked = [v for v in planted if any(v in t for t in texts)]
    assert leaked == []
    assert len(out) == len(ds) - report.rows_dropped
    assert report.entities_total > 0
    assert all(isinstance(v, int | float) for v in report.as_metrics().values())


def test_planted_duplicates_are_dropped_after_anonymization_and_counted(tmp_path, minilm_path):
    # Prepare: a site's rows plus an exact copy of one and a near copy (a sentence added) of another
    from fedft.config import load_config
    from fedft.model.load import ResolvedModel, load_tokenizer
    from fedft.round.prepare import prepare
    from fedft.round.workload import Workload
    from fedft.run.site_record import anonymization_record

    cfg = load_config(None, ["data.dedup.enabled=true", "data.dedup.threshold=0.8"])
    records = generate_corpus(kind="clinical", n=20, seed=5, task="classification")
    rows = [{"text": r["text"], "label": r["label"]} for r in records]
    near = dict(rows[1], text=rows[1]["text"] + " Follow up in two weeks.")
    ds = datasets.Dataset.from_list([*rows, rows[0], near])
    labels = tuple(sorted({r["label"] for r in rows}))
    tokenizer = load_tokenizer(ResolvedModel(path=str(minilm_path), public_id="minilm"))
    workload = Workload(
        model=None, tokenizer=tokenizer, device="cpu", labels=labels, public_base_id="m"
    )
    # Execute
    prepared = prepare(
        cfg, workload, ds, policy=cfg.anonymization, state_dir=tmp_path, create_secret=True,
        dedup=cfg.data.dedup,
    )  # fmt: skip
    # Assert: counts in the site's report, its metrics and the ledger record built from them
    report = json.loads((tmp_path / "anonymization_report.json").read_text())
    kept = report["rows_processed"] - report["rows_dropped"] - 2  # residual PII drops rows too
    assert report["dedup"] == {"exact": 1, "near": 1, "kept": kept, "threshold": 0.8}
    assert len(prepared.tokenized) == kept
    assert anonymization_record(prepared.anonymization_metrics)["dedup"] == {
        "exact": 1, "near": 1, "kept": kept,
    }  # fmt: skip


def test_without_dedup_nothing_is_dropped_or_reported(tmp_path, minilm_path):
    from fedft.config import load_config
    from fedft.model.load import ResolvedModel, load_tokenizer
    from fedft.round.prepare import prepare
    from fedft.round.workload import Workload

    cfg = load_config(None, [])
    rows = [
        {"text": r["text"], "label": r["label"]}
        for r in generate_corpus(kind="clinical", n=6, seed=5, task="classification")
    ]
    ds = datasets.Dataset.from_list([*rows, rows[0]])
    tokenizer = load_tokenizer(ResolvedModel(path=str(minilm_path), public_id="minilm"))
    labels = tuple(sorted({r["label"] for r in rows}))
    workload = Workload(
        model=None, tokenizer=tokenizer, device="cpu", labels=labels, public_base_id="m"
    )
    prepared = prepare(
        cfg,
        workload,
        ds,
        policy=cfg.anonymization,
        state_dir=tmp_path,
        create_secret=True,
        dedup=cfg.data.dedup,
    )
    assert len(prepared.tokenized) == 7
    assert "dedup" not in json.loads((tmp_path / "anonymization_report.json").read_text())
    assert not any(k.startswith("anon_dedup_") for k in prepared.anonymization_metrics)
