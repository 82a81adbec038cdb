"""fedft's recognizers for an analyzer, a policy's custom recognizers, and the guard that
skips a recognizer on texts it cannot match."""

from __future__ import annotations

import regex
from presidio_analyzer import LocalRecognizer, Pattern, PatternRecognizer

from fedft.anonymize.recognizers.addresses import FedftStreetAddressRecognizer
from fedft.anonymize.recognizers.dates import FedftDateWordsRecognizer
from fedft.anonymize.recognizers.identifiers import (
    FedftAgeRecognizer,
    FedftCodeRecognizer,
    FedftDeviceRecognizer,
    FedftFaxRecognizer,
    FedftLicenceRecognizer,
    FedftVehicleRecognizer,
)
from fedft.anonymize.recognizers.numbers import (
    FedftCardRecognizer,
    FedftIbanRecognizer,
    FedftLongNumberRecognizer,
    FedftNhsRecognizer,
    FedftPhoneRecognizer,
    FedftSsnRecognizer,
)
from fedft.anonymize.recognizers.patterns import FLAGS
from fedft.anonymize.recognizers.person import FedftNameLabelRecognizer
from fedft.anonymize.recognizers.places import (
    FedftIntlAddressRecognizer,
    FedftPlaceCueRecognizer,
    FedftPostalCodeRecognizer,
)
from fedft.anonymize.recognizers.towns import (
    FedftPostcodeInContextRecognizer,
    FedftTownLineRecognizer,
)
from fedft.anonymize.recognizers.web import FedftEmailObfuscatedRecognizer, FedftUrlRecognizer
from fedft.config.anonymization import CustomRecognizerSpec

__all__ = ["REPLACED", "custom_recognizer", "fedft_recognizers", "guard_recognizers"]

# Presidio recognizers a fedft one replaces (same entity, when fedft's are in use): phones in
# more formats at a fraction of the cost (the default runs libphonenumber's matcher once per
# region per document); NHS numbers that are not US phone numbers.
REPLACED = ("PhoneRecognizer", "NhsRecognizer")

_FEDFT = (
    FedftPhoneRecognizer,
    FedftLongNumberRecognizer,
    FedftSsnRecognizer,
    FedftNhsRecognizer,
    FedftCardRecognizer,
    FedftDateWordsRecognizer,
    FedftEmailObfuscatedRecognizer,
    FedftStreetAddressRecognizer,
    FedftUrlRecognizer,
    FedftIbanRecognizer,
    FedftNameLabelRecognizer,
    FedftIntlAddressRecognizer,
    FedftPostalCodeRecognizer,
    FedftPlaceCueRecognizer,
    FedftTownLineRecognizer,
    FedftPostcodeInContextRecognizer,
    FedftAgeRecognizer,
    FedftFaxRecognizer,
    FedftLicenceRecognizer,
    FedftVehicleRecognizer,
    FedftDeviceRecognizer,
    FedftCodeRecognizer,
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
    return [cls() for cls in _FEDFT]


# What every pattern of a recognizer needs somewhere in the text: without it the recognizer
# cannot match, so it is not run. Anonymized text has few digits left (13% of the anonymized
# clinical notes, against all raw ones), so the residual scan skips most of these. Reviewed
# against the patterns of presidio-analyzer 2.2.366 and of fedft's recognizers; a test pins those
# patterns, so a changed one fails until it is reviewed again.
_DIGIT = regex.compile(r"\d")  # Unicode digits: covers [0-9] and \d in either regex engine
_NEEDS: dict[str, regex.Pattern] = {
    "CreditCardRecognizer": _DIGIT,
    "UsBankRecognizer": _DIGIT,
    "UsLicenseRecognizer": _DIGIT,
    "UsItinRecognizer": _DIGIT,
    "UsPassportRecognizer": _DIGIT,
    "UsSsnRecognizer": _DIGIT,
    "DateRecognizer": _DIGIT,
    "MedicalLicenseRecognizer": _DIGIT,
    "IbanRecognizer": _DIGIT,
    "CryptoRecognizer": _DIGIT,
    # IPv4 forms need digits, IPv6 forms a colon.
    "IpRecognizer": regex.compile(r"[\d:]"),
    "EmailRecognizer": regex.compile("@"),
    # A dot, then the first letter of a top-level domain (same flags as its patterns).
    "UrlRecognizer": regex.compile(r"\.[a-z]", FLAGS),
    "FedftPhoneRecognizer": _DIGIT,
    "FedftLongNumberRecognizer": _DIGIT,
    "FedftSsnRecognizer": _DIGIT,
    "FedftNhsRecognizer": _DIGIT,
    "FedftCardRecognizer": _DIGIT,
    "FedftDateWordsRecognizer": _DIGIT,
    # A house number, or the street word / traffic word of a street named without one.
    "FedftStreetAddressRecognizer": regex.compile(
        r"\d|street|lane|road|avenue|drive|boulevard|close|crescent|terrace|court|light|signal|"
        r"sign|intersection|corner|junction|crossing",
        FLAGS,
    ),
    "FedftIbanRecognizer": _DIGIT,
    # Every pattern of these holds a digit (house, box or postcode number; the code itself),
    # but for a ship's name in military mail ("USNS Harrington"), whose FPO line has one.
    "FedftIntlAddressRecognizer": _DIGIT,
    "FedftPostalCodeRecognizer": _DIGIT,
    # Every line it reads holds a postcode.
    "FedftTownLineRecognizer": _DIGIT,
    "FedftPostcodeInContextRecognizer": _DIGIT,
    "FedftVehicleRecognizer": _DIGIT,
    "FedftCodeRecognizer": _DIGIT,
    # Every pattern of these holds a digit and sits next to its label word: both are needed
    # (anchored at the start, so a text is scanned once, not from every position).
    "FedftAgeRecognizer": regex.compile(
        r"\A(?=.*?\d)(?=.*?(?:\by|\bage|\bturn|\bis\b|\bwas\b|'s\b))", FLAGS
    ),
    "FedftFaxRecognizer": regex.compile(r"\A(?=.*?\d)(?=.*?(?:fax|facsimile))", FLAGS),
    "FedftLicenceRecognizer": regex.compile(
        r"\A(?=.*?\d)(?=.*?(?:licen|lic\.|cert|permit|dea|npi|registration|\bdl\b))", FLAGS
    ),
    # A label word, or the shape of a MAC address (found without a label).
    "FedftDeviceRecognizer": regex.compile(
        r"\A(?=.*?\d)(?=.*?(?:serial|s/n|sn|device|imei|udi|meid|model|"
        r"[\da-f]{2}([:-])[\da-f]{2}\1))",
        FLAGS,
    ),
    "FedftPlaceCueRecognizer": regex.compile(
        r"\b(?:live|living|moved|moving|resid|based|born|grew|from|place|home|house|flat|apartment|"
        r"address|parent|street|lane|road|avenue|drive|close|crescent|terrace)",
        FLAGS,
    ),
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
        if needed is None or cls not in (getattr(predefined, cls.__name__, None), *_FEDFT):
            continue
        recognizer.analyze = _guarded(recognizer.analyze, needed)  # type: ignore[method-assign]


def _guarded(analyze, needed: regex.Pattern):
    def guarded(text: str, entities, nlp_artifacts=None, **kwargs):
        if needed.search(text) is None:
            return []
        return analyze(text, entities, nlp_artifacts, **kwargs)

    return guarded
