"""Web identifiers the defaults miss: obfuscated e-mail addresses, URLs with any domain."""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import FLAGS, pattern_args

__all__ = ["FedftEmailObfuscatedRecognizer", "FedftUrlRecognizer"]


class FedftEmailObfuscatedRecognizer(PatternRecognizer):
    """Addresses written to dodge scrapers: "j.doe [at] site [dot] com", "jdoe(at)site.org"."""

    PATTERNS = [
        Pattern(
            "obfuscated",
            r"\b[\w.+-]+\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*[\w-]+"
            r"(?:\s*(?:\.|\[dot\]|\(dot\)|\s+dot\s+)\s*[\w-]+)*"
            r"\s*(?:\.|\[dot\]|\(dot\)|\s+dot\s+)\s*(?:com|org|net|edu|gov|io|[a-z]{2})\b",
            0.5,
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="EMAIL_ADDRESS", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        # Plain prose ("seen at home. it was") must show bracketed markers or a "dot" word.
        return not regex.search(
            r"\[at\]|\(at\)|\{at\}|\bdot\b|\[dot\]|\(dot\)", pattern_text, flags=FLAGS
        )


class FedftUrlRecognizer(PatternRecognizer):
    """Web addresses with a scheme or "www.", up to the first space; any top-level domain."""

    PATTERNS = [Pattern("url", r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", 0.6)]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="URL", language=supported_language))
