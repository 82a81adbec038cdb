"""Key custody: a provisioned coordinator key signs, stays out of the run folder, and an
unpinned verification says what it does not prove."""

import stat

import pytest

from fedft.cli import main as fedft_main
from fedft.config import load_config
from fedft.run.keys import SigningKeyError, generate_key_pair, load_private_key
from fedft.run.ledger import LedgerError, PrivacyLedger, ledger_paths
from fedft.run.ledger_verify import UNPINNED_WARNING, verify_ledger


def test_keygen_writes_a_private_key_0600_and_prints_its_fingerprint(tmp_path, capsys):
    # Execute
    assert fedft_main(["ledger", "keygen", "-o", str(tmp_path / "keys")]) == 0
    # Assert
    out = capsys.readouterr().out
    key = tmp_path / "keys" / "ledger-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    fingerprint = out.split("fingerprint: ")[1].strip()
    assert len(fingerprint) == 64
    # Never overwritten: a published fingerprint must keep meaning this key.
    before = key.read_bytes()
    assert fedft_main(["ledger", "keygen", "-o", str(tmp_path / "keys")]) == 2
    assert key.read_bytes() == before


def test_a_provisioned_key_signs_and_no_private_key_lands_in_the_run(tmp_path):
    # Prepare
    pair = generate_key_pair(tmp_path / "keys")
    cfg = load_config(None, [f"ledger.signing_key={pair.private}"])
    run = tmp_path / "run"
    run.mkdir()
    # Execute
    ledger = PrivacyLedger.open(run, private_key_path=cfg.ledger.signing_key)
    ledger.append("run_start", {"ledger_key": ledger.custody})
    # Assert
    assert ledger.custody == {"fingerprint": pair.fingerprint, "custody": "provisioned"}
    assert not ledger_paths(run).private_key.exists()
    assert not [p for p in run.rglob("*") if p.suffix == ".key"]
    pinned = verify_ledger(run, fingerprint=pair.fingerprint)
    assert pinned.ok and pinned.pinned and UNPINNED_WARNING not in pinned.summary()


def test_verification_without_a_pinned_fingerprint_says_so_loudly(tmp_path, capsys):
    # Prepare: a simulation's per-run key
    ledger = PrivacyLedger.open(tmp_path)
    ledger.append("run_start", {"ledger_key": ledger.custody})
    # Execute
    assert fedft_main(["audit", str(tmp_path), "--verify"]) == 0
    # Assert
    assert "proves only internal consistency" in capsys.readouterr().out
    assert ledger.custody["custody"] == "per-run"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.key", "not found; create one with `fedft ledger keygen"),
        (lambda d: _loose(d), "readable by others"),
        (lambda d: _text(d, "hello"), "not an unencrypted PEM private key"),
    ],
)
def test_a_bad_signing_key_is_refused_with_the_fix(tmp_path, make, message):
    with pytest.raises(SigningKeyError, match=message):
        load_private_key(make(tmp_path), what="ledger.signing_key")


def test_a_signing_key_inside_the_run_folder_is_refused(tmp_path):
    pair = generate_key_pair(tmp_path / "run" / "keys")
    with pytest.raises(LedgerError, match="inside the run folder"):
        PrivacyLedger.open(tmp_path / "run", private_key_path=pair.private)


def _loose(folder):
    path = generate_key_pair(folder).private
    path.chmod(0o644)
    return path


def _text(folder, text):
    path = folder / "x.key"
    path.write_text(text)
    path.chmod(0o600)
    return path
