"""Loss-threshold membership inference on canaries (Yeom et al. 2018): a canary whose loss
under the trained model is low is guessed to have been trained on.

Scores are "higher = more likely a member" (minus the loss). Pure functions over numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MembershipResult", "auc", "membership_inference", "tpr_at_fpr"]


def _arrays(
    members: Sequence[float], non_members: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(members, dtype=float), np.asarray(non_members, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError(
            f"{a.size} member and {b.size} non-member scores; both groups need at least one "
            "canary (plant more canaries: audit.canaries.count)"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite (a NaN loss means the model or data is broken)")
    return a, b


def auc(*, members: Sequence[float], non_members: Sequence[float]) -> float:
    """Area under the ROC curve: P(score of a random member > a random non-member), ties ½.
    0.5 = the attack learns nothing; 1.0 = perfect separation."""
    a, b = _arrays(members, non_members)
    greater = (a[:, None] > b[None, :]).sum()
    ties = (a[:, None] == b[None, :]).sum()
    return float((greater + 0.5 * ties) / (a.size * b.size))


def tpr_at_fpr(
    *, members: Sequence[float], non_members: Sequence[float], fpr: float = 0.01
) -> float:
    """Share of members caught by the threshold that flags at most `fpr` of non-members.

    With fewer than 1/fpr non-members the only such threshold flags none of them (FPR 0), so
    the value is then a TPR at FPR 0 — conservative, never optimistic.
    """
    if not (0.0 <= fpr < 1.0):
        raise ValueError(f"fpr is {fpr!r}; it must be in [0, 1)")
    a, b = _arrays(members, non_members)
    allowed = int(np.floor(fpr * b.size))  # non-members the threshold may flag
    # Flag scores strictly above the (allowed+1)-th highest non-member score.
    threshold = np.sort(b)[::-1][allowed]
    return float((a > threshold).mean())


@dataclass(frozen=True)
class MembershipResult:
    auc: float
    tpr_at_1pct_fpr: float
    members: int
    non_members: int
    mean_score_members: float
    mean_score_non_members: float


def membership_inference(*, scores: Sequence[float], included: Sequence[bool]) -> MembershipResult:
    """AUC and TPR at 1% FPR of the threshold attack on `scores` (higher = member)."""
    s = np.asarray(scores, dtype=float)
    inc = np.asarray(included, dtype=bool)
    if s.shape != inc.shape:
        raise ValueError(
            f"{s.size} scores for {inc.size} inclusion bits; give one score per canary"
        )
    a, b = s[inc], s[~inc]
    return MembershipResult(
        auc=auc(members=a, non_members=b),
        tpr_at_1pct_fpr=tpr_at_fpr(members=a, non_members=b, fpr=0.01),
        members=int(a.size),
        non_members=int(b.size),
        mean_score_members=float(a.mean()) if a.size else float("nan"),
        mean_score_non_members=float(b.mean()) if b.size else float("nan"),
    )
