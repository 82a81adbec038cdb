"""`fedft audit`: reports in three formats and `--verify` exit codes, on a real ledger."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from fedft.cli import audit as audit_cli
from fedft.dp.budget import SiteBudget
from fedft.run.ledger import PrivacyLedger, SiteRound, ledger_paths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedft")
    audit_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv: str) -> int:
    args = _parser().parse_args(["audit", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """Two sites, two rounds of DP-SGD accounted by their budgets, then run_end."""
    run = tmp_path_factory.mktemp("cli") / "run"
    run.mkdir()
    ledger = PrivacyLedger.open(run)
    ledger.append("run_start", {"dp": {"enabled": True, "max_epsilon": 8.0, "accountant": "rdp"}})
    budgets = {
        s: SiteBudget.load(
            run / "sites" / s / "dp-budget.json", accountant="rdp", delta=1e-3, max_epsilon=8.0
        )
        for s in ("site-a", "site-b")
    }
    for r in (1, 2):
        parts = []
        for site, budget in budgets.items():
            total = budget.record(r, 1.0, 0.5, 2)
            dp = {
                "noise_multiplier": 1.0,
                "sample_rate": 0.5,
                "steps": 2,
                "delta": 1e-3,
                "max_grad_norm": 1.0,
                "accountant": "rdp",
                "epsilon_round": 3.7514671175,
                "epsilon_total": total,
                "group_size": 1,
            }
            parts.append(SiteRound(site=site, status="trained", dp=dp))
        ledger.append_round(
            server_round=r,
            global_adapter_sha256="cd" * 32,
            sites=parts,
            secure_aggregation={"enabled": False},
        )
    ledger.append("run_end", {"rounds_completed": 2})
    (run / "metrics.jsonl").write_text(
        "".join(
            json.dumps({"round": r, "eval_loss": 1.0 - 0.1 * r, "eval_perplexity": 3.0 - r}) + "\n"
            for r in range(3)
        )
    )
    return run


def test_verify_exits_0_on_an_intact_ledger(run_dir, capsys):
    # Execute
    code = _run(str(run_dir), "--verify", "--require-closed")

    # Assert
    assert code == 0
    assert capsys.readouterr().out.startswith("ledger intact: 4 entries, closed (run_end present)")


@pytest.mark.parametrize("tamper", ["byte edit", "deleted line", "swapped lines", "another key"])
def test_verify_exits_1_on_tampering(run_dir, tmp_path, capsys, tamper):
    # Prepare
    run = Path(shutil.copytree(run_dir, tmp_path / "run"))
    path = ledger_paths(run).ledger
    lines = path.read_bytes().splitlines(keepends=True)
    if tamper == "byte edit":
        path.write_bytes(b"".join(lines).replace(b'"sample_rate":0.5', b'"sample_rate":0.4', 1))
    elif tamper == "deleted line":
        path.write_bytes(b"".join([lines[0], *lines[2:]]))
    elif tamper == "swapped lines":
        path.write_bytes(b"".join([lines[0], lines[2], lines[1], lines[3]]))
    else:
        forged = tmp_path / "forged"
        forged.mkdir()
        other = PrivacyLedger.open(forged)
        for line in lines:
            entry = json.loads(line)
            other.append(entry["kind"], entry["body"])
        for name in ("privacy-ledger.jsonl", "privacy-ledger.head.json"):
            shutil.copy(forged / name, run / name)

    # Execute
    code = _run(str(run), "--verify")

    # Assert
    assert code == 1
    assert capsys.readouterr().out.startswith("ledger NOT intact:")


def test_require_closed_fails_an_unfinished_run(tmp_path, capsys):
    # Prepare
    PrivacyLedger.open(tmp_path).append("run_start", {})

    # Execute
    loose, strict = (
        _run(str(tmp_path), "--verify"),
        _run(str(tmp_path), "--verify", "--require-closed"),
    )

    # Assert
    assert (loose, strict) == (0, 1)
    assert "no run_end entry" in capsys.readouterr().out


def test_json_report_to_file(run_dir, tmp_path):
    # Prepare
    out = tmp_path / "reports" / "audit.json"

    # Execute
    code = _run(str(run_dir), "--format", "json", "-o", str(out))

    # Assert
    report = json.loads(out.read_text())
    assert code == 0
    assert report["ledger"]["ok"] is True
    assert report["sites"]["site-b"]["epsilon"] == pytest.approx(5.2806235918, abs=1e-9)
    assert report["sites"]["site-b"]["epsilon_recomputed"] == pytest.approx(5.2806235918, abs=1e-9)
    assert report["site_level"] is None
    assert [row["round"] for row in report["utility"]] == [0, 1, 2]


@pytest.mark.parametrize(
    ("fmt", "start"), [("md", "# Privacy audit — run"), ("html", "<!DOCTYPE html>")]
)
def test_md_and_html_to_stdout(run_dir, capsys, fmt, start):
    # Execute
    code = _run(str(run_dir), "--format", fmt)

    # Assert
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(start)
    assert "Secure aggregation was off" in out
    assert out.count("data:image/png;base64,") == 2


def test_trusted_fingerprint_mismatch_fails_verify(run_dir, capsys):
    # Execute
    code = _run(str(run_dir), "--verify", "--fingerprint", "00" * 32)

    # Assert
    assert code == 1
    assert "is not the published" in capsys.readouterr().out


def test_not_a_folder_is_a_user_error(tmp_path):
    # Execute / Assert
    with pytest.raises(ValueError, match="not a folder; give a fedft run folder"):
        _run(str(tmp_path / "missing"), "--verify")


def test_site_fingerprints_from_a_file_are_required_of_every_signed_site(run_dir, tmp_path, capsys):
    # Prepare: this ledger's site records are unsigned (written without a site key)
    pins = tmp_path / "sites.txt"
    pins.write_text("# published by the sites\nsite-a=" + "aa" * 32 + "\n\nsite-b=" + "bb" * 32 + "\n")

    # Execute
    code = _run(str(run_dir), "--verify", "--site-fingerprints", str(pins))

    # Assert
    assert code == 1
    assert "round 1, site-a: the site's record is not signed" in capsys.readouterr().out


def test_a_malformed_site_fingerprint_is_a_user_error(run_dir):
    with pytest.raises(ValueError, match="expected SITE=<64 hex digits>"):
        _run(str(run_dir), "--verify", "--site-fingerprint", "site-0:abc")
