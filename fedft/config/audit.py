"""The `audit:` section: canaries planted at chosen sites for the empirical privacy audit
(`fedft audit RUN_DIR --empirical`, docs/empirical-audit.md).

Canaries are synthetic records added to a site's training data after anonymization, so the
audit measures what training memorizes, not what the anonymizer removes. Each is included
with probability ½ (the site keeps the secret list of which), and repeated `repeats` times.
Off by default. A real site plants them only with `consent: true`: they change what the site
trains on, and a deployment must never do that behind the data steward's back.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from fedft.config.base import StrictModel

__all__ = ["AuditConfig", "CanaryConfig"]


class CanaryConfig(StrictModel):
    enabled: bool = False
    sites: list[str] = Field(
        ["site-0"], min_length=1, description="Site ids that plant canaries (simulation: site-<i>)"
    )
    count: int = Field(
        64, ge=2, le=100_000, description="m: canaries per site, each in with prob ½"
    )
    repeats: int = Field(
        1,
        ge=1,
        le=1024,
        description="Copies of each included canary; >1 audits a group of records (group privacy)",
    )
    seed: int = Field(0, ge=0, lt=2**32, description="Seed of the canary texts (not of inclusion)")
    consent: bool = Field(
        False, description="Required at a real site: its data steward agreed to the canaries"
    )
    candidates: int = Field(
        10_000, ge=2, le=10_000_000, description="R: sequences each secret is ranked among"
    )
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Of the one-run ε lower bound")

    @field_validator("sites")
    @classmethod
    def _not_the_server(cls, sites: list[str]) -> list[str]:
        # The coordinator prepares its held-out set in a folder named "server" through the same
        # path as the sites; canaries there would be evaluated on, never trained on.
        if "server" in sites:
            raise ValueError("'server' is the coordinator, not a site; list site ids (site-<i>)")
        if len(set(sites)) != len(sites):
            raise ValueError(f"{sites}: a site is listed twice")
        return sites


class AuditConfig(StrictModel):
    canaries: CanaryConfig = CanaryConfig()
