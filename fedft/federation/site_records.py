"""Who a round heard from: each sampled site recorded as trained, failed (declined, error,
timed out) or rejected (its update failed the server's checks), with why.

Read from what Flower hands the strategy: results and failures, in which a site is a node id
and many errors name no node. `DeltaStrategy` keeps the state across rounds (declared site ids,
digests of accepted updates, the nodes sampled this round) and calls these once per round.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from flwr.common import FitRes
from flwr.server.client_proxy import ClientProxy

from fedft.federation.uploads import Upload, site_failure
from fedft.round.guards import check_enough_updates
from fedft.round.outcome import FailureKind
from fedft.round.summary import (
    FitSummary,
    SiteFailure,
    attribute_failures,
    failed_site,
    failure_label,
    site_label,
    trained_site,
    without_repeats,
)
from fedft.round.update_checks import UpdateSpec, rejection_reason

__all__ = ["check_declines_leave_enough", "distinct_failures", "screen_updates", "site_records"]

log = logging.getLogger(__name__)

Failure = tuple[ClientProxy, FitRes] | BaseException


def screen_updates(
    uploads: Sequence[Upload],
    *,
    spec: UpdateSpec,
    accepted_before: Mapping[str, int],
    server_round: int,
    site_names: Mapping[str, str],
) -> tuple[list[Upload], list[tuple[str, dict]]]:
    """(updates that pass `spec`, (node id, site record) of each rejected one).
    `accepted_before` maps the digests of updates accepted in earlier rounds to their round."""
    kept, rejected = [], []
    for u in uploads:
        reason = rejection_reason(u.delta, spec=spec, accepted_before=accepted_before)
        if reason is None:
            kept.append(u)
            continue
        site = u.declared_site or site_label(site_names, u.node)
        log.warning("round %s: update of %s rejected: %s", server_round, site, reason)
        failure = SiteFailure(u.node, f"update rejected: {reason}", FailureKind.REJECTED)
        rejected.append((u.node, failed_site(site=site, failure=failure)))
    return kept, rejected


def site_records(
    *,
    server_round: int,
    uploads: Sequence[Upload],
    failures: Sequence[Failure],
    rejected: Sequence[tuple[str, dict]],
    sampled: Sequence[str],
    site_names: Mapping[str, str],
) -> tuple[list[str], list[dict]]:
    """(failure reasons, site records) of a round: every sampled site (node ids in `sampled`)
    trained, failed or was rejected. `site_names` maps node ids to declared site ids, this
    round's uploads included."""
    known = [
        (None, str(f).strip()) if isinstance(f, BaseException) else (f[0].cid, "") for f in failures
    ]
    answered = {node for node, _ in rejected} | {u.node for u in uploads}
    answered |= {node for node, _ in known if node is not None}
    nodes = attribute_failures(
        known,
        unanswered=[cid for cid in sampled if cid not in answered],
        site_names=site_names,
    )
    failed = without_repeats(
        [site_failure(f, node=node) for f, node in zip(failures, nodes, strict=True)]
    )
    reasons = [f.reason for f in failed] + [r["reason"] for _, r in rejected]
    sites = [
        trained_site(
            site=site_label(site_names, u.node),
            node=u.node,
            num_examples=u.res.num_examples,
            metrics=u.res.metrics,
        )
        for u in uploads
    ]
    sites += [failed_site(site=failure_label(site_names, f), failure=f) for f in failed]
    sites += [record for _, record in rejected]
    for reason in reasons:
        log.warning("round %s: a site failed: %s", server_round, reason)
    return reasons, sites


def distinct_failures(failures: Sequence[BaseException]) -> list[BaseException]:
    """Each failure once, in order. Flower's SecAgg+ workflow wraps a reply's error in a new
    exception in each of two loops over the replies (its collect-masked-vectors stage), so one
    site's error is listed twice, as two exceptions around the same `Error`. Two sites that
    failed with the same text are two failures: both stay."""
    seen: set[int] = set()
    out = []
    for f in failures:
        wrapped = f.args[0] if len(f.args) == 1 and not isinstance(f.args[0], str) else f
        if id(wrapped) not in seen:
            seen.add(id(wrapped))
            out.append(f)
    return out


def check_declines_leave_enough(summary: FitSummary, *, min_results: int) -> None:
    """A halted round's declines: a site that declined (its budget, its minimums) will decline
    again, so when declines leave fewer than `min_results` sites the run stops (raises
    RoundFailedError naming the first failure), as it does without SecAgg+."""
    declined = sum(1 for s in summary.sites if s.get("kind") == FailureKind.DECLINED)
    if declined and summary.sampled - declined < max(min_results, 1):
        check_enough_updates(
            server_round=summary.server_round,
            arrived=0,
            sampled=summary.sampled,
            min_results=min_results,
            failures=summary.failures,
        )
