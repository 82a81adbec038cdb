"""The demo corpora's planted identifiers, in the formats sites actually write.

Every value comes as (entity, rendered, core) for `PlantedText.fill`: `core` is the
identifying part of a decorated value ("1234567" in "MRN-1234567"), None when all of it is.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from fedft.data.planted import (
    IBAN_LOCALES,
    card_number,
    group4,
    iban,
    record_digits,
    seeded_fakers,
)

__all__ = ["DemoPii"]

# Fixed date windows: Faker's relative ranges ("-30y") depend on today and would break
# determinism across days.
_DOB_RANGE = (dt.date(1936, 1, 1), dt.date(2005, 12, 31))
_VISIT_RANGE = (dt.date(2022, 1, 1), dt.date(2025, 6, 30))
_LOCALES = ("en_US", "en_US", "en_US", "en_GB", "es_ES", "de_DE")
_AREA_CODES = ("212", "312", "415", "617", "713", "206", "303", "404", "503", "614", "702", "919")


class DemoPii:
    """Realistic identifiers; all randomness is seeded (`rng`, and Fakers seeded from `seed`)."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.fakers = seeded_fakers(sorted(set(_LOCALES) | set(IBAN_LOCALES)), seed=seed * 7919)
        self.us = self.fakers["en_US"]

    def name(self) -> tuple[str, str]:
        f = self.fakers[self.rng.choice(_LOCALES)]
        return f.first_name(), f.last_name()

    def person(self, first: str, last: str) -> tuple[str, str, None]:
        style = self.rng.random()
        rendered = f"{last}, {first}" if style < 0.15 else f"{first} {last}"
        return ("PERSON", rendered, None)

    def phone(self) -> tuple[str, str, None]:
        r = self.rng
        a, b, c = (
            r.choice(_AREA_CODES),
            f"{r.randint(2, 9)}{r.randint(0, 99):02d}",
            f"{r.randint(0, 9999):04d}",
        )
        rendered = r.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}"))
        return ("PHONE_NUMBER", rendered, None)

    def email(self, first: str, last: str) -> tuple[str, str, None]:
        r = self.rng
        clean = [re.sub(r"[^a-z]", "", x.lower()) or "user" for x in (first, last)]
        local = r.choice(
            (
                f"{clean[0]}.{clean[1]}",
                f"{clean[0][0]}{clean[1]}{r.randint(1, 99)}",
                f"{clean[1]}{clean[0]}",
            )
        )
        return ("EMAIL_ADDRESS", f"{local}@{self.us.free_email_domain()}", None)

    def date(self, *, birth: bool) -> tuple[str, str, None]:
        lo, hi = _DOB_RANGE if birth else _VISIT_RANGE
        d = self.us.date_between_dates(lo, hi)
        rendered = self.rng.choice(
            (
                f"{d.month:02d}/{d.day:02d}/{d.year}",
                d.isoformat(),
                f"{d:%B} {d.day}, {d.year}",
                f"{d.day} {d:%b} {d.year}",
            )
        )
        return ("DATE_TIME", rendered, None)

    def ssn(self) -> tuple[str, str, None]:
        s = self.us.ssn()
        return ("US_SSN", s.replace("-", " ") if self.rng.random() < 0.15 else s, None)

    def mrn(self) -> tuple[str, str, str]:
        digits = record_digits(self.rng)
        rendered = self.rng.choice(
            (
                f"MRN-{digits}",
                f"MRN: {digits}",
                f"MRN {digits}",
                f"mrn{digits}",
                f"MRN#{digits}",
                f"med rec no. {digits}",
            )
        )
        return ("MEDICAL_RECORD_NUMBER", rendered, digits)

    def street(self) -> tuple[str, str, None]:
        return ("LOCATION", self.us.street_address(), None)

    def city(self) -> tuple[str, str, None]:
        return ("LOCATION", self.us.city(), None)

    def iban(self) -> tuple[str, str, None]:
        raw = iban(self.rng, self.fakers)
        return ("IBAN_CODE", group4(raw) if self.rng.random() < 0.4 else raw, None)

    def card(self) -> tuple[str, str, None]:
        number = card_number(self.rng, self.us, types=("visa16", "mastercard"))
        grouped = group4(number)
        return ("CREDIT_CARD", self.rng.choice((number, grouped, grouped.replace(" ", "-"))), None)

    def account(self) -> tuple[str, str, str]:
        digits = f"{self.rng.randint(10_000_000, 9_999_999_999)}"
        rendered = self.rng.choice(
            (f"acct {digits}", f"account no. {digits}", f"ACC-{digits}", f"account {digits}")
        )
        return ("ACCOUNT_NUMBER", rendered, digits)
