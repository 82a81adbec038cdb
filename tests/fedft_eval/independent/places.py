"""Postal addresses of 18 countries as their post offices and residents write them: number
before or after the street, unit designators (Apt., Suite, Unit, Flat, lgh, m., int., apto),
PO boxes and US military (PSC/APO) addresses, postcodes in each national format, laid out as
a multi-line block or on one line. Faker gives street and place names; the layouts are ours.

An address is a list of parts: STREET (number, street and unit), CITY and POSTAL_CODE are
planted; state, province and country are not identifiers under Safe Harbor and stay plain.
"""

from __future__ import annotations

import random
import string

from fedft_eval.independent.corpus import Pii
from fedft_eval.independent.europe import EUROPE, digits, street, uk_postcode
from fedft_eval.independent.people import Source

__all__ = ["COUNTRIES", "address", "postcode"]

# fmt: off
_US_CITIES = (("Springfield", "IL"), ("Tucson", "AZ"), ("Dayton", "OH"), ("Boise", "ID"),
              ("Eugene", "OR"), ("Albany", "NY"), ("Savannah", "GA"), ("Lubbock", "TX"),
              ("Duluth", "MN"), ("Fresno", "CA"), ("Bangor", "ME"), ("Chattanooga", "TN"),
              ("Provo", "UT"), ("Asheville", "NC"), ("Kalamazoo", "MI"), ("Tacoma", "WA"),
              ("Bozeman", "MT"), ("Burlington", "VT"), ("Pensacola", "FL"), ("Wichita", "KS"))
_US_STREETS = ("Maple", "Oak", "Cedar", "Washington", "Lincoln", "Hillcrest", "Sunset", "Main",
               "Church", "Mill", "Pleasant", "Ridgeview", "Walnut", "Highland", "Jefferson")
_US_SUFFIX = ("St", "Street", "Ave", "Avenue", "Rd", "Road", "Dr", "Drive", "Ln", "Ct", "Blvd",
              "Way")
_CA_CITIES = (("Halifax", "NS"), ("Kingston", "ON"), ("Regina", "SK"), ("Kelowna", "BC"),
              ("Sherbrooke", "QC"), ("Moncton", "NB"), ("Red Deer", "AB"), ("Brandon", "MB"))
_AU_SUBURBS = (("Parramatta", "NSW"), ("Fremantle", "WA"), ("Glenelg", "SA"), ("Toowong", "QLD"),
               ("Fitzroy", "VIC"), ("Newtown", "NSW"), ("Sandy Bay", "TAS"), ("Belconnen", "ACT"))
# fmt: on
_IN_CITIES = ("Bengaluru", "Pune", "Kochi", "Jaipur", "Indore", "Nagpur", "Mysuru", "Coimbatore")
_BR_STATES = ("SP", "RJ", "MG", "RS", "PR", "BA", "PE", "CE")

Lines = list[list[object]]


def _letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))


def _zip(rng: random.Random) -> tuple[str, str]:
    z = f"{rng.randint(1001, 99950):05d}"
    return (f"{z}-{digits(rng, 4)}", "zip4") if rng.random() < 0.3 else (z, "zip5")


def postcode(src: Source) -> Pii:
    """A postal code on its own, in one of the national formats (for free-text mentions)."""
    rng = src.rng
    style, code = rng.choice(
        (
            ("zip5", f"{rng.randint(1001, 99950):05d}"),
            ("zip4", f"{rng.randint(1001, 99950):05d}-{digits(rng, 4)}"),
            ("uk", uk_postcode(rng)),
            ("ca", src.faker("en_CA").postcode()),
            ("nl", f"{rng.randint(1000, 9999)} {_letters(rng, 2)}"),
            ("four_digit", str(rng.randint(1000, 9999))),
            ("se_cz", f"{rng.randint(100, 989)} {digits(rng, 2)}"),
            ("pl", f"{digits(rng, 2)}-{digits(rng, 3)}"),
            ("br", f"{digits(rng, 5)}-{digits(rng, 3)}"),
            ("in_pin", f"{rng.randint(11, 85)}{digits(rng, 4)}"),
            ("de_fr_fi", f"{rng.randint(1000, 99999):05d}"),
        )
    )
    return Pii("POSTAL_CODE", code, style)


def _us(src: Source) -> Lines:
    rng = src.rng
    city, state = (
        rng.choice(_US_CITIES)
        if rng.random() < 0.7
        else (src.faker("en_US").city(), src.faker("en_US").state_abbr())
    )
    zip_code, zstyle = _zip(rng)
    kind = rng.random()
    if kind < 0.12:
        return [
            [street(f"P.O. Box {rng.randint(10, 9999)}", "us_po_box")],
            [Pii("CITY", city, "us"), f", {state} ", Pii("POSTAL_CODE", zip_code, zstyle)],
        ]
    name = (
        src.faker("en_US").street_name()
        if rng.random() < 0.5
        else f"{rng.choice(_US_STREETS)} {rng.choice(_US_SUFFIX)}"
    )
    direction = rng.choice(("", "N ", "S ", "W ", "E ")) if rng.random() < 0.2 else ""
    line = f"{rng.randint(1, 29999)} {direction}{name}"
    unit = rng.choice(
        (
            "",
            "",
            f" Apt. {rng.randint(1, 40)}{rng.choice('ABCD')}",
            f", Apt {rng.randint(1, 999)}",
            f" Suite {rng.randint(100, 950)}",
            f", Unit {rng.randint(1, 60)}",
            f" #{rng.randint(2, 40)}",
        )
    )
    return [
        [street(line + unit, "us")],
        [Pii("CITY", city, "us"), f", {state} ", Pii("POSTAL_CODE", zip_code, zstyle)],
    ]


def _military(src: Source) -> Lines:
    rng = src.rng
    first = rng.choice(
        (
            f"PSC {digits(rng, 4)}, Box {digits(rng, 4)}",
            f"Unit {digits(rng, 4)} Box {digits(rng, 4)}",
            f"CMR {digits(rng, 3)}, Box {digits(rng, 4)}",
        )
    )
    post, region = rng.choice(
        (("APO", "AE"), ("APO", "AP"), ("APO", "AA"), ("FPO", "AP"), ("DPO", "AE"))
    )
    return [
        [street(first, "us_military")],
        [
            f"{post} {region} ",
            Pii("POSTAL_CODE", f"{rng.randint(9001, 96699):05d}", "zip_military"),
        ],
    ]


def _ca(src: Source) -> Lines:
    rng = src.rng
    city, prov = rng.choice(_CA_CITIES)
    unit = rng.choice(("", f"Apt {rng.randint(101, 1904)}, ", f"{rng.randint(1, 40)}-"))
    name = f"{rng.choice(_US_STREETS)} {rng.choice(('St', 'Ave', 'Crescent', 'Rd'))}"
    line = f"{unit}{rng.randint(1, 9999)} {name}"
    return [
        [street(line, "ca")],
        [
            Pii("CITY", city, "ca"),
            f" {prov}  ",
            Pii("POSTAL_CODE", src.faker("en_CA").postcode(), "ca"),
        ],
    ]


def _au(src: Source) -> Lines:
    rng = src.rng
    suburb, state = rng.choice(_AU_SUBURBS)
    unit = rng.choice(("", f"Unit {rng.randint(1, 30)}, ", f"{rng.randint(1, 30)}/"))
    name = f"{src.faker('en_AU').last_name()} {rng.choice(('Street', 'Parade', 'Road', 'Place'))}"
    line = f"{unit}{rng.randint(1, 400)} {name}"
    return [
        [street(line, "au")],
        [
            Pii("CITY", suburb.upper() if rng.random() < 0.4 else suburb, "au"),
            f" {state} ",
            Pii("POSTAL_CODE", str(rng.randint(800, 7470)).zfill(4), "au"),
        ],
    ]


def _in(src: Source) -> Lines:
    rng = src.rng
    building = f"{src.faker('en_IN').last_name()} Residency"
    road = f"{rng.randint(1, 90)} {src.faker('en_IN').street_name()}"
    line = f"Flat {rng.randint(101, 1204)}, {building}, {road}"
    pin = f"{rng.randint(11, 85)}{digits(rng, 4)}"
    return [
        [street(line, "in")],
        [Pii("CITY", rng.choice(_IN_CITIES), "in"), " - ", Pii("POSTAL_CODE", pin, "in")],
    ]


def _br(src: Source) -> Lines:
    rng = src.rng
    unit = rng.choice(("", f", apto {rng.randint(11, 304)}", " - casa 2"))
    line = f"Rua {src.faker('pt_BR').last_name()}, {rng.randint(1, 3000)}{unit}"
    cep = f"{digits(rng, 5)}-{digits(rng, 3)}"
    return [
        [street(line, "br")],
        [Pii("CITY", src.faker("pt_BR").city(), "br"), f" - {rng.choice(_BR_STATES)}"],
        [Pii("POSTAL_CODE", cep, "br")],
    ]


COUNTRIES = {
    "United States": (_us, 8),
    "US military": (_military, 1),
    **EUROPE,
    "Canada": (_ca, 2),
    "Australia": (_au, 2),
    "India": (_in, 2),
    "Brazil": (_br, 1),
}


def address(src: Source, *, inline: bool = False, country: str | None = None) -> list[object]:
    """One postal address; a block of lines, or one line joined with commas."""
    rng = src.rng
    if country is None:
        names = list(COUNTRIES)
        country = rng.choices(names, weights=[COUNTRIES[n][1] for n in names])[0]
    lines = COUNTRIES[country][0](src)
    if country not in ("United States", "US military") and rng.random() < 0.5:
        lines.append([country.upper() if rng.random() < 0.5 else country])
    sep = ", " if inline else "\n"
    out: list[object] = []
    for i, line in enumerate(lines):
        if i:
            out.append(sep)
        out.extend(line)
    return out
