"""The ServerApp under `flwr run`: missing sites fail fast with what to set, `flwr stop` closes
the ledger, fedft's lines reach `flwr log` once; and `fedft simulate` keeps Flower's log off
the terminal."""

import logging

import pytest
from flwr.supercore.logger import FLOWER_LOGGER, console_handler

from fedft.config import load_config
from fedft.federation import flwr_run
from fedft.federation.simulation import _flower_logs_to_file
from fedft.run.ledger import PrivacyLedger, SiteRound
from fedft.run.ledger_verify import verify_ledger
from fedft.run.metrics import append_metrics
from fedft.run.rundir import create_run_dir


class _Grid:
    def __init__(self, counts):
        self.counts = list(counts)

    def get_node_ids(self):
        n = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
        return list(range(n))


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_for_sites_returns_once_enough_sites_are_connected():
    # Prepare: sites join one by one
    clock = _Clock()
    # Execute
    connected = flwr_run.wait_for_sites(
        _Grid([1, 2, 3, 4]), needed=4, num_clients=4, timeout_s=30, clock=clock, sleep=clock.sleep
    )
    # Assert
    assert connected == 4 and clock.now == 3.0


def test_missing_sites_fail_at_the_deadline_saying_what_to_set():
    # Prepare: Flower's local simulation default, 2 SuperNodes, for a 4-site config
    clock = _Clock()
    # Execute
    with pytest.raises(flwr_run.MissingSitesError) as err:
        flwr_run.wait_for_sites(
            _Grid([2]), needed=4, num_clients=4, timeout_s=30, clock=clock, sleep=clock.sleep
        )
    # Assert
    assert clock.now == 30.0
    message = str(err.value)
    assert "2 of the 4 sites" in message and "federation.num_clients = 4" in message
    assert 'flwr run . --federation-config "num-supernodes=4"' in message
    assert "sites-timeout=SECONDS" in message


@pytest.mark.parametrize(("fraction", "needed"), [(1.0, 4), (0.5, 2)])
def test_sites_needed_matches_the_strategys_minimum(fraction, needed):
    cfg = load_config(
        None,
        [
            "federation.num_clients=4",
            "federation.min_fit_clients=2",
            f"federation.fraction_fit={fraction}",
        ],
    )
    assert flwr_run.sites_needed(cfg) == needed


def _run_with_one_round(tmp_path):
    run_dir = create_run_dir(tmp_path / "run")
    ledger = PrivacyLedger.open(run_dir.root)
    ledger.append("run_start", {"rounds_planned": 3})
    ledger.append_round(
        server_round=1,
        global_adapter_sha256="a" * 64,
        sites=[SiteRound(site="site-0", status="trained", num_examples=10)],
        secure_aggregation=None,
    )
    append_metrics(run_dir.metrics, {"round": 0})
    append_metrics(run_dir.metrics, {"round": 1})
    return run_dir, ledger


@pytest.fixture
def exit_handlers(monkeypatch):
    """The exit handlers Flower would call on `flwr stop` (SIGINT in the ServerApp's process)."""
    handlers = []
    monkeypatch.setattr(flwr_run, "add_exit_handler", lambda fn, **kw: handlers.append((fn, kw)))
    return handlers


def test_flwr_stop_closes_the_ledger_and_later_appends_fail(tmp_path, exit_handlers):
    # Prepare: the coordinator's ledger handle, guarded
    run_dir = create_run_dir(tmp_path / "run")
    guard = flwr_run.StopGuard(run_dir)
    ledger = PrivacyLedger.open(run_dir.root)
    guard.attach(ledger)
    ledger.append("run_start", {"rounds_planned": 3})
    ledger.append_round(
        server_round=1,
        global_adapter_sha256="a" * 64,
        sites=[SiteRound(site="site-0", status="trained", num_examples=10)],
        secure_aggregation=None,
    )
    append_metrics(run_dir.metrics, {"round": 1})
    ((on_exit, kwargs),) = exit_handlers
    # Execute: the stop arrives mid-run; the ServerApp's thread then tries to go on
    on_exit()
    with pytest.raises(RuntimeError, match="stopped"):
        ledger.append_round(
            server_round=2,
            global_adapter_sha256="b" * 64,
            sites=[],
            secure_aggregation=None,
        )
    # Assert: closed, verifiable, naming the round and adapter it stopped at
    assert kwargs == {"run_before_force_exit": True}
    result = verify_ledger(run_dir.root)
    assert result.ok and result.closed, result.problems
    last = (run_dir.root / "privacy-ledger.jsonl").read_text().splitlines()[-1]
    assert '"stopped":"flwr stop"' in last and '"rounds_completed":1' in last and "a" * 64 in last


def test_a_run_that_ended_on_its_own_is_not_closed_again(tmp_path, exit_handlers):
    # Prepare
    run_dir, ledger = _run_with_one_round(tmp_path)
    guard = flwr_run.StopGuard(run_dir)
    guard.attach(ledger)
    # Execute: the run failed (or closed its ledger itself), then Flower exits
    guard.finished()
    exit_handlers[0][0]()
    # Assert: an unfinished run's ledger stays open
    assert not verify_ledger(run_dir.root).closed


def test_log_through_flower_writes_each_line_once(monkeypatch):
    # Prepare: a root handler like the one Opacus installs on import
    seen = []
    root = logging.Handler()
    root.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger().addHandler(root)
    fedft_logger = logging.getLogger("fedft")
    monkeypatch.setattr(FLOWER_LOGGER, "propagate", FLOWER_LOGGER.propagate)
    monkeypatch.setattr(fedft_logger, "propagate", fedft_logger.propagate)
    monkeypatch.setattr(fedft_logger, "handlers", list(fedft_logger.handlers))
    monkeypatch.setattr(fedft_logger, "level", fedft_logger.level)
    try:
        # Execute
        flwr_run.log_through_flower()
        flwr_run.log_through_flower()  # idempotent
        FLOWER_LOGGER.info("flower line")
        logging.getLogger("fedft.federation.server_app").info("fedft line")
    finally:
        logging.getLogger().removeHandler(root)
    # Assert: nothing through the root handler; fedft's lines go to Flower's console handler
    assert seen == []
    assert fedft_logger.handlers.count(console_handler) == 1


def test_simulate_keeps_flowers_log_off_the_terminal_and_in_the_run_log(tmp_path):
    # Prepare: a root handler like the one Opacus installs on import (it printed every
    # Flower line, DEBUG included, between the progress bars)
    seen = []
    root = logging.Handler()
    root.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger().addHandler(root)
    log_file = tmp_path / "fedft.log"
    try:
        # Execute
        with _flower_logs_to_file(log_file, verbose=False):
            FLOWER_LOGGER.debug("Registered 4 nodes")
            FLOWER_LOGGER.info("[SUMMARY]")
        FLOWER_LOGGER.info("after the run")
    finally:
        logging.getLogger().removeHandler(root)
    # Assert: the file has the run's INFO lines; the terminal had none of them
    assert "[SUMMARY]" in log_file.read_text()
    assert "Registered 4 nodes" not in seen and "[SUMMARY]" not in seen
    assert "after the run" in seen  # propagation restored afterwards
    assert console_handler in FLOWER_LOGGER.handlers
