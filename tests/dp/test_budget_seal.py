"""A sealed site budget: deleting, editing or rolling back `dp-budget.json` makes the site
refuse; the audit flags a restarted history and an ε over the cap; a lost budget is rebuilt
from the ledger's signed records, and the rebuild is recorded."""

import json
import shutil

import pytest

from fedft.cli import main as fedft_main
from fedft.dp.accounting import epsilon_spent
from fedft.dp.budget import BudgetTampered, SiteBudget
from fedft.federation.site_signing import signed_metrics
from fedft.round.coordinator import _site_round
from fedft.run.keys import generate_key_pair, load_private_key
from fedft.run.ledger import PrivacyLedger
from fedft.run.report.audit import build_audit

STEP = {"noise_multiplier": 1.0, "sample_rate": 0.05, "steps": 40}


@pytest.fixture
def site(tmp_path):
    key = load_private_key(generate_key_pair(tmp_path / "keys", name="site-signing").private)
    return tmp_path, key


def _load(folder, key):
    return SiteBudget.load(
        folder / "dp-budget.json",
        accountant="rdp",
        delta=1e-5,
        max_epsilon=50.0,
        signing_key=key,
        marker=folder / "keys" / "dp-budget.marker",
    )


def _spend(folder, key, rounds):
    budget = _load(folder, key)
    for r in rounds:
        budget.record(r, **STEP)
    return budget


def test_a_sealed_budget_reloads_with_its_history(site):
    folder, key = site
    spent = _spend(folder, key, [1, 2])
    again = _load(folder, key)
    assert len(again.records) == 2 and again.epsilon() == spent.epsilon()
    assert again.head == spent.head


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.unlink(), "missing, but dp-budget.marker records 2 round"),
        (
            lambda p: p.write_text(p.read_text().replace('"steps": 40', '"steps": 4', 1)),
            "signature invalid",
        ),
        (
            lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "records": []})),
            "signature invalid",
        ),
    ],
)
def test_a_deleted_or_edited_budget_makes_the_site_refuse(site, damage, message):
    folder, key = site
    _spend(folder, key, [1, 2])
    damage(folder / "dp-budget.json")
    with pytest.raises(BudgetTampered, match=message) as info:
        _load(folder, key)
    assert "fedft ledger rebuild-budget" in str(info.value)


def test_a_rolled_back_budget_is_refused(site):
    folder, key = site
    _spend(folder, key, [1])
    old = folder / "old.json"
    shutil.copy(folder / "dp-budget.json", old)
    _spend(folder, key, [2])
    shutil.copy(old, folder / "dp-budget.json")
    with pytest.raises(BudgetTampered, match="rolled back or replaced"):
        _load(folder, key)


def _ledger(run, folder, key, *, budget_counts, eps):
    """A run whose site-0 reports the given budget record counts and ε totals per round."""
    ledger = PrivacyLedger.open(run)
    ledger.append("run_start", {"dp": {"enabled": True, "max_epsilon": 2.0}})
    for r, (count, e) in enumerate(zip(budget_counts, eps, strict=True), start=1):
        metrics = {
            **{f"dp_{k}": v for k, v in STEP.items()},
            "dp_delta": 1e-5,
            "dp_max_grad_norm": 1.0,
            "dp_accountant": "rdp",
            "dp_epsilon_round": 1.0,
            "dp_epsilon_total": e,
            "dp_group_size": 1,
            "budget_records": count,
            "budget_head": "0" * 64,
        }
        part = _site_round(
            {
                "site": "site-0",
                "status": "trained",
                "num_examples": 10,
                "metrics": signed_metrics(metrics, site_id="site-0", server_round=r, key=key),
            }
        )
        ledger.append_round(
            server_round=r, global_adapter_sha256="ab" * 32, sites=[part], secure_aggregation=None
        )
    return run


def test_the_audit_flags_a_restarted_history_and_an_epsilon_over_the_cap(site):
    folder, key = site
    run = _ledger(folder / "run", folder, key, budget_counts=[1, 2, 1], eps=[1.0, 1.6, 1.0])
    audit = build_audit(run, recompute=epsilon_spent)
    text = "\n".join(audit.findings)
    assert "site-0: its privacy-budget history restarted between round 2 and round 3" in text
    assert "exceeds dp.max_epsilon = 2" in text


def test_a_lost_budget_is_rebuilt_from_the_ledger_and_the_rebuild_recorded(site, capsys):
    folder, key = site
    run = _ledger(folder / "run", folder, key, budget_counts=[1, 2], eps=[1.0, 1.6])
    _spend(folder, key, [1, 2])
    (folder / "dp-budget.json").write_text("{}")
    # Execute
    code = fedft_main(
        [
            "ledger",
            "rebuild-budget",
            str(run),
            "--site",
            "site-0",
            "--state-dir",
            str(folder),
            "--reason",
            "disk failure",
        ]
    )
    # Assert
    assert code == 0, capsys.readouterr()
    rebuilt = _load(folder, key)
    assert [r.round for r in rebuilt.records] == [1, 2] and rebuilt.recoveries == 1
    assert rebuilt.epsilon() == pytest.approx(
        epsilon_spent(history=[tuple(STEP.values())] * 2, delta=1e-5, accountant="rdp")
    )
    assert list(folder.glob("dp-budget.damaged-*.json"))
