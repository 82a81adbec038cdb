"""summary.json's first and last come from scored rounds: with evaluation.every_n_rounds (or a
run that stopped early) the last round may carry no score."""

from fedft.round.coordinator import summarize


def _row(n, acc):
    return {"round": n, "eval_accuracy": acc, "eval_loss": None if acc is None else 1 - acc,
            "bytes_up_per_client": 10, "elapsed_s": float(n)}


def test_the_last_scored_round_is_reported_and_the_run_length_kept():
    history = [_row(0, 0.2), _row(1, None), _row(2, 0.6), _row(3, None)]
    out = summarize(history, task="classification", base_model_bytes=100)
    assert (out["rounds"], out["scored_round"], out["first"], out["last"]) == (3, 2, 0.2, 0.6)
    assert out["gain_points"] == 40.0
    assert out["elapsed_s"] == 3.0


def test_every_round_scored_reads_as_before():
    out = summarize([_row(0, 0.2), _row(1, 0.5)], task="classification", base_model_bytes=100)
    assert (out["rounds"], out["scored_round"], out["last"], out["eval_loss_last"]) == (1, 1, 0.5, 0.5)
