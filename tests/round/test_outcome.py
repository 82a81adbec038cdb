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


RAY_REPR = (
    "ray::ClientAppActor.run() (pid=4242, ip=172.17.0.2, actor_id=ab12)\n"
    '  File "/x/client_app.py", line 140, in _train_private\n'
    "RuntimeError: site-0 declined round 2: privacy budget: round 2 would raise ε to 3.1"
)


@pytest.mark.parametrize(
    "text",
    [
        RAY_REPR,
        "<class 'RuntimeError'>:<'site-0 declined round 2: privacy budget: round 2 would raise ε to 3.1'>",
        # Ray's text escaped inside Flower's (seen under SecAgg+): a literal \\n ends the reason
        "Message: site-0 declined round 2: privacy budget: round 2 would raise ε to 3.1\\n\\nThe "
        "above exception was the direct cause of the following exception:\\n\\n(pid=1, ip=192.0.2.2)",
    ],
)
def test_a_refusal_is_named_by_its_site_with_a_clean_reason(text):
    from fedft.round.outcome import declined_parts
    from fedft.round.summary import SiteFailure, failure_label

    site, message = declined_parts(text)
    assert site == "site-0"
    assert message == "site-0 declined round 2: privacy budget: round 2 would raise ε to 3.1"
    assert declined_parts("x declined round 1: this site\\'s ε\\n")[1] == "x declined round 1: this site's ε"
    assert failure_label({}, SiteFailure(None, message, FailureKind.DECLINED)) == "site-0"
    assert failure_label({}, SiteFailure(None, "boom", FailureKind.ERROR)) == "unknown"
