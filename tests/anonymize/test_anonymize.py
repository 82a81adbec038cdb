"""Anonymizer behaviour: operators, report, residual policy, cache, no network."""

from __future__ import annotations

import json
import socket

import pytest
from fedft_eval.pii_corpus import generate_pii_corpus

from fedft.anonymize.anonymizer import Anonymizer, ResidualPIIError
from fedft.config.anonymization import AnonymizationConfig, CustomRecognizerSpec, PatternSpec

NOTE = "Patient John Smith, SSN 536-22-1847, called from (212) 555-0147 on March 3, 2024."


def test_replace_tags_every_value(default_anonymizer):
    [out] = default_anonymizer.anonymize_texts([NOTE]).texts
    assert out == "Patient <PERSON>, SSN <US_SSN>, called from <PHONE_NUMBER> on <DATE_TIME>."


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"operator": "redact"}, "Patient , SSN , called from  on ."),
        (
            {"operator": "mask", "mask_char": "#"},
            "Patient ##########, SSN ###########, called from ############## on #############.",
        ),
        (
            {"entity_operators": {"DATE_TIME": "mask"}},
            "Patient <PERSON>, SSN <US_SSN>, called from <PHONE_NUMBER> on *************.",
        ),
    ],
)
def test_operators(overrides, expected, default_anonymizer):  # noqa: ARG001 - shared model
    anon = Anonymizer.from_config(AnonymizationConfig(**overrides))
    assert anon.anonymize_texts([NOTE]).texts == [expected]


def test_report_counts_and_metrics(default_anonymizer):
    texts = [NOTE, "Nothing to see here.", NOTE]  # duplicates are counted per row
    result = default_anonymizer.anonymize_texts(texts)
    report = result.report
    assert report.rows_processed == 3 and report.rows_changed == 2 and report.rows_dropped == 0
    assert report.entities["PERSON"] == 2 and report.entities["US_SSN"] == 2
    assert report.entities["IBAN_CODE"] == 0  # every policy entity present, zero or not
    assert report.operators == {"replace": 8}
    json.dumps(report.to_dict())  # JSON-safe
    metrics = report.as_metrics()
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values())
    assert metrics["anon_rows"] == 3 and metrics["anon_entity_PERSON"] == 2
    assert metrics["anon_operator_replace"] == 8 and metrics["anon_residual"] == 0
    assert "John" not in json.dumps(report.to_dict()) + json.dumps(metrics)


# A recognizer that only fires after anonymization ("<PERSON> codeword"): a residual hit on
# demand, to exercise the residual policy deterministically.
_AFTER_TAG = CustomRecognizerSpec(
    name="after_tag",
    entity="CODEWORD",
    patterns=[PatternSpec(regex=r"(?<=>\W{1,3})codeword", score=0.9)],
)


@pytest.mark.parametrize("action", ["drop_row", "report", "fail"])
def test_residual_policy(action, default_anonymizer):  # noqa: ARG001
    cfg = AnonymizationConfig(custom_recognizers=[_AFTER_TAG], residual=action)
    anon = Anonymizer.from_config(cfg)
    texts = ["Patient John Smith; codeword noted.", "Patient seen today."]
    if action == "fail":
        with pytest.raises(ResidualPIIError, match="CODEWORD=1") as err:
            anon.anonymize_texts(texts)
        assert "codeword" not in str(err.value).replace("CODEWORD", "")
        return
    result = anon.anonymize_texts(texts)
    assert result.report.residual["CODEWORD"] == 1
    if action == "drop_row":
        assert result.kept == [False, True] and result.texts[0] == ""
        assert result.report.rows_dropped == 1
    else:
        assert (
            result.kept == [True, True] and result.texts[0] == "Patient <PERSON>; codeword noted."
        )


def test_cache_hit_is_identical(tmp_path, default_anonymizer):  # noqa: ARG001
    # Speed of a hit is measured in bench/bench_anonymize.py, not asserted here.
    anon = Anonymizer.from_config(AnonymizationConfig(), cache_dir=tmp_path)
    texts = [d.text for d in generate_pii_corpus(n_docs=40, seed=2)]
    first = anon.anonymize_texts(texts)
    second = anon.anonymize_texts(texts)
    assert not first.report.cache_hit and second.report.cache_hit
    assert second.texts == first.texts and second.kept == first.kept
    assert second.report.entities == first.report.entities
    assert second.report.model_sha256 == first.report.model_sha256 != ""
    # Another policy, or other texts, miss.
    other = Anonymizer.from_config(AnonymizationConfig(operator="redact"), cache_dir=tmp_path)
    assert not other.anonymize_texts(texts).report.cache_hit
    assert not anon.anonymize_texts(texts[:-1]).report.cache_hit


def test_disabled_policy_passes_text_through():
    anon = Anonymizer.from_config(AnonymizationConfig(enabled=False))
    result = anon.anonymize_texts([NOTE])
    assert result.texts == [NOTE] and result.report.as_metrics()["anon_enabled"] == 0


def test_rejects_non_text_rows(default_anonymizer):
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        default_anonymizer.anonymize_texts(["ok", 3])


def test_no_network_during_build_and_anonymization(monkeypatch, default_anonymizer):  # noqa: ARG001
    # A guard, not a mock: any connection attempt (tldextract, model download) raises.
    def refuse(*_args, **_kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    import tldextract.tldextract as tld

    monkeypatch.setattr(tld, "TLD_EXTRACTOR", tld.TLDExtract(cache_dir=None))  # fresh, uncached
    anon = Anonymizer.from_config(AnonymizationConfig(custom_recognizers=[_AFTER_TAG]))
    out = anon.anonymize_texts(["Mail <jane.doe@example.co.uk> or jane@clinic.org.au today."]).texts
    assert out == ["Mail <<EMAIL_ADDRESS>> or <EMAIL_ADDRESS> today."]


def test_logs_stay_quiet_and_free_of_text(caplog, default_anonymizer):
    # Unmapped spaCy labels (CARDINAL, MONEY...) are ignored in the NER configuration, so
    # Presidio does not warn once per document; fedft's own logs carry counts only.
    caplog.set_level("INFO")
    text = "John Smith paid $250 for 3 items on March 3, 2024; call 212-555-0147."
    default_anonymizer.anonymize_texts([text])
    assert "not mapped" not in caplog.text
    assert "Smith" not in caplog.text and "555-0147" not in caplog.text


def test_workers_give_the_same_result_as_one_process(clinical_policy, clinical):
    # Prepare: 96 distinct notes, enough for two workers of _MIN_ROWS_PER_WORKER rows.
    from fedft_eval.pii_corpus import generate_pii_corpus

    texts = [d.text for d in generate_pii_corpus(n_docs=96, seed=4, domain="clinical")]
    texts += texts[:8]  # repeated rows are counted per row, whichever worker did them
    two = Anonymizer.from_config(clinical_policy, workers=2)

    # Execute
    one_result, two_result = clinical.anonymize_texts(texts), two.anonymize_texts(texts)

    # Assert
    assert two_result.texts == one_result.texts
    assert two_result.kept == one_result.kept
    fields = ("entities", "operators", "residual", "rows_changed", "rows_dropped")
    for field in fields:
        assert getattr(two_result.report, field) == getattr(one_result.report, field)


def test_workers_fall_back_to_one_process_without_fork(monkeypatch, clinical_policy, clinical):
    from fedft_eval.pii_corpus import generate_pii_corpus

    import fedft.anonymize.forking as forking

    texts = [d.text for d in generate_pii_corpus(n_docs=70, seed=6, domain="clinical")]

    def no_fork(method):
        raise ValueError(f"cannot find context for {method!r}")

    monkeypatch.setattr(forking.multiprocessing, "get_context", no_fork)
    two = Anonymizer.from_config(clinical_policy, workers=2)
    assert two.anonymize_texts(texts).texts == clinical.anonymize_texts(texts).texts


@pytest.mark.parametrize("workers", [0, -1, 1.5])
def test_workers_must_be_a_positive_integer(workers, clinical_policy):
    with pytest.raises(ValueError, match="workers"):
        Anonymizer.from_config(clinical_policy, workers=workers)
