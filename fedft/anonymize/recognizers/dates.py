"""Dates written with month names, in any case."""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import pattern_args

__all__ = ["MONTH", "FedftDateWordsRecognizer"]

MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d%]|[.,]\d)"
_YEAR = r"(?:1[89]\d\d|20\d\d|'\d\d)"


class FedftDateWordsRecognizer(PatternRecognizer):
    """Dates written with month names, any case: "March 3, 1985", "3 march 1985",
    "14th of March 1985", "apr 15 2025", "Sept 3rd". Years alone are not matched."""

    PATTERNS = [
        Pattern(
            "day_month_year",
            rf"\b{_DAY}\s+(?:of\s+)?{MONTH}\.?,?(?:\s+{_YEAR})?\b",
            0.6,
        ),
        Pattern("month_day_year", rf"\b{MONTH}\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b", 0.6),
        Pattern("month_year", rf"\b{MONTH}\.?,?\s+{_YEAR}\b", 0.5),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="DATE_TIME", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        # "may 5" is often the verb: require a year, an ordinal or a capital M.
        text = pattern_text.strip()
        if text[:3].lower() == "may" and not regex.search(r"\d{4}|st|nd|rd|th", text):
            return not text.startswith("May")
        return False
