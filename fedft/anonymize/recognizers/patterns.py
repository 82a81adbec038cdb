"""What fedft's pattern recognizers share: their Presidio arguments, regex flags, and the
look-alikes they reject."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import LocalRecognizer

__all__ = ["CodeRecognizer", "DATE_LIKE", "FLAGS", "IPV4_LIKE", "digit_count", "pattern_args"]

FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
# Numeric dates and IPv4 addresses share a shape with phone numbers and long IDs.
DATE_LIKE = regex.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})$"
)
IPV4_LIKE = regex.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def pattern_args(recognizer: Any, *, entity: str, language: str) -> dict[str, Any]:
    """PatternRecognizer arguments for one of fedft's recognizers: its class's PATTERNS and
    CONTEXT (if any), named after its class, with fedft's regex flags."""
    return {
        "supported_entity": entity,
        "name": type(recognizer).__name__,
        "patterns": recognizer.PATTERNS,
        "context": getattr(recognizer, "CONTEXT", None),
        "supported_language": language,
        "global_regex_flags": FLAGS,
    }


class CodeRecognizer(LocalRecognizer):
    """A recognizer written as code (`analyze`), not as Presidio patterns: named after its
    class, for the entities in its ENTITIES; nothing to load (its regexes compile at import)."""

    ENTITIES: tuple[str, ...] = ()

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=list(self.ENTITIES),
            name=type(self).__name__,
            supported_language=supported_language,
        )

    def load(self) -> None:
        pass
