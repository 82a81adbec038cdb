"""What fedft writes in place of a value, and how the residual scan tells it apart.

Presidio operator configs per policy operator (replace, redact, mask, pseudonymize); the
pattern of fedft's own surrogates (tags, pseudonyms, mask runs), which the residual scan must
not count; and ALL-CAPS English words NER tags by mistake, which it must not count either.
"""

from __future__ import annotations

import regex

from fedft.anonymize.pseudonym import pseudonym
from fedft.config.anonymization import AnonymizationConfig, Operator

__all__ = ["caps_noise", "operator_config", "surrogate_pattern"]


def operator_config(cfg: AnonymizationConfig, entity: str, secret: bytes | None):
    from presidio_anonymizer.entities import OperatorConfig

    op: Operator = cfg.operator_for(entity)
    if op == "replace":
        return OperatorConfig("replace", {"new_value": f"<{entity}>"})
    if op == "redact":
        return OperatorConfig("redact", {})
    if op == "mask":
        # Whole value masked: a partly masked identifier is still an identifier.
        return OperatorConfig(
            "mask", {"masking_char": cfg.mask_char, "chars_to_mask": 10**6, "from_end": False}
        )
    assert secret is not None  # from_config guarantees it

    def surrogate(value: str) -> str:
        return pseudonym(secret=secret, entity=entity, value=value)

    return OperatorConfig("custom", {"lambda": surrogate})


def surrogate_pattern(cfg: AnonymizationConfig) -> regex.Pattern:
    """What fedft writes in place of a value: tags, pseudonyms, mask runs."""
    mask = regex.escape(cfg.mask_char)
    return regex.compile(rf"<[A-Z][A-Z0-9_]*(?:_[0-9a-f]{{10}})?>|{mask}{{2,}}")


def caps_noise(fragment: str, source: str, lexicon: frozenset[str]) -> bool:
    """NER on ALL-CAPS text tags ordinary words ("WITNESSED" as a place): a residual hit made
    only of English words in capitals is not counted (it would drop the row for nothing)."""
    if source != "SpacyRecognizer" or not fragment.isupper():
        return False
    words = [w.lower() for w in regex.findall(r"\p{L}+", fragment)]
    # Crude stemming is enough here: the lexicon holds base forms ("witness" for WITNESSED).
    stems = ("", "s", "es", "d", "ed", "ing")
    return bool(words) and all(
        any(w.endswith(x) and w[: len(w) - len(x)] in lexicon for x in stems) for w in words
    )
