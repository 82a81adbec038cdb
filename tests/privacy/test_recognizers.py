"""fedft's recognizers, table-driven: formats vanilla Presidio misses, and look-alikes that
must survive (precision probes)."""

from __future__ import annotations

import pytest

from fedft.privacy.recognizers import FedftIbanRecognizer


def _removed(anonymizer, text: str, value: str) -> bool:
    [out] = anonymizer.anonymize_texts([text]).texts
    return value not in out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Contact 001-604-430-4114 tomorrow.", "604-430-4114"),
        ("Call (0468)-268369 after 5.", "268369"),
        ("Phone +44(0)306 999 0317 (mobile).", "999 0317"),
        ("Reached at 0044 20 7946 0958.", "7946 0958"),
        ("tel. 212.555.0147x6812", "555.0147"),
        ("Call (451)285-3469 now.", "285-3469"),
        ("phone 3518908931", "3518908931"),
        ("SSN 536221847 on file.", "536221847"),
        ("social security number 536 22 1847.", "536 22 1847"),
        ("Card 2709 1580 7715 9479 blocked.", "7715 9479"),  # Mastercard 2-series, Luhn-valid
        ("to es4697471581809957607971 requested by the client", "4697471581809957607971"),
        ("Write to <jane.doe@example.org> please.", "jane.doe"),
        ("mail jdoe [at] example [dot] com", "jdoe"),
        ("Born on the 14th of march 1985.", "14th of march"),
        ("Seen apr 15 2025 in clinic.", "apr 15"),
        ("Lives at 531 Mosley Points Suite 123, Springfield.", "Mosley Points"),
        ("See http://www.harding-campbell.biz/main/wp-content.", "harding-campbell"),
        ("Reference 0813458601 was closed.", "0813458601"),
    ],
)
def test_hard_formats_removed(text, value, default_anonymizer):
    assert _removed(default_anonymizer, text, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("PATIENT: JOHN SMITH", "SMITH"),
        ("patient: jan de vries, follow up", "vries"),
        ("Daughter thérèse dubois-laurent present.", "thérèse"),
        ("Consent signed by Gastón van der Rooij.", "Rooij"),
        ("Called BERNADETTE OBERWALD at home.", "OBERWALD"),
        ("Pacomio, Elvira was transferred.", "Pacomio"),
        ("Seen by Dr. Kowalski; Kowalski will call back. kowalski agreed.", "owalski"),
        ("consent signed by xaver oberhuber and witnessed.", "oberhuber"),
        ("KARL-OTTO CARSTEN called.", "KARL"),
    ],
)
def test_name_case_variants_removed(text, value, clinical):
    assert _removed(clinical, text, value)


@pytest.mark.parametrize(
    "text",
    [
        "BP 132/84, HbA1c 7.2%, metformin 500 mg twice daily for 3 days.",
        "SSN and DOB verified; Parkinson's disease and Crohn's disease noted.",
        "Patient reports improvement on lisinopril; troponin negative.",
        "Transfer of 250.00 approved; APR 19.9% unchanged.",
    ],
)
def test_clinical_text_survives(text, clinical):
    [out] = clinical.anonymize_texts([text]).texts
    assert out == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00 paid", (0, 27)),
        ("gb82 west 1234 5698 7654 32", (0, 27)),
        ("iban DE89370400440532013000requested", None),  # glued to a word: not a token
        ("DE89 3704 0044 0532 0130 01", None),  # wrong checksum
    ],
)
def test_iban_checksum_and_boundaries(text, expected):
    found = FedftIbanRecognizer().analyze(text, ["IBAN_CODE"])
    assert [(r.start, r.end) for r in found] == ([expected] if expected else [])
