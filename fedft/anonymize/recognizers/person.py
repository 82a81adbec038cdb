"""Names a pattern can find: after a label or honorific, initials, names with particles."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.names.words import PARTICLES
from fedft.anonymize.recognizers.patterns import pattern_args

__all__ = ["FedftNameLabelRecognizer"]


class FedftNameLabelRecognizer(PatternRecognizer):
    """Names right after a label or honorific, in any case: "Name: jan de vries",
    "PATIENT: JOHN SMITH", "Dr. KOWALSKI", "mrs o'brien". Stops at punctuation or line end."""

    _WORD = r"(?:[^\W\d_]\.|[^\W\d_][\p{L}'’-]*)"
    # Field labels a name follows after a colon: the record's subject and the people who act
    # on it (an agent, a beneficiary, whoever receives a parcel).
    _LABELS = (
        r"name|patient|pt|customer|client|account holder|holder|next of kin|agent|beneficiary|"
        r"insured|policyholder|recipient|representative|rep|advisor|adviser|caller|witness|"
        r"ship to|deliver to|bill to|attn|attention|signed|reviewed by|signed by|contact person"
    )
    _ROLES = r"attn|attention|reviewed by|signed by|prepared by|dictated by|insured|beneficiary"
    _CAP = r"(?-i:\p{Lu})[\p{L}'’-]+"
    PATTERNS = [
        # First name, particle(s), surname: "Jan van der Berg", "MARIA DE LA CRUZ".
        Pattern(
            "particle_name",
            r"(?<![\w])[^\W\d_][\p{L}'’-]+\s+(?:van der|van den|van de|von der|de la|de los|del|"
            r"de|von|van|da|di|du|le|la|ter|ten)\s+[^\W\d_][\p{L}'’-]+",
            0.55,
        ),
        # An initial and a surname: "R. Bauer", "E. BATTAGLIA", "g. wood".
        # Not a unit after a number ("T 37.1 C. Meds: ...").
        Pattern("initial", r"(?<![\w.])(?<!\d\s)[^\W\d_]\.\s?[^\W\d_][\p{L}'’-]+", 0.5),
        Pattern(
            "field_label",
            rf"(?<=\b(?:{_LABELS})\s*:\s*)"
            rf"{_WORD}(?:[ ,]+{_WORD}){{0,3}}(?=\s*(?:[\n;()|,!]|\.(?!\w)|$)|[ \t]{{2,}})",
            0.6,
        ),
        # A role word without a colon, then a capitalized name: "attn Nadkarni", "reviewed by
        # Regina Porter", "insured Isa Lorreijn" (capitals required: no colon marks the name).
        Pattern(
            "role_cue",
            rf"(?<=\b(?:{_ROLES})\.?\s+){_CAP}(?:[ \t]+(?:{_CAP}|(?-i:\p{{Lu}})\.))*?"
            r"(?=[ \t]*(?:[,.;:)(|\n]|$))",
            0.55,
        ),
        Pattern(
            "honorific",
            rf"(?<=\b(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+){_WORD}(?:\s+{_WORD})?(?=\s*[,.;:()\n]|\s+(?:on|at|in|from|to|and|was|is|has|requested|reports|said|called)\b|$)",
            0.6,
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="PERSON", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        # "i.e. the", "a. the": an initial followed by a function word is prose; "drove the
        # van home", "de novo": a particle between ordinary words is not a name.
        words = pattern_text.split()
        if not words or words[-1].lower() in _FUNCTION_WORDS:
            return True
        if len(words) >= 3 and words[1].lower() in PARTICLES:
            first, last = words[0], words[-1]
            if first.lower() in _FUNCTION_WORDS or last.lower() in _LATIN_AFTER_PARTICLE:
                return True
            styles = {("U" if w.isupper() else "l" if w.islower() else "T") for w in (first, last)}
            lone_van = words[1].lower() == "van" and words[2].lower() not in PARTICLES
            return len(styles) != 1 or (lone_van and first.islower())
        return False


_LATIN_AFTER_PARTICLE = frozenset("novo facto jure carte luxe rigueur vu".split())
_FUNCTION_WORDS = frozenset(
    "the a an and or of to in on at for with by from is was be are were it this that as".split()
)
