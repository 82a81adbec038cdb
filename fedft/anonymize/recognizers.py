"""fedft's recognizers: close the recall gaps of Presidio's English defaults, keep precision.

Measured gaps of the defaults (tests/anonymize/test_recall.py, docs/anonymization.md): phone
numbers with `00`/`001-` prefixes, `(0)` trunk digits and extensions; credit cards of the
Mastercard 2-series; dates like "apr 15 2025" or "14th of march 1985"; street addresses (no
English recognizer at all); record numbers (tagged as driver licences, if at all). Names in
lowercase / ALL-CAPS are handled in names.py (they need a second NER pass, not a pattern).

Each recognizer is a Presidio PatternRecognizer (the extension point Presidio defines);
`invalidate_result` rejects look-alikes (dates, IP addresses, amounts) so the broad patterns do
not eat clinical values.
"""

from __future__ import annotations

import regex
from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from fedft.anonymize.names.words import PARTICLES
from fedft.config.anonymization import CustomRecognizerSpec

__all__ = [
    "FedftCardRecognizer",
    "FedftDateWordsRecognizer",
    "FedftEmailObfuscatedRecognizer",
    "FedftLongNumberRecognizer",
    "FedftNameLabelRecognizer",
    "FedftPhoneRecognizer",
    "FedftStreetAddressRecognizer",
    "FedftUrlRecognizer",
    "FedftIbanRecognizer",
    "custom_recognizer",
    "fedft_recognizers",
]

_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d%]|[.,]\d)"
_YEAR = r"(?:1[89]\d\d|20\d\d|'\d\d)"
# Numeric dates and IPv4 addresses share a shape with phone numbers and long IDs.
_DATE_LIKE = regex.compile(
    r"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})$"
)
_IPV4_LIKE = regex.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


class FedftPhoneRecognizer(PatternRecognizer):
    """National and international numbers: +CC / 00CC / 001- prefixes, (0) trunk digits,
    dots, spaces, dashes, extensions ("x123", "ext. 12"); 7-15 digits."""

    PATTERNS = [
        Pattern(
            "international",
            r"(?<![\w+])(?:\+|00)\d{1,3}(?:[ .\-]?\(?\d{1,8}\)?){1,6}"
            r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?(?!\w)",
            0.6,
        ),
        Pattern(
            "grouped",
            r"(?<![\w.+-])\(?\d{2,5}\)?(?:[ .\-]\(?\d{1,8}\)?|(?<=\))\s?\d{1,8}){1,4}"
            r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?(?![\w-]|\.\d)",
            0.45,
        ),
        Pattern("bare_10_11", r"(?<![\w.-])1?\d{10}(?![\w-]|\.\d)", 0.35),
    ]
    CONTEXT = ["phone", "tel", "telephone", "call", "cell", "mobile", "contact", "reach", "fax"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="FedftPhoneRecognizer",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        core = regex.sub(r"\s*(?:x|ext\.?|extension)\s*\d+$", "", pattern_text, flags=_FLAGS)
        digits = _digits(core)
        if not 7 <= digits <= 15:
            return True
        plain = core.strip("() ")
        return bool(_DATE_LIKE.match(plain) or _IPV4_LIKE.match(plain))


class FedftLongNumberRecognizer(PatternRecognizer):
    """Catch-all for standalone numbers of 7+ digits (optionally dash-separated): in notes and
    transaction text these are nearly always identifiers (record, account, member numbers)."""

    # Letters may touch the number (mrn1234567, ACC-0123456789): still an identifier.
    PATTERNS = [Pattern("long_number", r"(?<![\d.,]|\d-)\d+(?:-\d+)*(?![\d-]|[.,]\d)", 0.4)]
    CONTEXT = ["number", "no", "id", "record", "account", "acct", "member", "reference", "ref"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="ID_NUMBER",
            name="FedftLongNumberRecognizer",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        return _digits(pattern_text) < 7 or bool(_DATE_LIKE.match(pattern_text))


class FedftCardRecognizer(CreditCardRecognizer):
    """Payment cards the default misses (Mastercard 2-series, 13-19 digits), Luhn-checked by
    Presidio's CreditCardRecognizer."""

    PATTERNS = [
        Pattern("card", r"(?<![\w-])\d{4}(?:[ -]?\d{3,4}){2,3}(?:[ -]?\d{1,4})?(?![\w-])", 0.5)
    ]
    CONTEXT = ["card", "credit", "debit", "visa", "mastercard", "amex", "cc"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            name="FedftCardRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        return 13 <= _digits(pattern_text) <= 19 and super().validate_result(pattern_text)


class FedftDateWordsRecognizer(PatternRecognizer):
    """Dates written with month names, any case: "March 3, 1985", "3 march 1985",
    "14th of March 1985", "apr 15 2025", "Sept 3rd". Years alone are not matched."""

    PATTERNS = [
        Pattern(
            "day_month_year",
            rf"\b{_DAY}\s+(?:of\s+)?{MONTH}\.?,?(?:\s+{_YEAR})?\b",
            0.6,
        ),
        Pattern("month_day_year", rf"\b{MONTH}\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b", 0.6),
        Pattern("month_year", rf"\b{MONTH}\.?,?\s+{_YEAR}\b", 0.5),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="DATE_TIME",
            name="FedftDateWordsRecognizer",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        # "may 5" is often the verb: require a year, an ordinal or a capital M.
        text = pattern_text.strip()
        if text[:3].lower() == "may" and not regex.search(r"\d{4}|st|nd|rd|th", text):
            return not text.startswith("May")
        return False


class FedftEmailObfuscatedRecognizer(PatternRecognizer):
    """Addresses written to dodge scrapers: "j.doe [at] site [dot] com", "jdoe(at)site.org"."""

    PATTERNS = [
        Pattern(
            "obfuscated",
            r"\b[\w.+-]+\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*[\w-]+"
            r"(?:\s*(?:\.|\[dot\]|\(dot\)|\s+dot\s+)\s*[\w-]+)*"
            r"\s*(?:\.|\[dot\]|\(dot\)|\s+dot\s+)\s*(?:com|org|net|edu|gov|io|[a-z]{2})\b",
            0.5,
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="EMAIL_ADDRESS",
            name="FedftEmailObfuscatedRecognizer",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        # Plain prose ("seen at home. it was") must show bracketed markers or a "dot" word.
        return not regex.search(
            r"\[at\]|\(at\)|\{at\}|\bdot\b|\[dot\]|\(dot\)", pattern_text, flags=_FLAGS
        )


# USPS Publication 28 street suffixes (the common ones) and unit designators.
_STREET_SUFFIX = (
    r"(?:alley|aly|avenue|ave|boulevard|blvd|branch|bridge|brook|brooks|burgs?|bypass|camp|"
    r"canyon|cape|causeway|centers?|circles?|cir|cliffs?|club|common|corners?|course|courts?|ct|"
    r"coves?|creek|crescent|crest|crossing|crossroad|curve|dale|dam|divide|drives?|dr|estates?|"
    r"expressway|extensions?|falls?|ferry|fields?|flats?|fords?|forest|forges?|forks?|fort|"
    r"freeway|fwy|gardens?|gateway|glens?|greens?|groves?|harbors?|haven|heights|highway|hwy|"
    r"hills?|hollow|inlet|islands?|isle|junctions?|keys?|knolls?|lakes?|land|landing|lane|ln|"
    r"lights?|loaf|locks?|lodge|loop|mall|manors?|meadows?|mews|mills?|mission|motorway|mount|"
    r"mountains?|neck|orchard|oval|overpass|parks?|parkways?|pkwy|pass|passage|path|pike|pines?|"
    r"place|pl|plains?|plaza|points?|ports?|prairie|radial|ramp|ranch|rapids?|rest|ridges?|"
    r"river|roads?|rd|route|row|rue|run|shoals?|shores?|skyway|springs?|spurs?|squares?|sq|"
    r"station|stravenue|stream|streets?|st|summit|terrace|ter|throughway|trace|track|"
    r"trafficway|trail|trl|tunnel|turnpike|underpass|unions?|valleys?|via|viaduct|views?|"
    r"villages?|ville|vista|walks?|wall|ways?|wells?)"
)


class FedftIbanRecognizer(LocalRecognizer):
    """IBANs in any case, compact or in groups of four, checked with ISO 7064 mod 97.

    Presidio's IBAN pattern, run case-insensitively, swallows the next word ("... 7971
    requested") and then rejects the whole match; here every group boundary is tried, longest
    first, and the longest valid prefix wins.
    """

    _START = regex.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])")
    _GROUP = regex.compile(r"[ ]?[A-Za-z0-9]{1,4}")

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entities=["IBAN_CODE"],
            name="FedftIbanRecognizer",
            supported_language=supported_language,
        )

    def load(self) -> None:  # patterns are compiled at import
        pass

    @staticmethod
    def checksum_ok(candidate: str) -> bool:
        compact = candidate.replace(" ", "").upper()
        if not 15 <= len(compact) <= 34 or not compact.isalnum():
            return False
        rotated = compact[4:] + compact[:4]
        return int("".join(str(int(c, 36)) for c in rotated)) % 97 == 1

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        results = []
        for start in self._START.finditer(text):
            ends: list[int] = []
            pos = start.end()
            while len(ends) < 8:
                group = self._GROUP.match(text, pos)
                if not group:
                    break
                pos = group.end()
                ends.append(pos)
            for end in reversed(ends):
                if (end >= len(text) or not text[end].isalnum()) and self.checksum_ok(
                    text[start.start() : end]
                ):
                    results.append(RecognizerResult("IBAN_CODE", start.start(), end, 0.9))
                    break
        return results


class FedftUrlRecognizer(PatternRecognizer):
    """Web addresses with a scheme or "www.", up to the first space; any top-level domain."""

    PATTERNS = [Pattern("url", r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", 0.6)]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="URL",
            name="FedftUrlRecognizer",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )


class FedftStreetAddressRecognizer(PatternRecognizer):
    """House number, 1-3 name words, a USPS street suffix, optional unit and ", City"."""

    PATTERNS = [
        Pattern(
            "street",
            rf"\b\d{{1,6}}\s+(?:[^\W\d_][\w'.-]*\s+){{1,3}}{_STREET_SUFFIX}\b\.?"
            r"(?:,?\s+(?:apt|apartment|suite|ste|unit|room|#)\.?\s*#?[\w-]+)?"
            r"(?:,\s+(?-i:\p{Lu}[\p{L}'-]+(?:[ -]\p{Lu}[\p{L}'-]+)?))?",
            0.6,
        )
    ]
    CONTEXT = ["address", "lives", "live", "resides", "street", "home"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="FedftStreetAddressRecognizer",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )


class FedftNameLabelRecognizer(PatternRecognizer):
    """Names right after a label or honorific, in any case: "Name: jan de vries",
    "PATIENT: JOHN SMITH", "Dr. KOWALSKI", "mrs o'brien". Stops at punctuation or line end."""

    _WORD = r"(?:[^\W\d_]\.|[^\W\d_][\p{L}'’-]*)"
    PATTERNS = [
        # First name, particle(s), surname: "Jan van der Berg", "MARIA DE LA CRUZ".
        Pattern(
            "particle_name",
            r"(?<![\w])[^\W\d_][\p{L}'’-]+\s+(?:van der|van den|van de|von der|de la|de los|del|"
            r"de|von|van|da|di|du|le|la|ter|ten)\s+[^\W\d_][\p{L}'’-]+",
            0.55,
        ),
        # An initial and a surname: "R. Bauer", "E. BATTAGLIA", "g. wood".
        Pattern("initial", r"(?<![\w.])[^\W\d_]\.\s?[^\W\d_][\p{L}'’-]+", 0.5),
        Pattern(
            "field_label",
            rf"(?<=\b(?:name|patient|pt|customer|client|account holder|holder|next of kin)\s*:\s*)"
            rf"{_WORD}(?:[ ,]+{_WORD}){{0,3}}(?=\s*(?:[\n;()]|\.(?!\w)|$))",
            0.6,
        ),
        Pattern(
            "honorific",
            rf"(?<=\b(?:mr|mrs|ms|miss|mx|dr|prof)\.?\s+){_WORD}(?:\s+{_WORD})?(?=\s*[,.;:()\n]|\s+(?:on|at|in|from|to|and|was|is|has|requested|reports|said|called)\b|$)",
            0.6,
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(
            supported_entity="PERSON",
            name="FedftNameLabelRecognizer",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            global_regex_flags=_FLAGS,
        )

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


def custom_recognizer(spec: CustomRecognizerSpec, *, language: str) -> PatternRecognizer:
    """A policy's site-specific recognizer as a Presidio PatternRecognizer."""
    flags = regex.DOTALL | regex.MULTILINE | (0 if spec.case_sensitive else regex.IGNORECASE)
    patterns = [Pattern(f"{spec.name}_{i}", p.regex, p.score) for i, p in enumerate(spec.patterns)]
    # Presidio takes None for "none given" (its stubs say list; its code checks for None).
    return PatternRecognizer(
        supported_entity=spec.entity,
        name=spec.name,
        patterns=patterns or None,  # type: ignore[arg-type]
        deny_list=list(spec.deny_list) or None,  # type: ignore[arg-type]
        context=list(spec.context) or None,  # type: ignore[arg-type]
        supported_language=language,
        global_regex_flags=flags,
    )


def fedft_recognizers(*, language: str) -> list[LocalRecognizer]:
    """fedft's recall recognizers (English patterns; other languages get none of them)."""
    if language != "en":
        return []
    return [
        FedftPhoneRecognizer(),
        FedftLongNumberRecognizer(),
        FedftCardRecognizer(),
        FedftDateWordsRecognizer(),
        FedftEmailObfuscatedRecognizer(),
        FedftStreetAddressRecognizer(),
        FedftUrlRecognizer(),
        FedftIbanRecognizer(),
        FedftNameLabelRecognizer(),
    ]


# What every pattern of a recognizer needs somewhere in the text: without it the recognizer
# cannot match, so it is not run. Anonymized text has few digits left (13% of the anonymized
# clinical notes, against all raw ones), so the residual scan skips most of these. Reviewed
# against the patterns of presidio-analyzer 2.2.366 and of this module; a test pins those
# patterns, so a changed one fails until it is reviewed again.
_DIGIT = regex.compile(r"\d")  # Unicode digits: covers [0-9] and \d in either regex engine
_NEEDS: dict[str, regex.Pattern] = {
    "CreditCardRecognizer": _DIGIT,
    "UsBankRecognizer": _DIGIT,
    "UsLicenseRecognizer": _DIGIT,
    "UsItinRecognizer": _DIGIT,
    "UsPassportRecognizer": _DIGIT,
    "UsSsnRecognizer": _DIGIT,
    "NhsRecognizer": _DIGIT,
    "DateRecognizer": _DIGIT,
    "MedicalLicenseRecognizer": _DIGIT,
    "IbanRecognizer": _DIGIT,
    "CryptoRecognizer": _DIGIT,
    # IPv4 forms need digits, IPv6 forms a colon.
    "IpRecognizer": regex.compile(r"[\d:]"),
    "EmailRecognizer": regex.compile("@"),
    # A dot, then the first letter of a top-level domain (same flags as its patterns).
    "UrlRecognizer": regex.compile(r"\.[a-z]", _FLAGS),
    "FedftPhoneRecognizer": _DIGIT,
    "FedftLongNumberRecognizer": _DIGIT,
    "FedftCardRecognizer": _DIGIT,
    "FedftDateWordsRecognizer": _DIGIT,
    "FedftStreetAddressRecognizer": _DIGIT,
    "FedftIbanRecognizer": _DIGIT,
}


def guard_recognizers(recognizers: list[LocalRecognizer]) -> None:
    """Skip each known recognizer on texts lacking what all its patterns need (`_NEEDS`).

    In place: the recognizer keeps its identity (name, id, context), which Presidio's context
    enhancement and result metadata rely on. Matched on the exact class, so a policy's custom
    recognizer or a subclass is never guarded."""
    import presidio_analyzer.predefined_recognizers as predefined

    for recognizer in recognizers:
        cls = type(recognizer)
        needed = _NEEDS.get(cls.__name__)
        if needed is None or cls not in (
            getattr(predefined, cls.__name__, None),
            globals().get(cls.__name__),
        ):
            continue
        recognizer.analyze = _guarded(recognizer.analyze, needed)  # type: ignore[method-assign]


def _guarded(analyze, needed: regex.Pattern):
    def guarded(text: str, entities, nlp_artifacts=None, **kwargs):
        if needed.search(text) is None:
            return []
        return analyze(text, entities, nlp_artifacts, **kwargs)

    return guarded
