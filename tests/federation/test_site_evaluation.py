"""Per-site evaluation rounds follow `evaluation.every_n_rounds`: a skipped round asks no
site to score, and its record is still written (without site scores)."""

from types import SimpleNamespace

from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, Key

from fedft.federation import site_evaluation


class _Strategy:
    def __init__(self, round_offset=0):
        self.round_offset = round_offset
        self.flushed = 0
        self.awaiting_site_metrics = False

    def flush_pending(self):
        self.flushed += 1


def _context(current_round):
    return SimpleNamespace(
        state=SimpleNamespace(config_records={MAIN_CONFIGS_RECORD: {Key.CURRENT_ROUND: current_round}})
    )


def test_sites_score_only_the_rounds_the_cadence_keeps(monkeypatch):
    # Prepare
    asked = []
    monkeypatch.setattr(
        site_evaluation,
        "default_evaluate_workflow",
        lambda grid, context: asked.append(context.state.config_records[MAIN_CONFIGS_RECORD][Key.CURRENT_ROUND]),
    )
    strategy = _Strategy(round_offset=2)  # a resumed run: Flower's round 1 is the run's round 3
    _, evaluate = site_evaluation.site_evaluation_workflows(
        lambda grid, context: None, strategy=strategy, timeout=1.0, scores_round=lambda r: r % 2 == 0
    )
    # Execute
    for flower_round in (1, 2, 3, 4):
        evaluate(object(), _context(flower_round))
    # Assert: runs' rounds 4 and 6 scored; every round's record flushed
    assert asked == [2, 4]
    assert strategy.flushed == 4
