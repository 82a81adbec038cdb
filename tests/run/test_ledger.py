"""The privacy ledger: hash chain + Ed25519 signatures; every kind of tampering is caught."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.dp.plan import RoundAccount
from fedft.run.ledger import (
    DP_FIELDS,
    LedgerError,
    PrivacyLedger,
    SiteRound,
    append_entry,
    ledger_paths,
)
from fedft.run.ledger_verify import read_ledger, verify_ledger

SHA = "ab" * 32
DP = {
    "noise_multiplier": 1.1,
    "sample_rate": 0.03125,
    "steps": 64,
    "delta": 2e-4,
    "max_grad_norm": 1.0,
    "accountant": "prv",
    "epsilon_round": 0.9,
    "epsilon_total": 0.9,
    "group_size": 1,
}
SECAGG = {"enabled": True, "num_shares": 3, "reconstruction_threshold": 2}


def test_a_site_dp_entry_states_exactly_the_round_account():
    # The coordinator records asdict(RoundAccount): a field added to one and not the other
    # would be dropped from, or refused by, the ledger.
    assert DP_FIELDS == tuple(f.name for f in dataclasses.fields(RoundAccount))
    assert set(DP) == set(DP_FIELDS)


def _write_run(
    run_dir, *, rounds: int = 3, key_path=None, epsilon_step: float = 0.9
) -> PrivacyLedger:
    ledger = PrivacyLedger.open(run_dir, private_key_path=key_path)
    ledger.append(
        "run_start", {"rounds_planned": rounds, "dp": {"enabled": True, "max_epsilon": 3.0}}
    )
    for r in range(1, rounds + 1):
        sites = [
            SiteRound(
                site=f"site-{i}",
                status="trained",
                num_examples=500,
                dp={**DP, "epsilon_total": round(epsilon_step * r, 6)},
            )
            for i in range(2)
        ]
        ledger.append_round(
            server_round=r, global_adapter_sha256=SHA, sites=sites, secure_aggregation=SECAGG
        )
    ledger.append("run_end", {"rounds_completed": rounds})
    return ledger


@pytest.fixture
def run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _write_run(run_dir)
    return run_dir


def _lines(run_dir) -> list[bytes]:
    return ledger_paths(run_dir).ledger.read_bytes().splitlines(keepends=True)


def _write_lines(run_dir, lines) -> None:
    ledger_paths(run_dir).ledger.write_bytes(b"".join(lines))


def test_intact_ledger_verifies_and_keys_are_private(run):
    # Execute
    result = verify_ledger(run)

    # Assert
    paths = ledger_paths(run)
    assert result.ok, result.problems
    assert (result.entries, result.closed) == (5, True)
    assert "ledger" in paths.ledger.name
    assert stat.S_IMODE(paths.private_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.private_key.parent.stat().st_mode) == 0o700
    entries = read_ledger(run)
    assert [e["kind"] for e in entries] == ["run_start", "round", "round", "round", "run_end"]
    assert entries[0]["prev_hash"] == "0" * 64
    assert entries[2]["body"]["sites"][0]["dp"]["epsilon_total"] == 1.8
    assert result.summary().startswith("ledger intact: 5 entries, closed (run_end present)")


def test_reopening_continues_the_chain(run):
    # Execute
    ledger = PrivacyLedger.open(run)
    entry = append_entry(run, "run_end", {"note": "appended by a second handle"})

    # Assert
    assert ledger.count == 5
    assert entry["index"] == 5
    assert verify_ledger(run).ok


def _edit_epsilon(lines):
    lines[2] = lines[2].replace(b'"epsilon_total":1.8', b'"epsilon_total":0.8')
    return lines


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("byte edit", ["line 3: signature invalid"]),
        ("whitespace", ["line 2: not in canonical form (edited)"]),
        (
            "deleted line",
            [
                "line 3: index 3, expected 2",
                "line 3: prev_hash does not match",
                "the server signed 5 entries, the ledger has 4 (entries removed)",
            ],
        ),
        ("truncated tail", ["the server signed 5 entries, the ledger has 4 (entries removed)"]),
        ("swapped lines", ["line 2: index 2, expected 1", "line 3: index 1, expected 2"]),
        ("inserted line", ["line 4: index 2, expected 3", "(entries added)"]),
        ("partial line", ["line 5: not a JSON entry (edited or truncated)", "no final newline"]),
        ("head deleted", ["privacy-ledger.head.json: missing or unreadable"]),
    ],
)
def test_every_tampering_is_detected(run, tamper, expected):
    # Prepare
    lines = _lines(run)
    if tamper == "byte edit":
        _write_lines(run, _edit_epsilon(lines))
    elif tamper == "whitespace":
        _write_lines(run, [lines[0], lines[1].replace(b'"kind":', b'"kind": '), *lines[2:]])
    elif tamper == "deleted line":
        _write_lines(run, [*lines[:2], *lines[3:]])
    elif tamper == "truncated tail":
        _write_lines(run, lines[:-1])
    elif tamper == "swapped lines":
        _write_lines(run, [lines[0], lines[2], lines[1], *lines[3:]])
    elif tamper == "inserted line":
        _write_lines(run, [*lines[:3], lines[2], *lines[3:]])
    elif tamper == "partial line":
        _write_lines(run, [*lines[:4], lines[4][:40]])
    elif tamper == "head deleted":
        ledger_paths(run).head.unlink()

    # Execute
    result = verify_ledger(run)

    # Assert
    assert not result.ok
    text = "\n".join(result.problems)
    for fragment in expected:
        assert fragment in text, text


def _forge_with_another_key(run, tmp_path) -> None:
    """An attacker rebuilds the whole ledger, with lower ε, and signs it with their own key."""
    forged = tmp_path / "forged"
    forged.mkdir()
    _write_run(forged, epsilon_step=0.5)
    for name in ("privacy-ledger.jsonl", "privacy-ledger.head.json"):
        shutil.copy(forged / name, run / name)


def test_resigned_with_another_key_is_detected(run, tmp_path):
    # Prepare
    _forge_with_another_key(run, tmp_path)

    # Execute
    result = verify_ledger(run)

    # Assert: the chain is consistent, but no signature is the server's.
    assert not result.ok
    assert sum("signature invalid" in p for p in result.problems) == 6
    assert not any("chain broken" in p or "index" in p for p in result.problems)


def test_resigned_and_public_key_replaced_is_caught_by_the_trusted_key(run, tmp_path):
    # Prepare: keep the genuine public key (as an auditor would, from the coordinator).
    trusted = tmp_path / "trusted.pub"
    shutil.copy(ledger_paths(run).public_key, trusted)
    published = verify_ledger(run).key_fingerprint
    _forge_with_another_key(run, tmp_path)
    shutil.copy(tmp_path / "forged" / "privacy-ledger.pub", ledger_paths(run).public_key)

    # Execute
    naive = verify_ledger(run)
    with_key = verify_ledger(run, public_key=trusted)
    with_fingerprint = verify_ledger(run, fingerprint=published)

    # Assert: self-consistent on its own key, refuted by the trusted key or fingerprint.
    assert naive.ok
    assert not with_key.ok
    assert "privacy-ledger.pub: differs from the trusted key (replaced?)" in with_key.problems
    assert not with_fingerprint.ok
    assert f"is not the published {published} (another key)" in with_fingerprint.problems[0]


def test_rollback_to_an_earlier_signed_state_shows_as_not_closed(run, tmp_path):
    # Prepare: keep the head after round 1, then restore it with the ledger cut to match.
    early = tmp_path / "early"
    early.mkdir()
    ledger = PrivacyLedger.open(early)
    ledger.append("run_start", {})
    old_head = ledger_paths(early).head.read_bytes()
    ledger.append("run_end", {})
    lines = _lines(early)
    _write_lines(early, lines[:1])
    ledger_paths(early).head.write_bytes(old_head)

    # Execute
    result = verify_ledger(early)

    # Assert: undetectable from the folder alone, but the run reads as unfinished.
    assert result.ok and not result.closed
    assert "open (no run_end entry yet)" in result.summary()


def test_damaged_ledger_is_never_extended(run):
    # Prepare
    _write_lines(run, _edit_epsilon(_lines(run)))

    # Execute
    with pytest.raises(LedgerError) as info:
        PrivacyLedger.open(run)

    # Assert
    assert "failed verification and will not be extended: line 3: signature invalid" in str(
        info.value
    )


def test_a_given_key_signs_and_stays_outside_the_run(tmp_path):
    # Prepare
    key = Ed25519PrivateKey.generate()
    key_path = tmp_path / "server.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    # Execute
    ledger = _write_run(run_dir, rounds=1, key_path=key_path)
    result = verify_ledger(run_dir)

    # Assert
    assert result.ok and result.key_fingerprint == ledger.fingerprint
    assert not ledger_paths(run_dir).private_key.exists()
    with pytest.raises(LedgerError, match="holds another key than the signing key"):
        PrivacyLedger.open(run_dir)  # would generate a new key: refused


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"global_adapter_sha256": "xyz"}, "is not a lowercase hex sha256"),
        (
            {"sites": [SiteRound(site="s", status="trained", dp={"noise_multiplier": 1.0})]},
            "site s: dp lacks sample_rate",
        ),
        (
            {
                "sites": [
                    SiteRound(site="s", status="trained", dp={**DP, "epsilon_total": float("nan")})
                ]
            },
            "body.sites[0].dp.epsilon_total is nan",
        ),
        ({"sites": [SiteRound(site="s", status="done")]}, "status 'done' is not"),
        ({"site_dp": {"noise_multiplier": 1.0}}, "site_dp lacks clipping_norm, sample_rate"),  # type: ignore[arg-type]
    ],
)
def test_bad_round_entries_are_refused(tmp_path, kwargs, message):
    # Prepare
    ledger = PrivacyLedger.open(tmp_path)
    values = {
        "server_round": 1,
        "global_adapter_sha256": SHA,
        "sites": [],
        "secure_aggregation": SECAGG,
    }

    # Execute
    with pytest.raises(ValueError) as info:
        ledger.append_round(**{**values, **kwargs})

    # Assert
    assert message in str(info.value)
    assert verify_ledger(tmp_path).entries == 0


def test_missing_ledger_is_reported(tmp_path):
    # Execute
    result = verify_ledger(tmp_path)

    # Assert
    assert not result.ok
    assert result.problems == ["privacy-ledger.jsonl: missing; this run kept no privacy ledger"]


def test_entries_are_canonical_json(run):
    # Execute
    first = _lines(run)[0].rstrip(b"\n")

    # Assert
    assert json.dumps(json.loads(first), sort_keys=True, separators=(",", ":")).encode() == first
