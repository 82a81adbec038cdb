"""The `data.dedup:` section: exact and near-duplicate removal within one site's rows.

Runs after anonymization and before training, on each site's own rows only: comparing rows
across sites would need their text (or its fingerprints) to leave the sites.
"""

from __future__ import annotations

from pydantic import Field

from fedft.config.base import StrictModel

__all__ = ["DedupConfig"]


class DedupConfig(StrictModel):
    enabled: bool = Field(False, description="drop exact and near-duplicate rows at each site")
    threshold: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description=(
            "estimated Jaccard similarity of word shingles at or above which two rows are near "
            "duplicates (MinHash LSH); 1.0 = exact duplicates only (after whitespace/case folding)"
        ),
    )
    shingle_words: int = Field(3, ge=1, le=20, description="words per shingle")
    num_perm: int = Field(
        128, ge=16, le=1024, description="MinHash permutations: more = sharper estimate, slower"
    )
