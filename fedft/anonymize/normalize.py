"""What detection reads: text with invisible and look-alike characters folded, offsets kept.

PII can hide behind characters a reader (and a tokenizer) does not see or sees as ASCII:
`123-45-\\u200b6789` (a zero-width space), `555\\u2011201\\u20113344` (non-breaking hyphens),
`４１１１` (full-width digits). Recognizers written for ASCII miss them. Detection therefore runs
on a folded copy of each text:

- format characters (Unicode category Cf: zero-width spaces and joiners, bidi controls, soft
  hyphens, the BOM) are removed;
- every character is NFKC-normalized (full-width and mathematical forms, ligatures, non-breaking
  spaces become their plain forms);
- decimal digits of any script become ASCII digits, and dashes (category Pd, the minus sign)
  become "-";
- in a word that mixes Latin letters or ASCII digits with letters of another script
  (`jоhn.smith@example.com` with a Cyrillic "о"), each foreign letter that has a Latin
  look-alike in Unicode's confusables table (UTS #39) becomes that Latin letter. Words written
  wholly in one script (a Cyrillic or Greek name) are left alone: folding them would invent
  Latin words that are not there.

Each folded character remembers the original character it came from, so a span found in the
folded text maps back to original offsets. A span covers every original character between its
first and last folded one: replacing it also removes the hidden characters inside it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

from fedft.anonymize.spans import Span

__all__ = ["Folded", "fold", "unfold_spans"]

_DASHES = frozenset("\u2212\ufe58\ufe63\uff0d")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if category == "Pd" or ch in _DASHES:
        return "-"
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if unicodedata.category(c) == "Cf":
            continue
        digit = unicodedata.decimal(c, None)
        if digit is not None:
            out.append(str(digit))
        elif unicodedata.category(c) == "Pd":
            out.append("-")
        else:
            out.append(c)
    return "".join(out)


_WORD = re.compile(r"\S+")
_LATIN = "LATIN"


@lru_cache(maxsize=4096)
def _latin_lookalike(ch: str) -> str | None:
    """The Latin letter `ch` (a letter of another script) is confusable with, if any."""
    matches = confusables.is_confusable(ch, preferred_aliases=[_LATIN.lower()], greedy=True)
    for found in matches or ():
        for glyph in found["homoglyphs"]:
            c = glyph["c"]
            if len(c) == 1 and c.isalpha() and categories.alias(c) == _LATIN:
                return c
    return None


def _is_foreign_letter(ch: str) -> bool:
    return ch.isalpha() and not ch.isascii() and categories.alias(ch) != _LATIN


def _fold_mixed_script_words(text: str) -> str:
    """Foreign look-alike letters replaced, one for one, in words that mix them with Latin
    letters or ASCII digits (the text's length and offsets do not change)."""
    chars = list(text)
    for word in _WORD.finditer(text):
        w = word.group()
        if w.isascii() or not any(c.isascii() and c.isalnum() for c in w):
            continue
        for i, ch in enumerate(w, start=word.start()):
            if _is_foreign_letter(ch):
                chars[i] = _latin_lookalike(ch) or ch
    return "".join(chars)


@dataclass(frozen=True)
class Folded:
    """A folded text; `origin[i]` is the index in the original of folded character i
    (None: the text needed no folding and offsets are the same)."""

    text: str
    origin: tuple[int, ...] | None
    original_length: int

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Folded [start, end) -> original [start, end), covering whole original characters."""
        if self.origin is None:
            return start, end
        if start >= end:  # an empty span stays empty, placed where the folded one was
            at = self.origin[start] if start < len(self.origin) else self.original_length
            return at, at
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> Folded:
    """`text` as detection should read it (see the module docstring). ASCII text, nearly all
    of a typical corpus, is returned as is without building an offset map."""
    if text.isascii():
        return Folded(text, None, len(text))
    pieces = [_fold_char(ch) for ch in text]
    folded = _fold_mixed_script_words("".join(pieces))
    if folded == text:
        return Folded(text, None, len(text))
    origin = tuple(i for i, piece in enumerate(pieces) for _ in piece)
    return Folded(folded, origin, len(text))


def unfold_spans(spans: Sequence[Span], folded: Folded) -> list[Span]:
    """Spans found in `folded.text`, in the original text's offsets."""
    if folded.origin is None:
        return list(spans)
    out = []
    for s in spans:
        start, end = folded.to_original(s.start, s.end)
        out.append(Span(s.entity, start, end, s.score, s.source))
    return out
