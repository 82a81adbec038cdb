"""Score an anonymizer on a planted-PII corpus: recall per planted entity, precision per
detected label, survival of terms that must be kept.

A planted value counts as caught only if both hold:
- coverage: every letter/digit of it lies inside a detection (names: particles and
  initials excepted, they identify no one);
- no survival in the output: for names, no part of the name appears (whole word, any case)
  more often in the output than in the note's non-PII text; for other values, the value with
  separators removed does not appear in the output with separators removed, nor does any of
  its 4+-digit groups stand alone.
Precision of a label = share of its detections that overlap some planted value (of any type):
over-redaction is what costs training data, a wrong label does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import regex

from fedft.anonymize.names.words import PARTICLES
from fedft.anonymize.spans import Span
from fedft_eval.pii_corpus import STRUCTURED, CorpusDoc, name_parts

__all__ = ["CorpusScore", "score_corpus"]


@dataclass(frozen=True)
class CorpusScore:
    planted: dict[str, int]
    caught: dict[str, int]
    detections: dict[str, int]
    true_detections: dict[str, int]
    keep_total: int
    keep_survived: int
    missed_by_style: dict[str, int] = field(default_factory=dict)
    structured_leaks: int = 0

    def recall(self, entity: str | None = None) -> float:
        if entity is None:
            return sum(self.caught.values()) / max(1, sum(self.planted.values()))
        return self.caught.get(entity, 0) / max(1, self.planted.get(entity, 0))

    def precision(self, label: str | None = None) -> float:
        if label is None:
            return sum(self.true_detections.values()) / max(1, sum(self.detections.values()))
        return self.true_detections.get(label, 0) / max(1, self.detections.get(label, 0))

    @property
    def keep_rate(self) -> float:
        return self.keep_survived / max(1, self.keep_total)

    def summary(self) -> dict[str, object]:
        return {
            "recall": round(self.recall(), 4),
            "precision": round(self.precision(), 4),
            "keep_rate": round(self.keep_rate, 4),
            "structured_leaks": self.structured_leaks,
            "recall_by_entity": {e: round(self.recall(e), 4) for e in sorted(self.planted)},
            "precision_by_label": {e: round(self.precision(e), 4) for e in sorted(self.detections)},
            "planted": dict(sorted(self.planted.items())),
            "missed_by_style": dict(sorted(self.missed_by_style.items())),
        }


def _alnum(s: str) -> str:
    return "".join(ch for ch in s.lower() if ch.isalnum())


def _word_count(word: str, text: str) -> int:
    return len(
        regex.findall(
            rf"(?<![\p{{L}}\d]){regex.escape(word)}(?![\p{{L}}\d])", text, flags=regex.IGNORECASE
        )
    )


def _covered(doc: CorpusDoc, start: int, end: int, entity: str, covered: set[int]) -> bool:
    value = doc.text[start:end]
    skip: set[int] = set()
    if entity == "PERSON":
        for m in regex.finditer(r"[\p{L}'’]+", value):
            word = m.group()
            if word.lower() in PARTICLES or len(word) < 2:
                skip.update(range(start + m.start(), start + m.end()))
    return all(i in covered for i in range(start, end) if doc.text[i].isalnum() and i not in skip)


def _survives(doc: CorpusDoc, entity: str, value: str, output: str, skeleton: str) -> bool:
    if entity == "PERSON":
        return any(_word_count(p, output) > _word_count(p, skeleton) for p in name_parts(value))
    norm = _alnum(value)
    if len(norm) >= 4 and norm in _alnum(output) and norm not in _alnum(skeleton):
        return True
    if entity == "EMAIL_ADDRESS":
        local = value.split("@")[0]
        return len(local) > 2 and _word_count(local, output) > _word_count(local, skeleton)
    for group in regex.findall(r"\d{4,}", value):
        pattern = rf"(?<![\w]){group}(?![\w])"
        if len(regex.findall(pattern, output)) > len(regex.findall(pattern, skeleton)):
            return True
    return False


def score_corpus(
    docs: Sequence[CorpusDoc], detections: Sequence[Sequence[Span]], outputs: Sequence[str]
) -> CorpusScore:
    """Score detections (on the original texts) and outputs (anonymized texts) of `docs`."""
    planted: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    missed_style: Counter[str] = Counter()
    found: Counter[str] = Counter()
    true_found: Counter[str] = Counter()
    keep_total = keep_survived = structured_leaks = 0
    for doc, spans, output in zip(docs, detections, outputs, strict=True):
        covered = {i for s in spans for i in range(s.start, s.end)}
        skeleton = doc.skeleton
        for p in doc.planted:
            planted[p.entity] += 1
            ok = _covered(doc, p.start, p.end, p.entity, covered) and not _survives(
                doc, p.entity, p.value, output, skeleton
            )
            if ok:
                caught[p.entity] += 1
            else:
                missed_style[f"{p.entity}/{p.style}"] += 1
                structured_leaks += p.entity in STRUCTURED
        for s in spans:
            found[s.entity] += 1
            if any(s.start < p.end and p.start < s.end for p in doc.planted):
                true_found[s.entity] += 1
        for term in doc.keep:
            keep_total += 1
            keep_survived += _word_count(term, output) >= 1
    return CorpusScore(
        planted=dict(planted),
        caught=dict(caught),
        detections=dict(found),
        true_detections=dict(true_found),
        keep_total=keep_total,
        keep_survived=keep_survived,
        missed_by_style=dict(missed_style),
        structured_leaks=structured_leaks,
    )
