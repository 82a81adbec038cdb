"""The site's budget guard: state on the site's disk, surviving restarts, enforcing the cap."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from fedft.dp.accounting import epsilon_spent
from fedft.dp.budget import BudgetExhausted, SiteBudget

ROUND = (1.0, 0.5, 2)  # noise, sample rate, steps: ε ≈ 3.75 per round at δ = 1e-3 (RDP)


def _load(path, max_epsilon=None, **kw):
    return SiteBudget.load(
        path, **{"accountant": "rdp", "delta": 1e-3, "max_epsilon": max_epsilon, **kw}
    )


def test_fresh_budget_records_and_reloads(tmp_path):
    # Prepare
    path = tmp_path / "state" / "dp-budget.json"
    budget = _load(path)

    # Execute
    before = budget.epsilon()
    total = budget.record(1, *ROUND)
    reloaded = _load(path)

    # Assert
    assert before == 0.0
    assert total == pytest.approx(3.7514671175, abs=1e-5)
    assert reloaded.epsilon() == total
    assert reloaded.history == [ROUND]
    assert [r.round for r in reloaded.records] == [1]
    assert sorted(p.name for p in path.parent.iterdir()) == ["dp-budget.json"]  # no temp file left


def test_would_exceed_projects_the_total(tmp_path):
    # Prepare
    budget = _load(tmp_path / "b.json", max_epsilon=5.0)
    budget.record(1, *ROUND)

    # Execute
    exceed, projected = budget.would_exceed(*ROUND)
    cheap, projected_cheap = budget.would_exceed(4.0, 0.5, 2)
    uncapped = _load(tmp_path / "other.json").would_exceed(*ROUND)

    # Assert
    assert (exceed, projected) == (True, pytest.approx(5.2806235918, abs=1e-5))
    assert cheap is False and projected_cheap < 5.0
    assert uncapped == (False, pytest.approx(3.7514671175, abs=1e-5))


def test_declined_round_has_a_reason_and_is_kept_once(tmp_path):
    # Prepare
    path = tmp_path / "b.json"
    budget = _load(path, max_epsilon=4.0)
    budget.record(1, *ROUND)

    # Execute
    with pytest.raises(BudgetExhausted) as info:
        budget.check_round(2, *ROUND)
    with pytest.raises(BudgetExhausted):
        budget.check_round(2, *ROUND)  # a retry of the same round is not a second decline

    # Assert
    assert info.value.reason == (
        "privacy budget: round 2 would raise this site's ε from 3.751 to 5.281 (δ=0.001, rdp "
        "accountant), above dp.max_epsilon = 4; the site declines this round and trains no more"
    )
    assert info.value.projected_epsilon == pytest.approx(5.2806235918, abs=1e-5)
    saved = json.loads(path.read_text())
    assert [d["round"] for d in saved["declines"]] == [2]
    assert len(saved["records"]) == 1


def test_budget_kept_at_another_delta_accountant_or_group_size_is_refused(tmp_path):
    # Prepare
    path = tmp_path / "b.json"
    _load(path).record(1, *ROUND)

    # Execute
    with pytest.raises(ValueError) as delta_info:
        _load(path, delta=1e-5)
    with pytest.raises(ValueError) as acc_info:
        _load(path, accountant="prv")
    with pytest.raises(ValueError) as group_info:
        _load(path, group_size=4)

    # Assert
    assert (
        "kept at δ=0.001 with the rdp accountant for groups of 1; the config now gives "
        "δ=1e-05, rdp, groups of 1" in str(delta_info.value)
    )
    assert "now gives δ=0.001, prv, groups of 1" in str(acc_info.value)
    assert "now gives δ=0.001, rdp, groups of 4" in str(group_info.value)


def test_unreadable_state_is_an_error_not_a_reset(tmp_path):
    # Prepare
    path = tmp_path / "b.json"
    path.write_text("{not json")

    # Execute
    with pytest.raises(ValueError) as info:
        _load(path)

    # Assert
    assert str(info.value).startswith(f"{path}: not a readable fedft DP budget")
    assert "Deleting it resets this site's spent ε to 0" in str(info.value)


def test_state_survives_a_client_process_restart(tmp_path):
    # Prepare: a site recorded round 1, then its process ended; a new process takes over.
    path = tmp_path / "site-0" / "dp-budget.json"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from fedft.dp.budget import SiteBudget
        b = SiteBudget.load(Path({str(path)!r}), accountant="rdp", delta=1e-3, max_epsilon=None)
        print(b.record(int(sys.argv[1]), 1.0, 0.5, 2))
        """
    )

    first = _load(path).record(1, *ROUND)

    # Execute
    output = subprocess.run(
        [sys.executable, "-c", script, "2"], capture_output=True, text=True, check=True, timeout=120
    ).stdout

    # Assert: the new process continued from the old one's state.
    two_rounds = epsilon_spent(history=[ROUND, ROUND], delta=1e-3, accountant="rdp")
    assert first == pytest.approx(3.7514671175, abs=1e-9)
    assert float(output) == pytest.approx(two_rounds, abs=1e-12)
    assert _load(path).epsilon() == pytest.approx(two_rounds, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": 1.0}, "delta is 1.0; it must be in (0, 1)"),
        ({"accountant": "gdp"}, "accountant is 'gdp'"),
        ({"max_epsilon": 0.0}, "max_epsilon is 0.0; give a number > 0 or None"),
    ],
)
def test_bad_settings(tmp_path, kwargs, message):
    # Execute
    with pytest.raises(ValueError) as info:
        _load(tmp_path / "b.json", **kwargs)

    # Assert
    assert message in str(info.value)
