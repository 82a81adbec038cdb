"""What the pattern recognizers share: their regex flags and the look-alikes they reject."""

from __future__ import annotations

import regex

__all__ = ["DATE_LIKE", "FLAGS", "IPV4_LIKE", "digit_count"]

FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
# Numeric dates and IPv4 addresses share a shape with phone numbers and long IDs.
DATE_LIKE = regex.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})$"
)
IPV4_LIKE = regex.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
