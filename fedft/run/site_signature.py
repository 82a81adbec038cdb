"""A site's signature over what it claims in a round, and its verification from the ledger.

Each site holds its own Ed25519 key (`fedft ledger keygen --name site-signing`, in its state
folder; a simulated site makes one there). After training it signs its *claim* — its id, the
round, its DP account, its anonymization counts and policy hash, the head of its budget
history — and sends the signature and its public key as two declared string metrics. The
coordinator stores the claim's fields in the ledger as they arrived, plus the signature; the
auditor rebuilds the claim from the ledger and checks it against the fingerprint the site
published. So the coordinator, whose key signs the ledger, cannot rewrite a site's ε or
counts: it does not hold the site's key.

Both sides build the claim with `site_claim` from the same ledger-form values (`dp_record`,
`anonymization_record`), so one byte form is signed and verified.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fedft.run.ledger_format import canonical_json, key_fingerprint, public_bytes

__all__ = [
    "SIGNATURE_METRIC",
    "PUBLIC_KEY_METRIC",
    "sign_claim",
    "signed_part",
    "site_claim",
    "verify_site_parts",
]

SITE_CONTEXT = b"fedft-site-claim/1\n"
SIGNATURE_METRIC = "site_signature"  # base64 Ed25519 signature (88 characters)
PUBLIC_KEY_METRIC = "site_public_key"  # the raw public key, hex (64 characters)


def site_claim(
    *,
    site: str,
    server_round: int,
    dp: Mapping[str, Any] | None,
    anonymization: Mapping[str, Any] | None,
    budget: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What a site signs for one round; every value in its ledger form."""
    return {
        "site": str(site),
        "round": int(server_round),
        "dp": None if dp is None else dict(dp),
        "anonymization": None if anonymization is None else dict(anonymization),
        "budget": None if budget is None else dict(budget),
    }


def _message(claim: Mapping[str, Any]) -> bytes:
    return SITE_CONTEXT + canonical_json(claim).encode()


def sign_claim(key: Ed25519PrivateKey, claim: Mapping[str, Any]) -> dict[str, str]:
    """The two metrics a site adds to its reply: signature and public key."""
    return {
        SIGNATURE_METRIC: base64.b64encode(key.sign(_message(claim))).decode("ascii"),
        PUBLIC_KEY_METRIC: public_bytes(key.public_key()).hex(),
    }


def signed_part(metrics: Mapping[str, Any]) -> dict[str, str] | None:
    """The ledger's `site_signature` of a site part, from its metrics (None if unsigned)."""
    if SIGNATURE_METRIC not in metrics:
        return None
    return {
        "signature": str(metrics[SIGNATURE_METRIC]),
        "public_key": str(metrics.get(PUBLIC_KEY_METRIC, "")),
    }


def _check_part(
    part: Mapping[str, Any], server_round: int, pinned: Mapping[str, str] | None
) -> tuple[str | None, str | None]:
    """(problem or None, fingerprint of the key that signed) for one trained site part."""
    site = str(part.get("site"))
    signed = part.get("site_signature")
    where = f"round {server_round}, {site}"
    if not isinstance(signed, Mapping):
        # Unpinned, an unsigned part (a ledger from before site signatures) is counted, not
        # failed; pinned, the auditor asked for every site's signature.
        return (None if pinned is None else f"{where}: the site's record is not signed"), None
    try:
        raw = bytes.fromhex(str(signed.get("public_key")))
        key = Ed25519PublicKey.from_public_bytes(raw)
        signature = base64.b64decode(str(signed.get("signature")), validate=True)
    except (ValueError, binascii.Error):
        return f"{where}: the site's signature or public key is malformed", None
    fingerprint = key_fingerprint(key)
    if pinned is not None:
        expected = pinned.get(site)
        if expected is None:
            return f"{where}: no published fingerprint for this site", fingerprint
        if fingerprint != expected.lower():
            return (
                f"{where}: signed with key {fingerprint[:16]}…, not the site's published "
                f"{expected.lower()[:16]}… (record forged or re-signed)",
                fingerprint,
            )
    claim = site_claim(
        site=site,
        server_round=server_round,
        dp=part.get("dp"),
        anonymization=part.get("anonymization"),
        budget=part.get("budget"),
    )
    try:
        key.verify(signature, _message(claim))
    except InvalidSignature:
        return f"{where}: the site's signature does not match its recorded figures (altered)", (
            fingerprint
        )
    return None, fingerprint


def verify_site_parts(
    entries: list[Mapping[str, Any]], *, pinned: Mapping[str, str] | None = None
) -> tuple[list[str], int]:
    """(problems, valid site signatures) over every trained site part of every round entry.

    `pinned`: site id -> published fingerprint. Without it each signature is checked against
    the key it names, and a site whose key changes within the run is a problem (internal
    consistency only).
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    checked = 0
    for entry in entries:
        body = entry.get("body")
        if entry.get("kind") != "round" or not isinstance(body, Mapping):
            continue
        for part in body.get("sites") or []:
            if not isinstance(part, Mapping) or part.get("status") != "trained":
                continue
            problem, fingerprint = _check_part(part, int(body.get("round", -1)), pinned)
            if problem is not None:
                problems.append(problem)
            elif fingerprint is not None:
                checked += 1
            site = str(part.get("site"))
            if fingerprint is not None and seen.setdefault(site, fingerprint) != fingerprint:
                problems.append(f"{site}: signed with different keys within the run")
    return problems, checked
