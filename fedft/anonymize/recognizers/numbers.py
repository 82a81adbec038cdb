"""Number recognizers: phone numbers, standalone long numbers, SSN-shaped numbers, NHS numbers,
payment cards, IBANs."""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, NhsRecognizer

from fedft.anonymize.recognizers.patterns import (
    DATE_LIKE,
    FLAGS,
    IPV4_LIKE,
    CodeRecognizer,
    digit_count,
    pattern_args,
)

__all__ = [
    "FedftCardRecognizer",
    "FedftIbanRecognizer",
    "FedftLongNumberRecognizer",
    "FedftNhsRecognizer",
    "FedftPhoneRecognizer",
    "FedftSsnRecognizer",
]


class FedftPhoneRecognizer(PatternRecognizer):
    """National and international numbers: +CC / 00CC / 001- prefixes, (0) trunk digits,
    dots, spaces, dashes, extensions ("x123", "ext. 12"); 7-15 digits."""

    PATTERNS = [
        Pattern(
            "international",
            r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .\-]?\(?\d{1,8}\)?){1,6}"
            r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?(?!\w)",
            0.6,
        ),
        Pattern(
            "grouped",
            r"(?<![\w.+-])\(?\d{2,5}\)?(?:[ .\-]\(?\d{1,8}\)?|(?<=\))\s?\d{1,8}){1,4}"
            # A label glued by a dash ends the number: "082 490 1693-Office".
            r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?(?!\w|-(?!\p{L})|\.\d)",
            0.45,
        ),
        Pattern("bare_10_11", r"(?<![\w.-])1?\d{10}(?![\w-]|\.\d)", 0.35),
        # German and Austrian: trunk prefix, a slash, the subscriber ("0221 / 4567890").
        Pattern(
            "slash",
            r"(?<![\w./+-])0\d{2,5}[ ]?/[ ]?\d{3,9}(?:-\d{1,5})?(?![\w/]|-(?!\p{L})|\.\d)",
            0.45,
        ),
    ]
    CONTEXT = ["phone", "tel", "telephone", "call", "cell", "mobile", "contact", "reach", "fax"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="PHONE_NUMBER", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        core = regex.sub(r"\s*(?:x|ext\.?|extension)\s*\d+$", "", pattern_text, flags=FLAGS)
        digits = digit_count(core)
        if not 7 <= digits <= 15:
            return True
        plain = core.strip("() ")
        return bool(DATE_LIKE.match(plain) or IPV4_LIKE.match(plain))


class FedftLongNumberRecognizer(PatternRecognizer):
    """Catch-all for standalone numbers of 7+ digits (optionally dash-separated): in notes and
    transaction text these are nearly always identifiers (record, account, member numbers)."""

    # Letters may touch the number (mrn1234567, ACC-0123456789): still an identifier.
    PATTERNS = [Pattern("long_number", r"(?<![\d.,]|\d-)\d+(?:-\d+)*(?![\d-]|[.,]\d)", 0.4)]
    CONTEXT = ["number", "no", "id", "record", "account", "acct", "member", "reference", "ref"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="ID_NUMBER", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        return digit_count(pattern_text) < 7 or bool(DATE_LIKE.match(pattern_text))


class FedftSsnRecognizer(PatternRecognizer):
    """Numbers written the way US SSNs are (3-2-4 digits, dashed), whatever their digits.

    Presidio's SSN recognizer rejects famous sample numbers (078-05-1120, 123-45-6789) and
    invalid ranges; such a number is still an SSN to a reader, and the phone pattern then labels
    it: "SSN <PHONE_NUMBER>". This one names the shape; scored above the phone (0.45) and
    long-number (0.4) patterns that match the same digits."""

    PATTERNS = [Pattern("ssn_dashed", r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w-]|\.\d)", 0.5)]
    CONTEXT = ["ssn", "social", "security"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="US_SSN", language=supported_language))


class FedftNhsRecognizer(NhsRecognizer):
    """NHS numbers (mod-11 checked by Presidio's recognizer), minus US phone numbers.

    One in eleven 10-digit numbers passes the checksum, so Presidio called "call 555-201-3344"
    an NHS number (score 1.0, above every phone pattern). NHS numbers are written in 3-3-4
    groups separated by spaces, or unseparated; dashes, dots and brackets are phone formatting,
    and so is a phone word just before the number. Such numbers stay PHONE_NUMBER."""

    PATTERNS = [Pattern("NHS (medium)", r"(?<![\w.(-])\d{3} ?\d{3} ?\d{4}(?![\w)-]|\.\d)", 0.5)]
    _PHONE_WORD = regex.compile(
        r"\b(?:phone|tel|telephone|call|cell|mobile|contact|reach|fax|ring|text)\b\W{0,3}"
        r"(?:\w+\W{1,3})?$",
        FLAGS,
    )

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            patterns=self.PATTERNS,
            supported_language=supported_language,
            name="FedftNhsRecognizer",
        )

    def analyze(self, text: str, entities, nlp_artifacts=None, regex_flags=None):
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            r for r in results if not self._PHONE_WORD.search(text, max(0, r.start - 24), r.start)
        ]


class FedftCardRecognizer(CreditCardRecognizer):
    """Payment cards the default misses (Mastercard 2-series, 13-19 digits), Luhn-checked by
    Presidio's CreditCardRecognizer."""

    PATTERNS = [
        Pattern("card", r"(?<![\w-])\d{4}(?:[ -]?\d{3,4}){2,3}(?:[ -]?\d{1,4})?(?![\w-])", 0.5)
    ]
    CONTEXT = ["card", "credit", "debit", "visa", "mastercard", "amex", "cc"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name="FedftCardRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        return 13 <= digit_count(pattern_text) <= 19 and super().validate_result(pattern_text)


class FedftIbanRecognizer(CodeRecognizer):
    """IBANs in any case, compact or in groups of four, checked with ISO 7064 mod 97.

    Presidio's IBAN pattern, run case-insensitively, swallows the next word ("... 7971
    requested") and then rejects the whole match; here every group boundary is tried, longest
    first, and the longest valid prefix wins.
    """

    _START = regex.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")
    _GROUP = regex.compile(r"[ ]?[A-Za-z0-9]{1,4}")

    ENTITIES = ("IBAN_CODE",)

    @staticmethod
    def checksum_ok(candidate: str) -> bool:
        compact = candidate.replace(" ", "").upper()
        if not 15 <= len(compact) <= 34 or not compact.isalnum():
            return False
        rotated = compact[4:] + compact[:4]
        return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        results = []
        for start in self._START.finditer(text):
            ends: list[int] = []
            pos = start.end()
            while len(ends) < 8:
                group = self._GROUP.match(text, pos)
                if not group:
                    break
                pos = group.end()
                ends.append(pos)
            for end in reversed(ends):
                if (end >= len(text) or not text[end].isalnum()) and self.checksum_ok(
                    text[start.start() : end]
                ):
                    results.append(RecognizerResult("IBAN_CODE", start.start(), end, 0.9))
                    break
        return results
