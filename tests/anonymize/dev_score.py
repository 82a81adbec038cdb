"""Score an anonymizer on the hand-written dev cases (dev_cases.py): recall per class and
survival of the terms that must be kept.

A planted value counts as caught when every letter and digit of it lies inside some
detection (any label: a street caught as LOCATION is still removed). A kept term survives
when no detection overlaps it.

    python tests/anonymize/dev_score.py     # prints the table (default + opt-in ORGANIZATION)
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dev_cases import DEV_CASES, EPONYM_CASES, PRECISION_CASES, DevCase  # noqa: E402

__all__ = ["score_dev"]


def score_dev(anonymizer, cases: Sequence[DevCase]) -> dict[str, object]:
    """{"recall": {class: share}, "planted": {class: n}, "missed": [(class, value)],
    "kept": share of keep terms untouched, "over": [terms hit]}."""
    spans = anonymizer.detect([c.text for c in cases])
    planted: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    missed, over = [], []
    keep_total = keep_ok = 0
    for case, found in zip(cases, spans, strict=True):
        covered = {i for s in found for i in range(s.start, s.end)}
        for cls, value in case.planted:
            start = case.text.index(value)
            planted[cls] += 1
            if all(i in covered for i in range(start, start + len(value))
                   if case.text[i].isalnum()):  # fmt: skip
                caught[cls] += 1
            else:
                missed.append((cls, value))
        for term in case.keep:
            start = case.text.index(term)
            keep_total += 1
            if any(s.start < start + len(term) and start < s.end for s in found):
                over.append(term)
            else:
                keep_ok += 1
    return {
        "recall": {c: round(caught[c] / planted[c], 3) for c in sorted(planted)},
        "planted": dict(sorted(planted.items())),
        "missed": missed,
        "kept": round(keep_ok / max(1, keep_total), 3),
        "over": over,
    }


def main() -> None:
    from fedft.anonymize.anonymizer import Anonymizer
    from fedft.config.anonymization import DEFAULT_ENTITIES, AnonymizationConfig

    default = Anonymizer.from_config(AnonymizationConfig())
    with_org = Anonymizer.from_config(
        AnonymizationConfig(entities=[*DEFAULT_ENTITIES, "ORGANIZATION"])
    )
    for name, anonymizer in (("default", default), ("default+ORGANIZATION", with_org)):
        dev = score_dev(anonymizer, DEV_CASES)
        epo = score_dev(anonymizer, EPONYM_CASES)
        print(f"== {name} ==")
        print("recall", dev["recall"], "planted", dev["planted"])
        print("missed", dev["missed"])
        print("dev keep", dev["kept"], dev["over"])
        print("eponym survival", epo["kept"], epo["over"])
        clean = score_dev(anonymizer, PRECISION_CASES)
        print("precision probes kept", clean["kept"], clean["over"])


if __name__ == "__main__":
    main()
