"""The evaluation section of the report: per-site scores, local-only gain, confusion matrix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from headless_chromium import needs_chromium, rendered_dom

from fedft.round.summary import per_site_summary
from fedft.run.report.audit import build_audit
from fedft.run.report.evaluation import evaluation_markdown, read_evaluation, write_plots
from fedft.run.report.render import render_html, render_markdown

LABELS = ["cardiology", "neurology", "oncology"]


def write_run(run_dir: Path) -> Path:
    run_dir.mkdir(parents=True)
    rows = []
    for r in range(4):
        sites = {
            site: {
                "eval_accuracy": base + 0.1 * r,
                "eval_macro_f1": base + 0.05 * r,
                "n_eval": 30,
                **({"local_accuracy": base + 0.05 * r, "local_macro_f1": base} if r else {}),
            }
            for site, base in (("site-0", 0.3), ("site-1", 0.5))
        }
        rows.append(
            {
                "round": r,
                "eval_loss": 1.0 - 0.1 * r,
                "eval_accuracy": 0.4 + 0.1 * r,
                "eval_macro_f1": 0.35 + 0.1 * r,
                "eval_ece": 0.12,
                "eval_recall_per_class": dict(zip(LABELS, (0.9, 0.5, None), strict=True)),
                "eval_confusion_matrix": [[9, 1, 0], [3, 5, 2], [0, 0, 0]],
                "site_metrics": sites,
            }
        )
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    summary = per_site_summary(rows, task="classification")
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("eval") / "run")


def test_markdown_shows_per_site_scores_gap_and_gain(run):
    # Execute
    md = evaluation_markdown(run)

    # Assert: site-0 ends at 60%, its local-only baseline at 45%: +15 points
    assert "| site-0 | 30 | 30.0% | 60.0% | 0.450 | 45.0% | +15.0 points |" in md
    assert "| site-1 | 30 | 50.0% | 80.0% | 0.650 | 65.0% | +15.0 points |" in md
    assert "Best/worst site gap in the last round: 20.0 points (round 0: 20.0 points)" in md
    assert "best site-1, worst site-0" in md
    assert "macro-F1 0.650, calibration error (ECE, 15 bins) 0.120" in md
    assert "Recall per class: cardiology 90.0%, neurology 50.0%, oncology —." in md
    assert md.count("data:image/png") == 2
    assert "## Evaluation" in render_markdown(build_audit(run))


def test_plots_are_written_to_the_run_folder(run):
    written = write_plots(run)
    assert sorted(p.name for p in written) == ["confusion_matrix.png", "site_scores.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_a_run_without_evaluation_detail_has_no_section(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"round": 0, "eval_accuracy": 0.5}) + "\n")
    assert read_evaluation(tmp_path) is None
    assert evaluation_markdown(tmp_path) == ""


@needs_chromium
def test_plots_decode_in_headless_chromium(run, tmp_path):
    # Prepare: the report plus a probe writing each image's decoded width into the DOM
    probe = (
        "<script>window.addEventListener('load',()=>{document.body.setAttribute('data-images',"
        "[...document.images].map(i=>i.alt+'='+i.naturalWidth).join('|'))})</script>"
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(build_audit(run)).replace("</body>", probe + "</body>"))

    # Execute
    out = rendered_dom(page, tmp_path)

    # Assert: both evaluation plots decoded to real images
    probed = re.search(r'data-images="([^"]*)"', out).group(1)
    widths = dict(re.findall(r"([^|=]+)=(\d+)", probed))
    assert int(widths["Per-site score per round"]) > 300
    assert int(widths["Confusion matrix"]) > 200
