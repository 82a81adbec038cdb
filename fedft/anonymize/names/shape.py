"""Pure functions that shape PERSON spans: trim edges, extend over particles and
"Last, First", propagate a found name to its other mentions in the same text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import regex

from fedft.anonymize.names.words import (
    ABBREVIATIONS,
    CONTACT_VERBS,
    CREDENTIALS,
    CUES,
    GREETINGS,
    PARTICLES,
    WORD,
    case_style,
)
from fedft.anonymize.spans import Span, drop_allowed

__all__ = ["drop_credentials", "extend_names", "propagate_names", "trim_person_edges"]

_P = r"(?:van|der|den|de|la|le|von|del|da|di|du|ten|ter|bin|al)"
_NAME_WORD = r"[^\W\d_][\p{L}'’-]*"
# After a span: optional particles, then a word ("... van der | Berg").
_NEXT = regex.compile(rf"(\s+(?:{_P}\s+)*)({_NAME_WORD})", flags=regex.IGNORECASE)
# Before a span: a word, then optional particles ("Jan | van der ...").
_PREV = regex.compile(rf"({_NAME_WORD})((?:\s+{_P})*\s+)$", flags=regex.IGNORECASE)
_LEADING_P = regex.compile(rf"{_P}\s", flags=regex.IGNORECASE)
_TRAILING_P = regex.compile(rf"\s{_P}$", flags=regex.IGNORECASE)
# "Last, First" is written on one line: across a line break the comma ends a greeting
# ("Thanks,\nHelena").
_COMMA_NEXT = regex.compile(rf",[ \t]+({_NAME_WORD})")
_COMMA_PREV = regex.compile(rf"({_NAME_WORD}),[ \t]+$")
# "I'll", "it's": a pronoun with its verb, never a name's other half.
_CONTRACTION = regex.compile(r"\p{L}+['’](?:ll|m|d|ve|re|s|t)", regex.IGNORECASE)
# A middle or trailing initial after a capitalized name word: "Smith, John A." ("A." would
# otherwise survive next to <PERSON> and narrow down who it was).
_INITIAL_NEXT = regex.compile(r"[ \t]+\p{Lu}\.(?!\w)")


def extend_names(
    text: str,
    spans: Sequence[Span],
    *,
    stop_words: frozenset[str],
    lexicon: frozenset[str],
    allowed: Sequence[tuple[int, int]] = (),
) -> list[Span]:
    """PERSON spans grown to the whole name. Other spans are returned unchanged.

    - particles are never the edge of a name: "riccardo de la" + "meijer", "van den eijssel"
      preceded by "sylvie";
    - particles next to a span bring the word they introduce: "Jan" + "van der Berg";
    - a one-word span takes a neighbour of the same case that is no English word, directly
      or across a "Last, First" comma: "élodie" + "garnier", "Pacomio," + "Elvira";
    - a name in a list brings the capitalized words no lexicon knows listed with it
      ("Amara Okafor and Vasquez", "Vasquez, Okafor").
    """

    def acceptable(word: str, at: int, *, strict: bool) -> bool:
        low = word.lower()
        if low in stop_words or low in CUES or low in ABBREVIATIONS or low in GREETINGS:
            return False
        if _CONTRACTION.fullmatch(word):
            return False
        if any(a <= at < b for a, b in allowed):
            return False
        return not strict or low not in lexicon

    out = []
    for s in spans:
        if s.entity != "PERSON":
            out.append(s)
            continue
        start, end = s.start, s.end
        # Hyphenated names are one name ("Karl-Otto", "Wieloch-Bolnbach").
        while start > 1 and text[start - 1] == "-" and text[start - 2].isalpha():
            start -= 2
            while start > 0 and text[start - 1].isalpha():
                start -= 1
        while end + 1 < len(text) and text[end] == "-" and text[end + 1].isalpha():
            end += 2
            while end < len(text) and text[end].isalpha():
                end += 1
        inner = text[start:end]
        m = _NEXT.match(text, end)
        if m and (_TRAILING_P.search(inner) or m.group(1).strip()):
            if acceptable(m.group(2), m.start(2), strict=False):
                end = m.end()
        m = _PREV.search(text, max(0, start - 60), start)
        if m and (_LEADING_P.match(inner) or m.group(2).strip()):
            if acceptable(m.group(1), m.start(1), strict=False):
                start = m.start()
        if " " not in text[start:end].strip():
            style = case_style(text[start:end])
            m = _NEXT.match(text, end)
            m2 = _COMMA_NEXT.match(text, end)
            m3 = _COMMA_PREV.search(text, max(0, start - 40), start)
            m4 = _PREV.search(text, max(0, start - 40), start)
            if (
                m
                and case_style(m.group(2)) == style
                and acceptable(m.group(2), m.start(2), strict=True)
            ):
                end = m.end()
            elif (
                m4
                and case_style(m4.group(1)) == style
                and acceptable(m4.group(1), m4.start(1), strict=True)
            ):
                start = m4.start()
            elif (
                m3
                and case_style(m3.group(1)) == style
                and acceptable(m3.group(1), m3.start(1), strict=False)
            ):
                start = m3.start()
            elif (
                m2
                and case_style(m2.group(1)) == style
                and acceptable(m2.group(1), m2.start(1), strict=True)
            ):
                end = m2.end()
        initial = _INITIAL_NEXT.match(text, end)
        if initial and text[start:end][-1:].isalpha() and text[start:end][:1].isupper():
            end = initial.end()
        out.append(Span(s.entity, start, end, s.score, s.source))
    return out + _listed_with(text, out, accept=lambda w, at: acceptable(w, at, strict=True))


_LIST_NEXT = regex.compile(r"(?:,\s*|,?\s+(?:and|&)\s+)(\p{Lu}[\p{Ll}'’-]+)")
_LIST_PREV = regex.compile(r"(\p{Lu}[\p{Ll}'’-]+)(?:,\s*|,?\s+(?:and|&)\s+)$")


def _listed_with(text: str, spans: Sequence[Span], *, accept) -> list[Span]:
    """Capitalized unknown words listed right before or after a PERSON span."""
    extra = []
    for s in spans:
        if s.entity != "PERSON" or not text[s.start : s.start + 1].isupper():
            continue
        m = _LIST_NEXT.match(text, s.end)
        if m and accept(m.group(1), m.start(1)):
            extra.append(Span("PERSON", m.start(1), m.end(1), 0.45, "cue"))
        m = _LIST_PREV.search(text, max(0, s.start - 40), s.start)
        if m and accept(m.group(1), m.start(1)):
            extra.append(Span("PERSON", m.start(1), m.end(1), 0.45, "cue"))
    return extra


_FORM_LABEL = regex.compile(r"[ \t]+\p{Ll}+[ \t]*:")
_EDGE = regex.compile(r"[^\W\d_][\p{L}'’]*\.?")
_INITIAL = regex.compile(r"\p{Lu}\.$")


def trim_person_edges(
    text: str, spans: Sequence[Span], *, stop_words: frozenset[str]
) -> list[Span]:
    """PERSON spans without leading/trailing cue words, honorifics, contact verbs and function
    words ("Daughter", "Dr.", "Email", "the"); initials stay ("John A."); spans left empty, or
    holding digits (NER calls "MRN-1234567" a person), are dropped. Other spans pass
    unchanged."""
    out = []
    for s in spans:
        if s.entity != "PERSON":
            out.append(s)
            continue
        if any(ch.isdigit() for ch in text[s.start : s.end]):
            continue
        if _FORM_LABEL.match(text, s.end) and (s.start == 0 or text[s.start - 1] == "\n"):
            continue  # "Gift message:", "Delivery note:": a form's label, not a speaker
        words = [m for m in _EDGE.finditer(text, s.start, s.end)]

        def noise(m) -> bool:
            if _INITIAL.match(m.group()):
                return False  # "A." is an initial, not the stop word "a"
            w = m.group().rstrip(".").lower()
            return w in CUES or w in CONTACT_VERBS or w in stop_words

        while words and noise(words[0]):
            words.pop(0)
        while words and noise(words[-1]):
            words.pop()
        if not words:
            continue
        start = max(s.start, words[0].start())
        end = (
            min(s.end, words[-1].end())
            if len(words) < len(list(_EDGE.finditer(text, s.start, s.end)))
            else s.end
        )
        out.append(Span(s.entity, start, end, s.score, s.source))
    return out


def _parts(text: str, spans: Iterable[Span], stop_words: frozenset[str]) -> set[str]:
    parts = set()
    for s in spans:
        for w in WORD.findall(text[s.start : s.end]):
            w = w.rstrip("'’")
            if len(w) > 2 and w.lower() not in PARTICLES and w.lower() not in stop_words:
                parts.add(w.lower())
    return parts


def propagate_names(text: str, spans: Sequence[Span], *, stop_words: frozenset[str]) -> list[Span]:
    """Other whole-word mentions (any case) of parts of the PERSON spans in `text`."""
    parts = _parts(text, (s for s in spans if s.entity == "PERSON"), stop_words)
    if not parts:
        return []
    # One pass over the words instead of a regex compiled per text.
    extra = []
    for m in WORD.finditer(text):
        word = m.group().rstrip("'’")
        if word.lower() in parts:
            extra.append(Span("PERSON", m.start(), m.start() + len(word), 0.5, "propagation"))
    return drop_allowed(extra, [(s.start, s.end) for s in spans])


def drop_credentials(text: str, spans: Sequence[Span]) -> list[Span]:
    """Spans without the credential written after a name ("Amber Chamberlain, MD": NER reads
    "MD" as Maryland): a span holding only a credential, right after a PERSON span and ", ",
    and not followed by a digit (as a state before its ZIP code is: "Baltimore, MD 21201")."""
    person_ends = {s.end for s in spans if s.entity == "PERSON"}
    out = []
    for s in spans:
        if (
            s.entity != "PERSON"
            and text[s.start : s.end].lower() in CREDENTIALS
            and text[s.start - 2 : s.start] == ", "
            and s.start - 2 in person_ends
            and not text[s.end : s.end + 2].strip()[:1].isdigit()
        ):
            continue
        out.append(s)
    return out
