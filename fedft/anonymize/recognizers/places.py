"""International postal addresses and postal codes (issue 19: billing addresses, letters).

Street lines are found by their shape — a street word glued to or next to the name
("Mellemvej 32", "Király u. 15", "Via Franscini 71", "14 rue de la Paix"), a unit designator
("88 Kingsway Apt 12"), a post-office or military box ("PSC 0413, Box 8144") — and then grown
over what follows them: comma-separated parts on the same line ("..., 10115 Berlin") and up to
three short lines below that hold only capitalized words, codes and numbers (a city /
region / postcode block). Postal codes stand alone only in unambiguous national shapes (UK,
Canada, ZIP+4, Dutch); bare numbers count only after a context word ("zip code is 35350"),
after a US state code, or at the start of a "code City" part.
"""

from __future__ import annotations

import regex
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from fedft.anonymize.recognizers.patterns import CodeRecognizer, pattern_args

__all__ = [
    "FedftIntlAddressRecognizer",
    "FedftPlaceCueRecognizer",
    "FedftPostalCodeRecognizer",
    "US_STATES",
    "grow_address",
]

_UP = r"(?-i:\p{Lu})"
_S = r"[ \t]+"  # an address line never runs across a line break
# House number, optional letter, and (Finnish, Swedish) a staircase's flat: "12 B 5".
_NUM = (
    r"\d{1,5}(?:[ \t]?[A-Za-z](?![\p{L}\d])(?:[ \t]\d{1,3}(?!\d))?)?"
    r"(?:[/-][\dA-Za-z]{1,4}(?![\p{L}\d])){0,3}(?:[ \t]?(?:bis|ter|quater|hs)\b)?\.?"
)
_UNIT = (
    rf"(?:,?{_S}(?:apt|apartment|appt|apto|suite|ste|unit|flat|fl|floor|room|rm|box|bldg|"
    rf"building|lgh|int|interno|piso|dpto|#)\.?[ \t]*#?[ \t]*[\w-]*\d[\w-]*"
    # A floor and door the way Danes and Hungarians write them: "1. mf.", "st. tv.", "2. em. 7.".
    rf"|,?{_S}(?:\d{{1,2}}\.|st\.)[ \t]*(?:em|mf|th|tv|sal)\.?(?:[ \t]*\d{{1,3}}\.?)?)"
)
# Units that make a number and capitalized words a street line on their own ("88 Kingsway
# Apt 12"); "Room" / "Floor" also follow ward names in hospitals ("4 West Wing Room 12").
_UNIT_STRONG = (
    rf"(?:,?{_S}(?:apt|apartment|appt|apto|suite|ste|flat|lgh|#)\.?[ \t]*#?[ \t]*[\w-]*\d[\w-]*)"
)
# Street words glued to the end of the name (Nordic, German, Dutch, Finnish, English).
_GLUED = (
    r"(?:straße|strasse|str\.|weg|vej|gade|gatan|gata|vägen|väg|tie|katu|kuja|polku|laan|straat|"
    r"gracht|kade|plein|dijk|singel|steeg|allee|platz|gasse|ring|damm|ufer|chaussee|pfad|steig|"
    r"markt|veien|vegen|gaten|vei|stien|torget|torg|gränd|stigen|backen|allén|stræde|vænget|"
    r"allé|bakken|toften|plads|torv|kaari|rinne|ranta|väylä|mäki|aukio|way|road|street|lane|pad|hof|"
    r"boulevard|dreef|lei|park)"
)
# Street words written apart after the name ("Király u. 15", "Berliner Str. 4").
# The glued words also stand apart, lowercase ("Bertel Jungin kuja 20").
_AFTER = (
    r"(?:u\.|utca|út|útja|tér|krt\.|körút|str\.|straße|strasse|ulica|ul\.|sokak|cad\.|"
    rf"(?-i:{_GLUED}))"
)
# Street words written before the name (Romance, Slavic, English "Avenue of ...").
_BEFORE = (
    r"(?:via|viale|piazza|piazzale|corso|largo|vicolo|calle|avenida|avda\.|av\.|paseo|plaza|"
    r"carrer|rua|travessa|alameda|praça|estrada|rodovia|ronda|camino|callejón|pasaje|glorieta|"
    r"rambla|travesía|vía|ulica|ul\.|aleja|al\.|plac|strada|calea|rue|avenue|boulevard|bd\.?|"
    r"chemin|place|quai|impasse|allée|route|stretto|incrocio|borgo|contrada|vico|salita|traversa|"
    r"lungomare|rotonda)"
)
_PARTICLE = r"(?:de|del|della|delle|dei|degli|di|da|do|dos|das|la|las|los|le|les|des|du|l'|d')"
_NAME = rf"{_UP}[\p{{L}}'’.-]*"
US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY AA AE AP AS FM GU MH MP "
    "PW VI"
).split()
# Every alternative starts at a word boundary with a digit, a capital, or the lowercase "ul.",
# "al.", "av."/"avda.", "p.o."/"post..."/"apartado": checked first, it skips most positions.
_STREET = regex.compile(
    r"\b(?-i:(?=[\d\p{Lu}upa]))(?:"
    + "|".join(
        [
            # "Puruntie 82 Apt. 595", "28245 Puruntie 82", "Mellemvej 32", "Storgatan 5B".
            rf"(?:\b\d{{3,6}}{_S})?\b{_UP}(?:\p{{L}}+-)*\p{{L}}*{_GLUED}{_S}{_NUM}{_UNIT}?",
            # "Király u. 15", "Berliner Str. 4".
            rf"\b{_NAME}(?:{_S}{_NAME})?{_S}{_AFTER}[ \t]*{_NUM}{_UNIT}?",
            # "Via Franscini 71 Suite 838", "Calle Mayor 45", "Avenida Paulista, 1578".
            # Capitalized: "catheter placed via Femoral 8 Fr" is no street.
            rf"(?:\b(?-i:(?=\p{{Lu}})){_BEFORE}|\b(?:ul|al|av|avda)\.)"
            rf"{_S}(?:{_PARTICLE}[ \t]*)*{_NAME}"
            rf"(?:{_S}(?:{_PARTICLE}[ \t]*)*{_NAME}){{0,2}},?{_S}{_NUM}{_UNIT}?",
            # "14 rue de la Paix", "1200 Rue Sherbrooke O".
            rf"\b{_NUM},?{_S}{_BEFORE}{_S}(?:{_PARTICLE}[ \t]*)*\p{{L}}[\p{{L}}'’-]*"
            rf"(?:{_S}(?:{_PARTICLE}[ \t]*)*{_NAME}){{0,3}}{_UNIT}?",
            # "88 Kingsway Apt 12", "221B Baker Street": number, capitalized words, unit.
            rf"\b\d{{1,6}}[A-Za-z]?{_S}(?:{_NAME}{_S}){{0,2}}{_NAME}{_UNIT_STRONG}",
            # Any capitalized street name, its number and a unit: "Franscini 71 Suite 838".
            rf"(?:\b\d{{3,6}}{_S})?\b{_NAME}(?:{_S}{_NAME}){{0,2}}{_S}\d{{1,5}}[A-Za-z]?{_UNIT_STRONG}",
            # Any capitalized name and number on a line of its own, above a line that starts
            # with a postcode (not a year): "Tuinen 12\n1234 AB Dorp", "Markt 5\n12345 Stadt".
            rf"(?m:^)[ \t]*{_NAME}(?:{_S}{_NAME}){{0,3}}{_S}{_NUM}(?=[ \t,]*\n[ \t]*"
            r"(?:(?-i:[A-Z]{1,3})-)?(?:\d{5}|\d{3} \d{2}|\d{2}-\d{3}|(?!(?:19|20)\d\d\b)\d{4}"
            r"|[1-9]\d{3} ?(?-i:[A-Z]{2}))(?![\w-]))",
            # "Lake Jennifer, NJ 12345": a town before a US state and ZIP code.
            rf"\b{_NAME}(?:{_S}{_NAME}){{0,2}},{_S}(?-i:{'|'.join(US_STATES)}){_S}\d{{5}}"
            r"(?:-\d{4})?(?![\w-])",
            # A building or flat on its own, before the street line ("Bât. B, appt 41").
            # A building letter counts only with the flat number after it.
            rf"\b(?:bât\.|bâtiment){_S}[\dA-Z][\w-]{{0,4}},{_S}(?:appt|apto|apt|porte)\.?{_S}"
            r"\d{1,5}[A-Za-z]?\b",
            rf"\b(?:appt|apto|flat|apt)\.?{_S}[A-Z]?\d[\w-]{{0,4}}\b"
            rf"(?:,{_S}(?:appt|apto|apt|porte)\.?{_S}\d{{1,5}}[A-Za-z]?\b)?",
            # Post-office boxes and US military mail.
            rf"\b(?:p\.?[ \t]?o\.?[ \t]?box|post{_S}office{_S}box|postfach|apartado|postboks)"
            r"[ \t]*#?[ \t]*\d{1,6}",
            rf"\b(?-i:PSC|CMR|Unit){_S}\d{{3,5}},?{_S}(?-i:Box){_S}\d{{1,5}}",
            rf"\b(?-i:USNS|USNV|USS|USCGC){_S}{_NAME}(?:{_S}{_NAME})?",
            rf"\b(?-i:APO|FPO|DPO){_S}(?-i:AA|AE|AP){_S}\d{{5}}",
        ]
    )
    + ")",
    flags=regex.IGNORECASE,
)
# One part of an address after a comma or on a line of its own: capitalized words, codes and
# numbers only ("Springfield", "IL 62704-1234", "1016 DV Amsterdam", "QC H3A 1G1", "3º B").
_PART_WORD = regex.compile(r"(?:\p{Lu}[\p{L}'’.-]*|\d[\dº°ª-]*[A-Za-z]?|[\p{Lu}\d]{2,4})")
# Inside a place part, after its first word: particles ("Mühldorf am Inn", "Ferreira dos
# Dourados"), a dash before a region or PIN ("Jaipur - 302001", "Abreu - RJ"), a region in
# brackets ("Trapani (TP)").
_PART_INNER = regex.compile(
    r"(?:am|an|im|in|der|den|bei|ob|nad|pod|upon|on|sur|sous|les|la|le|de|di|del|da|do|dos|das|"
    r"du|des|-|–|\((?-i:\p{Lu}{2,3})\))"
)
_NOT_PLACE = frozenset(
    "Dear Hi Hello Thanks Thank Regards Best Sincerely Re Subject Note Phone Tel Fax Email "
    "Mobile Attn From To Date Dr Mr Mrs Ms Hey Yours Cheers Please Kind".split()
)


_NEXT_PART = regex.compile(r",[ \t]*([^\n,;!?]+?)(?=[ \t]*(?:[,;!?\n]|\.(?!\w)|$))")
_NEXT_LINE = regex.compile(r"[ \t,.]*\n[ \t]*([^\n]+?)[ \t.]*(?=\n|$)")


def _place_part(part: str, *, max_words: int) -> bool:
    words = part.split()
    if not 1 <= len(words) <= max_words or len(part) > 48 or words[0] in _NOT_PLACE:
        return False
    return all(
        _PART_WORD.fullmatch(w.strip(",")) or (i and _PART_INNER.fullmatch(w.strip(",")))
        for i, w in enumerate(words)
    )


class FedftIntlAddressRecognizer(CodeRecognizer):
    """Street lines in many national formats, with the city / postcode parts after them."""

    ENTITIES = ("STREET_ADDRESS",)

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        out = []
        for m in _STREET.finditer(text):
            end = grow_address(text, m.end())
            out.append(RecognizerResult("STREET_ADDRESS", m.start(), end, 0.7))
        return out


def grow_address(text: str, end: int) -> int:
    """End of the address that starts before `end`: comma parts on the line, then up to
    three place lines below."""
    while (m := _NEXT_PART.match(text, end)) and _place_part(m.group(1), max_words=4):
        end = m.end()
    for _ in range(3):
        m = _NEXT_LINE.match(text, end)
        if not m or not _place_part(m.group(1).replace(",", " "), max_words=5):
            break
        end = m.end(1)
    return end


# Two capitals after four digits that are units or abbreviations, not a Dutch postcode.
_NOT_NL = frozenset("MG ML IU KG CM MM AM PM BC AD HR MS ST ND RD TH UK US EU OK SS SD SA".split())


class FedftPostalCodeRecognizer(PatternRecognizer):
    """Postal codes: national shapes that stand alone, and bare numbers in context."""

    PATTERNS = [
        Pattern("uk", r"(?-i:\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s?\d[A-Z]{2}\b)", 0.55),
        # The same in any case, with the letters the Royal Mail allows where they stand (an
        # inward code never ends in C, I, K, M, O or V): "nw1 6xe", but not "q4h 5mg".
        Pattern(
            "uk_any_case",
            r"\b[a-pr-uwyz][a-hk-y]?\d[a-hjkps-uw\d]?\s\d[abd-hjlnp-uw-z]{2}\b",
            0.5,
        ),
        Pattern(
            "canada",
            r"(?-i:\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b)",
            0.6,
        ),
        Pattern("zip_plus_4", r"(?<![\w-])\d{5}-\d{4}(?![\w-])", 0.55),
        Pattern("dutch", r"(?<![\w-])[1-9]\d{3}\s?(?-i:[A-Z]{2})\b", 0.45),
        Pattern(
            "after_label",
            # A cheap look-ahead first: the look-behind is then tried only where a code can start.
            r"(?-i:(?=[\dA-Z]))(?<=\b(?:zip|zip\s*code|zipcode|postal\s*code|post\s*code|postcode|plz|"
            r"code\s+postal)"
            r"\b\+?4?\s*(?:is\s+|was\s+|:|#|no\.?)?\s*)"
            r"(?:\d{3}\s\d{2}|\d{4,6}(?:-\d{3,4})?|\d{2}-\d{3}|(?-i:[A-Z]{1,3})-\d{4,5}"
            r"|[A-Z\d]{2,4}\s?[A-Z\d]{3})(?![\w-])",
            0.65,
        ),
        Pattern(
            "au_state", r"(?=\d)(?<=(?-i:\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)),?\s+)\d{4}\b", 0.6
        ),
        Pattern("japan", r"(?=\d)(?<=〒\s?)\d{3}-\d{4}\b", 0.7),
        # Brazil (CEP) and Portugal: digits, a dash, three digits.
        Pattern("br_pt", r"(?<![\w-])\d{4,5}-\d{3}(?![\w-])", 0.45),
        Pattern(
            "after_state",
            rf"(?=\d)(?<=(?-i:\b(?:{'|'.join(US_STATES)})),?\s+)\d{{5}}(?:-\d{{4}})?(?![\w-])",
            0.6,
        ),
        # "10115 Berlin", "394 13 Kalmar", "1016 DV Amsterdam" at the start of a part; a
        # four-digit year is no postcode here ("2019 Annual review").
        Pattern(
            "before_city",
            r"(?=\d)(?:(?<=(?:^|[,\n])[ \t]*)(?:\d{5}|\d{3}\s\d{2}|\d{2}-\d{3})"
            r"|(?<=,[ \t]*)(?!(?:19|20)\d\d\b)[1-9]\d{3}(?:\s?(?-i:[A-Z]{2}))?)"
            r"(?=\s+(?-i:\p{Lu}\p{Ll}{2,}))",
            0.5,
        ),
    ]
    CONTEXT = ["zip", "postcode", "postal", "address", "plz"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="POSTAL_CODE", language=supported_language))

    def invalidate_result(self, pattern_text: str) -> bool:
        letters = regex.sub(r"[^A-Z]", "", pattern_text)
        digits = regex.sub(r"\D", "", pattern_text)
        return len(digits) == 4 and len(letters) == 2 and letters in _NOT_NL


class FedftPlaceCueRecognizer(PatternRecognizer):
    """A town after "live(s) in", "moved to", "I'm from"...: chat lines and reviews name small
    places NER does not know ("she lives in Tujetsch")."""

    PATTERNS = [
        Pattern(
            "after_cue",
            r"(?-i:(?=\p{Lu}))(?<=\b(?:(?:live[sd]?|living|moved|moving|reside[sd]?|residing|based|born|grew\s+up)"
            r"(?:\s+(?:just|now|still|currently|all\s+my\s+life))?\s+(?:in|to|near)"
            # "my old place in ...", "our house in ...", "shipped it to my flat in ...".
            r"|(?:place|home|house|flat|apartment|address|parents'?)\s+(?:in|near)"
            r"|(?:i'm|i\s+am|we're|we\s+are|he's|she's|is|are|comes?|came)"
            # A street named just before the town ("just off Mill Lane in Kirkby").
            r"\s+from|(?-i:Street|Lane|Road|Avenue|Drive|Close|Crescent|Terrace)\s+in)\s+)"
            # Camel-case towns ("DuboisVille"), particles and hyphens ("Mühldorf am Inn",
            # "Rocher-les-Bains").
            r"(?-i:(?!\p{Lu}+\b)\p{Lu}[\p{L}'’]+"
            r"(?:(?:-|[ ](?:am|an|im|upon|on|sur|la|le|de|del)?[ ]?)\p{Lu}[\p{L}'’]+"
            r"|-\p{Ll}{1,3}-\p{Lu}[\p{L}'’]+){0,2})",
            0.5,
        )
    ]

    def __init__(self, supported_language: str = "en"):
        super().__init__(**pattern_args(self, entity="LOCATION", language=supported_language))
