"""Banking demo notes: service notes with planted identifiers around request content drawn
from the label's phrase pools (phrases.py)."""

from __future__ import annotations

import random
from typing import Any

from fedft.data import phrases
from fedft.data.demo_pii import DemoPii
from fedft.data.notes import BANKING_LABELS, instruction_record, noisy, pii_field, shared_for
from fedft.data.planted import PlantedText

__all__ = ["banking_instruction", "banking_note"]

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


def banking_note(rng: random.Random, pii: DemoPii, label: str) -> dict[str, Any]:
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
        _bframe(rng, "shared", shared_for(rng, phrases.BANKING_SHARED, label)),
    )
    if rng.random() < 0.7:
        body.insert(
            rng.randint(0, len(body)), _bframe(rng, "history", rng.choice(phrases.BANKING_HISTORY))
        )
    for neutral in rng.sample(phrases.BANKING_NEUTRAL, rng.randint(0, 2)):
        body.insert(rng.randint(0, len(body)), neutral)
    note = PlantedText()
    note.fill(rng.choice(_BANKING_HEADERS), values)
    note.add(" ".join(body))
    for template in rng.sample(_BANKING_IDS, 2):
        note.fill(template, values)
    return {"text": note.text, "label": noisy(rng, label, BANKING_LABELS), "pii": pii_field(note)}


_BANKING_QUESTIONS = (
    ("category", ("Name the category of this request.", "Which team should handle this ticket?")),
    ("action", ("What action was taken?", "State the outcome in a few words.")),
    ("issue", ("What did the customer ask about?", "Summarize the request in a few words.")),
)  # fmt: skip


def banking_instruction(rng: random.Random, pii: DemoPii, label: str) -> dict[str, Any]:
    pools = phrases.BANKING[label]
    issue, detail, action = (rng.choice(pools[p]) for p in ("issue", "detail", "action"))
    first, last = pii.name()
    values = {
        "name": pii.person(first, last),
        "account": pii.account(),
        "card": pii.card(),
        "email": pii.email(first, last),
    }
    note = PlantedText()
    note.fill(
        rng.choice(("{name}, {account}. ", "{name} (card {card}). ", "{name}, {email}. ")), values
    )
    note.add(f"Customer {issue}. {detail[0].upper() + detail[1:]}. Action: {action}.")
    answers = {"category": label, "action": action, "issue": issue}
    return instruction_record(rng, note, questions=_BANKING_QUESTIONS, answers=answers)
