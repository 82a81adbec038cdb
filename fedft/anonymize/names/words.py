"""Word classes the name passes share: particles, cue words, note abbreviations, POS tags of
proper nouns, and the English lexicon of the model's lemmatizer.

The passes themselves (all close the gaps of spaCy's NER on names; vanilla Presidio misses
about half of the lowercase and ALL-CAPS ones):
- variant.py: a second NER pass on a case variant of the text (lowercase / ALL-CAPS
  words that could be names title-cased);
- cues.py: names after cue words ("daughter", "Mr.") and pairs of unknown words;
- shape.py: trimming, extension over particles / "Last, First" / lists, propagation of a
  found name to its other mentions;
- eponyms.py: the eponymous diagnoses and brand drugs that are never names.
"""

from __future__ import annotations

import regex

__all__ = [
    "ABBREVIATIONS",
    "ADDRESSEES",
    "CREDENTIALS",
    "CONTACT_VERBS",
    "CUES",
    "FIELD_LABELS",
    "GREETINGS",
    "PHRASE_CUES",
    "NAME_TAGS",
    "OPEN_TAGS",
    "PARTICLES",
    "WORD",
    "case_style",
    "could_be_name",
    "doc_case",
    "english_lexicon",
    "name_like",
]

WORD = regex.compile(r"[^\W\d_][\p{L}'’]*")
# Name particles: never a name's edge, always part of the name they introduce. The one list:
# the name passes, the particle-name recognizer and the evaluation scorer all read it.
PARTICLES = frozenset("van der den de la le von del da di du ten ter bin al".split())
# Note-taking abbreviations that are never names but look like unknown nouns.
ABBREVIATIONS = frozenset(
    "tel fax ext mailto http https www dob ssn mrn pt pts dx rx hx sx tx fx bp hr rr "
    "acct acc ref iban swift kyc atm apr isa cc bcc re fwd attn mg mcg ml bid tid qid qhs prn "
    "pls plz thx btw lol omg fyi asap imo lic hosp".split()
)
NAME_TAGS = frozenset({"NNP", "NNPS", "FW"})
OPEN_TAGS = frozenset({"NN", "NNS", "JJ", "RB", "XX", "ADD"})
# Words that announce a name ("daughter", "Mr."): never part of it.
CUES = frozenset(
    "patient pt customer client holder kin daughter son wife husband mother father sister "
    "brother spouse partner guardian caregiver carer beneficiary mr mrs ms miss mx dr prof doctor"
    .split()
)

# Verbs of contacting that open an instruction ("Email results to...", "Call back..."): spaCy
# tags them as a name at the start of a sentence. Never part of a name.
CONTACT_VERBS = frozenset("email e-mail call phone fax text ring message".split())

# Words after which, in letters and chat, a name follows ("Dear", "Regards,", "Thanks"): cues
# for the name pass only (unlike CUES they may start a sentence that names no one, so they do
# not make a neighbour a name elsewhere).
GREETINGS = frozenset(
    "dear hi hello hey regards sincerely signed thanks cheers love birthday welcome bye goodbye "
    "congratulations congrats ok okay".split()
)
# Words a greeting addresses that are no one's name ("Dear Team,", "Hi all!", "Thanks again").
ADDRESSEES = frozenset(
    "team all everyone everybody sir sirs madam colleagues colleague there guys folks friends "
    "friend customer customers member members patient doctor again back aboard home so very "
    "much both you ya anyway sure great good fine cool yes no".split()
)
# Degrees and credentials written after a name ("Amber Chamberlain, MD"): they mark the words
# before them as a name, and are no part of it (NER reads "MD" as Maryland).
CREDENTIALS = frozenset(
    "md do rn np pa pa-c phd dds dmd mbbs mbchb frcp frcs mrcp dnp lpn cnm pharmd msw lcsw "
    "aprn crna facp bsn msn".split()
)
# Word sequences that introduce one's own or another's name, as spaCy tokenizes them.
PHRASE_CUES = frozenset(
    {
        ("name", "is"), ("name", "'s"), ("name", "’s"), ("call", "me"), ("this", "is"),
        ("i", "am"), ("i", "'m"), ("i", "’m"), ("it", "'s"), ("named",), ("called",),
        ("spoke", "to"), ("spoke", "with"), ("speaking", "with"), ("talked", "to"),
    }
)  # fmt: skip
# Line-start labels of forms and notes that are not speakers ("Email: ...", "Meds: ...").
FIELD_LABELS = frozenset(
    "email e-mail phone mobile cell tel fax address name dob dx rx hx meds allergies vitals "
    "labs plan note notes subject re from to cc date time location ward room bed account "
    "reference ref status reason result results impression assessment comment comments "
    "summary history diagnosis medications product contact url website web ip iban card".split()
)


def english_lexicon(nlp) -> frozenset[str]:
    """Known English words: the WordNet index shipped with the model's lemmatizer."""
    if "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = nlp.get_pipe("lemmatizer").lookups
    if not lookups.has_table("lemma_index"):
        return frozenset()
    return frozenset(w for words in lookups.get_table("lemma_index").values() for w in words)


def doc_case(text: str) -> str:
    """ "upper" (>80% of cased letters are capitals), "lower" (<2%) or "mixed"."""
    letters = [c for c in text if c.isalpha() and c.lower() != c.upper()]
    if not letters:
        return "mixed"
    upper = sum(c.isupper() for c in letters) / len(letters)
    return "upper" if upper > 0.8 else "lower" if upper < 0.02 else "mixed"


def could_be_name(word: str, tag: str, lemma: str, lexicon: frozenset[str]) -> bool:
    if tag in NAME_TAGS:
        return True
    # Tags of words the model has never seen are guesses ("belletini"/VBD, "jutta"/VB): a
    # word that is no English word, nor inflects one, may be a name whatever its tag.
    return word.lower() not in lexicon and lemma.lower() not in lexicon


def name_like(tok, info, *, case: str, lexicon: frozenset[str], stop_words: frozenset[str]) -> bool:
    """Could this token be part of a name? Used for cue-led names and adjacency."""
    word = tok.text
    low = word.lower()
    if len(word) < 2 or not word.isalpha() or low in stop_words or low in ABBREVIATIONS:
        return False
    if case == "mixed" and not word.islower():
        return word[0].isupper() and (low not in lexicon or info.tag_ in NAME_TAGS)
    return could_be_name(word, info.tag_, info.lemma_, lexicon)


def case_style(w: str) -> str:
    """ "upper", "lower", "title" or "?" (mixed inside the word)."""
    if w.isupper():
        return "upper"
    if w.islower():
        return "lower"
    return "title" if w[:1].isupper() else "?"
