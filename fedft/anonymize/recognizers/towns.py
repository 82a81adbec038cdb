"""Towns and postcodes on the lines of an address block, found by where they stand rather than
by a street line above them (issue 19: a street line the street patterns miss must not take the
town with it).

- "postcode Town": at the start of a line or of a comma part ("10115 Berlin", "D-71643 München",
  "394 13 Kalmar", "1077 Frederiksværk", "02384 Trapani (TP)"); a four-digit number that reads
  as a recent year (1950-2039) counts only with a country prefix ("2019 Annual review");
- "Town REGION postcode": a town before a US, Canadian or Australian state code and a postcode
  ("Springfield, IL 62704", "Halifax NS  B3H 1Y4", "GLENELG SA 5045");
- "Town - PIN" / "Town - UF, CEP": Indian and Brazilian lines ("Jaipur - 302001",
  "Abreu - RJ, 60541-352");
- a town alone on the line above a line that is only a postcode ("Sheffield\\nS1 2HE").
Each gives the town as LOCATION and the code as POSTAL_CODE.
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

from fedft.anonymize.recognizers.patterns import CodeRecognizer
from fedft.anonymize.recognizers.places import US_STATES

__all__ = ["FedftPostcodeInContextRecognizer", "FedftTownLineRecognizer"]

_PARTICLE = (
    r"(?:am|an|im|der|den|bei|ob|nad|pod|upon|on|sur|sous|les|la|le|de|di|del|da|dos|das|du)"
)
# Units and counts that follow a number at the start of a line ("1000 Units", "10000 Steps").
_NOT_TOWN = r"(?!(?:Units?|Steps|Calories|Kcal|Patients|People|Dollars|Euros?|Pounds|Items?)\b)"
_WORD = r"\p{Lu}[\p{L}'’.-]*"
_TOWN = rf"(?-i:{_NOT_TOWN}{_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_WORD}){{0,3}})"
_START = r"(?<=(?:^|[,:;\n])[ \t]*)"
_CODE_BEFORE_TOWN = (
    r"(?:(?-i:[A-Z]{1,3})-\d{4,5}|\d{5}|\d{3} \d{2}|\d{2}-\d{3}"
    r"|(?!(?:19[5-9]|20[0-3])\d\b)[1-9]\d{3}(?: ?(?-i:[A-Z]{2})(?!\w))?)"
)
_TOWN_END = r"(?=[ \t]*(?:$|[,(.;!?]|[ \t]\p{Ll}))"
_REGIONS = US_STATES + "AB BC MB NB NL NS NT NU ON PE QC SK YT NSW VIC QLD WA SA TAS ACT NT".split()
_REGION_CODE = (
    r"(?:\d{4,5}(?:-\d{4})?|(?-i:[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])[ \t]?"
    r"(?-i:\d[ABCEGHJ-NPRSTV-Z]\d))(?![\w-])"
)
# A line that holds only a postcode (UK, Canada, Dutch, or digits).
_CODE_LINE = (
    r"(?:(?-i:[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})|(?-i:[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
    r"|\d{4,6}|\d{4}[ \t]?(?-i:[A-Z]{2}))[ \t]*(?=\n|$)"
)
_LINES = regex.compile(
    "|".join(
        [
            rf"{_START}(?P<code>{_CODE_BEFORE_TOWN})[ \t]+(?P<town>{_TOWN}){_TOWN_END}",
            rf"{_START}(?P<town>{_TOWN}),?[ \t]+(?-i:{'|'.join(_REGIONS)})[ \t]+"
            rf"(?P<code>{_REGION_CODE})",
            rf"{_START}(?P<town>{_TOWN})[ \t]+[-–][ \t]+"
            rf"(?:(?P<code>[1-9]\d{{5}})(?!\w)|(?-i:[A-Z]{{2}}),?[ \t]+\d{{5}}-?\d{{3}}\b)",
            rf"(?m:^)[ \t]*(?P<town>{_TOWN})[ \t]*\n[ \t]*(?P<code>{_CODE_LINE})",
        ]
    ),
    flags=regex.MULTILINE,
)


class FedftTownLineRecognizer(CodeRecognizer):
    """Towns and postcodes on address lines (see the module docstring)."""

    ENTITIES = ("LOCATION", "POSTAL_CODE")

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        out = []
        for m in _LINES.finditer(text):
            out.append(RecognizerResult("LOCATION", m.start("town"), m.end("town"), 0.6))
            if m.start("code") >= 0:
                out.append(RecognizerResult("POSTAL_CODE", m.start("code"), m.end("code"), 0.6))
        return out


# A text that talks about post or delivery: the word anywhere in it, not only next to the code.
_POSTAL_TOPIC = regex.compile(
    r"\b(?:zip|postcode|post\s+code|postal|plz|cep|pin\s*code|deliver\w*|ship(?:ping|ped)?|"
    r"mailing|address)\b",
    flags=regex.IGNORECASE,
)
# A number alone in a postcode shape: not part of a longer number, an amount, a time, a range,
# a decimal or a measure ("$12500", "10:30", "12-15 mg", "2.5", "40000 steps" keep).
_BARE_CODE = regex.compile(
    r"(?<![\w$€£¥.,/:+#-]|\d[ ])"
    r"(?:\d{5,6}|\d{2}-\d{3}|\d{3} \d{2}|(?!(?:19[5-9]|20[0-3])\d)[1-9]\d{3})"
    r"(?![\w%/:°-]|[.,]\d|[ ]\d|[ ]?(?:mg|ml|kg|g|km|m|mm|cm|steps|units|iu|usd|eur|gbp|kr)\b)",
    flags=regex.IGNORECASE,
)


class FedftPostcodeInContextRecognizer(CodeRecognizer):
    """Numbers alone in a postcode shape: 5-6 digits, "12-345", "123 45", or four digits that
    are no recent year. In a text that talks about post, shipping or an address they are
    POSTAL_CODE (a chat line "it's 12345 I think" in a conversation about a delivery);
    elsewhere only 5-6 digits count, as ID_NUMBER (Safe Harbor's "any other unique number":
    "12-345" and "2500" are ranges and counts as often). Scored low (0.4): a stronger
    recognizer's label wins."""

    ENTITIES = ("POSTAL_CODE", "ID_NUMBER")

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        postal = _POSTAL_TOPIC.search(text) is not None
        out = []
        for m in _BARE_CODE.finditer(text):
            if postal:
                out.append(RecognizerResult("POSTAL_CODE", m.start(), m.end(), 0.4))
            elif m.group().isdigit() and len(m.group()) >= 5:
                out.append(RecognizerResult("ID_NUMBER", m.start(), m.end(), 0.4))
        return out
