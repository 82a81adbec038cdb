"""The `ledger:` section: the coordinator's privacy-ledger signing key.

`signing_key` names an Ed25519 private key made once with `fedft ledger keygen -o KEYDIR`
and kept outside any run folder (mode 0600); its fingerprint is published before runs, so an
auditor can pin it (`fedft audit --verify --fingerprint`). Without it — simulations — each run
makes its own key inside the run folder, and verification then proves only that the ledger is
internally consistent. The file is checked (exists, private, Ed25519) by the coordinator before
any work starts, not here: sites read the same config and do not hold the coordinator's key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from fedft.config.base import StrictModel

__all__ = ["LedgerConfig"]


class LedgerConfig(StrictModel):
    signing_key: Path | None = Field(
        None,
        description="coordinator's Ed25519 key (PEM, 0600) from `fedft ledger keygen`; "
        "None: a per-run key inside the run folder (simulations)",
    )
