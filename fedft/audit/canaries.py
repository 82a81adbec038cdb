"""Canary records: synthetic, unique, meaningless — planted at a site to measure memorization.

- Causal LM (`data.task: instruction`): a prompt naming a ward and the start of a sentence,
  and a random 10-digit access code as the response ("Ward QX-41: the access code of the ward
  safe is" -> "384 192 7716"). The code is the secret that exposure ranks.
- Classification: a string of random pseudo-words with a random label. A model can only get
  such a label right by memorizing that very record, so its loss tells members apart.

Texts come from `seed` (and the site id), so they are reproducible; which canaries a site
includes comes from the caller's random source (the site's CSPRNG) and is written only to the
site's private folder.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import datasets

__all__ = [
    "CANARY_FILE",
    "Canary",
    "CanaryRecord",
    "candidate_secrets",
    "canary_rows",
    "draw_inclusion",
    "make_canaries",
    "plant_canaries",
    "read_canary_record",
    "write_canary_record",
]

CANARY_FORMAT = "fedft-canaries/1"
CANARY_FILE = Path("audit") / "canaries.json"  # inside a site's private folder
SECRET_GROUPS = (3, 3, 4)  # "384 192 7716": 10^10 possible secrets
PROMPT = "Ward {tag}: the access code of the ward safe is"
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_WORDS_PER_TEXT = 10

Task = Literal["classification", "instruction"]


@dataclass(frozen=True)
class Canary:
    id: int
    prompt: str  # instruction (causal) or the text (classification)
    secret: str  # the response (causal) or the label (classification)


def _rng_for(seed: int, site: str) -> random.Random:
    # hashlib, not hash(): Python salts str hashes per process.
    digest = hashlib.sha256(f"fedft-canaries:{seed}:{site}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def random_secret(rng: random.Random) -> str:
    return " ".join("".join(str(rng.randrange(10)) for _ in range(n)) for n in SECRET_GROUPS)


def _tag(rng: random.Random) -> str:
    return f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}-{rng.randrange(100):02d}"


def _pseudo_text(rng: random.Random) -> str:
    words = (
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        for _ in range(_WORDS_PER_TEXT)
    )
    return " ".join(words)


def make_canaries(
    *, task: Task, count: int, seed: int, site: str, labels: Sequence[str] | None = None
) -> list[Canary]:
    """`count` distinct canaries for `site`; classification needs the run's `labels`."""
    if count < 1:
        raise ValueError(f"audit.canaries.count is {count}; plant at least 1 canary")
    if task == "classification" and not labels:
        raise ValueError(
            "classification canaries need the class labels (data.labels or the corpus's)"
        )
    rng = _rng_for(seed, site)
    out: list[Canary] = []
    seen: set[str] = set()
    while len(out) < count:
        if task == "instruction":
            prompt, secret = PROMPT.format(tag=_tag(rng)), random_secret(rng)
        else:
            prompt, secret = f"{_tag(rng)} {_pseudo_text(rng)}", rng.choice(list(labels or ()))
        if prompt in seen:  # a repeated prompt would make two canaries one group
            continue
        seen.add(prompt)
        out.append(Canary(id=len(out), prompt=prompt, secret=secret))
    return out


def draw_inclusion(count: int, *, rng: random.Random) -> list[bool]:
    """Each canary in with probability ½, independently (the one-run audit needs exactly
    this). Pass the site's CSPRNG (`secrets.SystemRandom()`): the server knows the config's
    seeds, and must not be able to recompute which canaries were trained on."""
    return [rng.random() < 0.5 for _ in range(count)]


def canary_rows(canaries: Sequence[Canary], *, task: Task) -> list[dict[str, str]]:
    """The canaries as rows of the task's columns (as `fedft.round.prepare` has them)."""
    if task == "instruction":
        return [{"instruction": c.prompt, "input": "", "response": c.secret} for c in canaries]
    return [{"text": c.prompt, "label": c.secret} for c in canaries]


def plant_canaries(
    ds: datasets.Dataset,
    *,
    canaries: Sequence[Canary],
    included: Sequence[bool],
    repeats: int,
    task: Task,
) -> datasets.Dataset:
    """`ds` with every included canary appended `repeats` times (the loader shuffles, and DP
    samples by Poisson, so the position does not matter)."""
    if len(canaries) != len(included):
        raise ValueError(f"{len(canaries)} canaries but {len(included)} inclusion bits")
    if repeats < 1:
        raise ValueError(f"audit.canaries.repeats is {repeats}; it must be >= 1")
    chosen = [c for c, keep in zip(canaries, included, strict=True) if keep]
    rows = canary_rows(chosen, task=task) * repeats
    if not rows:
        return ds
    extra = datasets.Dataset.from_list(rows).cast(ds.select_columns(list(rows[0])).features)
    return datasets.concatenate_datasets([ds.select_columns(list(rows[0])), extra])


def candidate_secrets(*, secret: str, count: int, seed: int) -> list[str]:
    """`count` distinct random secrets of the same format, none equal to `secret`."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        s = random_secret(rng)
        if s != secret:
            out.add(s)
    return sorted(out)


@dataclass(frozen=True)
class CanaryRecord:
    """What a site planted: its canaries and the secret list of which were included."""

    site: str
    task: Task
    repeats: int
    seed: int
    canaries: tuple[Canary, ...]
    included: tuple[bool, ...]
    records_before: int  # the site's training rows after anonymization, without canaries
    records_after: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CANARY_FORMAT,
            "site": self.site,
            "task": self.task,
            "repeats": self.repeats,
            "seed": self.seed,
            "records_before": self.records_before,
            "records_after": self.records_after,
            "canaries": [
                {**asdict(c), "included": inc}
                for c, inc in zip(self.canaries, self.included, strict=True)
            ],
        }


def write_canary_record(state_dir: Path, record: CanaryRecord) -> Path:
    from fedft.run.rundir import atomic_write_text

    path = Path(state_dir) / CANARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record.to_json(), indent=1))
    return path


def read_canary_record(path: Path) -> CanaryRecord:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable canary record ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != CANARY_FORMAT:
        raise ValueError(f"{path}: not a canary record (format {CANARY_FORMAT} expected)")
    items = data["canaries"]
    return CanaryRecord(
        site=str(data["site"]),
        task=data["task"],
        repeats=int(data["repeats"]),
        seed=int(data["seed"]),
        canaries=tuple(
            Canary(id=int(c["id"]), prompt=str(c["prompt"]), secret=str(c["secret"])) for c in items
        ),
        included=tuple(bool(c["included"]) for c in items),
        records_before=int(data["records_before"]),
        records_after=int(data["records_after"]),
    )
