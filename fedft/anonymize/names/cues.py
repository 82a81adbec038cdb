"""Names found without NER: after a cue word, and as pairs of words no lexicon knows."""

from __future__ import annotations

from collections.abc import Sequence

import regex

from fedft.anonymize.names.words import (
    ABBREVIATIONS,
    ADDRESSEES,
    CREDENTIALS,
    CUES,
    FIELD_LABELS,
    GREETINGS,
    PARTICLES,
    PHRASE_CUES,
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
      ("teun overeem", "CAMILLO RUBERTO", "Federica Acerbi"), also across "Last, First";
    - in ordinary text, the same after a greeting or an introduction ("Regards,\nSvetlana
      Ivanova", "my name is Siiri", "call me Beatriz"); a speaker label at the start of a line
      that is no English word ("Ubul: ..."); a name with a bare middle initial ("Ravil G
      Yefimov"); two words no lexicon knows joined by "and" ("Marrero and Kowalczyk").
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
    if case == "mixed":
        found.extend(_free_context(doc, flags))

    def introduced(i: int) -> bool:
        # Greetings and introductions only in ordinary text: in ALL-CAPS or lowercase notes
        # "hi"/"this is" precede ordinary words as often as names.
        low = doc[i].text.lower()
        if case != "mixed":
            return False
        if low in GREETINGS:
            return True
        return any(
            tuple(t.text.lower() for t in doc[i - k + 1 : i + 1]) in PHRASE_CUES
            for k in (1, 2)
            if i - k + 1 >= 0
        )

    for i, tok in enumerate(doc):
        greeting = introduced(i)
        if tok.text.lower() not in CUES and not greeting:
            continue
        j = i + 1
        while j < n and (
            doc[j].text in (".", ":") or (greeting and (doc[j].text == "," or doc[j].is_space))
        ):
            j += 1
        start = j
        # After a greeting a known word is a name only if NER says so ("Hi John") or if it is
        # said to someone ("Love, Tara", "Hi Christian,", "Thanks,\nHelena"): greetings
        # address groups as often as people ("Dear Team", "Thanks again").
        vocative = greeting and _vocative(doc, j)
        # "it's walkable", "I'm fine", "this is ridiculous": these introductions precede
        # adjectives as often as names, so in ordinary text only a capitalized word follows.
        if (
            greeting
            and j < n
            and doc[j].text.islower()
            and tuple(t.text.lower() for t in doc[max(0, i - 1) : i + 1]) in _LOOSE_INTRODUCTIONS
        ):
            continue
        if (
            greeting
            and j < n
            and doc[j].text.lower() in lexicon
            and doc[j].ent_type_ != "PERSON"
            and not vocative
        ):
            continue
        words = commas = 0
        end = None
        while j < n and words < 4:
            t = doc[j]
            if vocative and j == start:
                end = t.idx + len(t.text)
                words += 1
                j += 1
                continue
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


_LOOSE_INTRODUCTIONS = frozenset(
    {("it", "'s"), ("it", "’s"), ("this", "is"), ("i", "am"), ("i", "'m"), ("i", "’m")}
)


def _vocative(doc, j: int) -> bool:
    """Token j is a capitalized word said to someone: followed by ",", "!" or the line end,
    and no group or filler word ("all", "again")."""
    if j >= len(doc):
        return False
    word = doc[j].text
    if len(word) < 2 or not word.isalpha() or not word.istitle():
        return False
    if word.lower() in ADDRESSEES or word.lower() in GREETINGS:
        return False
    after = doc[j + 1].text if j + 1 < len(doc) else "\n"
    return after in (",", "!") or after.startswith("\n")


# Entity types of spaCy that a capitalized unknown word can carry without being a person.
_NOT_PERSON = frozenset({"ORG", "PRODUCT", "GPE", "LOC", "FAC", "NORP", "EVENT", "WORK_OF_ART"})
# The same, for a word already placed by its context as someone who acts: NER's small model
# calls many single foreign names an organization ("Erna works at ...").
_NOT_AGENT = _NOT_PERSON - {"ORG"}
# Relatives and close others: "<name>'s sister" names someone.
_KIN = frozenset(
    "daughter son wife husband mother father sister brother spouse partner mum mom dad "
    "aunt uncle cousin niece nephew grandmother grandfather grandson granddaughter friend "
    "girlfriend boyfriend fiance fiancé fiancee fiancée widow widower colleague".split()
)
# Tags of a finite verb: what follows the subject of a sentence ("Rios will", "Inger works").
_FINITE = frozenset({"VBZ", "VBD", "VBP", "MD"})
_LABEL = regex.compile(r"^(\p{Lu}[\p{Ll}'’]+(?:[ -]\p{Lu}[\p{Ll}'’]+)?)[ \t]*:", regex.MULTILINE)


def _free_context(doc, flags: Sequence[bool]) -> list[Span]:
    """Names placed by the shape of ordinary text rather than by a cue word (`flags[k]`:
    token k is a word no lexicon knows, see `cue_names`):
    - speaker labels at the start of a line: any label of a dialogue, an unknown word alone;
    - a name with a middle initial ("Ravil G Yefimov", "Damian R. Pułka");
    - the words before a credential ("Amber Chamberlain, MD");
    - an unknown proper noun that is the subject at the start of a sentence ("Rios will ...",
      "Martti from the returns desk was ...") and "X and Y" pairs of unknown words.
    """
    n = len(doc)
    found = _dialogue_speakers(doc.text)

    def title(k: int) -> bool:
        word = doc[k].text
        return len(word) > 1 and word.isalpha() and word.istitle()

    def person_like(k: int, *, agent: bool = False) -> bool:
        return (
            title(k) and flags[k] and doc[k].ent_type_ not in (_NOT_AGENT if agent else _NOT_PERSON)
        )

    def initial(k: int) -> bool:
        word = doc[k].text
        return (len(word) == 1 and word.isupper()) or (
            len(word) == 2 and word[0].isupper() and word[1] == "."
        )

    def sentence_start(k: int) -> bool:
        if k == 0:
            return True
        prev = doc[k - 1].text  # "... hotmail.es. Aarush": the stop may be inside a token
        return (
            prev.endswith((".", "!", "?")) or prev.startswith("\n") or doc[k].is_sent_start is True
        )

    def subject_verb(k: int, *, proper: bool) -> bool:
        # "Rios will", "Martti from the ... desk was": a finite verb or "from" right after.
        # VBP is left out: after a proper noun it is mostly a noun mistagged ("Dashcam
        # upload"); a word tagged as a common noun needs a verb or "from the" ("Login from IP").
        if k >= n:
            return False
        if doc[k].tag_ in _FINITE - {"VBP"}:
            return True
        return doc[k].text == "from" and (proper or (k + 1 < n and doc[k + 1].tag_ == "DT"))

    for k in range(n - 1):
        tok = doc[k]
        at_line_start = tok.idx == 0 or doc.text[tok.idx - 1] == "\n"
        if (
            at_line_start
            and doc[k + 1].text == ":"
            and person_like(k)
            and tok.text.lower() not in FIELD_LABELS
        ):
            found.append(Span("PERSON", tok.idx, tok.idx + len(tok), 0.5, "cue"))
        if (
            sentence_start(k)
            and person_like(k, agent=True)
            and tok.tag_ in ("NNP", "NNPS", "NN")  # the tagger's guess for a word it never saw
            and subject_verb(k + 1, proper=tok.tag_ != "NN")
        ):
            found.append(Span("PERSON", tok.idx, tok.idx + len(tok), 0.45, "cue"))
        if (
            k > 0
            and doc[k - 1].text in ("to", "with")
            and person_like(k, agent=True)
            and (
                k + 1 == n or doc[k + 1].text in (".", ",", ";") or doc[k + 1].text.startswith("\n")
            )
        ):
            # "I'll pass this to Cantón.", "Follow-up 5 Jan with Gallivan.": an unknown proper
            # noun ending a clause after "to"/"with" is a person (or a place NER has found).
            found.append(Span("PERSON", tok.idx, tok.idx + len(tok), 0.45, "cue"))
        if (
            k + 2 < n
            and doc[k + 1].text in ("'s", "’s")
            and doc[k + 2].text.lower() in _KIN
            and title(k)
            and tok.text.lower() not in CUES
        ):
            # "Carlo's sister", "Angela's husband": whose relative it is names someone.
            found.append(Span("PERSON", tok.idx, tok.idx + len(tok), 0.5, "cue"))
        if doc[k + 1].text == "," and k + 2 < n and doc[k + 2].text.lower() in CREDENTIALS:
            found.extend(_before_credential(doc, k))
        if k + 2 >= n or not (title(k) and title(k + 2)):
            continue
        mid = doc[k + 1].text
        spaced = tok.whitespace_ == " " and doc[k + 1].whitespace_ == " "
        if spaced and initial(k + 1) and (flags[k] or flags[k + 2]):
            end = doc[k + 2].idx + len(doc[k + 2])
            found.append(Span("PERSON", tok.idx, end, 0.5, "cue"))
        elif mid.lower() in ("and", "&"):
            # Subjects of a verb ("Stange and Ramos were") may carry NER's ORG.
            agent = k + 3 < n and doc[k + 3].tag_ in _FINITE
            if person_like(k, agent=agent) and person_like(k + 2, agent=agent):
                for t in (tok, doc[k + 2]):
                    found.append(Span("PERSON", t.idx, t.idx + len(t), 0.45, "cue"))
    return found


def _before_credential(doc, k: int) -> list[Span]:
    """The name ending at token k, before ", MD": two to four capitalized words and initials
    on one line ("-- Achim P. Seifert, MD")."""
    j = k
    while j >= 0 and k - j < 4:
        word = doc[j].text
        is_initial = len(word) == 2 and word[0].isupper() and word[1] == "."
        if not (is_initial or (word[:1].isupper() and word.replace("-", "").isalpha())):
            break  # "--", a newline token, a lowercase word: the name starts after it
        j -= 1
    first = j + 1
    if k - first < 1 or "\n" in doc.text[doc[first].idx : doc[k].idx]:
        return []
    return [Span("PERSON", doc[first].idx, doc[k].idx + len(doc[k]), 0.5, "cue")]


def _dialogue_speakers(text: str) -> list[Span]:
    """Speaker labels of a dialogue: in a text where three or more lines start with a label,
    at least two different ones, one of them more than once ("Liv: ...", "Stig: ...",
    "Liv: ..."), every line-start label that is no form label. Labels that each start one
    line are a form's fields as often as speakers ("Items:", "Exam:")."""
    labels = [m for m in _LABEL.finditer(text) if m.group(1).lower() not in FIELD_LABELS]
    counts: dict[str, int] = {}
    for m in labels:
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    if len(labels) < 3 or len(counts) < 2 or max(counts.values(), default=0) < 2:
        return []
    return [Span("PERSON", m.start(1), m.end(1), 0.5, "cue") for m in labels]
