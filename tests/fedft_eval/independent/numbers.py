"""Numbers and codes that identify: phones and faxes by country, dates and ages, government,
medical, financial, vehicle and device identifiers. Check digits are computed where the real
format has them (cards, IBAN, VIN, IMEI), so a checksum validator sees valid values.
"""

from __future__ import annotations

import datetime as dt
import random
import string

from fedft_eval.independent.corpus import Pii

__all__ = [
    "account",
    "age_over_89",
    "card",
    "date",
    "device",
    "health_plan",
    "ip",
    "license_no",
    "mrn",
    "national_id",
    "other_id",
    "phone",
    "ssn",
    "vehicle",
]

# Fixed windows: the corpus must not change with the day it is generated.
_EVENTS = (dt.date(2012, 1, 1), dt.date(2024, 12, 31))
_BIRTHS = (dt.date(1931, 1, 1), dt.date(2006, 12, 31))


def _d(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _nz(rng: random.Random, n: int) -> str:
    """n digits, the first not 0."""
    return str(rng.randint(1, 9)) + _d(rng, n - 1)


def _up(rng: random.Random, n: int, alphabet: str = string.ascii_uppercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:  # doubled: these sit at odd positions once the check digit is appended
            v = v * 2 - 9 if v > 4 else v * 2
        total += v
    return body + str((10 - total % 10) % 10)


def phone(rng: random.Random, *, category: str = "PHONE") -> Pii:
    """A phone (or fax) number as people write them in one of a dozen countries."""
    country, text = rng.choice(
        (
            ("us", f"({_nz(rng, 3)}) {_nz(rng, 3)}-{_d(rng, 4)}"),
            ("us", f"{_nz(rng, 3)}.{_nz(rng, 3)}.{_d(rng, 4)}"),
            ("us", f"+1 {_nz(rng, 3)} {_nz(rng, 3)} {_d(rng, 4)}"),
            ("us", f"{_nz(rng, 3)}-{_nz(rng, 3)}-{_d(rng, 4)} ext. {rng.randint(10, 999)}"),
            ("uk", f"+44 20 {_nz(rng, 4)} {_d(rng, 4)}"),
            ("uk", f"07{_d(rng, 3)} {_d(rng, 6)}"),
            ("de", f"+49 30 {_nz(rng, 8)}"),
            ("de", f"0{_nz(rng, 3)} / {_nz(rng, 6)}"),
            ("fr", f"0{rng.randint(1, 7)} {_d(rng, 2)} {_d(rng, 2)} {_d(rng, 2)} {_d(rng, 2)}"),
            ("fr", f"+33 6 {_d(rng, 2)} {_d(rng, 2)} {_d(rng, 2)} {_d(rng, 2)}"),
            ("it", f"+39 06 {_nz(rng, 4)} {_d(rng, 4)}"),
            ("in", f"+91 {rng.randint(7, 9)}{_d(rng, 4)} {_d(rng, 5)}"),
            ("au", f"(0{rng.randint(2, 8)}) {_nz(rng, 4)} {_d(rng, 4)}"),
            ("au", f"04{_d(rng, 2)} {_d(rng, 3)} {_d(rng, 3)}"),
            ("za", f"0{rng.randint(60, 84)} {_d(rng, 3)} {_d(rng, 4)}"),
            ("br", f"({_nz(rng, 2)}) 9{_d(rng, 4)}-{_d(rng, 4)}"),
            ("fi", f"040 {_d(rng, 3)} {_d(rng, 4)}"),
            ("nl", f"06-{_d(rng, 8)}"),
        )
    )
    return Pii(category, text, country)


def date(rng: random.Random, *, birth: bool = False) -> Pii:
    lo, hi = _BIRTHS if birth else _EVENTS
    day = dt.date.fromordinal(rng.randint(lo.toordinal(), hi.toordinal()))
    mon, d, y = day.strftime("%B"), day.day, day.year
    style, text = rng.choice(
        (
            ("us_slash", f"{day.month:02d}/{d:02d}/{y}"),
            ("us_slash_short", f"{day.month}/{d}/{y % 100:02d}"),
            ("eu_dot", f"{d:02d}.{day.month:02d}.{y}"),
            ("eu_slash", f"{d}/{day.month}/{y}"),
            ("iso", day.isoformat()),
            ("month_day_year", f"{mon} {d}, {y}"),
            ("day_month_year", f"{d} {mon} {y}"),
            ("abbrev", f"{mon[:3]} {d} {y}"),
            ("day_month", f"{d} {mon[:3]}"),
            ("month_day", f"{mon} {d}"),
            ("ordinal", f"the {d}{_ordinal(d)} of {mon}"),
        )
    )
    return Pii("DATE", text, style)


def _ordinal(d: int) -> str:
    return "th" if 10 < d % 100 < 14 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def age_over_89(rng: random.Random) -> Pii:
    return Pii("AGE_OVER_89", str(rng.randint(90, 104)), "number")


def ssn(rng: random.Random) -> Pii:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    a, g, s = f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}"
    style, text = rng.choice(
        (("dashed", f"{a}-{g}-{s}"), ("spaced", f"{a} {g} {s}"), ("bare", f"{a}{g}{s}"))
    )
    return Pii("SSN", text, style)


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _it_tail(rng: random.Random) -> str:
    """Codice fiscale after the birth day: town code (letter + 3 digits) and check letter."""
    return f"{_up(rng, 1)}{_d(rng, 3)}{_up(rng, 1)}"


def national_id(rng: random.Random) -> Pii:
    """Non-US national numbers, formats as issued (checksums not computed)."""
    yy, mm, dd = rng.randint(40, 99), rng.randint(1, 12), rng.randint(1, 28)
    style, text = rng.choice(
        (
            ("uk_nino", f"{_up(rng, 2, 'ABCEGHJKLMNPRSTWXYZ')} {_d(rng, 6)} {rng.choice('ABCD')}"),
            ("fi_hetu", f"{dd:02d}{mm:02d}{yy:02d}-{_d(rng, 3)}{rng.choice(_HETU_CHECK)}"),
            ("dk_cpr", f"{dd:02d}{mm:02d}{yy:02d}-{_d(rng, 4)}"),
            ("se_pnr", f"19{yy:02d}{mm:02d}{dd:02d}-{_d(rng, 4)}"),
            ("es_dni", f"{_d(rng, 8)}{rng.choice('TRWAGMYFPDXBNJZSQVHLCKE')}"),
            ("it_cf", f"{_up(rng, 6)}{yy:02d}{rng.choice('ABCDEHLMPRST')}{dd:02d}{_it_tail(rng)}"),
            ("in_aadhaar", f"{_nz(rng, 4)} {_d(rng, 4)} {_d(rng, 4)}"),
            ("in_pan", f"{_up(rng, 5)}{_d(rng, 4)}{_up(rng, 1)}"),
            ("br_cpf", f"{_d(rng, 3)}.{_d(rng, 3)}.{_d(rng, 3)}-{_d(rng, 2)}"),
            ("nl_bsn", _nz(rng, 9)),
            ("ca_sin", f"{_nz(rng, 3)} {_d(rng, 3)} {_d(rng, 3)}"),
        )
    )
    return Pii("NATIONAL_ID", text, style)


def mrn(rng: random.Random) -> Pii:
    style, text = rng.choice(
        (
            ("digits", _nz(rng, rng.randint(6, 9))),
            ("zero_padded", f"00{_nz(rng, 6)}"),
            ("letter_prefix", f"{_up(rng, 1)}{_d(rng, 7)}"),
            ("dashed", f"{_d(rng, 4)}-{_d(rng, 3)}-{_d(rng, 1)}"),
            ("site_prefix", f"{_up(rng, 3)}-{_d(rng, 6)}"),
        )
    )
    return Pii("MRN", text, style)


_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


def _mbi(rng: random.Random) -> str:
    """A Medicare Beneficiary Identifier: 11 characters, dashed 4-3-4."""
    a = f"{rng.randint(1, 9)}{_up(rng, 1, _MBI_LETTERS)}{_up(rng, 1, _MBI_LETTERS + '0123456789')}"
    b = f"{_up(rng, 2, _MBI_LETTERS)}{rng.randint(0, 9)}"
    return f"{a}{rng.randint(0, 9)}-{b}-{_up(rng, 2, _MBI_LETTERS)}{_d(rng, 2)}"


def health_plan(rng: random.Random) -> Pii:
    style, text = rng.choice(
        (
            ("member_prefix", f"{_up(rng, 3)}{_nz(rng, 9)}"),
            ("medicare_mbi", _mbi(rng)),
            ("policy_dashed", f"{_up(rng, 1)}-{_d(rng, 5)}-{_d(rng, 2)}"),
            ("uk_nhs", f"{_nz(rng, 3)} {_d(rng, 3)} {_d(rng, 4)}"),
            ("subscriber", f"W{_d(rng, 9)}"),
        )
    )
    return Pii("HEALTH_PLAN", text, style)


def _iban(rng: random.Random) -> str:
    cc, bban = rng.choice(
        (
            ("DE", _d(rng, 18)),
            ("GB", _up(rng, 4) + _d(rng, 14)),
            ("FR", _d(rng, 23)),
            ("NL", _up(rng, 4) + _d(rng, 10)),
            ("ES", _d(rng, 20)),
            ("FI", _d(rng, 14)),
            ("DK", _d(rng, 14)),
            ("IT", _up(rng, 1) + _d(rng, 22)),
        )
    )
    numeric = "".join(str(int(ch, 36)) for ch in bban + cc + "00")
    return f"{cc}{98 - int(numeric) % 97:02d}{bban}"


def account(rng: random.Random) -> Pii:
    r = rng.random()
    if r < 0.45:
        iban = _iban(rng)
        if rng.random() < 0.6:
            return Pii(
                "ACCOUNT", " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)), "iban_grouped"
            )
        return Pii("ACCOUNT", iban, "iban_compact")
    style, text = rng.choice(
        (
            ("us_checking", _nz(rng, rng.randint(9, 12))),
            ("dashed", f"{_d(rng, 4)}-{_d(rng, 6)}-{_d(rng, 2)}"),
            ("uk_sort_account", f"{_d(rng, 2)}-{_d(rng, 2)}-{_d(rng, 2)} {_d(rng, 8)}"),
            ("loan", f"LN-{_d(rng, 8)}"),
        )
    )
    return Pii("ACCOUNT", text, style)


def card(rng: random.Random) -> Pii:
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)))
    number = _luhn_complete(prefix + _d(rng, length - len(prefix) - 1))
    if length == 15:
        grouped = f"{number[:4]} {number[4:10]} {number[10:]}"
    else:
        grouped = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    style, text = rng.choice(
        (("spaced", grouped), ("dashed", grouped.replace(" ", "-")), ("compact", number))
    )
    return Pii("CARD", text, style)


def license_no(rng: random.Random) -> Pii:
    style, text = rng.choice(
        (
            ("ca_dl", f"{_up(rng, 1)}{_d(rng, 7)}"),
            ("ny_dl", f"{_d(rng, 3)} {_d(rng, 3)} {_d(rng, 3)}"),
            (
                "fl_dl",
                f"{_up(rng, 1)}{_d(rng, 3)}-{_d(rng, 3)}-{_d(rng, 2)}-{_d(rng, 3)}-{_d(rng, 1)}",
            ),
            ("uk_dvla", f"{_up(rng, 5)}{_d(rng, 6)}{_up(rng, 2)}{_d(rng, 1)}{_up(rng, 2)}"),
            ("medical", f"MD{_d(rng, 6)}"),
            ("nursing", f"RN-{_d(rng, 7)}"),
            ("dea", f"{_up(rng, 2)}{_d(rng, 7)}"),
            ("npi", f"1{_d(rng, 9)}"),
            ("contractor", f"CSLB #{_nz(rng, 6)}"),
        )
    )
    return Pii("LICENSE", text, style)


_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUE = {
    **{str(i): i for i in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin(rng: random.Random) -> str:
    chars = [rng.choice(_VIN_CHARS) for _ in range(17)]
    chars[12:17] = list(_d(rng, 5))
    total = sum(_VIN_VALUE[c] * w for c, w in zip(chars, _VIN_WEIGHTS, strict=True))
    chars[8] = "X" if total % 11 == 10 else str(total % 11)
    return "".join(chars)


def vehicle(rng: random.Random) -> Pii:
    style, text = rng.choice(
        (
            ("vin", _vin(rng)),
            ("vin", _vin(rng)),
            ("plate_us", f"{rng.randint(1, 9)}{_up(rng, 3)}{_d(rng, 3)}"),
            ("plate_uk", f"{_up(rng, 2)}{_d(rng, 2)} {_up(rng, 3)}"),
            ("plate_de", f"{_up(rng, rng.randint(1, 2))}-{_up(rng, 2)} {_nz(rng, 4)}"),
            ("plate_in", f"KA-{_d(rng, 2)}-{_up(rng, 2)}-{_d(rng, 4)}"),
            ("plate_fr", f"{_up(rng, 2)}-{_d(rng, 3)}-{_up(rng, 2)}"),
        )
    )
    return Pii("VEHICLE", text, style)


def device(rng: random.Random) -> Pii:
    style, text = rng.choice(
        (
            ("serial_alnum", f"{_up(rng, 3)}{_d(rng, 6)}{_up(rng, 1)}"),
            (
                "serial_dashed",
                f"{_d(rng, 1)}{_up(rng, 1)}{_d(rng, 1)}{_up(rng, 1)}-{_d(rng, 5)}-{_up(rng, 2)}",
            ),
            ("imei", _luhn_complete(_d(rng, 14))),
            ("mac", ":".join(f"{rng.randrange(256):02X}" for _ in range(6))),
            ("udi", f"(01){_d(rng, 14)}(21){_up(rng, 2)}{_d(rng, 5)}"),
            ("apple_serial", _up(rng, 12, "CDFGHJKLMNPQRTVWXY0123456789")),
        )
    )
    return Pii("DEVICE", text, style)


def ip(rng: random.Random) -> Pii:
    if rng.random() < 0.8:
        first = rng.choice([n for n in range(11, 224) if n not in (100, 127, 169, 172, 192)])
        octets = [first] + [rng.randint(0, 255) for _ in range(2)] + [rng.randint(1, 254)]
        return Pii("IP", ".".join(map(str, octets)), "ipv4")
    groups = [f"{rng.randrange(16**4):x}" for _ in range(8)]
    text = (
        ":".join(groups)
        if rng.random() < 0.5
        else ":".join(groups[:3]) + "::" + ":".join(groups[6:])
    )
    return Pii("IP", text, "ipv6")


def other_id(rng: random.Random) -> tuple[str, Pii]:
    """(what it is, the number): order, employee, case, ticket, passport, claim numbers."""
    label, style, text = rng.choice(
        (
            ("order", "amazon_order", f"{_d(rng, 3)}-{_d(rng, 7)}-{_d(rng, 7)}"),
            ("order", "hash_order", f"#{_nz(rng, 7)}"),
            ("employee ID", "employee", f"EMP-{_d(rng, 6)}"),
            ("case number", "case", f"{rng.randint(12, 24)}-CV-{_d(rng, 5)}"),
            ("passport", "passport_us", f"{_up(rng, 1)}{_d(rng, 8)}"),
            ("passport", "passport_uk", _nz(rng, 9)),
            ("claim", "claim", f"CLM{_d(rng, 10)}"),
            ("student ID", "student", f"S{_d(rng, 7)}"),
            ("customer number", "customer", f"{_up(rng, 2)}{_d(rng, 8)}"),
        )
    )
    return label, Pii("OTHER_ID", text, style)
