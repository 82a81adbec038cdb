"""The independent corpus: `generate(n=1500, seed=...)`, document i built from its own seed.

Document i is the same for every n, so a test's small sample is the first rows of the bench's
full corpus. Nothing depends on today's date (dates come from fixed windows).
"""

from __future__ import annotations

from fedft_eval.independent import everyday, records
from fedft_eval.independent.corpus import Doc, assemble
from fedft_eval.independent.people import Source

__all__ = ["DEFAULT_SEED", "DEFAULT_SIZE", "KINDS", "generate"]

DEFAULT_SEED = 19
DEFAULT_SIZE = 1500

# (kind, builder, weight): a mix close to what a site's free text holds.
KINDS = (
    ("review", everyday.review, 3),
    ("letter", everyday.letter, 2),
    ("shipping_form", everyday.shipping_form, 2),
    ("chat", everyday.chat, 3),
    ("forum_post", everyday.forum_post, 2),
    ("support_ticket", everyday.support_ticket, 1),
    ("hr_email", everyday.hr_email, 1),
    ("clinical_note", records.clinical_note, 3),
    ("banking_note", records.banking_note, 2),
    ("insurance_note", records.insurance_note, 1),
)


def generate(n: int = DEFAULT_SIZE, *, seed: int = DEFAULT_SEED) -> list[Doc]:
    if n < 1:
        raise ValueError(f"generate: n must be >= 1, got {n}")
    docs = []
    for i in range(n):
        src = Source(seed=seed, index=i)
        kind, build, _ = src.rng.choices(KINDS, weights=[k[2] for k in KINDS])[0]
        docs.append(assemble(kind, build(src)))
    return docs
