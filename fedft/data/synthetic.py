"""Seeded synthetic demo corpora (clinical notes, bank service notes) with planted PII.

Records are deterministic for a seed. Every planted identifier is listed in the record's `pii`
field as {"entity", "value", "start", "end"} with `text[start:end] == value` (for instruction
records the span refers to `input`), so anonymization recall can be measured exactly. For
identifiers written with a decoration ("MRN-1234567", "acct 12345678") the value is the
identifying digits; the decoration is not identifying.

Labels are carried by clinical (or banking) content drawn from several varied phrase pools, with
phrases shared between labels and other labels' vocabulary in the past history (see phrases.py),
so a classifier has something to learn and does not reach 100% from one keyword.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from faker import Faker

from fedft.data import phrases

Kind = Literal["clinical", "banking"]
Task = Literal["classification", "instruction"]

CLINICAL_LABELS: tuple[str, ...] = tuple(phrases.CLINICAL)
BANKING_LABELS: tuple[str, ...] = tuple(phrases.BANKING)
LABELS: Mapping[str, tuple[str, ...]] = {"clinical": CLINICAL_LABELS, "banking": BANKING_LABELS}

# Share of notes whose label is another plausible one (mis-routed referrals and tickets): real
# labels are noisy, and it keeps the demo accuracy ceiling below 100%.
LABEL_NOISE = 0.03

# Fixed date windows: Faker's relative ranges ("-30y") depend on today and would break
# determinism across days.
_DOB_RANGE = (dt.date(1936, 1, 1), dt.date(2005, 12, 31))
_VISIT_RANGE = (dt.date(2022, 1, 1), dt.date(2025, 6, 30))
_LOCALES = ("en_US", "en_US", "en_US", "en_GB", "es_ES", "de_DE")
_AREA_CODES = ("212", "312", "415", "617", "713", "206", "303", "404", "503", "614", "702", "919")
_IBAN_LOCALES = ("de_DE", "nl_NL", "en_GB", "fr_FR", "es_ES")


def generate_corpus(
    *, kind: Kind, n: int, seed: int, task: Task = "classification"
) -> list[dict[str, Any]]:
    """`n` records, balanced over the labels, in a seeded random order.

    classification: {"text", "label", "pii"}; instruction: {"instruction", "input", "response",
    "pii"} with short notes (~150-250 characters) so prompts fit 128 tokens.
    """
    if kind not in LABELS:
        raise ValueError(f"kind must be 'clinical' or 'banking', got {kind!r}")
    if task not in ("classification", "instruction"):
        raise ValueError(f"task must be 'classification' or 'instruction', got {task!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = random.Random(seed)
    pii = _PiiMaker(rng, seed)
    labels = LABELS[kind]
    order = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(order)
    make = {
        ("clinical", "classification"): _clinical_note,
        ("banking", "classification"): _banking_note,
        ("clinical", "instruction"): _clinical_instruction,
        ("banking", "instruction"): _banking_instruction,
    }[(kind, task)]
    return [make(rng, pii, label) for label in order]


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """Write one JSON object per line (UTF-8, non-ASCII kept as is); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out


class _Note:
    """Text under construction; PII spans are recorded as they are appended."""

    def __init__(self) -> None:
        self.text = ""
        self.pii: list[dict[str, Any]] = []

    def add(self, piece: str) -> None:
        self.text += piece

    def add_pii(self, entity: str, rendered: str, core: str | None = None) -> None:
        # `core` is the identifying part of a decorated value ("1234567" in "MRN-1234567").
        offset = rendered.index(core) if core else 0
        value = core or rendered
        start = len(self.text) + offset
        self.text += rendered
        self.pii.append(
            {"entity": entity, "value": value, "start": start, "end": start + len(value)}
        )

    def fill(self, template: str, values: Mapping[str, tuple[str, str, str | None]]) -> None:
        """Append `template`, replacing {slot} by a PII value (entity, rendered, core)."""
        pos = 0
        for m in re.finditer(r"\{(\w+)\}", template):
            self.add(template[pos : m.start()])
            self.add_pii(*values[m.group(1)])
            pos = m.end()
        self.add(template[pos:])


class _PiiMaker:
    """Realistic identifiers in the formats sites actually write; all randomness is seeded."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.fakers = {loc: Faker(loc) for loc in sorted(set(_LOCALES) | set(_IBAN_LOCALES))}
        for i, name in enumerate(sorted(self.fakers)):
            self.fakers[name].seed_instance(seed * 7919 + i)
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
        digits = f"{self.rng.randint(0, 9_999_999):07d}"
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
        raw = self.fakers[self.rng.choice(_IBAN_LOCALES)].iban()
        spaced = " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        return ("IBAN_CODE", spaced if self.rng.random() < 0.4 else raw, None)

    def card(self) -> tuple[str, str, None]:
        number = self.us.credit_card_number(card_type=self.rng.choice(("visa16", "mastercard")))
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return ("CREDIT_CARD", self.rng.choice((number, grouped, grouped.replace(" ", "-"))), None)

    def account(self) -> tuple[str, str, str]:
        digits = f"{self.rng.randint(10_000_000, 9_999_999_999)}"
        rendered = self.rng.choice(
            (f"acct {digits}", f"account no. {digits}", f"ACC-{digits}", f"account {digits}")
        )
        return ("ACCOUNT_NUMBER", rendered, digits)


# ---- clinical ------------------------------------------------------------------------------

_CLINICAL_HEADERS = (
    "Patient: {name}, DOB {dob}, {mrn}. ",
    "{name} ({mrn}) seen on {visit}. ",
    "Name: {name}. DOB: {dob}. {mrn}. ",
    "Visit {visit}: {name}, born {dob}, {mrn}. ",
    "{mrn} | {name} | DOB {dob}. ",
)
_CLINICAL_FOOTERS = (
    " Contact: {phone}, {email}. SSN {ssn}.",
    " Reach at {phone} or {email}; SSN: {ssn}.",
    " Phone {phone}. Email {email}. Social security no. {ssn}.",
    " SSN {ssn}; tel {phone}; {email}.",
)
_FRAMES = {
    "complaint": ("{age}-year-old {sex} presents with {x}.", "Reports {x} for {dur}.", "CC: {x}.",
                  "Seen today for {x}.", "Complains of {x} since {since}."),
    "finding": ("Exam: {x}.", "{X}.", "Workup: {x}.", "On review, {x}."),
    "medication": ("Started {x}.", "Continue {x}.", "Prescribed {x}.", "Dose of {x} adjusted."),
    "plan": ("Plan: {x}.", "{X}.", "Next step: {x}."),
    "diagnosis": ("Impression: {x}.", "Likely {x}.", "Assessment: {x}.", "Working diagnosis: {x}."),
    "history": ("PMH: {x}.", "History of {x}.", "Background of {x}."),
    "shared": ("Also notes {x}.", "Mentions {x}.", "Some {x} reported."),
}  # fmt: skip
_DURATIONS = ("two days", "a week", "three weeks", "a month", "several months")
_SINCE = ("last month", "the weekend", "early spring", "a recent flight", "starting a new job")


def _frame(rng: random.Random, pool: str, phrase: str) -> str:
    x = phrase
    return rng.choice(_FRAMES[pool]).format(
        x=x, X=x[0].upper() + x[1:], age=rng.randint(19, 89), sex=rng.choice(("man", "woman")),
        dur=rng.choice(_DURATIONS), since=rng.choice(_SINCE),
    )  # fmt: skip


def _noisy(rng: random.Random, label: str, labels: Sequence[str]) -> str:
    if rng.random() < LABEL_NOISE:
        return rng.choice([x for x in labels if x != label])
    return label


def _shared_for(rng: random.Random, shared: Sequence[tuple[str, Sequence[str]]], label: str) -> str:
    fitting = [phrase for phrase, labels in shared if label in labels]
    # Now and then a shared phrase that does not fit the label: patients mention other things.
    return rng.choice(fitting if fitting and rng.random() < 0.7 else [p for p, _ in shared])


def _clinical_body(rng: random.Random, label: str) -> list[str]:
    pools = phrases.CLINICAL[label]
    k = rng.choices((1, 2, 3), weights=(0.25, 0.45, 0.30))[0]
    chosen = rng.sample(("complaint", "finding", "medication", "plan", "diagnosis"), k)
    sentences = [_frame(rng, pool, rng.choice(pools[pool])) for pool in chosen]
    if "complaint" not in chosen:
        shared = _shared_for(rng, phrases.CLINICAL_SHARED, label)
        sentences.insert(0, _frame(rng, "complaint", shared))
    elif rng.random() < 0.5:
        sentences.append(_frame(rng, "shared", _shared_for(rng, phrases.CLINICAL_SHARED, label)))
    if rng.random() < 0.6:
        sentences.insert(
            rng.randint(1, len(sentences)),
            _frame(rng, "history", rng.choice(phrases.CLINICAL_HISTORY)),
        )
    for neutral in rng.sample(phrases.CLINICAL_NEUTRAL, rng.randint(0, 2)):
        sentences.insert(rng.randint(1, len(sentences)), neutral)
    return sentences


def _clinical_note(rng: random.Random, pii: _PiiMaker, label: str) -> dict[str, Any]:
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "dob": pii.date(birth=True),
        "visit": pii.date(birth=False),
        "mrn": pii.mrn(),
        "phone": pii.phone(),
        "email": pii.email(first, last),
        "ssn": pii.ssn(),
    }
    note = _Note()
    note.fill(rng.choice(_CLINICAL_HEADERS), values)
    note.add(" ".join(_clinical_body(rng, label)))
    if rng.random() < 0.2:
        note.add(" Seen by Dr. ")
        note.add_pii("PERSON", pii.name()[1])
        note.add(".")
    if rng.random() < 0.3:
        note.fill(" Lives at {street}, {city}.", {"street": pii.street(), "city": pii.city()})
    note.fill(rng.choice(_CLINICAL_FOOTERS), values)
    return {"text": note.text, "label": _noisy(rng, label, CLINICAL_LABELS), "pii": note.pii}


_CLINICAL_QUESTIONS = (
    (
        "specialty",
        ("Name the specialty for this note.", "Which department should see the patient?"),
    ),
    ("medication", ("Which medication was started?", "Name the drug prescribed in this note.")),
    ("complaint", ("What is the chief complaint?", "Summarize the presenting problem briefly.")),
)


def _clinical_instruction(rng: random.Random, pii: _PiiMaker, label: str) -> dict[str, Any]:
    pools = phrases.CLINICAL[label]
    complaint, finding, med = (rng.choice(pools[p]) for p in ("complaint", "finding", "medication"))
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "mrn": pii.mrn(),
        "visit": pii.date(birth=False),
        "phone": pii.phone(),
    }
    note = _Note()
    note.fill(
        rng.choice(
            (
                "{name}, {mrn}, seen {visit}. ",
                "{mrn}: {name}, tel {phone}. ",
                "Visit {visit}, {name}. ",
            )
        ),
        values,
    )
    note.add(f"Reports {complaint}. {finding[0].upper() + finding[1:]}. Started {med}.")
    kind, questions = rng.choice(_CLINICAL_QUESTIONS)
    response = {"specialty": label, "medication": med, "complaint": complaint}[kind]
    return {
        "instruction": rng.choice(questions),
        "input": note.text,
        "response": response,
        "pii": note.pii,
    }


# ---- banking -------------------------------------------------------------------------------

_BANKING_HEADERS = (
    "Customer {name}, {account}. ", "Call from {name} ({phone}). ", "{name} - {account} - ",
    "Chat with {name} on {date}. ", "Ticket for {name}, {email}. ",
)  # fmt: skip
_BANKING_IDS = (
    " Card on file {card}.", " Payout IBAN {iban}.", " Linked {account}.", " Callback {phone}.",
    " Email {email}.", " Card {card}, IBAN {iban}.",
)  # fmt: skip
_BANKING_FRAMES = {
    "issue": ("Customer {x}.", "Caller {x}.", "Client {x}."),
    "detail": ("Notes: {x}.", "{X}.", "Checked: {x}."),
    "action": ("Action: {x}.", "{X}.", "Outcome: {x}."),
    "shared": ("Also asked about {x}.", "Mentioned {x}."),
    "history": ("Customer {x}.", "Background: customer {x}."),
}


def _bframe(rng: random.Random, pool: str, phrase: str) -> str:
    return rng.choice(_BANKING_FRAMES[pool]).format(x=phrase, X=phrase[0].upper() + phrase[1:])


def _banking_note(rng: random.Random, pii: _PiiMaker, label: str) -> dict[str, Any]:
    pools = phrases.BANKING[label]
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "phone": pii.phone(),
        "email": pii.email(first, last),
        "account": pii.account(),
        "iban": pii.iban(),
        "card": pii.card(),
        "date": pii.date(birth=False),
    }
    # Bank notes name products outright more often than clinical notes name specialties, so
    # they carry fewer label phrases and more background to stay comparably hard.
    k = rng.choices((1, 2, 3), weights=(0.45, 0.40, 0.15))[0]
    chosen = sorted(
        rng.sample(("issue", "detail", "action"), k), key=("issue", "detail", "action").index
    )
    body = [_bframe(rng, pool, rng.choice(pools[pool])) for pool in chosen]
    body.insert(
        0 if "issue" not in chosen else len(body),
        _bframe(rng, "shared", _shared_for(rng, phrases.BANKING_SHARED, label)),
    )
    if rng.random() < 0.7:
        body.insert(
            rng.randint(0, len(body)), _bframe(rng, "history", rng.choice(phrases.BANKING_HISTORY))
        )
    for neutral in rng.sample(phrases.BANKING_NEUTRAL, rng.randint(0, 2)):
        body.insert(rng.randint(0, len(body)), neutral)
    note = _Note()
    note.fill(rng.choice(_BANKING_HEADERS), values)
    note.add(" ".join(body))
    for template in rng.sample(_BANKING_IDS, 2):
        note.fill(template, values)
    return {"text": note.text, "label": _noisy(rng, label, BANKING_LABELS), "pii": note.pii}


_BANKING_QUESTIONS = (
    ("category", ("Name the category of this request.", "Which team should handle this ticket?")),
    ("action", ("What action was taken?", "State the outcome in a few words.")),
    ("issue", ("What did the customer ask about?", "Summarize the request in a few words.")),
)  # fmt: skip


def _banking_instruction(rng: random.Random, pii: _PiiMaker, label: str) -> dict[str, Any]:
    pools = phrases.BANKING[label]
    issue, detail, action = (rng.choice(pools[p]) for p in ("issue", "detail", "action"))
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "account": pii.account(),
        "card": pii.card(),
        "email": pii.email(first, last),
    }
    note = _Note()
    note.fill(
        rng.choice(("{name}, {account}. ", "{name} (card {card}). ", "{name}, {email}. ")), values
    )
    note.add(f"Customer {issue}. {detail[0].upper() + detail[1:]}. Action: {action}.")
    kind, questions = rng.choice(_BANKING_QUESTIONS)
    response = {"category": label, "action": action, "issue": issue}[kind]
    return {
        "instruction": rng.choice(questions),
        "input": note.text,
        "response": response,
        "pii": note.pii,
    }
