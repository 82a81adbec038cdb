"""fedft itself, deployed with real processes on localhost through the kits.

A SuperLink with TLS and SuperNode authentication (server/start_superlink.sh), three registered
SuperNodes each with its own data file and anonymization policy (client/start_supernode.sh),
one SuperNode with an unregistered key (refused), and fedft's own ServerApp/ClientApp submitted
as a Flower app bundle (server/submit_run.sh): 2 rounds under SecAgg+ on a tiny config, the
first fitting the head from the sites' feature statistics (`model.head_fit`), the second
training LoRA. One SuperNode is killed while it trains in round 2; with 3 shares and threshold 2 the
round completes with the other two (the dropout rule), and the run finishes with its metrics,
adapters and a verified privacy ledger in the coordinator's run folder.

The app folder is what `flwr run` packages from this repository (pyproject.toml and the fedft
package) plus the test's YAML config; every process runs this venv's fedft, and no
dependencies are installed at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flwr.common.secure_aggregation.secaggplus_constants import Key
from headless_chromium import page_as_shown

from fedft.cli import main as fedft_main
from fedft.config.anonymization import load_policy, policy_hash

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SITES = ("site-a", "site-b", "site-c")
KILLED_SITE = "site-b"  # killed while it trains in round 2
LABELS = ["cardiology", "gastroenterology", "neurology", "orthopedics", "pulmonology"]
EXAMPLES_PER_SITE = 12

# Tiny on purpose: 2 rounds, 2 local steps of batch 4, 48 tokens, 16 held-out notes.
# SecAgg+ timeout: each message starts a fresh `flwr-clientapp` process at the site, and the
# masking stage imports the training stack, anonymizes and trains: ~18 s of CPU, minutes of
# wall time on a 2-core machine shared with other work (75 s was too short at load 14). It
# does not slow the drop-out: the SuperLink answers for a SuperNode that missed its heartbeats
# (2 x 30 s in Flower 1.41) with an error reply, which ends the stage's wait.
SMOKE_CONFIG = f"""\
run: {{name: deploy-smoke, seed: 0}}
data:
  task: classification
  labels: {json.dumps(LABELS)}
  synthetic: {{kind: clinical, n_train: 32, n_eval: 16}}
  max_length: 48
model: {{head_fit: least_squares}}
training: {{max_steps: 2, batch_size: 4}}
federation: {{num_clients: 3, rounds: 2, fraction_fit: 1.0, min_fit_clients: 2}}
evaluation: {{local_baseline: false}}
secure_aggregation:
  num_shares: 1.0               # every sampled site is every site's neighbour: 3 shares
  reconstruction_threshold: 2   # so one site may drop after key sharing
  max_weight: {EXAMPLES_PER_SITE * 4}
  timeout: 600
"""


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
        while time.time() < deadline and any(
            Path(f"/proc/{p}").exists() and _alive(p) for p in pids
        ):
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
        [
            sys.executable,
            str(REPO / "server/setup_tls.py"),
            "--out",
            str(tmp_path),
            "--hostname",
            "fl.example.org",
            "--ip",
            "10.1.2.3",
            "--site",
            "h-a",
        ],
        check=True,
        capture_output=True,
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
    assert {str(v) for v in san.get_values_for_type(x509.DNSName)} == {
        "fl.example.org",
        "localhost",
    }
    assert {str(v) for v in san.get_values_for_type(x509.IPAddress)} == {"10.1.2.3", "127.0.0.1"}
    # The key formats flower-supernode and `flwr supernode register` load (flwr 1.41).
    private = load_ssh_private_key((tmp_path / "sites/h-a/supernode.key").read_bytes(), None)
    assert private.curve.name == "secp384r1"
    assert try_load_public_key(tmp_path / "sites/h-a/supernode.pub")
    assert "h-a" in (tmp_path / "sites.csv").read_text()
    # Re-running (e.g. to add a name) re-issues the certificate for the same server key.
    key_before = (tmp_path / "server.key").read_bytes()
    again = [sys.executable, str(REPO / "server/setup_tls.py"), "--out", str(tmp_path)]
    subprocess.run([*again, "--hostname", "fl2.example.org"], check=True, capture_output=True)
    assert (tmp_path / "server.key").read_bytes() == key_before


@pytest.mark.parametrize("name", ["*", "bad host name!", "*.example.org", "-x.example.org"])
def test_setup_tls_refuses_a_name_that_is_not_a_dns_name(tmp_path, name):
    result = subprocess.run(
        [sys.executable, str(REPO / "server/setup_tls.py"), "--out", str(tmp_path), f"--hostname={name}"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "not a DNS name" in result.stderr
    assert not (tmp_path / "server.key").exists()


def _app_folder(root: Path, *, signing_key: Path) -> Path:
    """What `flwr run` packages from this repository, plus the test's YAML config (naming the
    coordinator's provisioned ledger key)."""
    app = root / "app"
    app.mkdir()
    shutil.copy(REPO / "pyproject.toml", app / "pyproject.toml")
    shutil.copytree(REPO / "fedft", app / "fedft", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "configs").mkdir()
    (app / "configs" / "deploy-smoke.yaml").write_text(
        SMOKE_CONFIG + f"ledger: {{signing_key: {signing_key}}}\n"
    )
    return app


def _keygen(folder: Path, name: str) -> str:
    """`fedft ledger keygen -o folder --name name`; returns the printed fingerprint."""
    out = subprocess.run(
        [str(BIN / "fedft"), "ledger", "keygen", "-o", str(folder), "--name", name],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return out.split("fingerprint: ")[1].strip()


def _site_files(root: Path, site: str, index: int) -> dict[str, str]:
    """A site's own training file (synthetic notes with planted PII) and its policy."""
    from fedft.data.synthetic import generate_corpus

    folder = root / "data" / site
    folder.mkdir(parents=True)
    rows = generate_corpus(
        kind="clinical", n=EXAMPLES_PER_SITE, seed=100 + index, task="classification"
    )
    (folder / "train.jsonl").write_text(
        "".join(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in rows)
    )
    shutil.copy(REPO / "configs" / "policies" / "clinical.yaml", folder / "policy.yaml")
    return {
        "site-id": site,
        "data-path": str(folder / "train.jsonl"),
        "policy-path": str(folder / "policy.yaml"),
        "state-dir": str(root / "site-state" / site),
    }


def _outbox(state_dir: str) -> list[dict]:
    """The site's record of its replies; a line still being written is not counted yet."""
    path = Path(state_dir) / "outbox.jsonl"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1]]


@pytest.mark.integration
def test_fedft_runs_over_tls_with_node_auth_secagg_and_a_dropout(tmp_path, env):
    from fedft.federation.outbox import text_fields
    from fedft.run.ledger_verify import read_ledger, verify_ledger

    procs: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(name: str, cmd: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        logs.append(log)
        proc = subprocess.Popen(
            cmd,
            env={**env, **extra_env},
            cwd=tmp_path,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    try:
        # Prepare: CA, SuperLink certificate and site keys (server README steps 1, 3); "rogue"
        # gets a key that is never registered.
        certs = tmp_path / "certs"
        subprocess.run(
            [
                sys.executable,
                str(REPO / "server/setup_tls.py"),
                "--out",
                str(certs),
                "--hostname",
                "localhost",
                *(a for s in (*SITES, "rogue") for a in ("--site", s)),
            ],
            check=True,
            capture_output=True,
        )
        # Server step 4: the SuperLink, on loopback only.
        port = _free_port()
        start(
            "superlink",
            ["bash", str(REPO / "server/start_superlink.sh")],
            {
                "CERTS_DIR": str(certs),
                "STATE_DIR": str(tmp_path / "superlink-state"),
                "SUPERLINK_PORT": str(port),
                # The test follows SecAgg+'s stages in the streamed log (to kill site-b while it
                # trains); Flower logs them at DEBUG, which fedft no longer shows by default.
                "FLWR_LOG_LEVEL": "DEBUG",
            },
        )
        _wait_for(
            lambda: "Uvicorn running on https" in logs[0].read_text(),
            timeout=90,
            what="the SuperLink",
            logs=logs,
        )
        # The kit's default: loopback only (Flower 1.41's Control API, on this same port, has no
        # authentication); sites reach it through a proxy that forwards only /v1/fleet/.
        assert f"Uvicorn running on https://127.0.0.1:{port}" in logs[0].read_text()
        # Server steps 6-7: the flwr CLI's connection, then register the three sites' keys.
        Path(env["FLWR_HOME"]).mkdir(exist_ok=True)
        (Path(env["FLWR_HOME"]) / "config.toml").write_text(
            (REPO / "server/flwr-config.template.toml")
            .read_text()
            .replace("fl.example.org:9093", f"localhost:{port}")
            .replace("/absolute/path/to/certs/ca.crt", str(certs / "ca.crt"))
        )
        reg = subprocess.run(
            [
                "bash",
                str(REPO / "server/register_sites.sh"),
                "fedft",
                *(f"{s}={certs / 'sites' / s / 'supernode.pub'}" for s in SITES),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert reg.returncode == 0, reg.stdout + reg.stderr
        assert reg.stdout.count("registered successfully") == 3

        # Client steps 4-6: each site's data, policy and node config, then its SuperNode.
        nodes, node_configs, site_keys = {}, {}, {}
        for index, site in enumerate((*SITES, "rogue")):
            site_dir = certs / "sites" / site
            node_configs[site] = _site_files(tmp_path, site, index)
            # Each site's own signing key, made at set-up; its fingerprint is published.
            site_keys[site] = _keygen(Path(node_configs[site]["state-dir"]) / "keys", "site-signing")
            (site_dir / "node-config.toml").write_text(
                "".join(f'{k} = "{v}"\n' for k, v in node_configs[site].items())
            )
            nodes[site] = start(
                site,
                [
                    "bash",
                    str(REPO / "client/start_supernode.sh"),
                    "--max-retries",
                    "2",
                    "--max-wait-time",
                    "20",
                ],
                {
                    "SUPERLINK": f"localhost:{port}",
                    "SITE_DIR": str(site_dir),
                    "SUPERNODE_PORT": str(_free_port()),
                },
            )
        # Assert: the unregistered SuperNode is refused and exits; the others connect.
        assert nodes["rogue"].wait(timeout=120) != 0
        rogue_log = (tmp_path / "rogue.log").read_text()
        assert "Failed to activate SuperNode" in rogue_log, rogue_log
        # Flower's 305 is a log line; the process exits 1, and the kit names the cause.
        assert nodes["rogue"].returncode == 1 and "key is not registered" in rogue_log
        _wait_for(
            lambda: all("SuperNode ID:" in (tmp_path / f"{s}.log").read_text() for s in SITES),
            timeout=120,
            what="three SuperNodes to connect",
            logs=logs,
        )

        # Execute (server steps 8-9): fedft's own apps, submitted as a bundle; `flwr run
        # --stream` follows the run until it ends, beside the test.
        # The coordinator's ledger key, provisioned once outside any run folder (server step 1).
        coordinator_key = _keygen(tmp_path / "coordinator-keys", "ledger-signing")
        app = _app_folder(tmp_path, signing_key=tmp_path / "coordinator-keys" / "ledger-signing.key")
        run_dir = tmp_path / "coordinator-run"
        run_config = tmp_path / "run-config.toml"
        run_config.write_text(f'config = "configs/deploy-smoke.yaml"\nrun-dir = "{run_dir}"\n')
        submit = start(
            "flwr-run",
            ["bash", str(REPO / "server/submit_run.sh"), "fedft", str(app), str(run_config)],
            {},
        )

        # Kill site-b in round 2 once the server has its key shares (the coordinator forwards
        # them to all 3 sites) and before its masked vector leaves: it drops while it trains.
        # (A site's outbox line is written before the reply is pushed, so it cannot tell when
        # the server has it; a site lost during key sharing makes Flower abort the round.)
        killed_state = node_configs[KILLED_SITE]["state-dir"]

        def in_round_2_training() -> bool:
            if submit.poll() is not None:  # the run ended early: fail now, with its log
                raise AssertionError((tmp_path / "flwr-run.log").read_text()[-4000:])
            round_2 = (tmp_path / "flwr-run.log").read_text().partition("[ROUND 2]")[2]
            return "Forwarding encrypted key shares to 3 clients" in round_2

        _wait_for(
            in_round_2_training, timeout=1200, what=f"{KILLED_SITE} to train in round 2", logs=logs
        )
        _kill_tree(nodes[KILLED_SITE])
        sent = [e for e in _outbox(killed_state) if e["group"] == "2"]
        assert not any(Key.MASKED_PARAMETERS in c for e in sent for c in e["configs"].values()), (
            f"{KILLED_SITE} sent its masked vector before the kill"
        )

        # Assert: the run ends normally.
        assert submit.wait(timeout=1200) == 0, (tmp_path / "flwr-run.log").read_text()[-4000:]
        metrics = [
            json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        ]
        assert [m["round"] for m in metrics] == [0, 1, 2]
        # Round 1 with all three sites; round 2 completes with the two left (3 shares,
        # threshold 2: one may drop after key sharing).
        assert (metrics[1]["clients_finished"], metrics[2]["clients_finished"]) == (3, 2)
        assert all(0.0 <= m["eval_accuracy"] <= 1.0 for m in metrics)
        assert (run_dir / "rounds" / "round-002" / "adapter").is_dir()
        # The coordinator's privacy ledger: intact, signed, closed, one entry per round.
        verified = verify_ledger(
            run_dir,
            fingerprint=coordinator_key,
            site_fingerprints={s: site_keys[s] for s in SITES},
        )
        assert verified.ok and verified.closed, verified.summary()
        assert verified.site_signatures == 5  # 3 sites in round 1, 2 in round 2
        assert not list(run_dir.rglob("*.key"))  # no private key in the run folder
        # The HTML report shows each site's anonymization counts and its own policy hash.
        page = tmp_path / "audit.html"
        assert fedft_main(["audit", str(run_dir), "--format", "html", "-o", str(page)]) == 0
        table = page_as_shown(page, tmp_path).split("<h2>Anonymization (counts only)</h2>")[1]
        table = table.split("</table>")[0]
        assert "—" not in table and all(s in table for s in SITES)
        assert policy_hash(load_policy(REPO / "configs/policies/clinical.yaml")) in table
        entries = read_ledger(run_dir)
        assert entries[0]["kind"] == "run_start" and entries[0]["body"]["head_fit_round"] == 1
        rounds = [e for e in entries if e["kind"] == "round"]
        trained = [[s for s in e["body"]["sites"] if s["status"] == "trained"] for e in rounds]
        assert [[s["site"] for s in t] for t in trained] == [list(SITES), ["site-a", "site-c"]], (
            rounds
        )
        # The dead SuperNode is recorded as failed ("Node Unavailable": missed heartbeats).
        assert KILLED_SITE in [
            s["site"] for s in rounds[1]["body"]["sites"] if s["status"] == "failed"
        ]
        for sites, m in zip(trained, metrics[1:], strict=True):
            # Counts after anonymization (the policy drops rows with residual PII).
            counts = [s["num_examples"] for s in sites]
            assert (
                all(0 < n <= EXAMPLES_PER_SITE for n in counts)
                and sum(counts) == m["examples_trained"]
            )
        assert all(e["body"]["secure_aggregation"]["enabled"] for e in rounds)

        # Assert, at the sites: each sent a masked vector per round it finished, and no text.
        for site in SITES:
            sent = _outbox(node_configs[site]["state-dir"])
            assert sent and not [f for e in sent for f in text_fields(e)], site
            masked = [
                e["group"]
                for e in sent
                if any(Key.MASKED_PARAMETERS in c for c in e["configs"].values())
            ]
            assert masked == (["1"] if site == KILLED_SITE else ["1", "2"]), (site, masked)
            assert (Path(node_configs[site]["state-dir"]) / "anonymization_report.json").is_file()
    finally:
        for proc in reversed(procs):
            if proc.poll() is None or _descendants(proc.pid):
                _kill_tree(proc)


@pytest.mark.parametrize("host", ["0.0.0.0", "203.0.113.7"])
def test_superlink_script_refuses_to_expose_the_control_api_unless_told(tmp_path, host):
    # Execute: the script's checks run before flower-superlink would start.
    result = subprocess.run(
        ["bash", str(REPO / "server/start_superlink.sh")],
        env={**os.environ, "SUPERLINK_HOST": host, "CERTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Assert
    assert result.returncode == 2
    assert "Control API" in result.stderr and "EXPOSE_CONTROL_API=yes" in result.stderr


@pytest.mark.parametrize("extra", [["--host", "0.0.0.0"], ["--host=0.0.0.0"], ["--insecure"]])
def test_superlink_script_extra_arguments_cannot_override_its_guard(tmp_path, extra):
    result = subprocess.run(
        ["bash", str(REPO / "server/start_superlink.sh"), *extra],
        env={**os.environ, "CERTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "would override the kit's setting" in result.stderr


def test_the_repository_packages_into_a_bundle_with_fedfts_apps():
    # What `flwr run .` / `flwr build` send to the SuperLink and the sites (the integration
    # test submits a copy of the same files plus its own YAML).
    import io
    import tomllib
    import zipfile

    from flwr.cli.build import build_fab_from_disk
    from flwr.common.constant import FAB_MAX_SIZE

    # Execute
    fab = build_fab_from_disk(REPO)
    # Assert: under Flower's size limit, with the apps the pyproject names and the default YAML.
    assert len(fab) < FAB_MAX_SIZE
    names = set(zipfile.ZipFile(io.BytesIO(fab)).namelist())
    flwr_app = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["flwr"]["app"]
    for ref in flwr_app["components"].values():
        assert ref.partition(":")[0].replace(".", "/") + ".py" in names, ref
    assert flwr_app["components"]["clientapp"] == "fedft.federation.site_app:app"
    assert flwr_app["config"]["config"] in names
    assert not [n for n in names if Path(n).name.startswith("test_")]
