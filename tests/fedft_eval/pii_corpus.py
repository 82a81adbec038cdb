"""Seeded synthetic notes with planted PII in hard formats, to measure anonymization recall.

Every planted value is recorded with its entity label, character span and format style, so a
scorer can tell exactly what should have been removed. Formats go beyond the easy ones on
purpose: lowercase / ALL-CAPS / "Last, First" names, names with particles ("van der Berg",
"de la Cruz"), international phone numbers from several locales, SSNs without dashes, emails in
angle brackets, dates in words, and site identifiers (record numbers, ward codes, account
numbers) with and without context words. Non-identifying terms that must survive (drug names,
eponymous diseases, "SSN"/"DOB" labels, lab values) are recorded too, to measure precision.

Planted labels: PERSON, PHONE_NUMBER, EMAIL_ADDRESS, DATE_TIME, US_SSN, CREDIT_CARD, IBAN_CODE,
IP_ADDRESS, URL, LOCATION, STREET_ADDRESS, MEDICAL_RECORD_NUMBER, WARD_CODE, ACCOUNT_NUMBER.
The site-identifier formats match configs/policies/clinical.yaml and banking.yaml. Built on
the library's planted-PII pieces (fedft/data/planted.py), which the demo corpora use too.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from faker import Faker

from fedft.anonymize.names.words import PARTICLES
from fedft.data import planted
from fedft.data.planted import Planted

Domain = Literal["clinical", "banking", "mixed"]

# Labels whose every planted value must be removed ("no structured identifier survives").
STRUCTURED = frozenset(
    {
        "US_SSN",
        "CREDIT_CARD",
        "IBAN_CODE",
        "PHONE_NUMBER",
        "EMAIL_ADDRESS",
        "MEDICAL_RECORD_NUMBER",
        "WARD_CODE",
        "ACCOUNT_NUMBER",
        "IP_ADDRESS",
    }
)
_LOCALES = ("en_US", "en_GB", "de_DE", "nl_NL", "es_ES", "fr_FR", "it_IT")
_PARTICLES = ("van der", "van den", "van", "de la", "de", "von", "del", "da", "di", "le", "ter")
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_ORD = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}

# Terms that are not identifiers and must survive anonymization (precision probes).
KEEP_CLINICAL = (
    "metformin", "lisinopril", "atorvastatin", "amoxicillin", "warfarin", "insulin glargine",
    "Parkinson's disease", "Crohn's disease", "Hodgkin lymphoma", "Alzheimer's disease",
    "Down syndrome", "Cushing's syndrome", "chest pain", "COPD", "ECG", "HbA1c 7.2%",
    "BP 132/84", "500 mg twice daily", "troponin", "CT angiogram",
)  # fmt: skip
KEEP_BANKING = (
    "overdraft", "direct debit", "SWIFT transfer", "Visa", "Mastercard", "ATM", "mortgage",
    "APR 19.9%", "standing order", "chargeback", "savings account", "ISA",
)  # fmt: skip

CLINICAL_TEMPLATES = (
    "Patient: {person}. DOB: {dob}. MRN: {mrn}. Admitted to {ward} with {keep}.",
    "{person} presented with {keep}; started {keep}. Contact {phone}.",
    "Seen by Dr. {last} on {date}. Patient {person} reports improvement on {keep}.",
    "pt {person} (SSN {ssn}) called from {phone} about {keep}.",
    "Name: {person}\nDOB: {dob}\nPhone: {phone}\nEmail: {email}\nDx: {keep}",
    "Discharge summary for {person}, record {mrn}. Follow-up on {date} at {ward}.",
    "{person} was transferred from {ward} on {date}; {keep} continued.",
    "Referral letter: please see {person}, born {dob}, tel. {phone}, mail {email}.",
    "Next of kin {person} can be reached at {phone} or {email}.",
    "Lab note {mrn}: {keep}, {keep}. Reviewed by {person}.",
    "SSN: {ssn}. DOB {dob}. {keep} noted. Insurance card {card}.",
    "Family history of {keep}. {person} lives at {address}, {city}.",
    "Telehealth visit from IP {ip}; patient {person} shared results via {url}.",
    "Message from {email}: {person} asks to reschedule to {date}.",
    "{person} ({dob}) - {keep} - MRN {mrn} - ward {ward}",
    "Consent signed by {person} and witnessed by {person} on {date}.",
    "Called {person} at {phone}; no answer. Will retry. {keep} unchanged.",
    "Chart {mrn} reviewed. {keep} and {keep} discussed with {person}.",
    "Pharmacy: {keep} dispensed to {person}, social security number {ssn}.",
    "{person} reports {keep} since {date}. Daughter {person} present.",
)
BANKING_TEMPLATES = (
    "Account holder {person}, account {account}, IBAN {iban}. Product: {keep}.",
    "{person} disputed a {keep} on card {card} dated {date}.",
    "Customer {person} (DOB {dob}) called from {phone} about the {keep}.",
    "Transfer of 250.00 from acct no. {account} to {iban} requested by {person}.",
    "Name: {person}\nEmail: {email}\nPhone: {phone}\nAccount: {account}\nSSN: {ssn}",
    "Fraud alert: login from {ip} for {person}; card {card} blocked. {keep} reviewed.",
    "{person} lives at {address}, {city}, and asked about a {keep}.",
    "KYC check for {person}: SSN {ssn}, DOB {dob}, beneficiary IBAN {iban}.",
    "Statement for {account} sent to {email} on {date}.",
    "{person} and {person} opened a joint {keep}; contact {phone}.",
    "Chargeback filed by {person} for {account} ({keep}), see {url}.",
    "Mr. {last} requested a {keep} increase; reference {account}.",
)


@dataclass(frozen=True)
class CorpusDoc:
    text: str
    planted: tuple[Planted, ...]
    keep: tuple[str, ...]  # non-identifying terms that must survive

    @property
    def skeleton(self) -> str:
        """The text with every planted value cut out (the non-PII remainder)."""
        out, pos = [], 0
        for p in sorted(self.planted, key=lambda p: p.start):
            out.append(self.text[pos : p.start])
            out.append(" ")
            pos = p.end
        out.append(self.text[pos:])
        return "".join(out)


def name_parts(value: str) -> list[str]:
    """Identifying parts of a name: particles, initials and punctuation removed."""
    parts = re.split(r"[\s,\-]+", value)
    return [
        p.strip(".") for p in parts if len(p.strip(".")) > 1 and p.lower() not in PARTICLES
    ]


class _Slots:
    """Renders one slot value in a randomly chosen hard format; returns (value, style)."""

    def __init__(self, rng: random.Random, seed: int):
        self.rng = rng
        self.fakers = planted.seeded_fakers(_LOCALES, seed=seed * 31)
        self.us = self.fakers["en_US"]

    def _faker(self) -> Faker:
        return self.fakers[self.rng.choice(_LOCALES)]

    def _pick(self, options: dict[str, Callable[[], str]]) -> tuple[str, str]:
        style = self.rng.choice(list(options))
        return options[style](), style

    def person(self) -> tuple[str, str]:
        f = self._faker()
        first, last = f.first_name(), f.last_name()
        particle = f"{self._faker().first_name()} {self.rng.choice(_PARTICLES)} " + (
            self.fakers["nl_NL"].last_name().split()[-1].capitalize()
        )
        return self._pick(
            {
                "title": lambda: f"{first} {last}",
                "lower": lambda: f"{first} {last}".lower(),
                "upper": lambda: f"{first} {last}".upper(),
                "last_first": lambda: f"{last}, {first}",
                "particle": lambda: particle,
                "particle_lower": lambda: particle.lower(),
                "initial": lambda: f"{first[0]}. {last}",
            }
        )

    def last(self) -> tuple[str, str]:
        last = self._faker().last_name()
        return self._pick({"title": lambda: last, "upper": lambda: last.upper()})

    def phone(self) -> tuple[str, str]:
        d = [self.rng.randint(0, 9) for _ in range(10)]
        d[0], d[3] = self.rng.randint(2, 9), self.rng.randint(2, 9)
        a, b, c = "".join(map(str, d[:3])), "".join(map(str, d[3:6])), "".join(map(str, d[6:]))
        loc = self.rng.choice(("en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT"))
        return self._pick(
            {
                "us_paren": lambda: f"({a}) {b}-{c}",
                "us_dots": lambda: f"{a}.{b}.{c}",
                "us_bare": lambda: f"{a}{b}{c}",
                "us_e164": lambda: f"+1 {a} {b} {c}",
                "us_001": lambda: f"001-{a}-{b}-{c}",
                "us_ext": lambda: f"{a}-{b}-{c} ext. {self.rng.randint(10, 9999)}",
                "faker_us": lambda: self.us.phone_number(),
                "faker_intl": lambda: self.fakers[loc].phone_number(),
                "uk_00": lambda: f"0044 20 {b}{c[0]} {c[1:]}",
            }
        )

    def email(self) -> tuple[str, str]:
        e = self._faker().email()
        return self._pick(
            {"plain": lambda: e, "angle": lambda: f"<{e}>", "mailto": lambda: f"mailto:{e}"}
        )

    # Decorations around a value ("<...>", "mailto:", "MRN-", "ward ") are not identifying:
    # the planted span is the core value inside them.
    CORE = {
        "email": re.compile(r"[^<>:\s]+@[^<>\s]+"),
        "mrn": re.compile(r"\d{7}"),
        "ward": re.compile(r"\d{2}[A-Za-z]$"),
        "account": re.compile(r"\d[\d-]+"),
    }

    def date(self) -> tuple[str, str]:
        dt = self.us.date_between(start_date="-3y", end_date="today")
        return self._date(dt)

    def dob(self) -> tuple[str, str]:
        return self._date(self.us.date_of_birth(minimum_age=1, maximum_age=95))

    def _date(self, dt) -> tuple[str, str]:
        month, d, y = _MONTHS[dt.month - 1], dt.day, dt.year
        ordinal = f"{d}{_ORD.get(d, 'th')}"
        return self._pick(
            {
                "us_slash": lambda: f"{dt.month:02d}/{d:02d}/{y}",
                "iso": lambda: dt.isoformat(),
                "eu_dots": lambda: f"{d:02d}.{dt.month:02d}.{y}",
                "words": lambda: f"{month} {d}, {y}",
                "words_eu": lambda: f"{d} {month} {y}",
                "words_ordinal_lower": lambda: f"{ordinal} of {month.lower()} {y}",
                "abbrev": lambda: f"{month[:3]} {d} {y}",
            }
        )

    def ssn(self) -> tuple[str, str]:
        s = self.us.ssn()
        return self._pick(
            {
                "dashed": lambda: s,
                "bare": lambda: s.replace("-", ""),
                "spaced": lambda: s.replace("-", " "),
            }
        )

    def card(self) -> tuple[str, str]:
        n = planted.card_number(self.rng, self.us, types=("visa16", "mastercard", "amex"))
        groups = planted.group4(n)
        return self._pick(
            {
                "plain": lambda: n,
                "spaced": lambda: groups,
                "dashed": lambda: groups.replace(" ", "-"),
            }
        )

    def iban(self) -> tuple[str, str]:
        i = planted.iban(self.rng, self.fakers)
        spaced = planted.group4(i)
        return self._pick({"compact": lambda: i, "spaced": lambda: spaced})

    def ip(self) -> tuple[str, str]:
        return self._pick({"v4": self.us.ipv4_public, "v6": self.us.ipv6})

    def url(self) -> tuple[str, str]:
        return self._pick({"site": self.us.url, "path": lambda: self.us.url() + self.us.uri_path()})

    def city(self) -> tuple[str, str]:
        return self._faker().city(), "city"

    def address(self) -> tuple[str, str]:
        return self.us.street_address(), "us_street"

    def mrn(self) -> tuple[str, str]:
        n = planted.record_digits(self.rng)
        return self._pick(
            {"prefixed": lambda: f"MRN-{n}", "prefixed_lower": lambda: f"mrn{n}", "bare": lambda: n}
        )

    def ward(self) -> tuple[str, str]:
        code = f"W{self.rng.randint(1, 40):02d}{self.rng.choice('ABCDEFGH')}"
        return self._pick(
            {
                "code": lambda: code,
                "code_lower": lambda: code.lower(),
                "words": lambda: f"ward {code[1:]}",
            }
        )

    def account(self) -> tuple[str, str]:
        n = f"{self.rng.randint(0, 9_999_999_999):010d}"
        return self._pick(
            {
                "bare": lambda: n,
                "dashed": lambda: f"{n[:2]}-{n[2:8]}-{n[8:]}",
                "prefixed": lambda: f"ACC-{n}",
            }
        )


_LABELS = {
    "person": "PERSON", "last": "PERSON", "phone": "PHONE_NUMBER", "email": "EMAIL_ADDRESS",
    "date": "DATE_TIME", "dob": "DATE_TIME", "ssn": "US_SSN", "card": "CREDIT_CARD",
    "iban": "IBAN_CODE", "ip": "IP_ADDRESS", "url": "URL", "city": "LOCATION",
    "address": "STREET_ADDRESS", "mrn": "MEDICAL_RECORD_NUMBER", "ward": "WARD_CODE",
    "account": "ACCOUNT_NUMBER",
}  # fmt: skip


def _render(template: str, slots: _Slots, keep_pool: tuple[str, ...], case: str) -> CorpusDoc:
    rng = slots.rng
    doc, keep = planted.PlantedText(), []

    def cased(s: str) -> str:
        # Whole-note case styles of legacy systems and transcriptions; only length-preserving
        # transforms, so recorded spans stay exact.
        t = {"lower": s.lower(), "upper": s.upper()}.get(case, s)
        return t if len(t) == len(s) else s

    for literal, kind in planted.template_parts(template):
        doc.add(cased(literal))
        if kind == "keep":
            term = cased(rng.choice(keep_pool))
            keep.append(term)
            doc.add(term)
        elif kind is not None:
            rendered, style = getattr(slots, kind)()
            rendered = cased(rendered)
            core = _Slots.CORE.get(kind)
            found = core.search(rendered) if core else None
            doc.plant(
                _LABELS[kind],
                rendered,
                core=found.group() if found else None,
                style=style if case == "as_is" else f"{style}+{case}",
            )
    return CorpusDoc(text=doc.text, planted=tuple(doc.planted), keep=tuple(keep))


def generate_pii_corpus(*, n_docs: int, seed: int, domain: Domain = "mixed") -> list[CorpusDoc]:
    """`n_docs` notes (deterministic for a seed); 10% lowercased, 10% ALL-CAPS as whole notes."""
    if n_docs < 1:
        raise ValueError(f"n_docs must be >= 1, got {n_docs}")
    rng = random.Random(seed)
    slots = _Slots(rng, seed)
    docs, used = [], {"clinical": 0, "banking": 0}
    for i in range(n_docs):
        kind = domain if domain != "mixed" else ("banking" if i % 3 == 2 else "clinical")
        templates, pool = (
            (BANKING_TEMPLATES, KEEP_BANKING)
            if kind == "banking"
            else (CLINICAL_TEMPLATES, KEEP_CLINICAL)
        )
        case = rng.choices(("as_is", "lower", "upper"), weights=(8, 1, 1))[0]
        # Cycle through templates so every format appears in small corpora too.
        docs.append(_render(templates[used[kind] % len(templates)], slots, pool, case))
        used[kind] += 1
    return docs
