"""Safe Harbor identifiers beyond names and contact details: ages over 89, fax numbers,
certificate / licence numbers, vehicle identifiers (VINs, plates) and device serials.

Except VINs (17 characters of a fixed alphabet, letters and digits mixed), each needs the
word that introduces it ("fax", "licence no.", "plate", "serial number"): the values alone
look like any code, and precision matters in clinical text.
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import digit_count, pattern_args

__all__ = [
    "FedftAgeRecognizer",
    "FedftDeviceRecognizer",
    "FedftFaxRecognizer",
    "FedftLicenceRecognizer",
    "FedftVehicleRecognizer",
]

_AGE = r"(?<![\d.,])(?:9\d|1[0-2]\d)(?![\d.,]\d)"
# A code after its label: letters and digits, optionally grouped by "-", "/" or one space
# between a short letter prefix and the digits ("RN 2214783").
_CODE = r"(?:[A-Z]{1,5}[ -]?)?\d[A-Z\d]*(?:[-/][A-Z\d]+)*(?![\w-])"
_LABEL_TAIL = r"(?:\s*(?:no\.?|nr\.?|number|num|#|:|id|is))*\s*"


class FedftAgeRecognizer(PatternRecognizer):
    """Ages of 90 and over (Safe Harbor keeps ages up to 89): "93-year-old", "101 years old",
    "age: 96", "aged 91", "turned 90", "95 y/o"."""

    PATTERNS = [
        Pattern("years", rf"{_AGE}(?=[\s-]*(?:years?|yrs?|y/o|yo|y\.o\.)\b)", 0.6),
        Pattern(
            "label", rf"(?=\d)(?<=\b(?:age|aged|ages|turned|turns|turning)\s*:?\s*){_AGE}\b", 0.6
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
            r"(?:\+|00)?\(?\d[\d ().-]{5,20}\d(?![\w-]|\.\d)",
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
            r"(?=[A-Z\d])(?<=\b(?:licen[cs]e(?!\s+plate)|lic\.|certificate|cert\.|permit|dea|npi|"
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
            r"(?-i:(?=[A-Z\d]))(?<=\b(?:plate|plates|vehicle\s+registration|reg\.)(?:\s*(?:no\.?|number|#|:|is))*"
            r"\s*)(?-i:[A-Z\d]{1,8}(?:[- ][A-Z\d]{1,4}){0,2})(?![\w-])",
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
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="DEVICE_ID", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        return digit_count(pattern_text) < 2 or len(pattern_text) < 5
