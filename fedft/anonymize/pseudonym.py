"""Keyed pseudonyms and the site secret they are keyed with.

A pseudonym is `<ENTITY_xxxxxxxxxx>`: 10 hex digits (40 bits) of HMAC-SHA256(site secret,
entity + normalized value). The same value always maps to the same token within a site, across
documents and runs; without the secret the mapping can neither be inverted nor recomputed from
a guessed value (a plain hash of a name could be brute-forced from a list of names). Different
sites have different secrets, so their tokens for one person differ and cannot be linked.

The secret never leaves the site: it is read from an environment variable or a file named in
the policy (`secret_env`, `secret_file`), never written into a config, a log, a report, a
metric or the anonymized-corpus cache key (only a keyed fingerprint of it is).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import regex

from fedft.config.anonymization import AnonymizationConfig

__all__ = [
    "MIN_SECRET_BYTES",
    "create_site_secret",
    "load_or_create_site_secret",
    "normalize_value",
    "pseudonym",
    "resolve_site_secret",
    "secret_fingerprint",
]

MIN_SECRET_BYTES = 16
TOKEN_HEX_DIGITS = 10
# Identifiers whose separators are formatting, not content: "212-555-0147" = "(212) 555 0147".
_FORMAT_FREE = frozenset(
    {"PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "ID_NUMBER", "US_ITIN"}
)
_GENERATE_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"


def normalize_value(entity: str, value: str) -> str:
    """The form of `value` that decides its pseudonym: case, accents' composition, spacing and
    (for numbers) separators do not matter; a name's word order does not either
    ("Smith, John" = "JOHN SMITH")."""
    text = unicodedata.normalize("NFC", value).casefold().strip()
    if entity in _FORMAT_FREE:
        return "".join(ch for ch in text if ch.isalnum())
    if entity == "PERSON":
        return " ".join(sorted(regex.findall(r"[\p{L}\p{N}'’]+", text)))
    return " ".join(text.split())


def pseudonym(*, secret: bytes, entity: str, value: str) -> str:
    """`<ENTITY_hex>` for `value`; deterministic for a secret, irreversible without it."""
    message = f"{entity}\x00{normalize_value(entity, value)}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()[:TOKEN_HEX_DIGITS]
    return f"<{entity}_{digest}>"


def secret_fingerprint(secret: bytes) -> str:
    """A keyed digest that identifies a secret (for cache keys) without revealing it."""
    return hmac.new(secret, b"fedft-anonymization-cache-v1", hashlib.sha256).hexdigest()[:16]


def _check(secret: bytes, *, where: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{where}: the site secret must be at least {MIN_SECRET_BYTES} bytes, got "
            f"{len(secret)}; generate one with {_GENERATE_HINT}"
        )
    return secret


def resolve_site_secret(
    cfg: AnonymizationConfig, *, environ: Mapping[str, str] | None = None
) -> bytes | None:
    """The site secret the policy points to: `secret_file` first, then `secret_env`.

    Returns None when neither is set or present. Raises ValueError for a named file that is
    missing or unreadable, or a secret shorter than 16 bytes (the message never shows it).
    """
    env = os.environ if environ is None else environ
    if cfg.secret_file is not None:
        path = Path(cfg.secret_file).expanduser()
        if not path.is_file():
            raise ValueError(
                f"anonymization.secret_file: {path} does not exist; create it with "
                f"{_GENERATE_HINT} > {path} && chmod 600 {path}"
            )
        return _check(path.read_bytes().strip(), where=f"anonymization.secret_file ({path})")
    if cfg.secret_env:
        value = env.get(cfg.secret_env)
        if value:
            return _check(value.strip().encode(), where=f"environment variable {cfg.secret_env}")
    return None


def create_site_secret(path: str | Path) -> bytes:
    """Write a new random 256-bit secret (hex) to `path`, readable by the owner only.

    Refuses to overwrite: replacing a site's secret changes every pseudonym it produces.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secret + b"\n")
    return secret


def load_or_create_site_secret(path: str | Path) -> bytes:
    """The secret stored at `path`, created on first use (simulated sites: one file per site
    in the site's private state folder, so pseudonyms stay stable across rounds and runs)."""
    path = Path(path)
    try:
        return create_site_secret(path)
    except FileExistsError:
        return _check(path.read_bytes().strip(), where=f"site secret file {path}")
