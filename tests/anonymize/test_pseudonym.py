"""Pseudonyms: consistent within a site, different across sites, irreversible, secret kept."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.anonymize.pseudonym import (
    create_site_secret,
    load_or_create_site_secret,
    normalize_value,
    pseudonym,
    resolve_site_secret,
    secret_fingerprint,
)
from fedft.config.anonymization import AnonymizationConfig

SECRET_A = b"site-a-secret-0123456789abcdef01"
SECRET_B = b"site-b-secret-0123456789abcdef01"
PSEUDO = AnonymizationConfig(operator="pseudonymize", secret_env=None)


@pytest.fixture(scope="module")
def site_a(clinical):  # noqa: ARG001 - warms the shared spaCy model first
    return Anonymizer.from_config(PSEUDO, site_secret=SECRET_A)


@pytest.fixture(scope="module")
def site_b(clinical):  # noqa: ARG001
    return Anonymizer.from_config(PSEUDO, site_secret=SECRET_B)


def test_token_is_hmac_of_normalized_value():
    token = pseudonym(secret=SECRET_A, entity="PERSON", value="John Smith")
    assert (
        token.startswith("<PERSON_") and token.endswith(">") and len(token) == len("<PERSON_>") + 10
    )
    # Case, order ("Last, First") and spacing do not change who it is.
    assert pseudonym(secret=SECRET_A, entity="PERSON", value="SMITH,  john") == token
    assert pseudonym(secret=SECRET_A, entity="PHONE_NUMBER", value="(212) 555-0147") == pseudonym(
        secret=SECRET_A, entity="PHONE_NUMBER", value="212.555.0147"
    )
    assert pseudonym(secret=SECRET_B, entity="PERSON", value="John Smith") != token
    assert pseudonym(secret=SECRET_A, entity="PERSON", value="Jane Smith") != token


@pytest.mark.parametrize(
    ("entity", "value", "normal"),
    [
        ("PERSON", "Smith, John", "john smith"),
        ("US_SSN", "123-45-6789", "123456789"),
        ("EMAIL_ADDRESS", " Jo@Example.COM ", "jo@example.com"),
    ],
)
def test_normalize_value(entity, value, normal):
    assert normalize_value(entity, value) == normal


def test_same_value_same_token_across_documents_and_runs(site_a):
    texts = [
        "Patient John Smith called from 212-555-0147.",
        "Follow-up: John Smith reports no pain.",
    ]
    first = site_a.anonymize_texts(texts).texts
    token = pseudonym(secret=SECRET_A, entity="PERSON", value="John Smith")
    assert all(token in t for t in first), first
    # A second run (a new anonymizer with the same site secret) gives the same tokens.
    again = Anonymizer.from_config(PSEUDO, site_secret=SECRET_A).anonymize_texts(texts).texts
    assert again == first


def test_different_sites_different_tokens(site_a, site_b):
    text = "Patient Maria Gonzalez, phone 212-555-0147."
    a, b = site_a.anonymize_texts([text]).texts[0], site_b.anonymize_texts([text]).texts[0]
    assert a != b and "Gonzalez" not in a and "Gonzalez" not in b


def test_secret_never_in_outputs_reports_logs_or_cache(tmp_path, caplog, clinical):  # noqa: ARG001
    caplog.set_level(logging.DEBUG)
    anon = Anonymizer.from_config(PSEUDO, site_secret=SECRET_A, cache_dir=tmp_path)
    result = anon.anonymize_texts(["Call John Smith at 212-555-0147 or john@example.org."])
    secret_text = SECRET_A.decode()
    blobs = [
        *result.texts, repr(result.report), str(result.report.to_dict()),
        str(result.report.as_metrics()), caplog.text, repr(anon),
        *(p.read_text() for p in tmp_path.iterdir()), *(p.name for p in tmp_path.iterdir()),
    ]  # fmt: skip
    for blob in blobs:
        assert secret_text not in blob
        assert SECRET_A.hex() not in blob
    assert secret_fingerprint(SECRET_A) != secret_fingerprint(SECRET_B)


def test_missing_secret_fails_before_any_data(monkeypatch):
    cfg = AnonymizationConfig(operator="pseudonymize", secret_env="FEDFT_TEST_NO_SUCH_SECRET")
    monkeypatch.delenv("FEDFT_TEST_NO_SUCH_SECRET", raising=False)
    with pytest.raises(ValueError, match="FEDFT_TEST_NO_SUCH_SECRET"):
        Anonymizer.from_config(cfg)
    # A per-entity override needs it too.
    cfg = AnonymizationConfig(entity_operators={"PERSON": "pseudonymize"}, secret_env=None)
    with pytest.raises(ValueError, match="pseudonymize"):
        Anonymizer.from_config(cfg)


def test_short_secret_rejected_without_echoing_it(monkeypatch):
    monkeypatch.setenv("FEDFT_TEST_SECRET", "tooshort")
    cfg = AnonymizationConfig(operator="pseudonymize", secret_env="FEDFT_TEST_SECRET")
    with pytest.raises(ValueError, match="at least 16 bytes") as err:
        resolve_site_secret(cfg)
    assert "tooshort" not in str(err.value)


def test_secret_file_wins_over_env_and_is_private(tmp_path, monkeypatch):
    path = tmp_path / "site" / "pseudonym.key"
    created = create_site_secret(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(bytes.fromhex(created.decode())) == 32
    with pytest.raises(FileExistsError):
        create_site_secret(path)  # never silently replace a site's key
    assert load_or_create_site_secret(path) == created
    monkeypatch.setenv("FEDFT_SITE_SECRET", "x" * 40)
    cfg = AnonymizationConfig(operator="pseudonymize", secret_file=path)
    assert resolve_site_secret(cfg) == created
    with pytest.raises(ValueError, match="does not exist"):
        resolve_site_secret(AnonymizationConfig(secret_file=tmp_path / "nope.key"))
    assert (
        resolve_site_secret(AnonymizationConfig(), environ={"FEDFT_SITE_SECRET": "y" * 32})
        == b"y" * 32
    )
