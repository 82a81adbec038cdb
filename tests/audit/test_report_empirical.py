"""The audit report shows the canary figures next to the claimed ε, and a violation loudly."""

import json

from fedft.run.report.render import render_html, render_markdown

from fedft.run.report.audit import audit_to_dict, build_audit


def _site(verdict, lb, reading):
    return {
        "site": "site-0",
        "task": "instruction",
        "canaries": 64,
        "included": 31,
        "repeats": 1,
        "score": "loss",
        "membership_loss": {"auc": 0.93, "tpr_at_1pct_fpr": 0.35, "members": 31, "non_members": 33},
        "membership_calibrated": None,
        "exposure": {
            "included_mean": 4.3,
            "held_out_mean": 1.2,
            "gap": 3.1,
            "gap_stderr": 0.35,
            "max_exposure": 5.0,
        },
        "lower_bound": {"epsilon": lb},
        "claimed_epsilon": 0.5,
        "claimed_epsilon_per_canary": 0.5,
        "verdict": verdict,
        "reading": reading,
    }


def _run_dir(tmp_path, site):
    (tmp_path / "empirical_audit.json").write_text(
        json.dumps({"format": "fedft-empirical-audit/1", "sites": [site]})
    )
    return tmp_path


def test_a_violation_is_a_finding_and_in_every_format(tmp_path):
    run = _run_dir(
        tmp_path,
        _site("VIOLATION", 1.05, "The measured lower bound ε ≥ 1.05 EXCEEDS the claimed ε = 0.5"),
    )
    audit = build_audit(run)
    assert any(f.startswith("EMPIRICAL AUDIT VIOLATION at site-0") for f in audit.findings)
    assert audit_to_dict(audit)["empirical"]["sites"][0]["verdict"] == "VIOLATION"
    for text in (render_markdown(audit), render_html(audit)):
        assert "Empirical audit (canaries)" in text
        assert "EXCEEDS the claimed" in text
        assert "not a certificate" in text


def test_a_consistent_audit_raises_no_finding(tmp_path):
    run = _run_dir(tmp_path, _site("consistent", 0.0, "no contradiction found"))
    audit = build_audit(run)
    assert not any("EMPIRICAL" in f for f in audit.findings)
    assert "exposure 4.3 bits for trained-on canaries vs 1.2 held out" in render_markdown(audit)


def test_without_an_empirical_audit_the_report_has_no_such_section(tmp_path):
    audit = build_audit(tmp_path)
    assert audit.empirical is None
    assert "Empirical audit" not in render_markdown(audit)
