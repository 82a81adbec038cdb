"""Real training on planted canaries (tiny Llama, fedft's own loops, no Flower): the audit
sees memorization without DP, less of it with per-record DP, none beyond noise when the DP
claim covers a canary's copies (dp.group_size), and catches a run whose ε claim is false.

Figures of full-size runs: bench/bench_empirical_audit.py, docs/empirical-audit.md.
"""

import random

import datasets
import pytest
from fedft_eval.canary_experiment import CanarySet, plant_sets, train_and_score

from fedft.audit.measure import site_result
from fedft.config.dp import DPConfig

FILLER = [{"instruction": "Name the colour of the sky.", "input": "", "response": "blue"}] * 16
R = 32  # candidates per secret: exposure in [0, 5] bits


def _run(build, *, sets, epochs, dp=None, batch_size=16, seed=1, candidates=R):
    base = datasets.Dataset.from_list(FILLER)
    data, records = plant_sets(base, task="instruction", sets=sets, seed=0, rng=random.Random(seed))
    return train_and_score(
        build, data, records, task="instruction", epochs=epochs, batch_size=batch_size,
        learning_rate=3e-2, dp=dp, candidates=candidates,
    )  # fmt: skip


@pytest.fixture(scope="module")
def repeated(build):
    """24 canaries, each included one in two, 16 copies: one epoch without DP, one at ε = 3
    per record, one at ε = 3 for any 16 records together (the canary's copies)."""
    sets = [CanarySet("r16", count=24, repeats=16)]
    group = DPConfig(enabled=True, target_epsilon=3.0, group_size=16)
    return {
        "none": _run(build, sets=sets, epochs=1),
        "dp": _run(build, sets=sets, epochs=1, dp=DPConfig(enabled=True, target_epsilon=3.0)),
        "group": _run(build, sets=sets, epochs=1, dp=group),
    }


def _result(run, name, claim=None):
    eps, delta = claim if claim else (run.epsilon, run.delta)
    return site_result(
        run.scores[name],
        record=run.records[name],
        claimed_epsilon=eps,
        claimed_delta=delta,
        claimed_group_size=run.group_size,
    )


def test_without_dp_repeated_canaries_are_exposed(repeated):
    result = _result(repeated["none"], "r16")
    e = result["exposure"]
    assert e["gap"] > 2.0 and e["gap"] > 3 * e["gap_stderr"], e
    assert result["membership_loss"]["auc"] >= 0.9
    assert result["verdict"] == "no claim" and result["lower_bound"]["epsilon"] > 0


def test_dp_shrinks_the_exposure_gap_of_repeated_canaries(repeated):
    none, dp = _result(repeated["none"], "r16"), _result(repeated["dp"], "r16")
    assert 0 < repeated["dp"].epsilon <= 3.0
    # A 16-copy canary is a group of 16 records: DP at ε per record bounds it only at ~16 ε,
    # so the gap need not vanish (measured: it shrinks, docs/empirical-audit.md).
    assert dp["exposure"]["gap"] < none["exposure"]["gap"]
    assert dp["verdict"] == "not comparable"


def test_dp_for_groups_of_16_closes_the_gap_of_16_copy_canaries_to_noise(repeated):
    run = repeated["group"]
    result = _result(run, "r16")
    e = result["exposure"]
    assert 0 < run.epsilon <= 3.0 and run.group_size == 16
    # Within noise: the in/held-out difference is below 3 standard errors (measured: gap
    # 0.30 ± 0.56 bits, AUC 0.57; per-record ε = 3: 1.95 ± 0.65; no DP: 3.64 ± 0.30).
    assert abs(e["gap"]) < 3 * e["gap_stderr"], e
    assert result["claimed_epsilon_per_canary"] == run.epsilon  # the copies fit one group
    assert result["verdict"] == "consistent"
    assert result["lower_bound"]["epsilon"] <= run.epsilon


@pytest.fixture(scope="module")
def single(build):
    """64 canaries once each, 8 epochs: DP-SGD at ε = 0.5, and the same run with the noise
    left out while the ledger would still claim the plan's ε (the fault injected).

    δ = 1e-5 rather than the default 1/(10 n) = 0.002 for these 50 records: the bound's δ term
    grows as 2 m δ, and at 0.002 it hides even a noise-free run (measured ε_lb 0.05 vs 1.41).
    """
    sets = [CanarySet("r1", count=64, repeats=1)]
    dp = DPConfig(enabled=True, target_epsilon=0.5, target_delta=1e-5)
    honest = _run(build, sets=sets, epochs=8, dp=dp, batch_size=8, candidates=0)
    broken = _run(build, sets=sets, epochs=8, batch_size=8, candidates=0)
    return honest, broken


def test_the_lower_bound_never_exceeds_the_claimed_epsilon_of_a_dp_run(single):
    honest, _ = single
    result = _result(honest, "r1")
    assert 0 < honest.epsilon <= 0.5
    assert result["lower_bound"]["epsilon"] <= honest.epsilon
    assert result["verdict"] == "consistent"


def test_a_run_claiming_an_epsilon_it_did_not_spend_is_caught(single):
    honest, broken = single
    # Fault injection: the broken run trained without noise but claims the honest plan's ε.
    result = _result(broken, "r1", claim=(honest.epsilon, honest.delta))
    assert result["verdict"] == "VIOLATION", result["lower_bound"]
    assert result["lower_bound"]["epsilon"] > honest.epsilon
    assert "EXCEEDS" in result["reading"]
