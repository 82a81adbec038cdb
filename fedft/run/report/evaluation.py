"""Who the model serves: per-site scores, the local-only baseline, the central confusion
matrix and calibration, from a run folder's metrics.jsonl and summary.json (no model, no
Flower). Plots are PNG bytes (matplotlib's object API, as in `plots`), also written to the
run folder's `plots/` by `write_plots`.
"""

from __future__ import annotations

import html
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fedft.run.report.plots import png_data_uri

__all__ = [
    "Evaluation",
    "confusion_plot",
    "evaluation_html",
    "evaluation_markdown",
    "read_evaluation",
    "site_score_plot",
    "write_plots",
]

log = logging.getLogger(__name__)

PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Evaluation:
    metric: str  # "accuracy" or "perplexity"
    rows: list[dict[str, Any]]  # metrics.jsonl rows, by round
    summary: dict[str, Any]  # summary.json (may be empty while a run is going)

    @property
    def last(self) -> dict[str, Any]:
        return self.rows[-1]


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and isinstance(row.get("round"), int):
            rows.append(row)
    return sorted(rows, key=lambda r: r["round"])


def read_evaluation(run_dir: Path) -> Evaluation | None:
    """None when the run has no metrics (or no per-site or classification detail to show)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return None
    rows = _read_json_lines(path)
    if not any(r.get("site_metrics") or r.get("eval_confusion_matrix") for r in rows):
        return None
    metric = "accuracy" if any(r.get("eval_accuracy") is not None for r in rows) else "perplexity"
    summary: dict[str, Any] = {}
    summary_path = Path(run_dir) / "summary.json"
    if summary_path.is_file():
        try:
            loaded = json.loads(summary_path.read_text(encoding="utf-8"))
            summary = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            log.warning("%s: not JSON; per-site summary left out", summary_path)
    return Evaluation(metric=metric, rows=rows, summary=summary)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()  # as plots.py encodes: no timestamp, so the bytes are reproducible
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def site_score_plot(ev: Evaluation) -> bytes | None:
    """Each site's held-out score of the global adapter per round (solid), its local-only
    baseline (dashed, same colour) and the server's central score (grey)."""
    m = ev.metric
    sites = sorted({s for r in ev.rows for s in (r.get("site_metrics") or {})})
    if not sites:
        return None
    fig = Figure(figsize=(7.5, 3.8))
    ax = fig.subplots()
    scale = 100.0 if m == "accuracy" else 1.0
    for i, site in enumerate(sites):
        colour = f"C{i % 10}"
        for key, style, label in (
            (f"eval_{m}", "-o", site),
            (f"local_{m}", "--", f"{site} local-only"),
        ):
            points = [
                (r["round"], r["site_metrics"][site][key] * scale)
                for r in ev.rows
                if key in (r.get("site_metrics") or {}).get(site, {})
            ]
            if points:
                ax.plot(*zip(*points, strict=True), style, color=colour, label=label, markersize=4)
    central = [
        (r["round"], r[f"eval_{m}"] * scale) for r in ev.rows if r.get(f"eval_{m}") is not None
    ]
    if central:
        ax.plot(*zip(*central, strict=True), ":", color="grey", label="central held-out")
    ax.set_xlabel("round (0 = before training)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("accuracy (%)" if m == "accuracy" else "perplexity")
    ax.set_title(f"{m.capitalize()} per site over rounds (each site's own held-out split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", ncol=2, loc="best")
    return _png(fig)


def _labels(row: dict[str, Any], n: int) -> list[str]:
    recall = row.get("eval_recall_per_class")
    return (
        list(recall)
        if isinstance(recall, dict) and len(recall) == n
        else [str(i) for i in range(n)]
    )


def confusion_plot(ev: Evaluation) -> bytes | None:
    """The last round's confusion matrix on the server's held-out set (counts)."""
    matrix = ev.last.get("eval_confusion_matrix")
    if not matrix:
        return None
    labels = _labels(ev.last, len(matrix))
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    top = max(max(r) for r in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > top / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix, round {ev.last['round']} (central held-out)")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _png(fig)


def _pct(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    return "—" if not isinstance(value, int | float) else f"{value:.{digits}f}"


def site_table(ev: Evaluation) -> tuple[list[str], list[list[str]]] | None:
    per_site = ev.summary.get("per_site") or {}
    if not per_site:
        return None
    m = ev.metric
    fmt = _pct if m == "accuracy" else _num
    headers = [
        "site",
        "held-out n",
        f"first {m}",
        f"last {m}",
        "last macro-F1",
        f"local-only {m}",
        "federated − local-only",
    ]
    rows = []
    for site, s in per_site.items():
        gain = s.get("gain_vs_local_points", s.get("gain_vs_local"))
        shown = (
            "—" if gain is None else (f"{gain:+.1f} points" if m == "accuracy" else f"{gain:+.2f}")
        )
        rows.append(
            [
                site,
                str(s.get("n_eval", "—")),
                fmt(s.get(f"first_{m}")),
                fmt(s.get(f"last_{m}")),
                _num(s.get("last_macro_f1")),
                fmt(s.get(f"local_only_{m}")),
                shown,
            ]
        )
    return headers, rows


def summary_lines(ev: Evaluation) -> list[str]:
    lines = []
    gap = ev.summary.get("site_gap") or {}
    if gap.get("last") is not None:
        unit = (
            (lambda v: f"{100 * v:.1f} points")
            if ev.metric == "accuracy"
            else (lambda v: f"{v:.2f}")
        )
        first = "" if gap.get("first") is None else f" (round 0: {unit(gap['first'])})"
        lines.append(
            f"Best/worst site gap in the last round: {unit(gap['last'])}{first}; best "
            f"{ev.summary.get('best_site')}, worst {ev.summary.get('worst_site')}."
        )
    last = ev.last
    if last.get("eval_macro_f1") is not None:
        lines.append(
            f"Central held-out set, round {last['round']}: accuracy "
            f"{_pct(last.get('eval_accuracy'))}, "
            f"macro-F1 {_num(last.get('eval_macro_f1'))}, calibration error (ECE, 15 bins) "
            f"{_num(last.get('eval_ece'))}."
        )
    recall = last.get("eval_recall_per_class")
    if isinstance(recall, dict) and recall:
        lines.append(
            "Recall per class: " + ", ".join(f"{k} {_pct(v)}" for k, v in recall.items()) + "."
        )
    lines.append(
        "Sites report aggregate scores only (accuracy, macro-F1, example count), computed on "
        "held-out records they never train on; the local-only baseline trains each site alone "
        "with the run's budget."
    )
    return lines


def _plots(ev: Evaluation) -> list[tuple[str, bytes]]:
    out = []
    for title, png in (
        ("Per-site score per round", site_score_plot(ev)),
        ("Confusion matrix", confusion_plot(ev)),
    ):
        if png is not None:
            out.append((title, png))
    return out


def evaluation_html(run_dir: Path) -> str:
    """The report's evaluation section ("" when the run has nothing to show)."""
    ev = read_evaluation(run_dir)
    if ev is None:
        return ""
    parts = ["<h2>Evaluation: who the model serves</h2>", "<ul>"]
    parts += [f"<li>{html.escape(line)}</li>" for line in summary_lines(ev)] + ["</ul>"]
    table = site_table(ev)
    if table is not None:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in table[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in table[1]
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    for title, png in _plots(ev):
        alt = html.escape(title)
        parts.append(f"<h3>{alt}</h3><img alt='{alt}' src='{png_data_uri(png)}'>")
    return "\n".join(parts)


def evaluation_markdown(run_dir: Path) -> str:
    ev = read_evaluation(run_dir)
    if ev is None:
        return ""
    out = (
        ["## Evaluation: who the model serves", ""]
        + [f"- {line}" for line in summary_lines(ev)]
        + [""]
    )
    table = site_table(ev)
    if table is not None:
        out += ["| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
        out += ["| " + " | ".join(r) + " |" for r in table[1]] + [""]
    for title, png in _plots(ev):
        out += [f"### {title}", "", f"![{title}]({png_data_uri(png)})", ""]
    return "\n".join(out)


def write_plots(run_dir: Path) -> list[Path]:
    """site_scores.png, confusion_matrix.png and, for DP runs, epsilon.png into `plots/`."""
    from fedft.run.report.audit import build_audit
    from fedft.run.report.plots import epsilon_plot

    run_dir = Path(run_dir)
    ev = read_evaluation(run_dir)
    pngs = {}
    if ev is not None:
        pngs = {"site_scores.png": site_score_plot(ev), "confusion_matrix.png": confusion_plot(ev)}
    pngs["epsilon.png"] = epsilon_plot(build_audit(run_dir))
    written = []
    for name, png in pngs.items():
        if png is not None:
            path = run_dir / PLOTS_DIR / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(png)
            written.append(path)
    return written
