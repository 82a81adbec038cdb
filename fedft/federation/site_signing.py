"""A site signs its round record with its own key (see fedft.run.site_signature).

The key is the node config's `signing-key`, else `<state dir>/keys/site-signing.key`. A real
site makes it at set-up (`fedft ledger keygen -o STATE_DIR/keys --name site-signing`, like its
SuperNode key) and publishes the printed fingerprint; a simulated site makes its own on first
use. A deployed site without its key refuses to train: its records could not be trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.federation.site_identity import SiteIdentity
from fedft.run.keys import SITE_KEY_NAME, SigningKeyError, load_or_create, load_private_key
from fedft.run.site_record import anonymization_record, budget_record, dp_record
from fedft.run.site_signature import sign_claim, site_claim

__all__ = ["site_signing_key", "signed_metrics"]

_keys: dict[Path, Ed25519PrivateKey] = {}


def site_signing_key(site: SiteIdentity, state_dir: Path) -> Ed25519PrivateKey:
    """The site's key (cached per process); a simulated site's is created on first use."""
    own = state_dir / "keys" / f"{SITE_KEY_NAME}.key"
    path = Path(site.signing_key).expanduser() if site.signing_key else own
    if path not in _keys:
        if site.partition_id is not None and not site.signing_key:
            _keys[path] = load_or_create(path.parent, name=SITE_KEY_NAME)
        else:
            try:
                _keys[path] = load_private_key(path, what=f"{site.site_id}: site signing key")
            except SigningKeyError as exc:
                raise SigningKeyError(
                    f"{exc}. Each site signs its round records: make the key at set-up with "
                    f"`fedft ledger keygen -o {path.parent} --name {SITE_KEY_NAME}` (or set the "
                    "node config's signing-key) and publish the fingerprint it prints"
                ) from None
    return _keys[path]


def signed_metrics(
    metrics: Mapping[str, Any], *, site_id: str, server_round: int, key: Ed25519PrivateKey
) -> dict[str, Any]:
    """`metrics` plus the site's signature over its claim (DP, anonymization, budget)."""
    claim = site_claim(
        site=site_id,
        server_round=server_round,
        dp=dp_record(metrics),
        anonymization=anonymization_record(metrics),
        budget=budget_record(metrics),
    )
    return {**metrics, **sign_claim(key, claim)}
