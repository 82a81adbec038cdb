"""Names spelled inside e-mail addresses and profile links ("joy.glasses@wp.pl",
"facebook.com/william.davis.265"): where their words recur capitalized elsewhere in the same
text ("— Joy Glasses", "William works at ..."), they are that person's name, whether or not
NER or the cues found it. Replacing the address alone would leave the name it spells.

Only handles shaped like a name are read: two or three words of 3+ letters joined by ".", "_"
or "-" (digits allowed around them), in an e-mail's local part or a link's last path segment;
role mailboxes ("billing.team@") and stop words are skipped. A handle made only of English
words ("best-kettles-2024", "joy.glasses") counts only where its words stand together in the
text, in its order ("Joy Glasses"); one with a word English does not know ("william.davis")
counts wherever its words stand. So does a LinkedIn profile's ("linkedin.com/in/clive-hall"):
LinkedIn builds those from the member's name, so "Clive" elsewhere is that member although
"clive" is an English word.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from fedft.anonymize.spans import Span, drop_allowed

__all__ = ["handle_name_spans"]

_HANDLE = regex.compile(r"^\d*(\p{L}{3,}(?:[._-]\d*\p{L}{3,}){1,2})[._-]?[\p{L}\d]{0,4}$")
# A link's scheme and host, then its path: the handle is the last non-empty segment.
_URL_PATH = regex.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?[^/\s]+/(?:.*/)?([^/?#\s]+)/?(?:[?#].*)?$", flags=regex.I
)
# Member profiles (not /company/ pages): the slug is the member's name by LinkedIn's design.
_PERSONAL_PROFILE = regex.compile(r"(?:^|[/.])linkedin\.com/(?:in|pub)/", flags=regex.I)
_ROLE_WORDS = frozenset(
    """info support billing office admin contact sales noreply reply help service services team
    hello mail webmaster accounts account press news careers jobs orders order returns booking
    bookings reception enquiries inquiries marketing finance payroll feedback notifications
    customer customers care desk clinic hospital pharmacy records""".split()
)
_WORD = regex.compile(r"\p{L}{3,}")
_CAPITALIZED = regex.compile(r"(?<![\p{L}\d@./_-])\p{Lu}\p{L}{2,}(?![\p{L}\d@])")


def _handle_words(value: str, entity: str, stop_words: frozenset[str]) -> list[str]:
    if entity == "EMAIL_ADDRESS":
        handle = value.split("@", 1)[0]
    else:
        m = _URL_PATH.match(value)
        if m is None:
            return []
        handle = m.group(1)
    m = _HANDLE.match(handle.rstrip(".,;:!?)"))  # a link that ends a sentence
    if m is None:
        return []
    words = [w.lower() for w in _WORD.findall(m.group(1))]
    if _ROLE_WORDS.intersection(words) or stop_words.intersection(words):
        return []
    return words


def _is_english(word: str, lexicon: frozenset[str]) -> bool:
    # The lexicon holds lemmas: "kettles" is known through "kettle".
    plural = (word[:-1] if word.endswith("s") else "", word[:-2] if word.endswith("es") else "")
    return word in lexicon or any(stem in lexicon for stem in plural if stem)


def handle_name_spans(
    text: str, spans: Sequence[Span], *, stop_words: frozenset[str], lexicon: frozenset[str]
) -> list[Span]:
    """PERSON spans for capitalized mentions of the words of name-shaped handles in `text`'s
    e-mail and URL spans, outside every span already found."""
    anywhere: set[str] = set()
    together: list[list[str]] = []
    for s in spans:
        if s.entity in ("EMAIL_ADDRESS", "URL"):
            value = text[s.start : s.end]
            words = _handle_words(value, s.entity, stop_words)
            personal = s.entity == "URL" and _PERSONAL_PROFILE.search(value) is not None
            if personal or any(not _is_english(w, lexicon) for w in words):
                anywhere.update(words)
            elif words:
                together.append(words)
    if not anywhere and not together:  # most texts: no handle, no scan of their words
        return []
    found: list[Span] = []
    words_in_text = list(_CAPITALIZED.finditer(text))
    for m in words_in_text:
        if m.group().lower() in anywhere:
            found.append(Span("PERSON", m.start(), m.end(), 0.5, "handle"))
    for words in together:
        for i in range(len(words_in_text) - len(words) + 1):
            run = words_in_text[i : i + len(words)]
            gaps = (text[x.end() : y.start()] for x, y in zip(run, run[1:]))
            if [m.group().lower() for m in run] == words and all(g == " " for g in gaps):
                found.append(Span("PERSON", run[0].start(), run[-1].end(), 0.5, "handle"))
    return drop_allowed(found, [(s.start, s.end) for s in spans])
