"""Name recall beyond what spaCy's NER sees: lowercase and ALL-CAPS names, particles,
"Last, First", repeated mentions.

en_core_web_sm finds names largely by their capital letters, so "john smith" and
"JOHN SMITH" slip through (vanilla Presidio misses about half of them). Passes here:

- case variant: a copy of the text (same length, so offsets map back 1:1) in which
  lowercase / ALL-CAPS words that *could* be names are title-cased goes through NER again.
  Could-be-name = proper-noun or foreign-word tag, or a noun/adjective/adverb the English
  lexicon of the model's lemmatizer does not know. Verbs, function words and known words stay
  as they are: title-casing everything makes NER call "Atorvastatin Discussed" a person.
  ALL-CAPS words are tagged on a lowercased copy (tags of ALL-CAPS text are all NNP).
- trimming: a variant PERSON span keeps only its rewritten, capitalized, particle and
  initial words, split at any other word.
- extension: a PERSON span grows over adjacent particles and the name word they introduce
  ("van der" + "Berg"), and over "Last," before a single-word first name.
- propagation: once a name part is found, its other whole-word mentions in that text are
  names too ("Mr. Smith ... smith called").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import regex

from fedft.privacy.spans import Span, clip_to_line

__all__ = [
    "PARTICLES",
    "case_variant",
    "cue_names",
    "extend_names",
    "propagate_names",
    "trim_person_edges",
    "variant_person_spans",
]

_WORD = regex.compile(r"[^\W\d_][\p{L}'’]*")
PARTICLES = frozenset(
    {
        "van",
        "der",
        "den",
        "de",
        "la",
        "le",
        "von",
        "del",
        "da",
        "di",
        "du",
        "ten",
        "ter",
        "bin",
        "al",
    }
)
# Note-taking abbreviations that are never names but look like unknown nouns.
_ABBREVIATIONS = frozenset(
    "tel fax ext mailto http https www dob ssn mrn pt pts dx rx hx sx tx fx bp hr rr "
    "acct acc ref iban swift kyc atm apr isa cc bcc re fwd attn".split()
)
_NAME_TAGS = frozenset({"NNP", "NNPS", "FW"})
_OPEN_TAGS = frozenset({"NN", "NNS", "JJ", "RB", "XX", "ADD"})
_PIPES_FOR_NER = ("tok2vec", "ner")
_LONG_CAPS = regex.compile(r"\b\p{Lu}{5,}\b")
_PIPES_FOR_TAGS = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")


def english_lexicon(nlp) -> frozenset[str]:
    """Known English words: the WordNet index shipped with the model's lemmatizer."""
    if "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_index"):
        return frozenset()
    return frozenset(w for words in lookups.get_table("lemma_index").values() for w in words)


def _doc_case(text: str) -> str:
    letters = [c for c in text if c.isalpha() and c.lower() != c.upper()]
    if not letters:
        return "mixed"
    upper = sum(c.isupper() for c in letters) / len(letters)
    return "upper" if upper > 0.8 else "lower" if upper < 0.02 else "mixed"


def _could_be_name(word: str, tag: str, lemma: str, lexicon: frozenset[str]) -> bool:
    if tag in _NAME_TAGS:
        return True
    # Tags of words the model has never seen are guesses ("belletini"/VBD, "jutta"/VB): a
    # word that is no English word, nor inflects one, may be a name whatever its tag.
    return word.lower() not in lexicon and lemma.lower() not in lexicon


def _name_like(
    tok, info, *, case: str, lexicon: frozenset[str], stop_words: frozenset[str]
) -> bool:
    """Could this token be part of a name? Used for cue-led names and adjacency."""
    word = tok.text
    low = word.lower()
    if len(word) < 2 or not word.isalpha() or low in stop_words or low in _ABBREVIATIONS:
        return False
    if case == "mixed" and not word.islower():
        return word[0].isupper() and (low not in lexicon or info.tag_ in _NAME_TAGS)
    return _could_be_name(word, info.tag_, info.lemma_, lexicon)


def case_variant(
    doc,
    *,
    lower_doc,
    lexicon: frozenset[str],
    stop_words: frozenset[str],
    allowed: Sequence[tuple[int, int]] = (),
):
    """(variant text, changed char ranges) for a spaCy `doc`, or None when nothing changes.

    `lower_doc` is the tagged lowercase copy of the text (needed only when it has ALL-CAPS
    words; may be None otherwise). Besides title-casing, "Last, First" pairs of name-like
    words lose their comma ("Gertz  Winfried"), which NER reads as one name.
    """
    text = doc.text
    case = _doc_case(text)
    lowered = {t.idx: t for t in lower_doc} if lower_doc is not None else {}
    info = [lowered.get(t.idx, t) if t.text.isupper() else t for t in doc]

    def candidate(i: int, *, relaxed: bool) -> bool:
        tok = doc[i]
        word, low = tok.text, tok.text.lower()
        if len(word) < 2 or not word.isalpha() or low in PARTICLES or low in stop_words:
            return False
        if low in _ABBREVIATIONS or low in _CUES or not (word.islower() or word.isupper()):
            return False
        if any(a <= tok.idx < b for a, b in allowed):
            return False
        if word.isupper() and case == "mixed" and len(word) <= 4 and not relaxed:
            return False  # an acronym in ordinary text (COPD, ATM, KYC)
        if relaxed:  # next to a likely name: any noun-ish word may be its other half
            return info[i].tag_ in _NAME_TAGS | _OPEN_TAGS
        return _could_be_name(word, info[i].tag_, info[i].lemma_, lexicon)

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
            or _name_like(doc[k], info[k], case=case, lexicon=lexicon, stop_words=stop_words)
            for k in (i - 1, i + 1)
        )
        if ok:
            chars[doc[i].idx] = " "
            changed += [(left.idx, left.idx + len(left)), (right.idx, right.idx + len(right))]
    return ("".join(chars), changed) if changed else None


_CUES = frozenset(
    "patient pt customer client holder kin daughter son wife husband mother father sister "
    "brother spouse partner guardian caregiver carer mr mrs ms miss mx dr prof doctor".split()
)


def cue_names(
    doc,
    *,
    lower_doc,
    lexicon: frozenset[str],
    stop_words: frozenset[str],
    allowed: Sequence[tuple[int, int]] = (),
) -> list[Span]:
    """Names NER does not need to see:

    - after a cue word ("daughter", "pt", "Mr.", "next of kin"): the run of name-like words
      (unknown to the lexicon, or capitalized proper nouns in ordinary text), particles and
      initials that follows, at most four words plus one "Last, First" comma;
    - two adjacent words of the same case, neither an English word nor allow-listed
      ("teun overeem", "CAMILLO RUBERTO", "Federica Acerbi"), also across "Last, First".
    """
    case = _doc_case(doc.text)
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
        if low in _ABBREVIATIONS or low in _CUES or low in PARTICLES:
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
        if short_upper(k) or low in stop_words or low in _ABBREVIATIONS or low in _CUES:
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
        if b >= n or _case_style(doc[a].text) != _case_style(doc[b].text):
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
        if tok.text.lower() not in _CUES:
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
            if any(a <= t.idx < b for a, b in allowed) or not _name_like(
                t, info[j], case=case, lexicon=lexicon, stop_words=stop_words
            ):
                break
            end = t.idx + len(t.text)
            words += 1
            j += 1
        if end is not None and words and start < n:
            found.append(Span("PERSON", doc[start].idx, end, 0.55, "cue"))
    return found


def _trim(
    text: str, start: int, end: int, rewritten: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Split a variant PERSON span into runs of name-like words holding a rewritten word."""
    segments, current, has_new = [], None, False
    for m in _WORD.finditer(text, start, end):
        a, b = m.start(), m.end()
        word = m.group()
        is_new = any(x <= a and b <= y for x, y in rewritten)
        name_like = (
            word.lower() not in _CUES
            and (is_new or word[0].isupper())
            or word.lower() in PARTICLES
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
) -> list[list[Span]]:
    """PERSON spans found only by fedft's name passes (case variant, cues, unknown pairs)."""
    allowed = allowed if allowed is not None else [() for _ in docs]
    texts = [d.text for d in docs]
    # Tags of a lowercased copy are needed only where ALL-CAPS words may be names: ALL-CAPS
    # notes, and words of 5+ capitals elsewhere (shorter ones are acronyms there).
    needs_lower = [
        i for i, t in enumerate(texts) if _doc_case(t) == "upper" or _LONG_CAPS.search(t)
    ]
    lower_docs: dict[int, object] = {}
    if needs_lower:
        disable = [p for p in nlp.pipe_names if p not in _PIPES_FOR_TAGS]
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
        )
        for i, d in enumerate(docs)
    ]
    disable = [p for p in nlp.pipe_names if p not in _PIPES_FOR_NER]
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


_P = r"(?:van|der|den|de|la|le|von|del|da|di|du|ten|ter|bin|al)"
_NAME_WORD = r"[^\W\d_][\p{L}'’-]*"
# After a span: optional particles, then a word ("... van der | Berg").
_NEXT = regex.compile(rf"(\s+(?:{_P}\s+)*)({_NAME_WORD})", flags=regex.IGNORECASE)
# Before a span: a word, then optional particles ("Jan | van der ...").
_PREV = regex.compile(rf"({_NAME_WORD})((?:\s+{_P})*\s+)$", flags=regex.IGNORECASE)
_LEADING_P = regex.compile(rf"{_P}\s", flags=regex.IGNORECASE)
_TRAILING_P = regex.compile(rf"\s{_P}$", flags=regex.IGNORECASE)
_COMMA_NEXT = regex.compile(rf",\s+({_NAME_WORD})")
_COMMA_PREV = regex.compile(rf"({_NAME_WORD}),\s+$")


def _case_style(w: str) -> str:
    if w.isupper():
        return "upper"
    if w.islower():
        return "lower"
    return "title" if w[:1].isupper() else "?"


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
      or across a "Last, First" comma: "élodie" + "garnier", "Pacomio," + "Elvira".
    """

    def acceptable(word: str, at: int, *, strict: bool) -> bool:
        low = word.lower()
        if low in stop_words or low in _CUES or low in _ABBREVIATIONS:
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
            style = _case_style(text[start:end])
            m = _NEXT.match(text, end)
            m2 = _COMMA_NEXT.match(text, end)
            m3 = _COMMA_PREV.search(text, max(0, start - 40), start)
            m4 = _PREV.search(text, max(0, start - 40), start)
            if (
                m
                and _case_style(m.group(2)) == style
                and acceptable(m.group(2), m.start(2), strict=True)
            ):
                end = m.end()
            elif (
                m4
                and _case_style(m4.group(1)) == style
                and acceptable(m4.group(1), m4.start(1), strict=True)
            ):
                start = m4.start()
            elif (
                m3
                and _case_style(m3.group(1)) == style
                and acceptable(m3.group(1), m3.start(1), strict=False)
            ):
                start = m3.start()
            elif (
                m2
                and _case_style(m2.group(1)) == style
                and acceptable(m2.group(1), m2.start(1), strict=True)
            ):
                end = m2.end()
        out.append(Span(s.entity, start, end, s.score, s.source))
    return out


_EDGE = regex.compile(r"[^\W\d_][\p{L}'’]*\.?")


def trim_person_edges(
    text: str, spans: Sequence[Span], *, stop_words: frozenset[str]
) -> list[Span]:
    """PERSON spans without leading/trailing cue words, honorifics and function words
    ("Daughter", "Dr.", "the"); spans left empty, or holding digits (NER calls
    "MRN-1234567" a person), are dropped. Other spans pass unchanged."""
    out = []
    for s in spans:
        if s.entity != "PERSON":
            out.append(s)
            continue
        if any(ch.isdigit() for ch in text[s.start : s.end]):
            continue
        words = [m for m in _EDGE.finditer(text, s.start, s.end)]

        def noise(m) -> bool:
            w = m.group().rstrip(".").lower()
            return w in _CUES or w in stop_words

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
        for w in _WORD.findall(text[s.start : s.end]):
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
    covered = [(s.start, s.end) for s in spans]
    extra = []
    for m in _WORD.finditer(text):
        word = m.group().rstrip("'’")
        if word.lower() not in parts:
            continue
        a, b = m.start(), m.start() + len(word)
        if not any(x <= a and b <= y for x, y in covered):
            extra.append(Span("PERSON", a, b, 0.5, "propagation"))
    return extra
