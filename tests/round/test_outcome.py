"""A site's refusal is told apart from a failure by its kind, from the text Flower carries."""

import pytest
from flwr.common import Error

from fedft.round.coordinator import _site_round
from fedft.round.outcome import FailureKind, declined_message, failure_kind
from fedft.round.summary import SiteFailure, failed_site

DECLINED = declined_message(site_id="site-0", server_round=3, reason="privacy budget: ε 2.1 > 2")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (DECLINED, FailureKind.DECLINED),
        # As Flower's workflows hand it to the strategy: Exception(msg.error)
        (
            str(Exception(Error(code=2, reason=f"<class 'RuntimeError'>:<'{DECLINED}'>"))),
            FailureKind.DECLINED,
        ),
        ("Node Unavailable", FailureKind.ERROR),
        ("site-0: global adapter hash mismatch in round 3", FailureKind.ERROR),
        # A reason that merely mentions declining is not a site's refusal
        ("card declined rounding error", FailureKind.ERROR),
    ],
)
def test_failure_kind(text, kind):
    assert failure_kind(text) is kind


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (FailureKind.DECLINED, "declined"),
        (FailureKind.ERROR, "failed"),
        (FailureKind.REJECTED, "failed"),
        (FailureKind.ABORTED, "failed"),
    ],
)
def test_the_ledger_status_follows_the_kind_not_the_reason(kind, status):
    # The reason says "declined round" every time: only the kind decides.
    record = failed_site(site="site-0", failure=SiteFailure("4", DECLINED, kind))
    entry = _site_round(record)
    assert (entry.site, entry.node, entry.status, entry.reason) == (
        "site-0",
        "node-4",
        status,
        DECLINED,
    )
