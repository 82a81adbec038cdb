"""Clinical demo notes: a header and footer of planted identifiers around clinical content
drawn from the label's phrase pools (phrases.py)."""

from __future__ import annotations

import random
from typing import Any

from fedft.data import phrases
from fedft.data.demo_pii import DemoPii
from fedft.data.notes import CLINICAL_LABELS, instruction_record, noisy, pii_field, shared_for
from fedft.data.planted import PlantedText

__all__ = ["clinical_instruction", "clinical_note"]

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


def _clinical_body(rng: random.Random, label: str) -> list[str]:
    pools = phrases.CLINICAL[label]
    k = rng.choices((1, 2, 3), weights=(0.25, 0.45, 0.30))[0]
    chosen = rng.sample(("complaint", "finding", "medication", "plan", "diagnosis"), k)
    sentences = [_frame(rng, pool, rng.choice(pools[pool])) for pool in chosen]
    if "complaint" not in chosen:
        shared = shared_for(rng, phrases.CLINICAL_SHARED, label)
        sentences.insert(0, _frame(rng, "complaint", shared))
    elif rng.random() < 0.5:
        sentences.append(_frame(rng, "shared", shared_for(rng, phrases.CLINICAL_SHARED, label)))
    if rng.random() < 0.6:
        sentences.insert(
            rng.randint(1, len(sentences)),
            _frame(rng, "history", rng.choice(phrases.CLINICAL_HISTORY)),
        )
    for neutral in rng.sample(phrases.CLINICAL_NEUTRAL, rng.randint(0, 2)):
        sentences.insert(rng.randint(1, len(sentences)), neutral)
    return sentences


def clinical_note(rng: random.Random, pii: DemoPii, label: str) -> dict[str, Any]:
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
    note = PlantedText()
    note.fill(rng.choice(_CLINICAL_HEADERS), values)
    note.add(" ".join(_clinical_body(rng, label)))
    if rng.random() < 0.2:
        note.add(" Seen by Dr. ")
        note.plant("PERSON", pii.name()[1])
        note.add(".")
    if rng.random() < 0.3:
        note.fill(" Lives at {street}, {city}.", {"street": pii.street(), "city": pii.city()})
    note.fill(rng.choice(_CLINICAL_FOOTERS), values)
    return {"text": note.text, "label": noisy(rng, label, CLINICAL_LABELS), "pii": pii_field(note)}


_CLINICAL_QUESTIONS = (
    (
        "specialty",
        ("Name the specialty for this note.", "Which department should see the patient?"),
    ),
    ("medication", ("Which medication was started?", "Name the drug prescribed in this note.")),
    ("complaint", ("What is the chief complaint?", "Summarize the presenting problem briefly.")),
)


def clinical_instruction(rng: random.Random, pii: DemoPii, label: str) -> dict[str, Any]:
    pools = phrases.CLINICAL[label]
    complaint, finding, med = (rng.choice(pools[p]) for p in ("complaint", "finding", "medication"))
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "mrn": pii.mrn(),
        "visit": pii.date(birth=False),
        "phone": pii.phone(),
    }
    note = PlantedText()
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
    answers = {"specialty": label, "medication": med, "complaint": complaint}
    return instruction_record(rng, note, questions=_CLINICAL_QUESTIONS, answers=answers)
