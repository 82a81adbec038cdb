"""Names found without NER: after a cue word, and as pairs of words no lexicon knows."""

from __future__ import annotations

from collections.abc import Sequence

from fedft.anonymize.names.words import (
    ABBREVIATIONS,
    CUES,
    PARTICLES,
    case_style,
    doc_case,
    name_like,
)
from fedft.anonymize.spans import Span

__all__ = ["cue_names"]


def cue_names(
    doc,
    *,
    lower_doc,
    lexicon: frozenset[str],
    stop_words: frozenset[str],
    allowed: Sequence[tuple[int, int]] = (),
    case: str | None = None,
) -> list[Span]:
    """Names NER does not need to see:

    - after a cue word ("daughter", "pt", "Mr.", "next of kin"): the run of name-like words
      (unknown to the lexicon, or capitalized proper nouns in ordinary text), particles and
      initials that follows, at most four words plus one "Last, First" comma;
    - two adjacent words of the same case, neither an English word nor allow-listed
      ("teun overeem", "CAMILLO RUBERTO", "Federica Acerbi"), also across "Last, First".
    """
    case = case if case is not None else doc_case(doc.text)
    lowered = {t.idx: t for t in lower_doc} if lower_doc is not None else {}
    info = [lowered.get(t.idx, t) if t.text.isupper() else t for t in doc]
    found = []
    n = len(doc)

    def unknown(k: int) -> bool:
        tok = doc[k]
        word, low = tok.text, tok.text.lower()
        if len(word) < 2 or not word.isalpha() or low in stop_words or low in lexicon:
            return False
        if info[k].lemma_.lower() in lexicon:  # an inflected English word ("reports")
            return False
        if low in ABBREVIATIONS or low in CUES or low in PARTICLES:
            return False
        if any(a <= tok.idx < b for a, b in allowed):
            return False
        return True

    flags = [unknown(k) for k in range(n)]

    def short_upper(k: int) -> bool:
        return case == "mixed" and doc[k].text.isupper() and len(doc[k].text) <= 4

    def capitalized_word(k: int) -> bool:
        # In ordinary text a capitalized word mid-sentence (not an acronym, not allow-listed)
        # is a proper noun even when the lexicon knows it ("Paul", "Abate", "Dawn").
        tok = doc[k]
        word, low = tok.text, tok.text.lower()
        if case != "mixed" or len(word) < 2 or not word.isalpha() or word.islower():
            return False
        if short_upper(k) or low in stop_words or low in ABBREVIATIONS or low in CUES:
            return False
        if k == 0 or doc[k - 1].is_sent_start is True or doc[k - 1].text in (".", ":", "\n"):
            return False  # capitalized because it starts a sentence or a field
        return not any(a <= tok.idx < b for a, b in allowed)

    for a in range(n - 1):
        b = a + 1
        if doc[b].text == "," and not doc[a].whitespace_ and doc[b].whitespace_ == " ":
            b += 1  # "Last, First"
        elif doc[a].whitespace_ != " ":
            continue
        if b >= n or case_style(doc[a].text) != case_style(doc[b].text):
            continue
        both_unknown = flags[a] and flags[b]
        # Mid-sentence capitalized pair in ordinary text, one of them no English word.
        proper_pair = (
            capitalized_word(a)
            and capitalized_word(b)
            and ((flags[a] and not short_upper(a)) or (flags[b] and not short_upper(b)))
        )
        if not (both_unknown or proper_pair):
            continue
        # A short ALL-CAPS word in ordinary text is an acronym (COPD, KYC); next to a long
        # unknown ALL-CAPS word it is a short name ("VERA BRUMLEVE").
        if short_upper(a) and short_upper(b):
            continue
        found.append(Span("PERSON", doc[a].idx, doc[b].idx + len(doc[b]), 0.45, "unknown_pair"))
    for i, tok in enumerate(doc):
        if tok.text.lower() not in CUES:
            continue
        j = i + 1
        while j < n and doc[j].text in (".", ":"):
            j += 1
        start = j
        words = commas = 0
        end = None
        while j < n and words < 4:
            t = doc[j]
            if t.text.lower() in PARTICLES and end is not None:
                j += 1
                continue
            if len(t.text) == 1 and t.text.isalpha() and j + 1 < n and doc[j + 1].text == ".":
                j += 2  # an initial
                end = doc[j - 1].idx + 1
                continue
            if t.text == "," and end is not None and commas == 0 and j + 1 < n:
                commas += 1
                j += 1
                continue
            if any(a <= t.idx < b for a, b in allowed) or not name_like(
                t, info[j], case=case, lexicon=lexicon, stop_words=stop_words
            ):
                break
            end = t.idx + len(t.text)
            words += 1
            j += 1
        if end is not None and words and start < n:
            found.append(Span("PERSON", doc[start].idx, end, 0.55, "cue"))
    return found
