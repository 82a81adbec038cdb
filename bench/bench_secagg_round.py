"""SecAgg+ round cost with training excluded: fedft's default adapter, 10 sites, in one process.

What is measured: one federated round through Flower 1.41's own server workflows and client
mods, FedAvg, each site a NumPyClient that returns a precomputed delta the size of the default
config's trainable LoRA state (configs/default.yaml: MiniLM, FFA-LoRA r=8, classifier head) —

  secagg   SecAggPlusWorkflow + secaggplus_mod, with fedft's AES-256-CTR PRG and uint32
           uploads (fedft.federation.secagg), 4 stages: keys, shares, masked vectors, unmask;
  plain    Flower's default fit workflow: one fit message per site.

Every message goes through Flower's protobuf serialization both ways (what the HTTP transport
carries), but no network and no TLS. All parties run in this process, one after another:

  serial    total compute of the server and all sites for the round;
  parallel  a deployment where sites run at the same time: server time plus, per stage, the
            slowest site (the transport's latency, ~one round trip per stage, is not included).

Uploads: bytes of each site's serialized replies over the round (every stage), divided by the
fp32 bytes of the adapter delta. Flower's int64 encoding is shown for comparison.

    python bench/bench_secagg_round.py [--clients 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib
import logging
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.client import ClientApp, NumPyClient
from flwr.common import ndarray_to_bytes
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.server import LegacyContext, ServerConfig
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import FedAvg
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.server.workflow.default_workflows import default_fit_workflow
from flwr.serverapp.grid import Grid
from flwr.supercore.task_identity import TaskIdentity

from fedft.config import load_config
from fedft.federation import secagg
from fedft.model.state import trainable_state
from fedft.round.workload import cached_workload

REPO = Path(__file__).resolve().parents[1]
DELTA_STD = 0.01  # typical per-coordinate size of a round's LoRA delta at lr 1e-2
PLAIN = "plain"
_CLIENT_MOD = "flwr.client.mod.secure_aggregation.secaggplus_mod"


class _Site(NumPyClient):
    def __init__(self, delta: list[np.ndarray], num_examples: int):
        self.delta, self.num_examples = delta, num_examples

    def fit(self, parameters, config):
        return self.delta, self.num_examples, {}


def _client_fn(delta: list[np.ndarray], num_examples: int):
    def client_fn(context: Context):  # Flower checks this exact signature
        return _Site(delta, num_examples).to_client()

    return client_fn


def _wire(msg: Message) -> tuple[Message, int]:
    # A copy through Flower's protobuf form, as the transport does; returns its size too.
    proto = message_to_proto(msg)
    return message_from_proto(proto), proto.ByteSize()


class TimedLoopbackGrid(Grid):
    """Hands each message to its site's ClientApp in this process; times every party."""

    def __init__(self, apps: dict[int, ClientApp]):
        self.apps = apps
        self.contexts = {
            nid: Context(run_id=1, node_id=nid, node_config={}, state=RecordDict(), run_config={})
            for nid in apps
        }
        self.site_seconds: dict[tuple[str, int], float] = {}  # (stage, node) -> seconds
        self.upload_bytes: dict[int, int] = defaultdict(int)
        self.masked_bytes: dict[int, int] = defaultdict(int)

    def set_run(self, run):  # pragma: no cover - not used by the workflows
        raise NotImplementedError

    @property
    def run(self):  # pragma: no cover - not used by the workflows
        raise NotImplementedError

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self):
        return list(self.apps)

    def push_messages(self, messages):  # pragma: no cover - not used by the workflows
        raise NotImplementedError

    def pull_messages(self, message_ids):  # pragma: no cover - not used by the workflows
        raise NotImplementedError

    def send_and_receive(self, messages, *, timeout=None):
        replies = []
        for sent in messages:
            msg, _ = _wire(sent)
            nid = msg.metadata.dst_node_id
            configs = msg.content.config_records.get(RECORD_KEY_CONFIGS)
            stage = str(configs[Key.STAGE]) if configs is not None else PLAIN
            start = time.perf_counter()
            reply = self.apps[nid](msg, self.contexts[nid])
            # Serializing the reply is the site's work too (it sends it).
            received, size = _wire(reply)
            self.site_seconds[(stage, nid)] = time.perf_counter() - start
            if reply.has_error():
                raise RuntimeError(f"site {nid} failed in stage {stage}: {reply.error}")
            self.upload_bytes[nid] += size
            if (
                configs is not None
                and Key.MASKED_PARAMETERS in received.content.config_records[RECORD_KEY_CONFIGS]
            ):
                masked = received.content.config_records[RECORD_KEY_CONFIGS][Key.MASKED_PARAMETERS]
                self.masked_bytes[nid] += sum(len(b) for b in masked)
            replies.append(received)
        return replies


def _one_round(*, secure: bool, compact: bool, deltas, num_examples, sa_cfg) -> dict:
    mods = secagg.client_mods(sa_cfg) if secure else []
    apps = {
        nid: ClientApp(client_fn=_client_fn(d, n), mods=mods)
        for nid, (d, n) in enumerate(zip(deltas, num_examples, strict=True), start=1)
    }
    grid = TimedLoopbackGrid(apps)
    strategy = FedAvg(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=len(apps),
        min_available_clients=len(apps),
    )
    ctx = LegacyContext(
        context=Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={}),
        config=ServerConfig(num_rounds=1),
        strategy=strategy,
    )
    for nid in apps:
        ctx.client_manager.register(GridClientProxy(node_id=nid, grid=grid, run_id=1))
    initial = [np.zeros_like(a) for a in deltas[0]]
    ctx.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord(initial)
    ctx.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({WorkflowKey.CURRENT_ROUND: 1})
    workflow = secagg.build_secaggplus_workflow(sa_cfg) if secure else default_fit_workflow
    if not compact:
        # Flower's own int64 encoding (building the mods and workflow installed fedft's uint32).
        importlib.import_module(_CLIENT_MOD).ndarray_to_bytes = ndarray_to_bytes

    start = time.perf_counter()
    workflow(grid, ctx)
    serial = time.perf_counter() - start

    after = ctx.state.array_records[MAIN_PARAMS_RECORD].to_numpy_ndarrays()
    weights = np.asarray(num_examples, dtype=np.float64)
    exact = [
        sum(w * d[i].astype(np.float64) for d, w in zip(deltas, weights, strict=True))
        / weights.sum()
        for i in range(len(initial))
    ]
    error = max(float(np.max(np.abs(a - e))) for a, e in zip(after, exact, strict=True))
    sites_total = sum(grid.site_seconds.values())
    stages = {stage for stage, _ in grid.site_seconds}
    slowest = sum(
        max(s for (st, _), s in grid.site_seconds.items() if st == stage) for stage in stages
    )
    return {
        "serial": serial,
        "parallel": serial - sites_total + slowest,
        "server": serial - sites_total,
        "upload": statistics.mean(grid.upload_bytes.values()),
        "masked": statistics.mean(grid.masked_bytes.values()) if grid.masked_bytes else 0.0,
        "error": error,
    }


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    args = parser.parse_args()

    # Flower logs every stage at INFO; the table is the output.
    logging.getLogger("flwr").setLevel(logging.ERROR)
    # What the server and the client workflows expect to be set by Flower's ServerApp runtime.
    TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = 1, SUPERLINK_NODE_ID, 0

    cfg = load_config(args.config)
    state = trainable_state(cached_workload(cfg).model)
    shapes = [a.shape for a in state.values()]
    n_values = sum(int(np.prod(s)) for s in shapes)
    fp32_bytes = 4 * n_values
    sa = cfg.secure_aggregation
    rng = np.random.default_rng(0)
    deltas = []
    for _ in range(args.clients):
        delta = [rng.normal(0.0, DELTA_STD, s).astype(np.float32) for s in shapes]
        deltas.append(secagg.clip_delta_norm(arrays=delta, max_norm=sa.delta_clip_norm)[0])
    # Per-site example counts like the default run's (1,200 notes over 4 sites, 18 steps x 8).
    num_examples = [int(n) for n in rng.integers(120, 160, args.clients)]

    print(
        f"adapter: {len(shapes)} tensors, {n_values:,} values, {fp32_bytes:,} fp32 bytes "
        f"({args.config.name}); {args.clients} sites; median of {args.repeats} rounds"
    )
    results = {}
    variants = {"plain": (False, True), "secagg": (True, True), "secagg-int64": (True, False)}
    # Interleaved, so a change in the machine's load affects every variant alike.
    for repeat in range(args.repeats + 1):
        for name, (secure, compact) in variants.items():
            run = _one_round(
                secure=secure, compact=compact, deltas=deltas, num_examples=num_examples, sa_cfg=sa
            )
            if repeat:  # the first pass is a warm-up: imports, cipher backend, allocations
                results.setdefault(name, []).append(run)

    print(
        f"{'':14}{'serial s':>10}{'parallel s':>12}{'server s':>10}"
        f"{'upload/fp32':>13}{'masked/fp32':>13}{'max |err|':>11}"
    )
    for name, runs in results.items():
        print(
            f"{name:14}{_median(runs, 'serial'):>10.3f}{_median(runs, 'parallel'):>12.3f}"
            f"{_median(runs, 'server'):>10.3f}{_median(runs, 'upload') / fp32_bytes:>13.3f}"
            f"{_median(runs, 'masked') / fp32_bytes:>13.3f}{_median(runs, 'error'):>11.2e}"
        )
    plain, sec, int64 = results["plain"], results["secagg"], results["secagg-int64"]
    serial = _median(sec, "serial") / _median(plain, "serial")
    parallel = _median(sec, "parallel") / _median(plain, "parallel")
    print(f"round time secagg/plain: serial {serial:.2f}x, parallel {parallel:.2f}x")
    print(
        "bytes uploaded per site / fp32 adapter bytes: "
        f"secagg {_median(sec, 'upload') / fp32_bytes:.3f}, "
        f"plain {_median(plain, 'upload') / fp32_bytes:.3f}, "
        f"Flower's int64 secagg {_median(int64, 'upload') / fp32_bytes:.3f}"
    )


if __name__ == "__main__":
    main()
