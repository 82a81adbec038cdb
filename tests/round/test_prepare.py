"""Site data preparation: every text column anonymized before tokenization; counts only out."""

import json

import datasets
import pytest

from fedft.config.anonymization import AnonymizationConfig
from fedft.data.synthetic import generate_corpus
from fedft.round.prepare import TEXT_COLUMNS, anonymize_dataset, anonymizer_for

STRUCTURED = {
    "US_SSN",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "MEDICAL_RECORD_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
}


@pytest.mark.parametrize("task", ["classification", "instruction"])
def test_no_planted_identifier_survives_in_any_text_column(tmp_path, task):
    # Prepare
    records = generate_corpus(kind="clinical", n=30, seed=5, task=task)
    columns = TEXT_COLUMNS[task]
    ds = datasets.Dataset.from_list(
        [{c: r[c] for c in (*columns, "label") if c in r} for r in records]
    )
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


def test_a_simulation_reuses_anonymized_corpora_across_runs_in_the_machine_cache(tmp_path):
    """run.anonymization_cache: a second run (another run folder) reads the first one's entry;
    a pseudonymizing policy, whose simulated key is new every run, keeps its own in the run."""
    machine = tmp_path / "machine-cache"
    ds = datasets.Dataset.from_list(
        [
            {"text": r["text"], "label": r["label"]}
            for r in generate_corpus(kind="clinical", n=12, seed=3)
        ]
    )
    runs = []
    for run in ("run-a", "run-b"):
        anonymizer = anonymizer_for(
            AnonymizationConfig(),
            state_dir=tmp_path / run / "site-0",
            create_secret=True,
            cache=machine,
        )
        out, report = anonymize_dataset(ds, task="classification", anonymizer=anonymizer)
        runs.append((out["text"], report.cache_hit))
    assert [hit for _, hit in runs] == [False, True]
    assert runs[0][0] == runs[1][0]
    assert len(list(machine.glob("*.json"))) == 1
    assert not (tmp_path / "run-a" / "site-0" / "anon-cache").exists()
    pseudonyms = AnonymizationConfig(operator="pseudonymize")
    anonymizer = anonymizer_for(
        pseudonyms, state_dir=tmp_path / "run-c", create_secret=True, cache=machine
    )
    anonymize_dataset(ds, task="classification", anonymizer=anonymizer)
    assert len(list(machine.glob("*.json"))) == 1
    assert len(list((tmp_path / "run-c" / "anon-cache").glob("*.json"))) == 1
    # A real site (no simulated key) keeps its cache in its own folder, whatever the config says.
    site = anonymizer_for(
        AnonymizationConfig(), state_dir=tmp_path / "real", create_secret=False, cache=machine
    )
    assert site.cache_dir == tmp_path / "real" / "anon-cache"


def test_machine_cache_folder_follows_the_setting_and_environment(tmp_path, monkeypatch):
    from fedft.anonymize.cache import machine_cache_dir

    monkeypatch.setenv("FEDFT_CACHE_DIR", str(tmp_path / "fedft-cache"))
    assert machine_cache_dir("auto") == tmp_path / "fedft-cache" / "anonymization"
    monkeypatch.delenv("FEDFT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert machine_cache_dir("auto") == tmp_path / "xdg" / "fedft" / "anonymization"
    assert machine_cache_dir("off") is None
    assert machine_cache_dir(tmp_path / "here") == tmp_path / "here"


def test_a_change_to_the_anonymization_code_misses_old_entries(monkeypatch):
    from fedft.anonymize import cache

    key = dict(texts=["Seen by Dr. Amy Lee."], policy_hash="p", model="m", secret_fingerprint=None)
    before = cache.corpus_key(**key)
    monkeypatch.setattr(cache, "_code_digest", lambda: "another recognizer")
    assert cache.corpus_key(**key) != before


@pytest.mark.parametrize(("written", "read"), [("off", "off"), ("no", "off"), ("auto", "auto")])
def test_the_cache_setting_reads_as_written_in_yaml(tmp_path, written, read):
    # YAML 1.1 reads a bare `off` / `no` as False: the setting must still mean "off".
    from fedft.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(f"run:\n  anonymization_cache: {written}\n")
    assert load_config(path, []).run.anonymization_cache == read
    assert load_config(None, [f"run.anonymization_cache={written}"]).run.anonymization_cache == read
