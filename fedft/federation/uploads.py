"""Site uploads as the strategy sees them: each delta decoded once, and turned back into
weights (global + Δ) for Flower's strategies, which reason about weights."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flwr.common import FitRes, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.client_proxy import ClientProxy

from fedft.round.outcome import FailureKind, declined_parts, failure_kind
from fedft.round.summary import SITE_ID_METRIC, RoundFailedError, SiteFailure
from fedft.round.update_checks import shape_mismatch


@dataclass(frozen=True)
class Upload:
    """One site's reply with its delta decoded."""

    proxy: ClientProxy
    res: FitRes
    delta: list[np.ndarray]

    @property
    def node(self) -> str:
        return self.proxy.cid

    @property
    def declared_site(self) -> str | None:
        """The `site_id` the site declared in its metrics, if any (not sensitive)."""
        declared = self.res.metrics.get(SITE_ID_METRIC)
        return declared if isinstance(declared, str) and declared else None


def decode(results: Sequence[tuple[ClientProxy, FitRes]]) -> list[Upload]:
    # Replies arrive in any order; a fixed order makes the float sums reproducible (resume).
    ordered = sorted(
        results, key=lambda pr: (str(pr[1].metrics.get(SITE_ID_METRIC, "")), str(pr[0].cid))
    )
    return [Upload(proxy, res, parameters_to_ndarrays(res.parameters)) for proxy, res in ordered]


def check_shapes(
    uploads: Sequence[Upload],
    shapes: Sequence[tuple[int, ...]],
    *,
    server_round: int,
    what: str,
) -> None:
    """Stop the round when any upload's tensors differ in number or shape from `shapes`;
    `what`: the error's middle ("update does not match the global adapter")."""
    for u in uploads:
        mismatch = shape_mismatch(u.delta, shapes=shapes)
        if mismatch is not None:
            raise RoundFailedError(
                f"round {server_round}: a site's {what} ({mismatch}); are all sites on the "
                "same config?"
            )


def as_weights(
    uploads: Sequence[Upload], global_arrays: Sequence[np.ndarray], *, server_round: int
) -> list[tuple[ClientProxy, FitRes]]:
    """Each upload as Flower's strategies expect it: global + Δ, in float32."""
    check_shapes(
        uploads,
        [a.shape for a in global_arrays],
        server_round=server_round,
        what="update does not match the global adapter",
    )
    out = []
    for u in uploads:
        weights = [g + d.astype(np.float32) for g, d in zip(global_arrays, u.delta, strict=True)]
        out.append(
            (
                u.proxy,
                FitRes(
                    u.res.status, ndarrays_to_parameters(weights), u.res.num_examples, u.res.metrics
                ),
            )
        )
    return out


def site_failure(
    failure: tuple[ClientProxy, FitRes] | BaseException, *, node: str | None
) -> SiteFailure:
    """What the round's record says of a failure: the last line of an error, or a reply's status,
    and its kind (a norm-bound rejection is raised here as a RoundFailedError)."""
    if isinstance(failure, RoundFailedError):
        return SiteFailure(node, _last_line(failure), FailureKind.REJECTED)
    if isinstance(failure, BaseException):
        declined = declined_parts(str(failure))
        if declined is not None:  # the site's own sentence, without Ray's and Flower's wrapping
            return SiteFailure(node, declined[1], FailureKind.DECLINED)
        return SiteFailure(node, _last_line(failure), failure_kind(str(failure)))
    _, res = failure
    return SiteFailure(
        node, f"status {res.status.code.name}: {res.status.message}", FailureKind.ERROR
    )


# Terminal colour codes Ray puts in its error texts; a reason is stored and shown as plain text.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_REASON = 300


def _last_line(error: BaseException) -> str:
    """The error's last line, without colour codes, at most _MAX_REASON characters."""
    text = _ANSI.sub("", str(error)).strip().splitlines()
    line = text[-1].strip() if text else type(error).__name__
    return line if len(line) <= _MAX_REASON else line[: _MAX_REASON - 1] + "…"
