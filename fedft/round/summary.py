"""What the server saw of one training round, and how a round fails (plaintext scalars only).

Flower-free: the coordinator records it, the Flower strategy fills it in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fedft.round.outcome import FailureKind, declined_parts

# Consecutive rounds SecAgg+ may abort before the run stops.
MAX_ABORTED_IN_A_ROW = 3
# The declared fit metric naming a site (its node config's `site-id`).
SITE_ID_METRIC = "site_id"


@dataclass
class FitSummary:
    """What the server saw of one training round (plaintext scalars only)."""

    server_round: int
    sampled: int = 0
    finished: int = 0
    failures: list[str] = field(default_factory=list)
    train_loss: float | None = None
    bytes_up_per_client: int = 0
    bytes_down_per_client: int = 0
    examples: int | None = 0  # None under site-level DP (weights are not record counts)
    # Per site: {"site", "node", "status": trained|failed, "num_examples", "metrics" | "reason",
    # "kind": FailureKind}.
    sites: list[dict] = field(default_factory=list)
    aborted: bool = False  # SecAgg+ ended the round without an aggregate: nothing was applied
    # Per site id: its scores of the round's global adapter on its own held-out split
    # (eval_accuracy, eval_macro_f1, n_eval; local_* of its local-only baseline), if evaluated.
    site_metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def record_training(
        self, replies: Sequence[tuple[int, Mapping[str, Any]]], *, counts_are_examples: bool
    ) -> None:
        """Loss, examples and upload size from the (num_examples, metrics) of each update."""
        self.train_loss = weighted_loss(replies)
        self.examples = sum(n for n, _ in replies) if counts_are_examples else None
        self.bytes_up_per_client = max(int(m.get("bytes_up", 0)) for _, m in replies)


# What the server keeps of a site's evaluation reply: numeric scores under these prefixes.
SITE_SCORE_PREFIXES = ("eval_", "local_")


def site_scores(metrics: Mapping[str, Any]) -> dict[str, float]:
    """A site's held-out scores from its evaluation reply; anything else is dropped."""
    return {
        k: float(v)
        for k, v in sorted(metrics.items())
        if k.startswith(SITE_SCORE_PREFIXES)
        and isinstance(v, int | float)
        and not isinstance(v, bool)
    }


class RoundFailedError(RuntimeError):
    """A round in which no site returned a usable update."""


def weighted_loss(results: Iterable[tuple[int, Mapping[str, Any]]]) -> float | None:
    """Mean of the sites' declared `train_loss`, weighted by their example counts."""
    pairs = [(n, float(m["train_loss"])) for n, m in results if "train_loss" in m]
    total = sum(n for n, _ in pairs)
    return sum(n * loss for n, loss in pairs) / total if total else None


@dataclass(frozen=True)
class SiteFailure:
    """A sampled site's missing update: its node (None if it cannot be told), why, what kind."""

    node: str | None
    reason: str
    kind: FailureKind


def without_repeats(failures: Sequence[SiteFailure]) -> list[SiteFailure]:
    """Drop an unattributed failure whose reason a named node already has: SecAgg+ reports a
    vanished node once per stage, and it is one failed site, not two."""
    named = {f.reason for f in failures if f.node is not None}
    return [f for f in failures if f.node is not None or f.reason not in named]


def site_label(site_names: Mapping[str, str], node: str) -> str:
    """A node's declared site id, or `node-<id>` before it has declared one."""
    return site_names.get(node, f"node-{node}")


def failure_label(site_names: Mapping[str, str], failure: SiteFailure) -> str:
    """Who failed: the node's site id; for a refusal Flower could not tie to a node, the id the
    site gave in its own refusal (`declined_message`); else "unknown"."""
    if failure.node is not None:
        return site_label(site_names, failure.node)
    declined = declined_parts(failure.reason)
    return declined[0] if declined is not None else "unknown"


def trained_site(*, site: str, node: str, num_examples: int, metrics: Mapping[str, Any]) -> dict:
    return {
        "site": site,
        "node": f"node-{node}",
        "status": "trained",
        "num_examples": num_examples,
        "metrics": {k: v for k, v in metrics.items() if k != SITE_ID_METRIC},
    }


def failed_site(*, site: str, failure: SiteFailure) -> dict:
    node = failure.node
    return {
        "site": site,
        "node": None if node is None else f"node-{node}",
        "status": "failed",
        "reason": failure.reason,
        "kind": failure.kind,
    }


def attribute_failures(
    failures: Sequence[tuple[str | None, str]],
    *,
    unanswered: Sequence[str],
    site_names: Mapping[str, str],
) -> list[str | None]:
    """The node behind each (node if known, error text) failure, where it can be told.

    Flower's workflows report a site's error as a bare exception without its node; the
    sampled nodes that returned nothing (`unanswered`) are the candidates. One candidate is
    that node; of several, the one whose known site id is in the error (a site's own decline
    message starts with its id); otherwise None.
    """
    missing = list(unanswered)
    out: list[str | None] = []
    for node, text in failures:
        if node is None:
            named = [cid for cid in missing if cid in site_names and site_names[cid] in text]
            node = missing[0] if len(missing) == 1 else (named[0] if len(named) == 1 else None)
            if node is not None:
                missing.remove(node)
        out.append(node)
    return out


ABORTED_REASON = (
    "round aborted: fewer sites than the SecAgg+ reconstruction threshold answered within "
    "secure_aggregation.timeout; nothing was applied"
)


def aborted(summary: FitSummary, *, sampled_sites: Sequence[tuple[str, str]]) -> FitSummary:
    """`summary` of a round SecAgg+ ended without an aggregate: nothing applied. Sites already
    recorded keep their fate (e.g. declined, with the reason); every other sampled (site, node)
    is recorded as aborted. A failure Flower could not tie to a node stands for one of the
    sampled nodes not otherwise recorded."""
    listed = {s["node"] for s in summary.sites if s["node"] is not None}
    unlisted = [(site, node) for site, node in sampled_sites if f"node-{node}" not in listed]
    untied = sum(1 for s in summary.sites if s["node"] is None)
    return replace(
        summary,
        aborted=True,
        finished=0,
        examples=0,
        failures=[ABORTED_REASON, *summary.failures],
        sites=summary.sites
        + [
            failed_site(site=site, failure=SiteFailure(node, ABORTED_REASON, FailureKind.ABORTED))
            for site, node in unlisted[untied:]
        ],
    )


def _site_metric(task: str) -> str:
    return "accuracy" if task == "classification" else "perplexity"


def site_spread(site_metrics: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Best and worst site of a round by held-out accuracy (perplexity for causal LMs: lower is
    better) and the gap between them; {} with fewer than two scored sites."""
    for name, higher_is_better in (("accuracy", True), ("perplexity", False)):
        scored = {s: m[f"eval_{name}"] for s, m in site_metrics.items() if f"eval_{name}" in m}
        if len(scored) < 2:
            continue
        ranked = sorted(scored, key=lambda s: (scored[s], s), reverse=higher_is_better)
        best, worst = ranked[0], ranked[-1]
        return {
            f"site_{name}_gap": abs(scored[best] - scored[worst]),
            "best_site": best,
            "worst_site": worst,
        }
    return {}


def per_site_summary(history: Sequence[Mapping[str, Any]], *, task: str) -> dict[str, Any]:
    """`per_site`: each site's first and last held-out score (accuracy in [0, 1], or
    perplexity), its last macro-F1, its local-only baseline and the federated-vs-local gain
    (accuracy points; perplexity: local minus federated); and the best/worst gap of the first
    and last rounds. {} when no round has site scores."""
    m = _site_metric(task)
    scored = [h for h in history if h.get("site_metrics")]
    if not scored:
        return {}
    sites: dict[str, dict[str, Any]] = {}
    for row in scored:
        for site, scores in row["site_metrics"].items():
            entry = sites.setdefault(site, {f"first_{m}": scores.get(f"eval_{m}")})
            entry[f"last_{m}"] = scores.get(f"eval_{m}")
            entry["last_round"] = row["round"]
            entry["n_eval"] = scores.get("n_eval")
            if "eval_macro_f1" in scores:
                entry["last_macro_f1"] = scores["eval_macro_f1"]
            if f"local_{m}" in scores:
                entry[f"local_only_{m}"] = scores[f"local_{m}"]
                entry["local_only_macro_f1"] = scores.get("local_macro_f1")
    for entry in sites.values():
        last, local = entry.get(f"last_{m}"), entry.get(f"local_only_{m}")
        if last is not None and local is not None:
            gain = 100 * (last - local) if m == "accuracy" else local - last
            entry["gain_vs_local" + ("_points" if m == "accuracy" else "")] = round(gain, 2)
    first, last = site_spread(scored[0]["site_metrics"]), site_spread(scored[-1]["site_metrics"])
    gap = f"site_{m}_gap"
    return {
        "per_site": dict(sorted(sites.items())),
        "site_gap": {"first": first.get(gap), "last": last.get(gap)},
        "best_site": last.get("best_site"),
        "worst_site": last.get("worst_site"),
    }
