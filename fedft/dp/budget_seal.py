"""A site's budget file, sealed: hash-chained records, signed by the site, with a marker of the
chain head kept in a second place.

`dp-budget.json` holds every round the site spent privacy on. Deleting or editing it would
restart the site's ε from 0, so when the site has a signing key (every fedft site does:
`fedft.federation.site_signing`) the file carries

  chain_head  sha256 chain over its records: h_i = sha256(h_{i-1} || canonical(record_i))
  signature   the site's Ed25519 signature over the whole state (canonical JSON)

and after each write a *marker* — (records, chain_head), signed — is written beside the site's
key (`keys/dp-budget.marker`). On load: a signature that does not verify (edited), a missing
file while the marker says the site has history (deleted), or a file whose first `records`
records do not hash to the marker's head (replaced or rolled back) raise `BudgetTampered`, and
the site refuses to train. Recovery (docs/compliance-guide.md, "Recovering a site's privacy
budget"): restore the file from backup, or rebuild it from the run ledgers' signed site records
(`fedft ledger rebuild-budget`), which records that it did.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.run.ledger_format import GENESIS_HASH, canonical_json
from fedft.run.rundir import atomic_write_text

__all__ = ["BudgetTampered", "chain_head", "check_sealed", "seal", "write_marker"]

_CONTEXT = b"fedft-dp-budget/1\n"
MARKER_FORMAT = "fedft-dp-budget-marker/1"
RECOVERY = (
    "This site refuses to train: its spent privacy would restart from a state nobody can vouch "
    "for. Recover by restoring dp-budget.json from the site's backup, or rebuild it from the "
    "run ledgers' signed records of this site (`fedft ledger rebuild-budget`, see "
    "docs/compliance-guide.md, 'Recovering a site's privacy budget'); the audit shows the "
    "recovery. Do not delete the marker to get past this"
)


class BudgetTampered(RuntimeError):
    """The budget file is missing, altered or rolled back while the site has history."""


def chain_head(records: list[Mapping[str, Any]]) -> str:
    head = GENESIS_HASH
    for record in records:
        head = hashlib.sha256((head + canonical_json(dict(record))).encode()).hexdigest()
    return head


def _signature_of(key: Ed25519PrivateKey, state: Mapping[str, Any]) -> str:
    return base64.b64encode(key.sign(_CONTEXT + canonical_json(dict(state)).encode())).decode()


def _verifies(key: Ed25519PrivateKey, state: Mapping[str, Any], signature: Any) -> bool:
    try:
        raw = base64.b64decode(str(signature), validate=True)
        key.public_key().verify(raw, _CONTEXT + canonical_json(dict(state)).encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def seal(state: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """`state` with its chain head and the site's signature over both."""
    body = {k: v for k, v in state.items() if k not in ("chain_head", "signature")}
    body["chain_head"] = chain_head(body["records"])
    return {**body, "signature": _signature_of(key, body)}


def write_marker(marker: Path, *, records: int, head: str, key: Ed25519PrivateKey) -> None:
    body = {"format": MARKER_FORMAT, "records": records, "chain_head": head}
    marker.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, json.dumps({**body, "signature": _signature_of(key, body)}) + "\n")


def _read_marker(marker: Path, key: Ed25519PrivateKey) -> tuple[int, str] | None:
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        body = {k: data[k] for k in ("format", "records", "chain_head")}
    except (ValueError, KeyError, TypeError):
        raise BudgetTampered(f"{marker}: unreadable budget marker. {RECOVERY}") from None
    if not _verifies(key, body, data.get("signature")):
        raise BudgetTampered(f"{marker}: the budget marker's signature is invalid. {RECOVERY}")
    return int(body["records"]), str(body["chain_head"])


def check_sealed(
    path: Path, state: Mapping[str, Any] | None, *, key: Ed25519PrivateKey, marker: Path
) -> None:
    """Raise BudgetTampered unless `state` (None: no file) is the site's own, signed and
    consistent with the marker. A site without a marker yet (its first DP round) passes."""
    mark = _read_marker(marker, key)
    if state is None:
        if mark is not None and mark[0] > 0:
            raise BudgetTampered(
                f"{path}: missing, but {marker.name} records {mark[0]} round(s) of spent "
                f"privacy at this site. {RECOVERY}"
            )
        return
    body = {k: v for k, v in state.items() if k != "signature"}
    if "signature" not in state:
        if mark is None and not body.get("records"):
            return
        raise BudgetTampered(f"{path}: not signed by this site (replaced?). {RECOVERY}")
    if not _verifies(key, body, state["signature"]):
        raise BudgetTampered(f"{path}: signature invalid (the file was edited). {RECOVERY}")
    records = list(body.get("records") or [])
    if body.get("chain_head") != chain_head(records):
        raise BudgetTampered(f"{path}: its records do not hash to its chain head. {RECOVERY}")
    if mark is not None:
        count, head = mark
        if len(records) < count or chain_head(records[:count]) != head:
            raise BudgetTampered(
                f"{path}: holds {len(records)} round(s) that do not extend the {count} recorded "
                f"in {marker.name} (rolled back or replaced). {RECOVERY}"
            )
