"""Sites sign what they claim: a ledger forged with every key reachable from the run folder
and from one site's folder is rejected by verification with the published fingerprints, and
a coordinator rewriting a site's ε is caught by the site's signature."""

import dataclasses
import shutil

import pytest

from fedft.dp.plan import RoundAccount
from fedft.federation.site_signing import signed_metrics
from fedft.round.coordinator import _site_round
from fedft.run.keys import SITE_KEY_NAME, generate_key_pair, load_private_key
from fedft.run.ledger import PrivacyLedger, ledger_paths
from fedft.run.ledger_verify import read_ledger, verify_ledger
from fedft.run.site_record import dp_record
from fedft.run.site_signature import sign_claim, signed_part, site_claim

SHA = "ab" * 32
POLICY = "cd" * 32
SITES = ("site-0", "site-1")


def _account(eps_total: float) -> RoundAccount:
    return RoundAccount(
        noise_multiplier=1.1,
        sample_rate=0.03125,
        steps=64,
        delta=2e-4,
        max_grad_norm=1.0,
        accountant="prv",
        epsilon_round=0.9,
        epsilon_total=eps_total,
        group_size=1,
    )


def _site_metrics(site: str, server_round: int, key) -> dict:
    metrics = {
        **_account(0.9 * server_round).as_metrics(),
        "anon_enabled": 1,
        "anon_rows": 40,
        "anon_rows_changed": 30,
        "anon_rows_dropped": 0,
        "anon_entities": 55,
        "anon_residual": 1,
        "anon_residual_PERSON": 1,
        "anon_policy_hash": POLICY,
        "budget_records": server_round,
        "budget_head": f"{server_round:064x}",
        "steps": 64,
    }
    return signed_metrics(metrics, site_id=site, server_round=server_round, key=key)


@pytest.fixture
def federation(tmp_path):
    """A deployment's layout: the coordinator's provisioned key outside the run, each site's
    key in its own folder; a 2-round ledger written through the coordinator's real path."""
    coordinator = generate_key_pair(tmp_path / "coordinator-keys")
    site_keys = {s: generate_key_pair(tmp_path / s / "keys", name=SITE_KEY_NAME) for s in SITES}
    run = tmp_path / "run"
    run.mkdir()
    ledger = PrivacyLedger.open(run, private_key_path=coordinator.private)
    ledger.append("run_start", {"ledger_key": ledger.custody})
    for r in (1, 2):
        parts = [
            _site_round(
                {
                    "site": s,
                    "node": f"node-{i}",
                    "status": "trained",
                    "num_examples": 40,
                    "metrics": _site_metrics(s, r, load_private_key(site_keys[s].private)),
                }
            )
            for i, s in enumerate(SITES)
        ]
        ledger.append_round(
            server_round=r, global_adapter_sha256=SHA, sites=parts, secure_aggregation=None
        )
    ledger.append("run_end", {"rounds_completed": 2})
    published = {s: k.fingerprint for s, k in site_keys.items()}
    return run, coordinator, site_keys, published


def _forge(run, key_path, mutate):
    """Rewrite every entry's body with `mutate` and sign the ledger anew with `key_path`."""
    entries = read_ledger(run)
    paths = ledger_paths(run)
    for p in (paths.ledger, paths.head, paths.public_key):
        p.unlink()
    shutil.rmtree(run / "keys", ignore_errors=True)
    forged = PrivacyLedger.open(run, private_key_path=key_path)
    for e in entries:
        forged.append(e["kind"], mutate(e))


def _lower_epsilon(site, *, sign_with=None):
    def mutate(entry):
        body = entry["body"]
        for part in body.get("sites", []) if entry["kind"] == "round" else []:
            if part["site"] == site:
                part["dp"]["epsilon_total"] = 0.0378
                if sign_with is not None:  # re-sign the site's part with a key the forger holds
                    claim = site_claim(
                        site=site,
                        server_round=body["round"],
                        dp=part["dp"],
                        anonymization=part["anonymization"],
                        budget=part["budget"],
                    )
                    part["site_signature"] = signed_part(sign_claim(sign_with, claim))
        return body

    return mutate


def test_the_honest_ledger_verifies_with_every_published_fingerprint(federation):
    run, coordinator, _, published = federation
    result = verify_ledger(run, fingerprint=coordinator.fingerprint, site_fingerprints=published)
    assert result.ok, result.problems
    assert result.site_signatures == 4 and result.sites_pinned


def test_the_coordinator_rewriting_a_sites_epsilon_is_caught_by_the_sites_signature(federation):
    # Prepare: the coordinator holds its own key and re-signs the whole ledger with it
    run, coordinator, _, published = federation
    # Execute
    _forge(run, coordinator.private, _lower_epsilon("site-0"))
    # Assert: its own signatures hold, the site's does not — pinned or not
    for pins in (published, None):
        result = verify_ledger(run, fingerprint=coordinator.fingerprint, site_fingerprints=pins)
        assert not result.ok
        assert any("site-0: the site's signature does not match" in p for p in result.problems)


def test_every_key_reachable_from_the_run_and_one_site_folder_fails_to_forge(federation, tmp_path):
    # Prepare: the forger reads the run folder (no private key there: the coordinator's is
    # provisioned elsewhere) and site-1's folder, and can make keys of their own.
    run, coordinator, site_keys, published = federation
    assert not [p for p in run.rglob("*.key")]
    site1 = load_private_key(site_keys["site-1"].private)
    own = generate_key_pair(tmp_path / "forger")
    own_site = load_private_key(generate_key_pair(tmp_path / "forger", name="site").private)
    backup = tmp_path / "backup"
    shutil.copytree(run, backup)
    forgeries = {
        "site-0 re-signed with site-1's key": _lower_epsilon("site-0", sign_with=site1),
        "site-0 re-signed with a new key": _lower_epsilon("site-0", sign_with=own_site),
        "site-1's own figures re-signed with its key": _lower_epsilon("site-1", sign_with=site1),
        "ledger unchanged, re-signed": lambda e: e["body"],
    }
    for name, mutate in forgeries.items():
        shutil.rmtree(run)
        shutil.copytree(backup, run)
        # Execute: the coordinator's key is out of reach, so the ledger gets the forger's own
        _forge(run, own.private, mutate)
        result = verify_ledger(
            run, fingerprint=coordinator.fingerprint, site_fingerprints=published
        )
        # Assert
        assert not result.ok, name
        assert any("not the published" in p for p in result.problems), name
        if "site-0" in name:
            assert any("round 1, site-0" in p for p in result.problems), name


def test_site_fingerprints_must_cover_every_site(federation):
    run, coordinator, _, published = federation
    result = verify_ledger(
        run, fingerprint=coordinator.fingerprint, site_fingerprints={"site-0": published["site-0"]}
    )
    assert not result.ok
    assert any("site-1: no published fingerprint" in p for p in result.problems)


def test_the_dp_record_a_site_signs_is_the_round_account_the_coordinator_reads():
    account = _account(1.8)
    assert dp_record(account.as_metrics()) == dataclasses.asdict(
        RoundAccount.from_metrics(account.as_metrics())
    )
