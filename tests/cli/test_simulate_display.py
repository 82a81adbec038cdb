"""What `fedft simulate` shows while it runs: the per-round line (train loss, ε under DP) and
per-site bars whose clocks restart every round."""

import json
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from fedft.cli.simulate import _baseline_hint, _round_line, _watch_sites
from fedft.run.progress import round_epsilons

REPO = Path(__file__).resolve().parents[2]

RECORD = {
    "round": 2,
    "eval_accuracy": 0.75,
    "eval_loss": 0.61,
    "train_loss": 0.7234,
    "clients_finished": 2,
    "clients_sampled": 2,
    "bytes_up_per_client": 77_600,
    "elapsed_s": 41.0,
}


def _ledger(path, entries):
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="ascii")
    return path


def _round_entry(n, sites, site_dp=None):
    return {"kind": "round", "body": {"round": n, "site_dp": site_dp, "sites": sites}}


def _site(name, eps, status="trained"):
    return {"site": name, "status": status, "dp": None if eps is None else {"epsilon_total": eps}}


def test_the_round_line_shows_train_loss_and_epsilon_per_site():
    line = _round_line(RECORD, {"site-0": 1.234, "site-1": 1.25})
    assert "train loss 0.7234" in line
    assert "ε spent site-0 1.23, site-1 1.25" in line
    assert "ε" not in _round_line(RECORD)


def test_many_sites_show_the_range_of_epsilon():
    epsilons = {f"site-{i}": 1.0 + i / 10 for i in range(10)}
    assert "ε spent 1.00–1.90 (10 sites)" in _round_line(RECORD, epsilons)


def test_round_epsilons_reads_that_rounds_ledger_entry(tmp_path):
    # Prepare: two rounds; a site that declined in round 2 has no account
    ledger = _ledger(
        tmp_path / "privacy-ledger.jsonl",
        [
            {"kind": "run_start", "body": {}},
            _round_entry(1, [_site("site-0", 0.5), _site("site-1", 0.6)]),
            _round_entry(2, [_site("site-0", 0.9), _site("site-1", None, status="declined")]),
        ],
    )
    # Execute / Assert
    assert round_epsilons(ledger, server_round=1) == {"site-0": 0.5, "site-1": 0.6}
    assert round_epsilons(ledger, server_round=2) == {"site-0": 0.9}
    assert round_epsilons(ledger, server_round=3) == {}
    assert round_epsilons(tmp_path / "missing.jsonl", server_round=1) == {}


def test_round_epsilons_under_site_level_dp(tmp_path):
    entry = _round_entry(1, [_site("site-0", None)], {"epsilon_total": 2.5})
    ledger = _ledger(tmp_path / "l.jsonl", [entry])
    assert round_epsilons(ledger, server_round=1) == {"all sites": 2.5}


def test_a_sites_bar_clock_restarts_every_round(tmp_path):
    # Prepare: site-0 finished round 1; its bar stops its clock when complete
    folder = tmp_path / "progress"
    folder.mkdir()

    def report(server_round, step):
        record = {"site": "site-0", "round": server_round, "step": step, "total": 3, "loss": 0.5}
        (folder / "site-0.json").write_text(json.dumps(record))

    progress = Progress(console=Console(file=open(tmp_path / "out", "w")))  # noqa: SIM115
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_sites, args=(progress, folder, stop), daemon=True)
    report(1, 3)
    watcher.start()
    time.sleep(1.2)
    (task,) = progress.tasks
    assert task.finished
    first_start = task.start_time
    # Execute: round 2 starts at that site
    report(2, 1)
    time.sleep(1.2)
    stop.set()
    watcher.join()
    # Assert: a running clock again, started anew, for the same bar
    (task,) = progress.tasks
    assert not task.finished and task.finished_time is None
    assert task.start_time > first_start
    assert "round 2" in task.description


def test_the_local_baseline_hint_shows_only_when_the_run_could_have_measured_it():
    from fedft.config import load_config

    default = load_config(REPO / "configs" / "default.yaml")
    assert "--set evaluation.local_baseline=true" in _baseline_hint(default)
    for overrides in (
        ["evaluation.local_baseline=true"],
        ["evaluation.per_site=false"],
        ["dp.enabled=true", "dp.target_epsilon=8", "dp.max_epsilon=8"],
    ):
        assert _baseline_hint(load_config(REPO / "configs" / "default.yaml", overrides)) is None, overrides
