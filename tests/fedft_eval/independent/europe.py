"""European addresses (and the digit helpers the other builders share): number after the
street, postcode before the town, unit designators of each country."""

from __future__ import annotations

import random
import string

from fedft_eval.independent.corpus import Pii
from fedft_eval.independent.people import Source

__all__ = ["EUROPE", "digits", "street", "uk_postcode"]

# fmt: off
_UK_TOWNS = ("Leeds", "Sheffield", "Norwich", "Bristol", "Cardiff", "Glasgow", "Exeter", "Derby",
             "Swindon", "Ipswich", "Dundee", "Hull", "Luton", "Preston", "Bath", "Wrexham")
_UK_SUFFIX = ("Road", "Lane", "Close", "Avenue", "Gardens", "Terrace", "Street", "Way",
              "Crescent", "Drive")
_FR_CITIES = ("Paris", "Lyon", "Nantes", "Rennes", "Lille", "Toulouse", "Grenoble", "Dijon",
              "Brest", "Metz")
# fmt: on
# Faker's it_IT city() varies between processes (it draws from a set), so Italian towns are ours.
_IT_TOWNS = (
    "Bergamo",
    "Caldogno",
    "Cremona",
    "Lecce",
    "Matera",
    "Pavia",
    "Rovigo",
    "Sondrio",
    "Teramo",
    "Vercelli",
    "Viterbo",
    "Chioggia",
    "Arezzo",
    "Trapani",
)
_UK_INWARD = "ABDEFGHJLNPQRSTUWXYZ"

Lines = list[list[object]]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def uk_postcode(rng: random.Random) -> str:
    outward = rng.choice(("A9", "A99", "AA9", "AA99", "A9A", "AA9A"))
    out = "".join(
        rng.choice(string.ascii_uppercase if ch == "A" else string.digits) for ch in outward
    )
    inward = rng.choice(string.digits) + rng.choice(_UK_INWARD) + rng.choice(_UK_INWARD)
    return f"{out} {inward}"


def street(text: str, style: str) -> Pii:
    return Pii("STREET", text, style)


def _town_line(
    code: str, town: str, style: str, *, prefix: str = "", gap: str = " "
) -> list[object]:
    return [prefix, Pii("POSTAL_CODE", code, style), gap, Pii("CITY", town, style)]


def _uk(src: Source) -> Lines:
    rng = src.rng
    flat = rng.choice(("", "", f"Flat {rng.randint(1, 30)}, ", f"Flat {rng.randint(1, 9)}B, "))
    line = f"{flat}{rng.randint(1, 240)} {src.faker('en_GB').last_name()} {rng.choice(_UK_SUFFIX)}"
    return [
        [street(line, "uk")],
        [Pii("CITY", rng.choice(_UK_TOWNS), "uk")],
        [Pii("POSTAL_CODE", uk_postcode(rng), "uk")],
    ]


def _de(src: Source) -> Lines:
    rng = src.rng
    number = f"{rng.randint(1, 180)}{rng.choice(('', '', 'a', 'b'))}"
    code, prefix = f"{rng.randint(1067, 99998):05d}", "D-" if rng.random() < 0.15 else ""
    return [
        [street(f"{src.faker('de_DE').street_name()} {number}", "de")],
        _town_line(code, src.faker("de_DE").city(), "de", prefix=prefix),
    ]


def _at(src: Source) -> Lines:
    rng = src.rng
    number = f"{rng.randint(1, 90)}/{rng.randint(1, 9)}/{rng.randint(1, 30)}"  # house/stair/door
    return [
        [street(f"{src.faker('de_AT').street_name()} {number}", "at")],
        _town_line(str(rng.randint(1010, 9992)), src.faker("de_AT").city(), "at"),
    ]


def _ch(src: Source) -> Lines:
    rng = src.rng
    if rng.random() < 0.4:  # Ticino: Italian street names
        name = f"Via {src.faker('it_IT').last_name()}"
    else:
        name = src.faker("de_CH").street_name()
    code = str(rng.randint(1000, 9658))
    return [
        [street(f"{name} {rng.randint(1, 120)}", "ch")],
        _town_line(code, src.faker("de_CH").city(), "ch", prefix=rng.choice(("", "CH-"))),
    ]


def _fr(src: Source) -> Lines:
    rng = src.rng
    number = f"{rng.randint(1, 150)}{rng.choice(('', '', ' bis', ' ter'))}"
    city = rng.choice(_FR_CITIES)
    city = city.upper() if rng.random() < 0.4 else city  # La Poste wants the town in capitals
    lines = [
        [street(f"{number}, {src.faker('fr_FR').street_name()}", "fr")],
        _town_line(f"{rng.randint(1000, 95999):05d}", city, "fr"),
    ]
    if rng.random() < 0.3:
        unit = f"Bât. {rng.choice('ABCD')}, appt {rng.randint(1, 60)}"
        lines.insert(0, [street(unit, "fr_unit")])
    return lines


def _it(src: Source) -> Lines:
    rng = src.rng
    unit = rng.choice(("", "", f", int. {rng.randint(1, 20)}", "/B"))
    prov = rng.choice(("MI", "RM", "TO", "BO", "FI", "NA", "VE", "GE"))
    code = f"{rng.randint(10, 98168):05d}"
    return [
        [street(f"{src.faker('it_IT').street_name()} {rng.randint(1, 200)}{unit}", "it")],
        [*_town_line(code, rng.choice(_IT_TOWNS), "it"), f" ({prov})"],
    ]


def _es(src: Source) -> Lines:
    rng = src.rng
    floor = f"{rng.randint(1, 9)}º {rng.choice('ABCD')}"
    line = f"{src.faker('es_ES').street_name()}, {rng.randint(1, 120)}, {floor}"
    code = f"{rng.randint(1001, 52080):05d}"
    return [[street(line, "es")], _town_line(code, src.faker("es_ES").city(), "es")]


def _nl(src: Source) -> Lines:
    rng = src.rng
    number = f"{rng.randint(1, 300)}{rng.choice(('', '', '-II', 'A', ' hs'))}"
    letters = rng.choice(string.ascii_uppercase) + rng.choice(string.ascii_uppercase)
    code = f"{rng.randint(1011, 9999)} {letters}"
    town = src.faker("nl_NL").city()
    return [
        [street(f"{src.faker('nl_NL').street_name()} {number}", "nl")],
        _town_line(code, town, "nl", gap=rng.choice((" ", "  "))),
    ]


def _fi(src: Source) -> Lines:
    rng = src.rng
    stair = rng.choice(
        ("", f" A {rng.randint(1, 40)}", f" B {rng.randint(1, 40)}", f" as. {rng.randint(1, 60)}")
    )
    city = src.faker("fi_FI").city()
    city = city.upper() if rng.random() < 0.5 else city
    return [
        [street(f"{src.faker('fi_FI').street_name()} {rng.randint(1, 99)}{stair}", "fi")],
        _town_line(f"{rng.randint(100, 99999):05d}", city, "fi"),
    ]


def _dk(src: Source) -> Lines:
    rng = src.rng
    floor = rng.choice(("", ", 2. th.", ", st. tv.", ", 1. mf."))
    return [
        [street(f"{src.faker('da_DK').street_name()} {rng.randint(1, 150)}{floor}", "dk")],
        _town_line(str(rng.randint(1050, 9990)), src.faker("da_DK").city(), "dk"),
    ]


def _se(src: Source) -> Lines:
    rng = src.rng
    flat = rng.choice(("", f", lgh {rng.randint(1001, 1603)}"))
    code = f"{rng.randint(100, 984)} {digits(rng, 2)}"
    return [
        [street(f"{src.faker('sv_SE').street_name()} {rng.randint(1, 90)}{flat}", "se")],
        _town_line(code, src.faker("sv_SE").city(), "se"),
    ]


def _cz(src: Source) -> Lines:
    rng = src.rng
    number = f"{rng.randint(100, 3200)}/{rng.randint(1, 60)}"  # land-registry / street number
    code = f"{rng.randint(100, 798)} {digits(rng, 2)}"
    return [
        [street(f"{src.faker('cs_CZ').street_name()} {number}", "cz")],
        _town_line(code, src.faker("cs_CZ").city(), "cz"),
    ]


def _hu(src: Source) -> Lines:
    rng = src.rng
    name = src.faker("hu_HU").street_name()
    if rng.random() < 0.5:
        name = name.replace(" utca", " u.")
    floor = rng.choice(("", f" {rng.randint(1, 6)}. em. {rng.randint(1, 12)}."))
    line = street(f"{name} {rng.randint(1, 120)}.{floor}", "hu")
    code, city = str(rng.randint(1011, 9985)), src.faker("hu_HU").city()
    if rng.random() < 0.5:  # Hungarian order: postcode, town, then the street, on one line
        return [[*_town_line(code, city, "hu"), ", ", line]]
    return [[line], _town_line(code, city, "hu", prefix=rng.choice(("", "H-")))]


def _pl(src: Source) -> Lines:
    rng = src.rng
    flat = rng.choice(("", f" m. {rng.randint(1, 80)}", f"/{rng.randint(1, 80)}"))
    code = f"{rng.randint(0, 99):02d}-{digits(rng, 3)}"
    return [
        [street(f"ul. {src.faker('pl_PL').street_name()} {rng.randint(1, 150)}{flat}", "pl")],
        _town_line(code, src.faker("pl_PL").city(), "pl"),
    ]


EUROPE = {
    "United Kingdom": (_uk, 3),
    "Germany": (_de, 2),
    "Austria": (_at, 1),
    "Switzerland": (_ch, 1),
    "France": (_fr, 2),
    "Italy": (_it, 2),
    "Spain": (_es, 2),
    "Netherlands": (_nl, 1),
    "Finland": (_fi, 1),
    "Denmark": (_dk, 1),
    "Sweden": (_se, 1),
    "Czech Republic": (_cz, 1),
    "Hungary": (_hu, 1),
    "Poland": (_pl, 1),
}
