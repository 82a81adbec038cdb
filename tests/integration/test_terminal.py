"""A terminal recording of README's main job: `fedft simulate configs/default.yaml` in a real
terminal (tmux, else a pseudo-terminal), shrunk with --set. Only fedft's own lines may remain
on screen — no Flower or Ray line — and the final summary names the ledger's key fingerprint
and head hash, which auditors check the ledger against (docs/compliance-guide.md)."""

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from small_run import SMALL

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
FEDFT = Path(sys.executable).parent / "fedft"
TIMEOUT_S = 1800


# Every line fedft prints without --verbose; anything else on screen came from someone else.
OWN_LINES = [
    r"fedft run folder: \S+",
    r"data\.(train|eval): \d+ rows from .+",
    r"\d+ sites, \d+ rounds, strategy \w+, LoRA r=\d+ \(\w+\); logs: fedft\.log",
    r"round +\d+  accuracy .+",
    r"held-out accuracy: round 0 .+",
    r"upload per site per round: .+",
    r"wall time \d+s; metrics: .+",
    r"each site's gain over training alone: rerun with --set evaluation\.local_baseline=true .+",
    r"ledger key fingerprint: [0-9a-f]{64}",
    r"ledger head hash: [0-9a-f]{64}",
    r"run folder: \S+",
]


def _record_in_tmux(argv: list[str], folder: Path) -> tuple[int, str]:
    """Run `argv` in a detached tmux session on a private server; return (exit code, every
    line the terminal showed, scrollback included, wrapped lines joined)."""
    socket = f"fedft-test-{os.getpid()}"
    rc_file = folder / "rc"
    # Rich wraps at the width it detects; a wide one keeps each of fedft's lines whole.
    command = "COLUMNS=250 " + " ".join(map(_quote, argv)) + f"; echo $? > {_quote(str(rc_file))}"
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "-f", "/dev/null", "new-session", "-d", "-x", "250", "-y", "50",
                    "sh", "-c", command + "; sleep 3600"], check=True)  # fmt: skip
    try:
        subprocess.run([*tmux, "set-option", "-g", "history-limit", "100000"], check=True)
        deadline = time.monotonic() + TIMEOUT_S
        while not rc_file.is_file() or not rc_file.read_text().strip():
            assert time.monotonic() < deadline, "the simulation did not finish in time"
            time.sleep(2)
        screen = subprocess.run(
            [*tmux, "capture-pane", "-p", "-J", "-S", "-", "-E", "-"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return int(rc_file.read_text()), screen
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)


def _record_in_pty(argv: list[str]) -> tuple[int, str]:
    """Without tmux: run `argv` on a pseudo-terminal and keep what it wrote, with carriage
    returns and rich's cursor movements resolved to the lines that stayed."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "250", "LINES": "50"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    rc = proc.wait(timeout=TIMEOUT_S)
    # The terminal turns each newline into CR LF.
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    # Rich's live display redraws in place (erase line, cursor up); the lines that remain are
    # those ended by a newline outside a redraw.
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "\r", text)
    lines = [part.split("\r")[-1] for part in text.split("\n")]
    return rc, "\n".join(lines)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("terminal")
    run = folder / "run"
    argv = [str(FEDFT), "simulate", str(REPO / "configs" / "default.yaml"), "-o", str(run)]
    for override in SMALL:
        argv += ["--set", override]
    if shutil.which("tmux"):
        rc, screen = _record_in_tmux(argv, folder)
    else:
        rc, screen = _record_in_pty(argv)
    return rc, screen, run


def test_only_fedfts_own_lines_reach_the_terminal(recording):
    rc, screen, run = recording
    assert rc == 0, screen
    lines = [line.strip() for line in screen.splitlines() if line.strip()]
    strangers = [line for line in lines if not any(re.fullmatch(p, line) for p in OWN_LINES)]
    assert strangers == [], "\n".join(strangers)
    # Flower's and Ray's output went to the run's log instead
    log = (run / "fedft.log").read_text()
    assert "[SUMMARY]" in log and "Secure aggregation" in log


def test_the_final_summary_gives_the_ledger_fingerprint_and_head_hash(recording):
    rc, screen, run = recording
    ledger = json.loads((run / "summary.json").read_text())["ledger"]
    assert f"ledger key fingerprint: {ledger['key_fingerprint']}" in screen
    assert f"ledger head hash: {ledger['head_hash']}" in screen
    assert f"run folder: {run.resolve()}" in screen
    for n in range(3):
        assert re.search(rf"^round +{n}  accuracy", screen, flags=re.MULTILINE)
