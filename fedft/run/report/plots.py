"""The audit's two plots as PNG bytes: ε per round per site, and utility per round.

matplotlib's object API (no pyplot): no global figure state, no GUI backend, safe in any
process. Returns None when there is nothing to plot.
"""

from __future__ import annotations

import base64
import io

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fedft.run.report.audit import Audit

__all__ = ["epsilon_figure", "epsilon_plot", "png_data_uri", "utility_plot"]

_SIZE = (7.5, 3.6)  # inches; 100 dpi -> 750 x 360 px


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def epsilon_plot(audit: Audit) -> bytes | None:
    """Cumulative ε after each round, one line per site (and the server's site-level ε),
    with the budget cap and target as dashed lines when the settings state them."""
    fig = epsilon_figure(audit)
    return None if fig is None else _png(fig)


def epsilon_figure(audit: Audit) -> Figure | None:
    """The figure `epsilon_plot` draws (tests check its layout)."""
    series = [(m.name, m.epsilon_by_round, "-") for m in audit.sites if m.epsilon_by_round]
    if audit.site_level is not None and audit.site_level.epsilon_by_round:
        series.append(("site-level (server)", audit.site_level.epsilon_by_round, "--"))
    if not series:
        return None
    fig = Figure(figsize=_SIZE)
    ax = fig.subplots()
    for name, points, style in series:
        ax.plot([r for r, _ in points], [e for _, e in points], style, marker="o", label=name)
    dp = audit.section("dp")
    levels = [e for _, points, _ in series for _, e in points]
    for key, label, color, style in (
        ("max_epsilon", "budget cap", "black", "--"),
        ("target_epsilon", "target", "dimgray", "-."),
    ):
        value = dp.get(key)
        if isinstance(value, int | float):
            ax.axhline(
                value, linestyle=style, linewidth=1.6, color=color, label=f"{label} ε = {value:g}"
            )
            levels.append(value)
    rounds = [r for _, points, _ in series for r, _ in points]
    # Headroom above the highest line and half a round either side: a cap or target line at
    # the top, or a round-1 point at the left, is drawn inside the frame, not on it.
    ax.set_xlim(min(rounds) - 0.5, max(rounds) + 0.5)
    ax.set_ylim(0, max(levels) * 1.15 or 1.0)
    ax.set_xlabel("round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("ε spent so far")
    ax.set_title("Privacy loss per round (cumulative)")
    ax.grid(alpha=0.3)
    # Beside the plot, not over it: inside, it covered the first rounds' points.
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def utility_plot(audit: Audit) -> bytes | None:
    """Held-out accuracy (or perplexity) and loss of the global adapter per round."""
    metric = audit.utility_metric
    rows = [r for r in audit.utility if r.get(metric or "eval_loss") is not None]
    if not rows:
        return None
    fig = Figure(figsize=_SIZE)
    ax = fig.subplots()
    rounds = [r["round"] for r in rows]
    if metric is not None:
        ax.plot(rounds, [r[metric] for r in rows], "-o", color="tab:blue", label=metric)
        ax.set_ylabel(metric.replace("eval_", "held-out "), color="tab:blue")
    losses = [(r["round"], r["eval_loss"]) for r in rows if r.get("eval_loss") is not None]
    if losses:
        ax2 = ax.twinx() if metric is not None else ax
        ax2.plot(
            [x for x, _ in losses],
            [y for _, y in losses],
            "--s",
            color="tab:orange",
            label="eval_loss",
        )
        ax2.set_ylabel("held-out loss", color="tab:orange")
        if ax2 is not ax:
            handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
            ax.legend(handles=handles, fontsize="small", loc="center right")
    ax.set_xlabel("round (0 = before training)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Utility of the global adapter per round")
    ax.grid(alpha=0.3)
    return _png(fig)
