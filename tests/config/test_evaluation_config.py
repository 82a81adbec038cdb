"""The `evaluation:` section: the local-only baseline is off unless asked for, and the
combinations it cannot run in are rejected with the fix."""

from pathlib import Path

import pytest

from fedft.config import ConfigError, load_config

DEFAULT = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def test_the_local_baseline_is_off_by_default_and_turns_on():
    # It trains every site a second time (docs/benchmarks.md): opt-in.
    assert load_config(DEFAULT).evaluation.local_baseline is False
    assert load_config(DEFAULT, ["evaluation.local_baseline=true"]).evaluation.local_baseline is True


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["evaluation.local_baseline=true", "evaluation.per_site=false"],
            "evaluation.local_baseline: true needs evaluation.per_site: true",
        ),
        (
            ["evaluation.local_baseline=true", "dp.enabled=true", "dp.target_epsilon=8", "dp.max_epsilon=8"],
            "evaluation.local_baseline: true with dp.enabled",
        ),
        (["evaluation.local_baseline=sometimes"], "evaluation.local_baseline: Input should be a valid boolean"),
    ],
)
def test_impossible_baselines_are_rejected_naming_the_key(overrides, expected):
    with pytest.raises(ConfigError) as info:
        load_config(DEFAULT, overrides)
    assert any(e.startswith(expected) for e in info.value.errors), info.value.errors


@pytest.mark.parametrize(
    ("every", "scored"),
    [(1, [0, 1, 2, 3, 4, 5, 6]), (2, [0, 2, 4, 6]), (4, [0, 4, 6]), (10, [0, 6])],
)
def test_every_n_rounds_always_scores_round_0_and_the_last(every, scored):
    ev = load_config(DEFAULT, [f"evaluation.every_n_rounds={every}"]).evaluation
    assert [r for r in range(7) if ev.scores_round(r, rounds=6)] == scored


def test_every_n_rounds_must_be_a_positive_integer():
    with pytest.raises(ConfigError) as info:
        load_config(DEFAULT, ["evaluation.every_n_rounds=0"])
    assert info.value.errors[0].startswith("evaluation.every_n_rounds: Input should be greater than 0")
