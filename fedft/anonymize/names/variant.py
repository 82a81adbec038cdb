"""Case-variant NER pass: names spaCy's NER misses because of their case.

en_core_web_sm finds names largely by their capital letters, so "john smith" and
"JOHN SMITH" slip through. A copy of the text (same length, so offsets map back 1:1) in which
lowercase / ALL-CAPS words that *could* be names are title-cased goes through NER again.
Could-be-name = proper-noun or foreign-word tag, or a noun/adjective/adverb the English lexicon
of the model's lemmatizer does not know. Verbs, function words and known words stay as they
are: title-casing everything makes NER call "Atorvastatin Discussed" a person. ALL-CAPS words
are tagged on a lowercased copy (tags of ALL-CAPS text are all NNP). A variant PERSON span
keeps only its rewritten, capitalized, particle and initial words, split at any other word.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex

from fedft.anonymize.engine import pipes_for
from fedft.anonymize.names.cues import cue_names
from fedft.anonymize.names.words import (
    ABBREVIATIONS,
    CUES,
    NAME_TAGS,
    OPEN_TAGS,
    PARTICLES,
    WORD,
    could_be_name,
    doc_case,
    name_like,
)
from fedft.anonymize.spans import Span, clip_to_line

__all__ = ["case_variant", "variant_person_spans"]

_LONG_CAPS = regex.compile(r"\b\p{Lu}{5,}\b")
_PIPES_FOR_TAGS = ("tagger", "attribute_ruler", "lemmatizer")


def case_variant(
    doc,
    *,
    lower_doc,
    lexicon: frozenset[str],
    stop_words: frozenset[str],
    allowed: Sequence[tuple[int, int]] = (),
    case: str | None = None,
):
    """(variant text, changed char ranges) for a spaCy `doc`, or None when nothing changes.

    `lower_doc` is the tagged lowercase copy of the text (needed only when it has ALL-CAPS
    words; may be None otherwise). Besides title-casing, "Last, First" pairs of name-like
    words lose their comma ("Gertz  Winfried"), which NER reads as one name.
    """
    text = doc.text
    case = case if case is not None else doc_case(text)
    lowered = {t.idx: t for t in lower_doc} if lower_doc is not None else {}
    info = [lowered.get(t.idx, t) if t.text.isupper() else t for t in doc]

    def candidate(i: int, *, relaxed: bool) -> bool:
        tok = doc[i]
        word, low = tok.text, tok.text.lower()
        if len(word) < 2 or not word.isalpha() or low in PARTICLES or low in stop_words:
            return False
        if low in ABBREVIATIONS or low in CUES or not (word.islower() or word.isupper()):
            return False
        if any(a <= tok.idx < b for a, b in allowed):
            return False
        if word.isupper() and case == "mixed" and len(word) <= 4 and not relaxed:
            return False  # an acronym in ordinary text (COPD, ATM, KYC)
        if relaxed:  # next to a likely name: any noun-ish word may be its other half
            return info[i].tag_ in NAME_TAGS | OPEN_TAGS
        return could_be_name(word, info[i].tag_, info[i].lemma_, lexicon)

    chosen = {i for i in range(len(doc)) if candidate(i, relaxed=False)}
    for i in sorted(chosen):
        for j in (i - 1, i + 1):
            if 0 <= j < len(doc) and j not in chosen and candidate(j, relaxed=True):
                lo, hi = min(i, j), max(i, j)
                if doc[lo].whitespace_ == " " and doc[lo].text.isupper() == doc[hi].text.isupper():
                    chosen.add(j)
    chars = list(text)
    changed = []
    for i in sorted(chosen):
        tok = doc[i]
        titled = tok.text[0].upper() + tok.text[1:].lower()
        if len(titled) != len(tok.text):
            continue  # e.g. German sharp s: keep offsets exact rather than transform
        chars[tok.idx : tok.idx + len(titled)] = titled
        changed.append((tok.idx, tok.idx + len(titled)))
    # "Last, First": both sides name-like (after the rewrite), comma then one space.
    for i in range(1, len(doc) - 1):
        if doc[i].text != "," or doc[i].whitespace_ != " " or doc[i - 1].whitespace_:
            continue
        left, right = doc[i - 1], doc[i + 1]
        ok = all(
            (k in chosen)
            or name_like(doc[k], info[k], case=case, lexicon=lexicon, stop_words=stop_words)
            for k in (i - 1, i + 1)
        )
        if ok:
            chars[doc[i].idx] = " "
            changed += [(left.idx, left.idx + len(left)), (right.idx, right.idx + len(right))]
    return ("".join(chars), changed) if changed else None


def _trim(
    text: str, start: int, end: int, rewritten: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Split a variant PERSON span into runs of name-like words holding a rewritten word."""
    segments, current, has_new = [], None, False
    for m in WORD.finditer(text, start, end):
        a, b = m.start(), m.end()
        word = m.group()
        low = word.lower()
        is_new = any(x <= a and b <= y for x, y in rewritten)
        name_like = (
            low not in CUES
            and low not in ABBREVIATIONS  # "IBAN", "DOB": a field, never a name part
            and (is_new or word[0].isupper())
            or low in PARTICLES
            or (len(word) == 1 and text[b : b + 1] == ".")
        )
        if name_like:
            current = (current[0] if current else a, b + (1 if len(word) == 1 else 0))
            has_new = has_new or is_new
        else:
            if current and has_new:
                segments.append(current)
            current, has_new = None, False
    if current and has_new:
        segments.append(current)
    return segments


def variant_person_spans(
    nlp,
    docs: Sequence,
    *,
    batch_size: int,
    lexicon: frozenset[str],
    stop_words: frozenset[str],
    allowed: Sequence[Sequence[tuple[int, int]]] | None = None,
    case_texts: Sequence[str] | None = None,
) -> list[list[Span]]:
    """PERSON spans found only by fedft's name passes (case variant, cues, unknown pairs).

    case_texts: the texts to judge each note's case by (default: the docs' texts), e.g. with
    fedft's own surrogate tags blanked out."""
    allowed = allowed if allowed is not None else [() for _ in docs]
    texts = [d.text for d in docs]
    judged = case_texts if case_texts is not None else texts
    cases = [doc_case(t) for t in judged]
    # Tags of a lowercased copy are needed only where ALL-CAPS words may be names: ALL-CAPS
    # notes, and words of 5+ capitals elsewhere (shorter ones are acronyms there).
    needs_lower = [i for i, t in enumerate(judged) if cases[i] == "upper" or _LONG_CAPS.search(t)]
    lower_docs: dict[int, object] = {}
    if needs_lower:
        tag_pipes = pipes_for(nlp, _PIPES_FOR_TAGS)
        disable = [p for p in nlp.pipe_names if p not in tag_pipes]
        lowered = (
            texts[i].lower() if len(texts[i].lower()) == len(texts[i]) else texts[i]
            for i in needs_lower
        )
        tagged = nlp.pipe(lowered, batch_size=batch_size, disable=disable)
        lower_docs = dict(zip(needs_lower, tagged, strict=True))
    variants = [
        case_variant(
            d,
            lower_doc=lower_docs.get(i),
            lexicon=lexicon,
            stop_words=stop_words,
            allowed=allowed[i],
            case=cases[i],
        )
        for i, d in enumerate(docs)
    ]
    todo = [i for i, v in enumerate(variants) if v is not None]
    found: list[list[Span]] = [
        cue_names(
            d,
            lower_doc=lower_docs.get(i),
            lexicon=lexicon,
            stop_words=stop_words,
            allowed=allowed[i],
            case=cases[i],
        )
        for i, d in enumerate(docs)
    ]
    ner_pipes = pipes_for(nlp, ("ner",))
    disable = [p for p in nlp.pipe_names if p not in ner_pipes]
    ner_docs = nlp.pipe((variants[i][0] for i in todo), batch_size=batch_size, disable=disable)
    for i, vdoc in zip(todo, ner_docs, strict=True):
        rewritten = variants[i][1]
        for ent in vdoc.ents:
            if ent.label_ not in ("PERSON", "PER"):
                continue
            for a, b in _trim(vdoc.text, ent.start_char, ent.end_char, rewritten):
                span = clip_to_line(Span("PERSON", a, b, 0.6, "case_variant"), vdoc.text)
                found[i].append(span)
    return found
