"""Detected spans and the pure functions that clean them up before anonymization."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import regex

__all__ = ["Span", "allowed_ranges", "clip_to_line", "drop_allowed", "is_date_like", "merge_spans"]


@dataclass(frozen=True)
class Span:
    """A detection: entity label, [start, end) character offsets, score in [0, 1] and the
    recognizer that produced it. Never carries the matched text."""

    entity: str
    start: int
    end: int
    score: float
    source: str = ""


_PARTICLE_GAP = regex.compile(
    r"^[\s,]*(?:(?:van|der|den|de|la|le|von|del|da|di|du|ten|ter|bin|al)[\s,]+)*$",
    flags=regex.IGNORECASE,
)


# Sources that guess from language (NER and fedft's name passes). When one overlaps a
# pattern with a checksum or a fixed format, the pattern names the entity better.
NER_SOURCES = frozenset(
    {"SpacyRecognizer", "case_variant", "cue", "unknown_pair", "propagation", "handle"}
)


def _label_rank(span: Span) -> tuple[bool, float, int]:
    return (span.source not in NER_SOURCES, span.score, span.end - span.start)


def merge_spans(spans: Sequence[Span], *, text: str) -> list[Span]:
    """Non-overlapping spans covering every input span (a union: no partial leftovers).

    Overlapping spans merge into one labelled by a pattern recognizer if any, else by the
    highest score (then the longest); two
    PERSON spans separated only by particles or a comma become one name ("de la" in
    "Maria de la Cruz", "Smith, John").
    """
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    merged: list[Span] = []
    for span in ordered:
        if merged:
            last = merged[-1]
            overlaps = span.start < last.end
            joins_name = (
                last.entity == span.entity == "PERSON"
                and span.start >= last.end
                and _PARTICLE_GAP.match(text[last.end : span.start]) is not None
                and not any(ch.isdigit() for ch in text[last.start : span.end])
            )
            if overlaps or joins_name:
                best = max(last, span, key=_label_rank)
                merged[-1] = Span(
                    best.entity, last.start, max(last.end, span.end), best.score, best.source
                )
                continue
        merged.append(span)
    return merged


@lru_cache(maxsize=16)
def _allow_pattern(allow_list: tuple[str, ...]) -> regex.Pattern:
    return regex.compile(
        r"(?<![\p{L}\d])(?:"
        + "|".join(regex.escape(t) for t in sorted(allow_list, key=len, reverse=True))
        + r")(?![\p{L}\d])",
        flags=regex.IGNORECASE,
    )


def allowed_ranges(text: str, allow_list: Sequence[str]) -> list[tuple[int, int]]:
    """Where allow-listed terms occur in `text` (whole words, case-insensitive)."""
    if not allow_list:
        return []
    return [(m.start(), m.end()) for m in _allow_pattern(tuple(allow_list)).finditer(text)]


def drop_allowed(spans: Sequence[Span], ranges: Sequence[tuple[int, int]]) -> list[Span]:
    """Spans not lying entirely inside an allow-listed occurrence."""
    return [s for s in spans if not any(a <= s.start and s.end <= b for a, b in ranges)]


_MONTH_OR_DAY = regex.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"
    r"|\b(?:1[89]|20)\d\d\b|\d{1,2}:\d{2}|\b\d{1,2}(?:st|nd|rd|th)\b",
    flags=regex.IGNORECASE,
)
# d/m, m/d (optionally with a year), y-m-d: parts within calendar ranges, so "132/84" (a
# blood pressure) or "3-4" (a range) are not dates.
_NUMERIC_DATE = regex.compile(
    r"(?<!\d)(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?(?!\d)|(?<!\d)\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?!\d)"
)


def is_date_like(fragment: str) -> bool:
    """A calendar date or time, not a duration, frequency, range or measurement
    ("3 days", "twice daily", "132/84")."""
    if _MONTH_OR_DAY.search(fragment):
        return True
    for m in _NUMERIC_DATE.finditer(fragment):
        if m.group(1) is None:
            return True
        a, b = int(m.group(1)), int(m.group(2))
        if (
            1 <= min(a, b) <= 12
            and max(a, b) <= 31
            and (m.group(3) or max(a, b) > 12 or "/" in m.group())
        ):
            return True
    return False


def clip_to_line(span: Span, text: str) -> Span:
    """`span` cut to its longest line when it runs across line breaks; for a name, its longest
    line without digits ("Gavin Lloyd\nK Nádrži 1935/16": a name holds no digits)."""
    fragment = text[span.start : span.end]
    if "\n" not in fragment:
        return span
    best, offset = "", 0
    pos = 0
    lines = fragment.split("\n")
    digit_free = span.entity == "PERSON" and any(
        line.strip() and not any(c.isdigit() for c in line) for line in lines
    )
    for line in lines:
        eligible = not (digit_free and any(c.isdigit() for c in line))
        if eligible and len(line.strip()) > len(best.strip()):
            best, offset = line, pos
        pos += len(line) + 1
    lead = len(best) - len(best.lstrip())
    start = span.start + offset + lead
    return Span(span.entity, start, start + len(best.strip()), span.score, span.source)
