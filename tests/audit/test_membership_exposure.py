"""Membership-inference AUC/TPR and exposure: pure functions on hand-checked numbers."""

import math

import numpy as np
import pytest

from fedft.audit.exposure import exposure, rank_among, summarize_exposures
from fedft.audit.membership import auc, membership_inference, tpr_at_fpr


def test_auc_of_separated_equal_and_reversed_scores():
    assert auc(members=[3, 4], non_members=[1, 2]) == 1.0
    assert auc(members=[1, 1], non_members=[1, 1]) == 0.5
    assert auc(members=[1, 2], non_members=[3, 4]) == 0.0
    # one member above both, one between: (2 + 1) / 4
    assert auc(members=[5, 2], non_members=[1, 3]) == 0.75


def test_tpr_at_low_fpr_flags_no_non_member_when_there_are_few():
    members, non_members = [10, 9, 2], [8, 1, 0]
    assert tpr_at_fpr(members=members, non_members=non_members, fpr=0.01) == pytest.approx(2 / 3)
    # 200 non-members: 1% lets the threshold pass the two highest.
    rng = np.random.default_rng(0)
    out = rng.normal(size=200)
    third = np.sort(out)[-3]
    assert tpr_at_fpr(members=[third - 1e-9], non_members=out, fpr=0.01) == 0.0
    assert tpr_at_fpr(members=[third + 1e-9], non_members=out, fpr=0.01) == 1.0


def test_membership_inference_splits_by_inclusion():
    result = membership_inference(
        scores=[-1.0, -5.0, -0.5, -4.0], included=[True, False, True, False]
    )
    assert (result.auc, result.members, result.non_members) == (1.0, 2, 2)


def test_membership_needs_both_groups():
    with pytest.raises(ValueError, match="audit.canaries.count"):
        membership_inference(scores=[1.0, 2.0], included=[True, True])


def test_exposure_is_log2_r_at_rank_one_and_zero_at_the_bottom():
    cands = [-10.0, -11.0, -12.0]  # R = 4
    assert exposure(secret=-1.0, candidates=cands) == 2.0
    assert exposure(secret=-20.0, candidates=cands) == 0.0
    assert rank_among(secret=-10.0, candidates=cands) == 2  # a tie counts against the secret
    assert exposure(secret=-11.5, candidates=cands) == pytest.approx(2 - math.log2(3))


def test_summary_reports_gap_and_its_noise():
    s = summarize_exposures(
        exposures=[8, 6, 1, 2], included=[True, True, False, False], candidates=256
    )
    assert (s.included_mean, s.held_out_mean, s.gap, s.max_exposure) == (7.0, 1.5, 5.5, 8.0)
    assert s.gap_stderr == pytest.approx(math.sqrt(2 / 2 + 0.5 / 2))


def test_group_claim_for_repeated_canaries():
    from fedft.audit.measure import group_claim

    assert group_claim(epsilon=0.5, delta=1e-5, repeats=1) == (0.5, 1e-5)
    eps, delta = group_claim(epsilon=0.5, delta=1e-5, repeats=4)
    assert eps == 2.0 and delta == pytest.approx(4 * math.exp(1.5) * 1e-5)
    assert group_claim(epsilon=60.0, delta=1e-5, repeats=16) == (960.0, 1.0)  # no overflow
    # A claim for groups of k covers up to k copies as they are; beyond, ⌈r/k⌉ groups.
    assert group_claim(epsilon=3.0, delta=1e-5, repeats=16, group_size=16) == (3.0, 1e-5)
    eps, delta = group_claim(epsilon=0.5, delta=1e-5, repeats=16, group_size=4)
    assert eps == 2.0 and delta == pytest.approx(4 * math.exp(1.5) * 1e-5)
