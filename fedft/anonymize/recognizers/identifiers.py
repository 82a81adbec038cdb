"""Safe Harbor identifiers beyond names and contact details: ages over 89, fax numbers,
certificate / licence numbers, vehicle identifiers (VINs, plates) and device serials.

Except VINs (17 characters of a fixed alphabet, letters and digits mixed), each needs the
word that introduces it ("fax", "licence no.", "plate", "serial number"): the values alone
look like any code, and precision matters in clinical text.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import digit_count, pattern_args

__all__ = [
    "FedftAgeRecognizer",
    "FedftCodeRecognizer",
    "FedftDeviceRecognizer",
    "FedftFaxRecognizer",
    "FedftLicenceRecognizer",
    "FedftVehicleRecognizer",
]

_AGE = r"(?<![\d.,])(?:9\d|1[0-2]\d)(?![\d.,]\d)"
# A code after its label: letters and digits, optionally grouped by "-", "/" or one space
# between a short letter prefix and the digits ("RN 2214783").
_CODE = r"(?:[A-Z]{1,5}[ -]?)?\d[A-Z\d]*(?:[-/][A-Z\d]+)*(?![\w-])"
_PREFIXED_LONG = regex.compile(r"[A-Z]{1,4}-\d{7,}")
_LABEL_TAIL = r"(?:\s*(?:no\.?|nr\.?|number|num|#|:|id|is))*\s*"


class FedftAgeRecognizer(PatternRecognizer):
    """Ages of 90 and over (Safe Harbor keeps ages up to 89): "93-year-old", "101 years old",
    "age: 96", "aged 91", "turned 90", "95 y/o"."""

    PATTERNS = [
        Pattern("years", rf"{_AGE}(?=[\s-]*(?:years?|yrs?|y/o|yo|y\.o\.)\b)", 0.6),
        Pattern(
            "label", rf"(?=\d)(?<=\b(?:age|aged|ages|turned|turns|turning)\s*:?\s*){_AGE}\b", 0.6
        ),
        # "my grandmother is 94 and ...": a person, "is"/"was", the number, and no unit after it
        # ("pt was 94% on RA", "HR is 95 bpm" are vitals, and have no person word before them).
        Pattern(
            "person_is",
            r"(?=\d)(?<=\b(?:grand(?:mother|father|ma|pa|mum|mom|dad)|mother|father|mum|mom|dad|nan|"
            r"nana|granny|aunt|uncle|husband|wife|neighbou?r|he|she)\s+(?:is|was|'s|just\s+turned)\s+)"
            rf"{_AGE}(?=\s*(?:,|\.(?!\d)|;|!|$|\s+(?:and|but|now|today|this|next|last|so)\b))",
            0.6,
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="AGE", language=supported_language))


class FedftFaxRecognizer(PatternRecognizer):
    """A phone number within a few words after "fax" ("Fax: 212-555-0147", "fax the form to
    (617) 555-0199"); scored above the phone recognizers so the span is labelled a fax."""

    PATTERNS = [
        Pattern(
            "after_fax",
            r"(?=[\d+(])(?<=\b(?:fax|facsimile|telefax)\b[^\n\d+(]{0,25})"
            r"(?:\+|00)?\(?\d[\d ()./-]{5,20}\d(?![\w-]|\.\d)",
            # Above a phone pattern raised by its "fax" context word (0.45 + 0.35).
            0.9,
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="FAX_NUMBER", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        return not 7 <= digit_count(pattern_text) <= 15


class FedftLicenceRecognizer(PatternRecognizer):
    """Certificate and licence numbers after their label: driver's, nursing, DEA, NPI,
    professional licences, certificates, permits."""

    PATTERNS = [
        Pattern(
            "after_label",
            r"(?=[A-Z\d])(?<=\b(?:licen[cs]e(?!\s+plate)|lic\.|certificate|cert\.|permit|dea|npi|(?-i:DL)|"
            rf"registration){_LABEL_TAIL}){_CODE}",
            0.6,
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="LICENSE_NUMBER", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        return digit_count(pattern_text) < 4


class FedftVehicleRecognizer(PatternRecognizer):
    """Vehicle identification numbers (17 characters, no I/O/Q, letters and digits mixed), and
    licence plates after "plate" / "vehicle registration"."""

    PATTERNS = [
        Pattern(
            "vin", r"(?-i:\b(?=[A-HJ-NPR-Z\d]*\d)(?=\d*[A-HJ-NPR-Z])[A-HJ-NPR-Z\d]{17}\b)", 0.6
        ),
        Pattern(
            "plate",
            r"(?-i:(?=[A-Z\d]))(?<=\b(?:plate|plates|vehicle\s+registration|reg\.|car\s+reg|vin)"
            r"(?:\s*(?:no\.?|number|#|:|is))*\s*)"
            r"(?-i:[A-Z\d]{1,8}(?:[- ][A-Z\d]{1,4}){0,3})(?![\w-])",
            0.6,
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="VEHICLE_ID", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        letters = sum(ch.isalpha() for ch in pattern_text)
        digits = digit_count(pattern_text)
        return digits < 1 or letters < 1 or letters + digits < 4


class FedftDeviceRecognizer(PatternRecognizer):
    """Device identifiers and serials after their label: "serial number PJN412233H",
    "S/N: MMT-1780-00412", "device ID 3F9A-22C1-7B0E", IMEI / UDI."""

    PATTERNS = [
        Pattern(
            "after_label",
            r"(?=[A-Z\d])(?<=\b(?:serial|s/n|sn|device(?:\s+id)?|imei|udi|meid|model)"
            r"(?:\s*(?:no\.?|nr\.?|number|num|#|:|id|is))*\s*)"
            r"[A-Z\d]+(?:[-/][A-Z\d]+)*(?![\w-])",
            0.6,
        ),
        # MAC addresses: six pairs of hex digits (Presidio's MAC_ADDRESS is not a default entity).
        Pattern(
            "mac", r"(?<![\w:-])[0-9A-F]{2}(?:([:-])[0-9A-F]{2})(?:\1[0-9A-F]{2}){4}(?![\w:-])", 0.6
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="DEVICE_ID", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        # Apple-style serials carry a single digit among 11 letters ("C02XK1ZQJGH5" has more).
        digits = digit_count(pattern_text)
        return digits < 1 or len(pattern_text) < (5 if digits >= 2 else 10)


class FedftCodeRecognizer(PatternRecognizer):
    """Reference codes that mix capitals and digits in dash-separated groups, with 5+ digits
    ("EMP-681804", "18-CV-30123", Medicare MBIs "1EG4-TE5-MK73"): case, employee, record and
    member numbers Safe Harbor counts as "any other unique identifying number". Fewer digits
    ("COVID-19", "ICD-10-CM", "HLA-B27") are names of things, not of people."""

    PATTERNS = [
        Pattern(
            "dashed_code",
            r"(?-i:(?<![\w/-])(?=[A-Z\d-]*[A-Z])(?=[A-Z\d-]*\d)[A-Z\d]+(?:-[A-Z\d]+)+(?![\w/-]))",
            0.45,
        ),
        # Five or six digits after an ID label ("Employee ID E32067", "MRN: 483920").
        Pattern(
            "after_id",
            r"(?-i:(?=[A-Z\d]))(?<=\b(?:ID|id|no\.|number|MRN|mrn)\s*[:#]?\s*)(?-i:[A-Z]{0,4})\d{5,6}\b",
            0.45,
        ),
        # National identity numbers in their own shapes: Italian codice fiscale, Indian PAN,
        # UK National Insurance number.
        Pattern(
            "national",
            r"(?-i:\b(?:[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]|[A-Z]{5}\d{4}[A-Z]"
            r"|(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D])\b)",
            0.6,
        ),
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="ID_NUMBER", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        # Five digits at least; an Indian PAN ("ABCDE1234F") has four, after letters, no dash.
        # A label prefix before 7+ digits ("ACC-0123456789") is left to the long-number
        # recognizer: the prefix identifies no one, and the text around the number stays as
        # it was.
        digits = digit_count(pattern_text)
        pan = digits == 4 and pattern_text[:1].isalpha() and "-" not in pattern_text
        return (digits < 5 and not pan) or _PREFIXED_LONG.fullmatch(pattern_text) is not None
