"""US street addresses (Presidio has no English address recognizer); other national formats
are in places.py."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import pattern_args

__all__ = ["FedftStreetAddressRecognizer"]

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


class FedftStreetAddressRecognizer(PatternRecognizer):
    """Optional leading flat, house number (221B), 1-3 name words, a USPS street suffix,
    optional unit and ", City"; or a lettered house number on its own after "at", "flat"...
    ("lives at 221B")."""

    PATTERNS = [
        Pattern(
            "street",
            r"(?:\b(?:flat|apt|apartment|unit|suite)\.?\s*\d+[a-z]?,?\s+)?"
            rf"\b\d{{1,6}}[a-z]?,?\s+(?:[^\W\d_][\w'.-]*\s+){{1,3}}{_STREET_SUFFIX}\b\.?"
            r"(?:,?\s+(?:apt|apartment|suite|ste|unit|room|#)\.?\s*#?[\w-]+)?"
            r"(?:,\s+(?-i:\p{Lu}[\p{L}'-]+(?:[ -]\p{Lu}[\p{L}'-]+)?))?",
            0.6,
        ),
        # A house or flat number with a letter, where the street is not named next to it
        # ("lives at 221B", "flat 4C"): the letter makes it one address among few.
        Pattern(
            "house_number",
            r"(?=\d)(?<=\b(?:at|number|no\.?|flat|apt\.?|apartment|unit|house)\s+)"
            r"\d{1,5}(?-i:[A-H])\b(?!-|\.\d)",
            0.5,
        ),
    ]
    CONTEXT = ["address", "lives", "live", "resides", "street", "home", "flat"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="STREET_ADDRESS", language=supported_language))
