"""Score one site's canaries under a trained model and turn the scores into the audit's
figures: membership inference, exposure (causal LMs), the one-run ε lower bound, and how
that bound compares with the ε the run claims.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fedft.audit.canaries import CanaryRecord, candidate_secrets
from fedft.audit.exposure import exposure, summarize_exposures
from fedft.audit.lower_bound import one_run_lower_bound
from fedft.audit.membership import membership_inference
from fedft.audit.scoring import classification_losses, response_log_likelihoods

__all__ = ["CanaryScores", "group_claim", "score_canaries", "site_result"]


@dataclass(frozen=True)
class CanaryScores:
    """Per canary, in the record's order; higher = more likely trained on."""

    loss_scores: np.ndarray  # minus the loss under the trained model (the classic attack)
    calibrated: np.ndarray | None  # minus (loss − loss under the untrained adapter)
    exposures: np.ndarray | None  # bits, causal LMs only
    candidates: int  # R per canary (0 = no exposure)


def _candidate_seed(record: CanaryRecord, canary_id: int) -> int:
    digest = hashlib.sha256(
        f"fedft-candidates:{record.seed}:{record.site}:{canary_id}".encode()
    ).digest()
    return int.from_bytes(digest[:8], "big")


def _minus_losses(
    model: Any, tokenizer: Any, record: CanaryRecord, *, label2id, max_length, device
) -> np.ndarray:
    prompts = [c.prompt for c in record.canaries]
    secrets = [c.secret for c in record.canaries]
    if record.task == "instruction":
        return response_log_likelihoods(
            model,
            tokenizer,
            prompts=prompts,
            responses=secrets,
            max_length=max_length,
            device=device,
        )
    if label2id is None:
        raise ValueError("classification canaries need label2id (the run's labels.json)")
    return -classification_losses(
        model,
        tokenizer,
        texts=prompts,
        labels=secrets,
        label2id=label2id,
        max_length=max_length,
        device=device,
    )


def score_canaries(
    model: Any,
    tokenizer: Any,
    *,
    record: CanaryRecord,
    reference: Any = None,
    label2id: dict[str, int] | None = None,
    candidates: int = 0,
    max_length: int = 128,
    device: Any = "cpu",
) -> CanaryScores:
    """Losses of every canary (and under `reference`, the untrained adapter, when given);
    for causal LMs with `candidates` ≥ 2, the exposure of each secret among that many."""
    kw = {"label2id": label2id, "max_length": max_length, "device": device}
    scores = _minus_losses(model, tokenizer, record, **kw)
    calibrated = None
    if reference is not None:
        calibrated = scores - _minus_losses(reference, tokenizer, record, **kw)
    exposures = None
    if record.task == "instruction" and candidates >= 2:
        # One pass over every canary's candidates: tokenizing per canary costs more than the model.
        others = [
            candidate_secrets(
                secret=c.secret, count=candidates - 1, seed=_candidate_seed(record, c.id)
            )
            for c in record.canaries
        ]
        lls = response_log_likelihoods(
            model,
            tokenizer,
            prompts=[
                c.prompt for c, group in zip(record.canaries, others, strict=True) for _ in group
            ],
            responses=[s for group in others for s in group],
            max_length=max_length,
            device=device,
        ).reshape(len(record.canaries), candidates - 1)
        exposures = np.asarray(
            [
                exposure(secret=float(ll), candidates=row)
                for ll, row in zip(scores, lls, strict=True)
            ]
        )
    return CanaryScores(scores, calibrated, exposures, candidates if exposures is not None else 0)


def group_claim(
    *, epsilon: float, delta: float, repeats: int, group_size: int = 1
) -> tuple[float, float]:
    """(ε, δ) for a canary repeated `repeats` times, from a claim for any `group_size`
    records together. Copies within one group are covered by the claim itself; beyond it,
    group privacy over the g = ⌈repeats / group_size⌉ groups: g ε and g e^{(g−1) ε} δ."""
    groups = math.ceil(repeats / group_size)
    if groups == 1:
        return epsilon, delta
    if delta <= 0.0:
        return groups * epsilon, 0.0
    # In logs: e^{(g−1) ε} overflows a float beyond ε ≈ 709 / (g − 1).
    log_delta = math.log(groups) + (groups - 1) * epsilon + math.log(delta)
    return groups * epsilon, 1.0 if log_delta >= 0.0 else math.exp(log_delta)


def site_result(
    scores: CanaryScores,
    *,
    record: CanaryRecord,
    claimed_epsilon: float | None,
    claimed_delta: float | None,
    claimed_group_size: int = 1,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The JSON-ready figures for one site's canaries, with the verdict against the claim.

    The bound is computed at the δ the claim carries for one canary (the claim's own δ when
    the copies fit in its group size, else the group-privacy δ), so "bound > claimed ε" is a
    contradiction of the claim.
    Without a claim (no DP) δ = 1e-5 is used to state how much the run leaks at least.
    """
    included = np.asarray(record.included, dtype=bool)
    # The bound's attack is fixed in advance (choosing after looking would void its 95%): the
    # plain loss. Calibrating by the untrained adapter was weaker on random secrets (measured,
    # docs/empirical-audit.md), so it is reported alongside only.
    attack = scores.loss_scores
    claim = None
    delta = 1e-5
    if claimed_epsilon is not None and claimed_delta is not None:
        claim = group_claim(
            epsilon=claimed_epsilon,
            delta=claimed_delta,
            repeats=record.repeats,
            group_size=claimed_group_size,
        )
        delta = claim[1]
    out: dict[str, Any] = {
        "site": record.site,
        "task": record.task,
        "canaries": len(record.canaries),
        "included": int(included.sum()),
        "repeats": record.repeats,
        "score": "loss",
        "membership_loss": asdict(
            membership_inference(scores=scores.loss_scores, included=included)
        ),
        "membership_calibrated": None
        if scores.calibrated is None
        else asdict(membership_inference(scores=scores.calibrated, included=included)),
        "exposure": None,
        "claimed_epsilon": claimed_epsilon,
        "claimed_delta": claimed_delta,
        "claimed_group_size": claimed_group_size,
        "claimed_epsilon_per_canary": None if claim is None else claim[0],
        "claimed_delta_per_canary": None if claim is None else claim[1],
    }
    if scores.exposures is not None:
        summary = summarize_exposures(
            exposures=scores.exposures, included=included, candidates=scores.candidates
        )
        out["exposure"] = {
            **asdict(summary),
            "values": [round(float(e), 4) for e in scores.exposures],
        }
    if delta >= 1.0:
        out["lower_bound"] = None
        out["verdict"] = "not comparable"
        out["reading"] = (
            f"Each canary was repeated {record.repeats} times, more than the claim's groups of "
            f"{claimed_group_size}: group privacy turns the claim into a statement with δ ≥ 1 "
            "for a canary, which no audit can contradict. Plant at most dp.group_size copies "
            "(audit.canaries.repeats) to test the claim."
        )
        return out
    bound = one_run_lower_bound(
        scores=attack, included=included, delta=delta, confidence=confidence
    )
    out["lower_bound"] = asdict(bound)
    out["verdict"], out["reading"] = _verdict(
        bound.epsilon, claim, confidence, record.repeats, claimed_group_size
    )
    return out


def _verdict(
    lb: float,
    claim: tuple[float, float] | None,
    confidence: float,
    repeats: int,
    group_size: int,
) -> tuple[str, str]:
    pct = f"{100 * confidence:.0f}%"
    if repeats == 1:
        unit = "a record"
    elif repeats <= group_size:
        unit = f"a canary ({repeats} copies, within the claim's groups of {group_size})"
    else:
        unit = f"a canary ({repeats} copies, group privacy over groups of {group_size})"
    if claim is None:
        return "no claim", (
            f"No differential privacy was claimed for this site. The canaries certify, at {pct} "
            f"confidence, that training is not ({lb:.3g}, δ)-DP for {unit}: the adapter leaks "
            "at least that much about whether a canary was trained on."
        )
    if lb > claim[0]:
        return "VIOLATION", (
            f"The measured lower bound ε ≥ {lb:.3g} EXCEEDS the claimed ε = {claim[0]:.3g} for "
            f"{unit} (δ = {claim[1]:.2g}). At {pct} confidence the run does not give the "
            "privacy it claims: a bug in the accounting, sampling, clipping or noise. Do not "
            "release this adapter until it is explained."
        )
    return "consistent", (
        f"The canaries certify ε ≥ {lb:.3g} for {unit}, at or below the claimed ε = "
        f"{claim[0]:.3g}: no contradiction found. A lower bound is not a certificate — it "
        "shows what this attack could detect, not that the data are safe; the guarantee rests "
        "on the accounted ε."
    )
