"""Score any anonymizer on the independent corpus, from what it outputs and what it replaced.

Recall: a planted value is leaked when, in the output, more often than in the document's text
outside planted values (its skeleton),
- its text survives (letters and digits in order, any separators, case ignored), or
- any of its digit runs of 4 or more survives on its own (for dates: the year excepted; a
  date is also leaked when its day and month survive without the year), or
- for names, streets, cities, organizations, e-mails and URLs: any of its word parts of 2 or
  more letters survives, except particles ("van", "de", "al") and generic words ("Street",
  "Apt", "Inc", "gmail") that identify no one.
A row the anonymizer dropped (empty output) leaks nothing.

Precision: share of replaced letters and digits that lie inside some planted value (of any category;
a wrong label costs nothing, a replaced word that identifies no one costs training text).
The replaced characters are read off the output itself (`replaced_ranges`: the input aligned
with the output, each "<ENTITY>" placeholder standing for what it replaced), so every
anonymizer is measured the same way, on what it actually emits. Dropped rows are left out.

Eponym survival: share of eponymous terms ("Parkinson's disease") whose eponym words are all
still in the output as often as in the input. A dropped row loses its eponyms.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import regex

from fedft_eval.independent.corpus import GROUPS, Doc, Planted

__all__ = ["Score", "format_table", "replaced_ranges", "score"]

_PARTICLES = frozenset(
    "van von der den de del della di da du la le ten ter bin ibn al el y".split()
)
_GENERIC = frozenset(
    """street st road rd avenue ave lane ln drive dr close way court ct place pl boulevard blvd
    terrace crescent gardens parade square apt apartment suite unit flat box po p o floor fl
    via rue calle ul utca út tie vej gade gatan vägen straße strasse gasse weg ring platz allee
    int bis ter rua apto casa lgh em th tv mf st as bât appt residency road nagar path north
    south east west new san santa saint fort port mount lake city upon on the of and nad psc
    cmr
    inc llc ltd plc co group sons family farm dental clinic veterinary logistics bakery
    architects roofing auto repair plumbing heating accountancy gmbh ag sa kft ApS ab sro sp
    zoo eg ks vos me srl spa és társa és e
    http https www com org net co uk blog photos album facebook linkedin instagram github in
    mychart patient claims upload gmail outlook yahoo web gmx orange fr libero it hotmail es
    kolumbus fi proton icloud wp seznam cz freemail hu rediffmail uol br law""".lower().split()
)
_WORDY = frozenset({"PERSON", "STREET", "CITY", "ORGANIZATION", "EMAIL", "URL"})
_YEAR = regex.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_PLACEHOLDER = regex.compile(r"<[A-Z][A-Z0-9_]*>")


def replaced_ranges(original: str, output: str) -> list[tuple[int, int]]:
    """The [start, end) ranges of `original` that `output` replaced with "<ENTITY>"
    placeholders or removed; [] for a dropped row (empty output)."""
    if not output:
        return []
    # One private-use character per placeholder: it matches nothing in the input, so the
    # alignment keeps placeholders out of the text they replaced.
    marked = _PLACEHOLDER.sub("\ue000", output)
    matcher = difflib.SequenceMatcher(None, original, marked, autojunk=False)
    return [(i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag in ("replace", "delete")]


@lru_cache(maxsize=65536)
def _text_pattern(value: str) -> regex.Pattern | None:
    units = regex.findall(r"[\p{L}\p{N}]", value)
    if not units:
        return None
    body = r"[\W_]*".join(regex.escape(u) for u in units)
    return regex.compile(
        rf"(?<![\p{{L}}\p{{N}}]){body}(?![\p{{L}}\p{{N}}])", flags=regex.IGNORECASE
    )


def _count(pattern: regex.Pattern | None, text: str) -> int:
    return len(pattern.findall(text)) if pattern is not None else 0


def _probes(p: Planted) -> list[str]:
    """The pieces of a planted value whose survival leaks it (besides the whole text)."""
    value = p.value
    probes = []
    runs = regex.findall(r"\d{4,}", value)
    if p.category == "DATE":
        runs = [r for r in runs if not _YEAR.fullmatch(r)]
        rest = _YEAR.sub(" ", value).strip(" ,./-")
        if rest != value.strip() and len(regex.findall(r"[\p{L}\p{N}]", rest)) >= 2:
            probes.append(rest)
    probes.extend(runs)
    if p.category in _WORDY:
        min_len = 2 if p.category in ("PERSON", "STREET", "CITY", "ORGANIZATION") else 3
        for word in regex.findall(r"\p{L}+", value):
            if len(word) >= min_len and word.lower() not in _PARTICLES | _GENERIC:
                probes.append(word)
    return probes


def _leaked(p: Planted, output: str, skeleton: str) -> bool:
    for probe in [p.value, *_probes(p)]:
        pattern = _text_pattern(probe)
        if _count(pattern, output) > _count(pattern, skeleton):
            return True
    return False


@dataclass(frozen=True)
class Score:
    planted: dict[str, int]
    leaked: dict[str, int]
    leaked_by_style: dict[str, int]
    replaced_chars: int
    true_replaced_chars: int
    keep_total: int
    keep_survived: int
    dropped_rows: int
    rows: int
    over_redacted: dict[str, int] = field(default_factory=dict)  # replaced non-PII words

    def recall(self, *categories: str) -> float:
        planted = sum(self.planted.get(c, 0) for c in categories)
        caught = planted - sum(self.leaked.get(c, 0) for c in categories)
        return caught / planted if planted else 1.0

    @property
    def precision(self) -> float:
        return self.true_replaced_chars / max(1, self.replaced_chars)

    @property
    def eponym_survival(self) -> float:
        return self.keep_survived / max(1, self.keep_total)

    def summary(self) -> dict[str, float]:
        out = {name: round(self.recall(*cats), 4) for name, cats in GROUPS.items()}
        out.update({c: round(self.recall(c), 4) for c in sorted(self.planted)})
        out["precision"] = round(self.precision, 4)
        out["eponym survival"] = round(self.eponym_survival, 4)
        return out


def _word_count(word: str, text: str) -> int:
    return len(
        regex.findall(rf"(?<!\p{{L}}){regex.escape(word)}(?!\p{{L}})", text, flags=regex.IGNORECASE)
    )


def score(docs: Sequence[Doc], outputs: Sequence[str]) -> Score:
    """`outputs[i]` is doc i anonymized with "<ENTITY>" placeholders ("" if dropped)."""
    planted: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    by_style: Counter[str] = Counter()
    over: Counter[str] = Counter()
    replaced_chars = true_chars = keep_total = keep_ok = dropped = 0
    for doc, output in zip(docs, outputs, strict=True):
        skeleton = doc.skeleton
        ranges = replaced_ranges(doc.text, output)
        dropped += output == ""
        for p in doc.planted:
            planted[p.category] += 1
            if output and _leaked(p, output, skeleton):
                leaked[p.category] += 1
                by_style[f"{p.category}/{p.style}"] += 1
        inside = {i for p in doc.planted for i in range(p.start, p.end)}
        # Letters and digits only: where a separator between two placeholders went is
        # ambiguous in the alignment, and whitespace carries no training text anyway.
        text = doc.text
        chars = {i for start, end in ranges for i in range(start, end) if text[i].isalnum()}
        replaced_chars += len(chars)
        true_chars += len(chars & inside)
        for start, end in ranges:
            if not any(start < p.end and p.start < end for p in doc.planted):
                over[doc.text[start:end].strip()[:40]] += 1
        for keep in doc.keep:
            keep_total += 1
            keep_ok += bool(output) and all(
                _word_count(w, output) >= _word_count(w, doc.text) for w in keep.words
            )
    return Score(
        planted=dict(planted),
        leaked=dict(leaked),
        leaked_by_style=dict(by_style),
        replaced_chars=replaced_chars,
        true_replaced_chars=true_chars,
        keep_total=keep_total,
        keep_survived=keep_ok,
        dropped_rows=dropped,
        rows=len(docs),
        over_redacted=dict(over),
    )


def format_table(scores: dict[str, Score]) -> str:
    """A Markdown table: one row per group and category, one column per anonymizer."""
    names = list(scores)
    first = next(iter(scores.values()))
    lines = ["| category | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for group, cats in GROUPS.items():
        n = sum(first.planted.get(c, 0) for c in cats)
        lines.append(
            f"| **{group}** | {n} | "
            + " | ".join(f"**{s.recall(*cats):.3f}**" for s in scores.values())
            + " |"
        )
    for cat in sorted(first.planted):
        lines.append(
            f"| {cat} | {first.planted[cat]} | "
            + " | ".join(f"{s.recall(cat):.3f}" for s in scores.values())
            + " |"
        )
    lines.append(
        "| precision (letters, digits) | | "
        + " | ".join(f"{s.precision:.3f}" for s in scores.values())
        + " |"
    )
    lines.append(
        f"| eponym survival | {first.keep_total} | "
        + " | ".join(f"{s.eponym_survival:.3f}" for s in scores.values())
        + " |"
    )
    lines.append(
        "| rows dropped | | " + " | ".join(str(s.dropped_rows) for s in scores.values()) + " |"
    )
    return "\n".join(lines)
