"""Exact and near-duplicate rows within one site's data (MinHash LSH over word shingles).

A site trains on each distinct record once: a note copied into a file twice weighs double in
training and is easier to memorize (and, under DP-SGD, a record present k times is protected
only at group size k). Runs at the site, on anonymized text, before training; only the counts
leave it. Rows are never compared across sites: that would need their text, or fingerprints
of it, to leave the sites.

Greedy in row order: a row is kept unless an earlier kept row equals it (after case and
whitespace folding: exact) or its estimated Jaccard similarity to an earlier kept row reaches
`threshold` (near). The first of a group of duplicates is the one kept, so the result does not
depend on anything but the rows and the settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DedupResult", "find_duplicates", "normalize", "shingles"]

# datasketch's default; fixed so every site and every run hashes alike.
_MINHASH_SEED = 1


@dataclass(frozen=True)
class DedupResult:
    """Row indices to keep (ascending) and how many rows each rule removed."""

    keep: tuple[int, ...]
    exact: int
    near: int

    @property
    def kept(self) -> int:
        return len(self.keep)

    def counts(self) -> dict[str, int]:
        return {"exact": self.exact, "near": self.near, "kept": self.kept}


def normalize(text: str) -> str:
    """Case- and whitespace-folded text: what 'exact duplicate' compares."""
    return " ".join(text.casefold().split())


def shingles(text: str, *, words: int) -> set[bytes]:
    """The set of `words`-word windows of a normalized text (the whole text when shorter)."""
    tokens = text.split()
    if len(tokens) <= words:
        return {" ".join(tokens).encode()}
    return {" ".join(tokens[i : i + words]).encode() for i in range(len(tokens) - words + 1)}


def find_duplicates(
    texts: Sequence[str], *, threshold: float, shingle_words: int = 3, num_perm: int = 128
) -> DedupResult:
    """Which of `texts` to keep.

    threshold: in (0, 1]; rows whose estimated Jaccard similarity of word shingles to an
    earlier kept row is at least this are near duplicates (1.0: exact duplicates only).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold {threshold} is outside (0, 1]; 0.9 is a common choice")
    seen: set[bytes] = set()
    distinct: list[tuple[int, str]] = []
    exact = 0
    for i, text in enumerate(texts):
        folded = normalize(text)
        digest = hashlib.sha256(folded.encode()).digest()
        if digest in seen:
            exact += 1
            continue
        seen.add(digest)
        distinct.append((i, folded))
    if threshold >= 1.0:
        return DedupResult(keep=tuple(i for i, _ in distinct), exact=exact, near=0)

    # Imported here: datasketch pulls in scipy, which a site without data.dedup never needs.
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept_hashes: dict[int, MinHash] = {}
    keep: list[int] = []
    near = 0
    for i, folded in distinct:
        mh = MinHash(num_perm=num_perm, seed=_MINHASH_SEED)
        mh.update_batch(sorted(shingles(folded, words=shingle_words)))
        # LSH buckets give candidates, some below the threshold: check each estimate.
        if any(mh.jaccard(kept_hashes[j]) >= threshold for j in lsh.query(mh)):
            near += 1
            continue
        lsh.insert(i, mh)
        kept_hashes[i] = mh
        keep.append(i)
    return DedupResult(keep=tuple(keep), exact=exact, near=near)
