"""Real processes on localhost, through the deployment kits: a SuperLink with TLS and SuperNode
authentication (server/start_superlink.sh), three registered SuperNodes (client/start_supernode.sh),
a 2-round SecAgg+ run submitted with `flwr run`; an unregistered SuperNode is refused, and a
SuperNode killed mid-round is tolerated (the round completes with the others' exact mean).

The submitted app (written to a temporary folder) is a minimal SecAgg+ app built on
fedft.federation.secagg, so the test does not depend on the training stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITES = ("site-a", "site-b", "site-c")
SLOW_SITE = "site-b"  # killed while it trains in round 2
SHAPES = [(16, 8), (8,)]
# SecAgg+ per-stage timeout: each message starts a fresh `flwr-clientapp` process at the site
# (seconds on a loaded 2-core machine); a site missing a stage before masking aborts the round.
TIMEOUT_S = 45.0

APP_PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "secagg-check"
version = "1.0.0"
description = "fedft SecAgg+ deployment check"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "fedft"

[tool.flwr.app.components]
serverapp = "secagg_check:server"
clientapp = "secagg_check:client"

[tool.flwr.app.config]
out = ""
timeout = 15.0
slow-site = ""
"""

APP_MODULE = '''
"""Minimal SecAgg+ app: each site sends a delta derived from its site-id."""
import hashlib, json, time
from pathlib import Path

import numpy as np
from flwr.app import Context
from flwr.client import ClientApp, NumPyClient
from flwr.common import ndarrays_to_parameters
from flwr.server import LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow

from fedft.config.secure_aggregation import SecureAggregationConfig
from fedft.federation import secagg

secagg.install_secure_prg()  # at import, in every process that loads the apps

SHAPES = [(16, 8), (8,)]


def site_delta(site):
    seed = int.from_bytes(hashlib.sha256(site.encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.1, s).astype(np.float32) for s in SHAPES], 20 + seed % 50


def _cfg(timeout):
    return SecureAggregationConfig(delta_clip_norm=5.0, max_weight=100.0, timeout=timeout)


class Site(NumPyClient):
    def __init__(self, context):
        self.site = str(context.node_config["site-id"])
        self.state = Path(str(context.node_config["state-dir"]))
        self.slow = str(context.run_config.get("slow-site", ""))

    def fit(self, parameters, config):
        delta, n = site_delta(self.site)
        if self.site == self.slow and int(config["round"]) == 2:
            (self.state / "in-fit").write_text("2")
            time.sleep(600)  # the test kills this SuperNode now
        secagg.check_delta(arrays=delta, expected_shapes=SHAPES, max_norm=5.0)
        secagg.check_weight(num_examples=n, max_weight=100.0)
        return delta, n, {}


def _client_fn(context: Context):
    return Site(context).to_client()


client = ClientApp(client_fn=_client_fn, mods=secagg.client_mods(_cfg(15.0)))
server = ServerApp()


@server.main()
def main(grid, context):
    out = Path(str(context.run_config["out"]))
    rounds = {}

    def record(server_round, arrays, _config):
        rounds[server_round] = [a.tolist() for a in arrays]
        out.write_text(json.dumps({"rounds": rounds, "secure_prg": secagg.is_secure_prg_installed()}))
        return None

    strategy = FedAvg(
        fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=3, min_available_clients=3,
        initial_parameters=ndarrays_to_parameters([np.zeros(s, np.float32) for s in SHAPES]),
        on_fit_config_fn=lambda r: {"round": r}, evaluate_fn=record,
    )
    ctx = LegacyContext(context=context, config=ServerConfig(num_rounds=2), strategy=strategy)
    workflow = secagg.build_secaggplus_workflow(_cfg(float(context.run_config["timeout"])))
    DefaultWorkflow(fit_workflow=workflow)(grid, ctx)
    data = json.loads(out.read_text())
    data["done"] = True
    out.write_text(json.dumps(data))
'''


def _site_delta(site: str) -> tuple[list[np.ndarray], int]:
    seed = int.from_bytes(hashlib.sha256(site.encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.1, s).astype(np.float32) for s in SHAPES], 20 + seed % 50


def _mean(sites: list[str]) -> list[np.ndarray]:
    pairs = [_site_delta(s) for s in sites]
    total = sum(n for _, n in pairs)
    return [sum(d[i].astype(np.float64) * n for d, n in pairs) / total for i in range(len(SHAPES))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill_tree(proc: subprocess.Popen) -> None:
    """Stop a process we started and everything it started (by PID, never by name)."""
    pids = [proc.pid, *_descendants(proc.pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + 8
        while time.time() < deadline and any(Path(f"/proc/{p}").exists() and _alive(p) for p in pids):
            time.sleep(0.2)
    proc.wait(timeout=5)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, *, timeout: float, what: str, logs: list[Path]) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["FLWR_HOME"] = str(tmp_path / "flwr-home")
    e["FLWR_TELEMETRY_ENABLED"] = "0"
    e["FLWR_DISABLE_UPDATE_CHECK"] = "1"
    return e


def test_setup_tls_writes_what_flower_accepts(tmp_path):
    # Execute
    subprocess.run(
        [sys.executable, str(REPO / "server/setup_tls.py"), "--out", str(tmp_path),
         "--hostname", "fl.example.org", "--ip", "10.1.2.3", "--site", "h-a"],
        check=True, capture_output=True,
    )
    # Assert: private keys 0600; the certificate chains to the CA and names the SuperLink.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_ssh_private_key
    from flwr.cli.supernode.register import try_load_public_key

    for key in ("ca.key", "server.key", "sites/h-a/supernode.key"):
        assert (tmp_path / key).stat().st_mode & 0o777 == 0o600, key
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    server = x509.load_pem_x509_certificate((tmp_path / "server.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(v) for v in san.get_values_for_type(x509.DNSName)} == {"fl.example.org", "localhost"}
    assert {str(v) for v in san.get_values_for_type(x509.IPAddress)} == {"10.1.2.3", "127.0.0.1"}
    # The key formats flower-supernode and `flwr supernode register` load (flwr 1.41).
    private = load_ssh_private_key((tmp_path / "sites/h-a/supernode.key").read_bytes(), None)
    assert private.curve.name == "secp384r1"
    assert try_load_public_key(tmp_path / "sites/h-a/supernode.pub")
    assert "h-a" in (tmp_path / "sites.csv").read_text()


@pytest.mark.integration
def test_tls_node_auth_secagg_run_with_a_dropout(tmp_path, env):
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(name: str, cmd: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        logs.append(log)
        proc = subprocess.Popen(
            cmd, env={**env, **extra_env}, cwd=tmp_path,
            stdout=log.open("w"), stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    try:
        # Prepare: certificates and site keys (one site is not registered).
        certs = tmp_path / "certs"
        subprocess.run(
            [sys.executable, str(REPO / "server/setup_tls.py"), "--out", str(certs),
             "--hostname", "localhost", *(a for s in (*SITES, "rogue") for a in ("--site", s))],
            check=True, capture_output=True,
        )
        port = _free_port()
        start(
            "superlink", ["bash", str(REPO / "server/start_superlink.sh")],
            {"CERTS_DIR": str(certs), "STATE_DIR": str(tmp_path / "state"),
             "SUPERLINK_HOST": "127.0.0.1", "SUPERLINK_PORT": str(port)},
        )
        _wait_for(lambda: "Uvicorn running on https" in logs[0].read_text(), timeout=60,
                  what="the SuperLink", logs=logs)
        Path(env["FLWR_HOME"]).mkdir(exist_ok=True)
        (Path(env["FLWR_HOME"]) / "config.toml").write_text(
            f'[superlink]\ndefault = "fedft"\n\n[superlink.fedft]\naddress = "127.0.0.1:{port}"\n'
            f'root-certificates = "{certs / "ca.crt"}"\n'
        )
        reg = subprocess.run(
            ["bash", str(REPO / "server/register_sites.sh"), "fedft",
             *(f"{s}={certs / 'sites' / s / 'supernode.pub'}" for s in SITES)],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert reg.returncode == 0, reg.stdout + reg.stderr
        assert reg.stdout.count("registered successfully") == 3

        # Execute: three registered SuperNodes and one with an unregistered key.
        nodes = {}
        for site in (*SITES, "rogue"):
            site_dir = certs / "sites" / site
            (tmp_path / "data" / site).mkdir(parents=True)
            (tmp_path / "data" / site / "train.jsonl").write_text("")
            (tmp_path / "policy.yaml").write_text("anonymization: {}\n")
            state_dir = tmp_path / f"state-{site}"
            (site_dir / "node-config.toml").write_text(
                f'site-id = "{site}"\n'
                f'data-path = "{tmp_path / "data" / site / "train.jsonl"}"\n'
                f'policy-path = "{tmp_path / "policy.yaml"}"\n'
                f'state-dir = "{state_dir}"\n'
            )
            nodes[site] = start(
                site, ["bash", str(REPO / "client/start_supernode.sh"), "--max-retries", "2", "--max-wait-time", "20"],
                {"SUPERLINK": f"127.0.0.1:{port}", "SITE_DIR": str(site_dir), "SUPERNODE_PORT": str(_free_port())},
            )
        # Assert: the unregistered SuperNode is refused and exits; the others stay connected.
        assert nodes["rogue"].wait(timeout=90) != 0
        rogue_log = (tmp_path / "rogue.log").read_text()
        assert "Failed to activate SuperNode" in rogue_log, rogue_log
        _wait_for(
            lambda: all("SuperNode ID:" in (tmp_path / f"{s}.log").read_text() for s in SITES),
            timeout=90, what="three SuperNodes to connect", logs=logs,
        )

        # Execute: the run, with site-b killed while it trains in round 2.
        app = tmp_path / "app"
        app.mkdir()
        (app / "pyproject.toml").write_text(APP_PYPROJECT)
        (app / "secagg_check.py").write_text(APP_MODULE)
        out = tmp_path / "result.json"
        run_config = tmp_path / "run.toml"
        run_config.write_text(f'out = "{out}"\ntimeout = {TIMEOUT_S}\nslow-site = "{SLOW_SITE}"\n')
        # `flwr run --stream` follows the run until it ends; it runs beside the test.
        submit = start("flwr-run", ["bash", str(REPO / "server/submit_run.sh"), "fedft", str(app), str(run_config)], {})
        marker = tmp_path / f"state-{SLOW_SITE}" / "in-fit"
        _wait_for(marker.exists, timeout=240, what=f"{SLOW_SITE} to start round 2", logs=logs)
        _kill_tree(nodes[SLOW_SITE])
        _wait_for(lambda: out.exists() and json.loads(out.read_text()).get("done"),
                  timeout=240, what="the run to finish", logs=logs)

        # Assert: exact means (up to quantization): all three in round 1, the two left in round 2.
        result = json.loads(out.read_text())
        assert result["secure_prg"] is True
        rounds = {int(k): [np.array(a) for a in v] for k, v in result["rounds"].items()}
        for rnd, sites in ((1, list(SITES)), (2, [s for s in SITES if s != SLOW_SITE])):
            err = max(float(np.max(np.abs(g - w))) for g, w in zip(rounds[rnd], _mean(sites), strict=True))
            assert err < 1e-4, (rnd, err)
        assert submit.wait(timeout=60) == 0, (tmp_path / "flwr-run.log").read_text()[-3000:]
    finally:
        for proc in reversed(procs):
            if proc.poll() is None or _descendants(proc.pid):
                _kill_tree(proc)
