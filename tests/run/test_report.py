"""The audit report, from a synthetic run folder written by the real ledger and budget code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from headless_chromium import needs_chromium, screenshot

from fedft.dp.accounting import epsilon_spent, site_level_epsilon
from fedft.dp.budget import BudgetExhausted, SiteBudget
from fedft.run.ledger import PrivacyLedger, SiteRound, ledger_paths
from fedft.run.report.audit import audit_to_dict, build_audit
from fedft.run.report.render import render_html, render_markdown

ROUNDS = 4
MECHANISM = (1.0, 0.5, 2)  # per site and round: ε ≈ 3.75 for one round at δ = 1e-3 (RDP)
CAPS = {"site-0": None, "site-1": None, "site-2": 5.0}  # site-2 can afford one round only
SITE_DP = {
    "noise_multiplier": 2.0,
    "clipping_norm": 0.5,
    "sample_rate": 1.0,
    "delta": 0.025,
    "accountant": "rdp",
}
ANON = {
    "rows_processed": 500,
    "rows_changed": 210,
    "rows_dropped": 1,
    "entities_total": 420,
    "residual_total": 0,
    "policy_hash": "c0ffee" * 10 + "abcd",
}


def write_synthetic_run(run_dir: Path, *, with_metrics: bool = True) -> Path:
    """A finished run: 3 sites with sample-level DP (site-2 declines from round 2 on), site-level
    DP on the server, SecAgg on, anonymization counts, metrics.jsonl; no config.yaml."""
    run_dir.mkdir(parents=True)
    ledger = PrivacyLedger.open(run_dir)
    ledger.append(
        "run_start",
        {
            "rounds_planned": ROUNDS,
            "dp": {
                "enabled": True,
                "noise_multiplier": 1.0,
                "max_grad_norm": 1.0,
                "max_epsilon": None,
                "target_epsilon": None,
                "accountant": "rdp",
            },
            "site_dp": {"enabled": True, "noise_multiplier": 2.0, "clipping_norm": 0.5},
            "anonymization_policy_hash": ANON["policy_hash"],
        },
    )
    budgets = {
        site: SiteBudget.load(
            run_dir / "sites" / site / "dp-budget.json",
            accountant="rdp",
            delta=1e-3,
            max_epsilon=cap,
        )
        for site, cap in CAPS.items()
    }
    one = epsilon_spent(history=[MECHANISM], delta=1e-3, accountant="rdp")
    for r in range(1, ROUNDS + 1):
        parts = []
        for site, budget in budgets.items():
            try:
                budget.check_round(r, *MECHANISM)
            except BudgetExhausted as exc:
                parts.append(SiteRound(site=site, status="declined", reason=exc.reason))
                continue
            total = budget.record(r, *MECHANISM)
            dp = {
                "noise_multiplier": 1.0,
                "sample_rate": 0.5,
                "steps": 2,
                "delta": 1e-3,
                "max_grad_norm": 1.0,
                "accountant": "rdp",
                "epsilon_round": one,
                "epsilon_total": total,
                "group_size": 1,
            }
            parts.append(
                SiteRound(site=site, status="trained", dp=dp, num_examples=8, anonymization=ANON)
            )
        server = {
            **SITE_DP,
            "epsilon_total": site_level_epsilon(
                noise_multiplier=2.0, sample_rate=1.0, rounds=r, delta=0.025, accountant="rdp"
            ),
        }
        ledger.append_round(
            server_round=r,
            global_adapter_sha256=f"{r:02d}" * 32,
            sites=parts,
            secure_aggregation={"enabled": True, "num_shares": 3, "reconstruction_threshold": 2},
            site_dp=server,
        )
    ledger.append("run_end", {"rounds_completed": ROUNDS})
    if with_metrics:
        rows = [
            {"round": r, "eval_loss": 0.7 - 0.05 * r, "eval_accuracy": 0.5 + 0.08 * r}
            for r in range(ROUNDS + 1)
        ]
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_synthetic_run(tmp_path_factory.mktemp("audit") / "run")


@pytest.fixture(scope="module")
def audit(run):
    return build_audit(run, recompute=epsilon_spent)


def test_json_has_every_field_per_site_and_for_the_server(audit):
    # Execute
    report = audit_to_dict(audit)

    # Assert
    four = epsilon_spent(history=[MECHANISM] * 4, delta=1e-3, accountant="rdp")
    site0 = report["sites"]["site-0"]
    assert (
        report["ledger"]["ok"] and report["ledger"]["closed"] and report["ledger"]["entries"] == 6
    )
    assert sorted(report["sites"]) == ["site-0", "site-1", "site-2"]
    assert {
        k: site0[k]
        for k in (
            "delta",
            "noise_multiplier",
            "sample_rate",
            "steps",
            "max_grad_norm",
            "accountant",
        )
    } == {
        "delta": 1e-3,
        "noise_multiplier": 1.0,
        "sample_rate": 0.5,
        "steps": 8,
        "max_grad_norm": 1.0,
        "accountant": "rdp",
    }
    assert site0["epsilon"] == pytest.approx(four, abs=1e-12)
    assert site0["epsilon_recomputed"] == pytest.approx(four, abs=1e-12)
    assert [p["round"] for p in site0["epsilon_by_round"]] == [1, 2, 3, 4]
    site2 = report["sites"]["site-2"]
    assert site2["rounds_trained"] == 1 and site2["steps"] == 2
    assert [d["round"] for d in site2["declined"]] == [2, 3, 4]
    assert site2["epsilon"] == pytest.approx(3.7514671175, abs=1e-9) and site2["epsilon"] <= 6.0
    server = report["site_level"]
    assert (
        server["noise_multiplier"],
        server["max_grad_norm"],
        server["sample_rate"],
        server["steps"],
    ) == (2.0, 0.5, 1.0, 4)
    # The same under the server mechanism's own names
    assert (server["clipping_norm"], server["rounds"], server["delta"]) == (0.5, 4, 0.025)
    assert server["epsilon"] == pytest.approx(
        site_level_epsilon(
            noise_multiplier=2.0, sample_rate=1.0, rounds=4, delta=0.025, accountant="rdp"
        ),
        abs=1e-12,
    )
    assert report["settings_source"] == "ledger"
    assert report["anonymization"]["policy_hashes"] == [ANON["policy_hash"]]
    assert report["findings"] == []
    assert report["notes"] == ["config.yaml absent or unreadable"]
    json.dumps(report)  # serialisable as is


def test_markdown_states_the_guarantees_in_plain_words(audit):
    # Execute
    md = render_markdown(audit)

    # Assert
    assert md.startswith("# Privacy audit — run\n")
    assert (
        "**Ledger verified: 6 entries, hash chain and every signature intact; "
        "the run's closing entry is present." in md
    )
    assert (
        "- Each record of site-0: (ε = 7.57, δ = 1.0e-03)-differential privacy over the whole run "
        "(4 round(s) trained, rdp accountant). Whether any single record is in site-0's data "
        "or not "
        "changes the probability of anything that can be observed from the training — every global "
        "adapter of every round — by a factor of at most e^ε ≈ 1,935, except with probability at "
        "most 1.0e-03.\n"
    ) in md
    assert (
        "- site-2 declined rounds 2, 3, 4; first reason: privacy budget: round 2 would raise "
        "this site's ε from 3.751" in md
    )
    assert "Each site as a whole: (ε = " in md
    assert "Secure aggregation was on: the server saw only the sum" in md
    assert "| site-2 | 3.75 | 1.0e-03 | 1 | 0.5 | 2 | 1 | rdp | 1 | 2, 3, 4 |" in md
    assert "| secure aggregation | on, threshold 2 of 3 shares |" in md
    assert md.count("](data:image/png;base64,") == 2


def test_tampered_ledger_shows_in_the_report(run, tmp_path):
    # Prepare
    run = Path(shutil.copytree(run, tmp_path / "run"))
    (run / "metrics.jsonl").unlink()
    path = ledger_paths(run).ledger
    path.write_text(path.read_text().replace('"rounds_completed":4', '"rounds_completed":5'))

    # Execute
    tampered = build_audit(run, recompute=epsilon_spent)
    html = render_html(tampered)

    # Assert
    assert not tampered.verification.ok
    assert "Ledger verification FAILED (2 problem(s))" in html
    assert "line 6: signature invalid" in html
    assert (
        "the ledger failed verification: figures below may have been altered" in tampered.findings
    )
    assert "metrics.jsonl absent: no utility figures" in tampered.notes
    assert html.count("data:image/png;base64,") == 1  # ε plot only, no utility data


def test_understated_epsilon_is_a_finding(tmp_path):
    # Prepare: a site that reports half of what its recorded parameters give.
    run = tmp_path / "run"
    run.mkdir()
    ledger = PrivacyLedger.open(run)
    dp = {
        "noise_multiplier": 1.0,
        "sample_rate": 0.5,
        "steps": 2,
        "delta": 1e-3,
        "max_grad_norm": 1.0,
        "accountant": "rdp",
        "epsilon_round": 1.0,
        "epsilon_total": 1.8,
        "group_size": 1,
    }
    ledger.append_round(
        server_round=1,
        global_adapter_sha256="ab" * 32,
        sites=[SiteRound(site="site-9", status="trained", dp=dp)],
        secure_aggregation=None,
    )

    # Execute
    audit = build_audit(run, recompute=epsilon_spent)

    # Assert: the stated ε is the recomputed one.
    assert audit.sites[0].epsilon == pytest.approx(3.7514671175, abs=1e-9)
    assert audit.findings == [
        "site-9: reports ε=1.8, but the parameters it recorded give ε=3.751; "
        "the larger value is stated"
    ]


def test_empty_folder_still_renders(tmp_path):
    # Execute
    audit = build_audit(tmp_path)
    md, html = render_markdown(audit), render_html(audit)

    # Assert
    assert not audit.verification.ok
    assert "The ledger names no site: no per-record guarantee can be stated." in md
    assert "privacy-ledger.jsonl: missing; this run kept no privacy ledger" in html
    assert "data:image/png" not in html


@needs_chromium
def test_html_renders_in_headless_chromium(audit, tmp_path):
    # Prepare
    page = tmp_path / "audit.html"
    page.write_text(render_html(audit), encoding="utf-8")
    shot = tmp_path / "shot.png"

    # Execute
    screenshot(page, shot, width=1200, height=2000)

    # Assert: the right size, the green "verified" banner drawn, the plots decoded (matplotlib's
    # blue and orange lines are on the page).
    from matplotlib.image import imread

    pixels = (imread(shot)[:, :, :3] * 255).round().astype(int)
    assert pixels.shape[:2] == (2000, 1200)
    colours = {tuple(c) for c in pixels.reshape(-1, 3)[::7]}
    assert (230, 244, 234) in colours  # banner background #e6f4ea
    near = lambda rgb: np.any(np.all(np.abs(pixels - np.array(rgb)) <= 8, axis=-1))  # noqa: E731
    assert near((31, 119, 180)), "no tab:blue pixels: the ε plot did not render"
    assert near((255, 127, 14)), "no tab:orange pixels: the plots did not render"
    assert pixels.std() > 20


def test_settings_with_dp_off_show_no_dp_values(tmp_path):
    # Prepare: a run without DP; its config still holds the DP defaults (clipping norm 1).
    from fedft.run.report.text import settings_rows

    ledger = PrivacyLedger.open(tmp_path)
    ledger.append(
        "run_start",
        {"rounds_planned": 1, "dp": {"enabled": False, "max_grad_norm": 1.0, "accountant": "rdp"}},
    )
    ledger.append_round(
        server_round=1,
        global_adapter_sha256="01" * 32,
        sites=[SiteRound(site="site-0", status="trained", num_examples=8, anonymization=ANON)],
        secure_aggregation={"enabled": True, "num_shares": 3, "reconstruction_threshold": 2},
    )

    # Execute
    rows = dict(settings_rows(build_audit(tmp_path)))

    # Assert
    assert rows["sample-level DP"] == "no"
    for key in ("per-record clipping norm", "noise multiplier", "accountant", "target ε"):
        assert rows[key] == "— (DP off)", key
    assert rows["head fit (model.head_fit)"] == "no"


def test_settings_say_which_round_fitted_the_head(tmp_path):
    from fedft.run.report.text import settings_rows

    ledger = PrivacyLedger.open(tmp_path)
    ledger.append("run_start", {"rounds_planned": 2, "head_fit_round": 1, "dp": {"enabled": False}})

    rows = dict(settings_rows(build_audit(tmp_path)))

    assert rows["head fit (model.head_fit)"].startswith("round 1: no training; the sites sent")


def test_epsilon_plot_keeps_lines_and_legend_clear_of_frame_and_points(audit):
    # Prepare: a cap at the highest ε reached, where it used to lie on the frame.
    import dataclasses

    from fedft.run.report.plots import epsilon_figure

    top = max(e for m in audit.sites for _, e in m.epsilon_by_round)
    dp = {**audit.section("dp"), "max_epsilon": top, "target_epsilon": 5.0}
    capped = dataclasses.replace(audit, settings={**audit.settings, "dp": dp})

    # Execute
    fig = epsilon_figure(capped)
    fig.canvas.draw()  # lays out the legend

    # Assert: headroom above the cap and around the rounds; the legend outside the axes.
    [ax] = fig.axes
    assert ax.get_ylim()[1] > top * 1.1
    assert ax.get_xlim()[0] < 1 - 0.25
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("budget cap ε = 7.56") for label in labels), labels
