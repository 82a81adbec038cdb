"""Render an `Audit` as one self-contained HTML page or as Markdown (plots inlined as PNG)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from fedft import __version__
from fedft.run.report.audit import Audit
from fedft.run.report.empirical import EMPIRICAL_READING, empirical_lines, empirical_table
from fedft.run.report.evaluation import evaluation_html, evaluation_markdown
from fedft.run.report.plots import epsilon_plot, png_data_uri, utility_plot
from fedft.run.report.text import (
    guarantee_lines,
    ledger_line,
    round_table,
    settings_rows,
    site_table,
)

__all__ = ["render_html", "render_markdown"]

_READING = [
    "ε (epsilon) measures the privacy loss: smaller is stronger. ε ≤ 1 is strong, 1–10 is the "
    "range most deployments use; the bound covers everything released during the run.",
    "δ (delta) is the small probability with which the ε bound may fail; it is set well below "
    "one over the number of records (or sites) it protects.",
    "The guarantee holds whatever else an observer knows, and it cannot be weakened by "
    "analysing the published model further.",
    "Anonymization and secure aggregation reduce exposure but give no formal bound; only the "
    "ε, δ statements are mathematical guarantees.",
]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
color:#1d1d1f;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
.banner{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.ok{background:#e6f4ea;border:1px solid #34a853}.bad{background:#fce8e6;border:1px solid #d93025}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:middle}
th{background:#f3f3f3}td{white-space:nowrap}
td.hash{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:.95em;
word-break:break-all;white-space:normal;min-width:16em}
li{margin:.3em 0}img{max-width:100%;border:1px solid #eee}.muted{color:#666;font-size:.85em}
"""


def _table(headers: list[str], rows: list[list[str]], *, hash_col: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=hash' if i == hash_col else ''}>{html.escape(c)}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def _anonymization_table(audit: Audit) -> tuple[list[str], list[list[str]]] | None:
    sites = audit.anonymization.get("sites") or {}
    if not sites:
        return None
    keys = ("rows_processed", "entities_total", "residual_total", "rows_dropped", "policy_hash")
    headers = [
        "site",
        "rows processed",
        "entities anonymized",
        "residual detections",
        "rows dropped",
        "policy hash",
    ]
    return headers, [[site, *(str(c.get(k, "—")) for k in keys)] for site, c in sites.items()]


def _stamp() -> str:
    return f"fedft {__version__}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def render_html(audit: Audit) -> str:
    v = audit.verification
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>Privacy audit — {html.escape(audit.run_name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Privacy audit — {html.escape(audit.run_name)}</h1>",
        f"<p class=muted>{html.escape(audit.run_dir)}</p>",
        f"<div class='banner {'ok' if v.ok else 'bad'}'>{html.escape(ledger_line(audit))}</div>",
    ]
    if not v.ok:
        parts.append(_list(v.problems))
    parts += ["<h2>What is guaranteed</h2>", _list(guarantee_lines(audit))]
    if audit.findings:
        parts += ["<h2>Findings to review</h2>", _list(audit.findings)]
    headers, rows = site_table(audit)
    parts += ["<h2>Per party</h2>", _table(headers, rows)]
    if audit.empirical:
        parts += [
            "<h2>Empirical audit (canaries): measured leakage next to the claimed ε</h2>",
            _list(empirical_lines(audit.empirical)),
            _table(*empirical_table(audit.empirical)),
            _list(EMPIRICAL_READING),
        ]
    parts += [
        "<h2>Settings that matter</h2>",
        _table(["setting", "value"], [list(r) for r in settings_rows(audit)]),
    ]
    for title, png in (
        ("Privacy loss per round", epsilon_plot(audit)),
        ("Utility per round", utility_plot(audit)),
    ):
        if png is not None:
            parts.append(f"<h2>{title}</h2><img alt='{title}' src='{png_data_uri(png)}'>")
    parts.append(evaluation_html(Path(audit.run_dir)))
    if audit.rounds:
        headers, rows = round_table(audit)
        parts += ["<h2>Rounds</h2>", _table(headers, rows, hash_col=5)]
    anon = _anonymization_table(audit)
    if anon is not None:
        parts += ["<h2>Anonymization (counts only)</h2>", _table(*anon, hash_col=5)]
    parts += ["<h2>How to read this report</h2>", _list(_READING)]
    if audit.notes:
        parts += ["<h2>Missing pieces</h2>", _list(audit.notes)]
    parts.append(f"<p class=muted>Generated by {html.escape(_stamp())}.</p></body></html>")
    return "\n".join(parts) + "\n"


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render_markdown(audit: Audit) -> str:
    v = audit.verification
    out = [
        f"# Privacy audit — {audit.run_name}",
        "",
        f"`{audit.run_dir}`",
        "",
        f"**{ledger_line(audit)}**",
        "",
    ]
    out += [f"- {p}" for p in v.problems] + ([""] if v.problems else [])
    out += ["## What is guaranteed", ""] + [f"- {line}" for line in guarantee_lines(audit)] + [""]
    if audit.findings:
        out += ["## Findings to review", ""] + [f"- {f}" for f in audit.findings] + [""]
    out += ["## Per party", "", _md_table(*site_table(audit)), ""]
    if audit.empirical:
        out += ["## Empirical audit (canaries): measured leakage next to the claimed ε", ""]
        out += [f"- {line}" for line in empirical_lines(audit.empirical)] + [""]
        out += [_md_table(*empirical_table(audit.empirical)), ""]
        out += [f"- {line}" for line in EMPIRICAL_READING] + [""]
    out += [
        "## Settings that matter",
        "",
        _md_table(["setting", "value"], [list(r) for r in settings_rows(audit)]),
        "",
    ]
    for title, png in (
        ("Privacy loss per round", epsilon_plot(audit)),
        ("Utility per round", utility_plot(audit)),
    ):
        if png is not None:
            out += [f"## {title}", "", f"![{title}]({png_data_uri(png)})", ""]
    out.append(evaluation_markdown(Path(audit.run_dir)))
    if audit.rounds:
        out += ["## Rounds", "", _md_table(*round_table(audit)), ""]
    anon = _anonymization_table(audit)
    if anon is not None:
        out += ["## Anonymization (counts only)", "", _md_table(*anon), ""]
    out += ["## How to read this report", ""] + [f"- {r}" for r in _READING] + [""]
    if audit.notes:
        out += ["## Missing pieces", ""] + [f"- {n}" for n in audit.notes] + [""]
    out.append(f"_Generated by {_stamp()}._")
    return "\n".join(out) + "\n"
