"""US, UK, Australian and Indian street lines (Presidio has no English address recognizer);
other national formats are in places.py, which also grows a street line over the city /
postcode parts after it."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from fedft.anonymize.recognizers.patterns import pattern_args
from fedft.anonymize.recognizers.places import grow_address

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
    r"villages?|ville|vista|walks?|wall|ways?|wells?"
    # UK, Australian and Indian street words, capitalized only: "close", "rise" and "path" are
    # also English words.
    r"|(?-i:Close|Parade|Esplanade|Promenade|Circuit|Rise|Quay|Wharf|Grove|Mews|Marg|Chowk|Ganj|"
    r"Nagar|Path|Gali))"
)
_ST = r"[ \t]+"  # a street line never runs across a line break
_ORDINAL = (
    r"(?:\d{1,3}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)"
)
_CAP = r"(?-i:\p{Lu}[\p{Ll}'’-]+)"


class FedftStreetAddressRecognizer(PatternRecognizer):
    """Optional leading flat, house number (221B), 1-3 name words, a USPS street suffix,
    optional unit and ", City"; or a lettered house number on its own after "at", "flat"...
    ("lives at 221B")."""

    PATTERNS = [
        Pattern(
            "street",
            rf"(?:\b(?:flat|apt|apartment|unit|suite)\.?[ \t]*\d+[a-z]?,?{_ST})?"
            # "20/392 White Parade": an Australian unit before the house number.
            rf"\b(?:\d{{1,5}}/)?\d{{1,6}}[a-z]?,?{_ST}(?:[^\W\d_][\w'.-]*{_ST}){{1,3}}{_STREET_SUFFIX}\b\.?"
            rf"(?:,?{_ST}(?:apt|apartment|suite|ste|unit|room|#)\.?[ \t]*#?[\w-]+)?"
            r"(?:,[ \t]+(?-i:\p{Lu}[\p{L}'-]+(?:[ -]\p{Lu}[\p{L}'-]+)?))?",
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
        # A named street without a number after a preposition ("lives just off Coates Lane").
        Pattern(
            "named_street",
            rf"(?-i:(?=\p{{Lu}}))(?<=\b(?:on|off|near|along|down|up|at)\s+){_CAP}(?:{_ST}{_CAP})?"
            rf"{_ST}(?-i:Street|Lane|Road|Avenue|Drive|Boulevard|Close|Crescent|Terrace|Court)\b",
            0.5,
        ),
        # A crossing where something happened ("the light at Elm and Main", "the corner of
        # Fifth and 3rd"): two street names joined by "and" after a traffic or place word.
        Pattern(
            "intersection",
            rf"(?<=\b(?:light|lights|signal|sign|intersection|corner|junction|crossing|crossroads)"
            rf"\s+(?:at|of)\s+)(?:{_CAP}|{_ORDINAL})\s+(?:and|&)\s+(?:{_CAP}|{_ORDINAL})\b",
            0.5,
        ),
    ]
    CONTEXT = ["address", "lives", "live", "resides", "street", "home", "flat"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="STREET_ADDRESS", language=supported_language))

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for r in results:
            r.end = grow_address(text, r.end)
        return results
