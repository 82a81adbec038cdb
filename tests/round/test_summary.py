"""Round bookkeeping: which node a failure belongs to, and an aborted round's record."""

from fedft.round.summary import ABORTED_REASON, FitSummary, aborted, attribute_failures


def test_a_failure_is_attributed_to_the_one_silent_node_or_the_site_it_names():
    # Prepare: nodes 1, 2 and 3 were silent; node 4's reply carried its node
    failures = [("4", ""), (None, "site-b declined round 2: budget"), (None, "Node Unavailable")]
    # Execute
    nodes = attribute_failures(failures, unanswered=["1", "2", "3"], site_names={"2": "site-b"})
    # Assert: the named one is found; the last is one of two candidates, so unknown
    assert nodes == ["4", "2", None]
    assert attribute_failures([(None, "boom")], unanswered=["7"], site_names={}) == ["7"]


def test_an_aborted_round_fails_every_sampled_site_and_keeps_the_summary_given():
    summary = FitSummary(server_round=3, sampled=2, finished=2, failures=["late"])
    out = aborted(summary, sampled_sites=[("site-a", "1"), ("node-2", "2")])
    assert out.aborted and out.finished == 0 and out.examples == 0
    assert out.failures == [ABORTED_REASON, "late"]
    assert [(s["site"], s["node"], s["status"]) for s in out.sites] == [
        ("site-a", "node-1", "failed"),
        ("node-2", "node-2", "failed"),
    ]
    assert summary.failures == ["late"] and not summary.aborted


def test_an_aborted_round_keeps_the_sites_recorded_and_aborts_the_rest():
    # Prepare: SecAgg+ halted; site-a declined (tied to node 1), one decline Flower could not
    # tie to a node; nodes 2 and 3 sent nothing more.
    declined = {"site": "site-a", "node": "node-1", "status": "failed", "reason": "no budget", "kind": "declined"}
    untied = {"site": "site-c", "node": None, "status": "failed", "reason": "no budget", "kind": "declined"}
    summary = FitSummary(server_round=3, sampled=3, sites=[declined, untied], failures=["no budget"])
    # Execute
    out = aborted(summary, sampled_sites=[("site-a", "1"), ("node-2", "2"), ("node-3", "3")])
    # Assert: the declines stay; the untied one stands for one silent node; one more aborted
    assert out.sites[:2] == [declined, untied]
    assert [(s["node"], s["kind"]) for s in out.sites[2:]] == [("node-3", "aborted")]
    assert len(out.sites) == summary.sampled
