"""Real SecAgg+ rounds, in-process: Flower's SecAggPlusWorkflow and secaggplus_mod, FedAvg, a
NumPyClient per site, with the secure PRG. Only the transport is ours: `LoopbackGrid` hands each
message to the site's real ClientApp (as a SuperNode would) and records what the server sees.
"""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Error, Message, RecordDict
from flwr.client import ClientApp, NumPyClient
from flwr.common import bytes_to_ndarray, ndarray_to_bytes, ndarrays_to_parameters
from flwr.common.constant import SUPERLINK_NODE_ID
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.server import LegacyContext, ServerConfig
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import FedAvg
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp.grid import Grid
from flwr.supercore.task_identity import TaskIdentity

from fedft.config.secure_aggregation import SecureAggregationConfig, resolve_shares_and_threshold
from fedft.federation import secagg
from fedft.federation.strategy import DeltaStrategy
from fedft.round.outcome import declined_message
from fedft.round.summary import FitSummary

SHAPES = [(8, 4), (4, 8), (3,)]


@pytest.fixture(autouse=True)
def _server_identity(monkeypatch):
    # What Flower's ServerApp runtime sets before running a workflow (server/compat/app.py).
    monkeypatch.setattr(TaskIdentity, "_run_id", 1)
    monkeypatch.setattr(TaskIdentity, "_node_id", SUPERLINK_NODE_ID)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)
CLIP_NORM = 2.0


def _site_delta(site: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1000 + site)
    arrays = [rng.normal(0.0, 0.05, size=s).astype(np.float32) for s in SHAPES]
    # One site's delta is concentrated on a single coordinate at the full clip norm: the
    # case that would saturate if clipping_range were chosen from typical magnitudes.
    if site == 2:
        arrays = [np.zeros(s, dtype=np.float32) for s in SHAPES]
        arrays[0][3, 1] = -CLIP_NORM
    return arrays


def _num_examples(site: int) -> int:
    return 40 + 17 * site


class _Site(NumPyClient):
    def __init__(self, site: int, *, declines: bool = False, crashes: bool = False):
        self.site = site
        self.declines = declines
        self.crashes = crashes

    def fit(self, parameters, config):
        if self.crashes:  # an error whose text names no site, the same at every site
            raise RuntimeError("out of memory")
        if self.declines:  # as a site out of privacy budget does (fedft.dp.budget)
            raise RuntimeError(
                declined_message(site_id=f"site-{self.site}", server_round=1, reason="no budget left")
            )
        delta = _site_delta(self.site)
        secagg.check_delta(arrays=delta, expected_shapes=SHAPES, max_norm=CLIP_NORM)
        return delta, _num_examples(self.site), {"steps": 1}


def _over_the_wire(msg: Message) -> Message:
    # Each party gets its own copy, as through gRPC (the mod edits the records it receives).
    return message_from_proto(message_to_proto(msg))




class LoopbackGrid(Grid):
    """Delivers each message to its node's ClientApp in this process; records the server view.

    `drop_at[node] = stage`: from that SecAgg+ stage on, the node never replies (a SuperNode
    killed mid-round; the workflow's receive returns without it, as after a timeout).
    `declines`: nodes whose training raises a site's refusal, `crashes`: nodes whose training
    raises the same error; their reply is the error Flower's simulation engine makes of it.
    """

    def __init__(
        self,
        num_nodes: int,
        drop_at: dict[int, str] | None = None,
        declines: frozenset[int] = frozenset(),
        crashes: frozenset[int] = frozenset(),
    ):
        def client_fn(context: Context):
            nid = context.node_id
            return _Site(nid, declines=nid in declines, crashes=nid in crashes).to_client()

        app = ClientApp(client_fn=client_fn, mods=secagg.client_mods(SecureAggregationConfig(), seed=0))
        self.apps = dict.fromkeys(range(1, num_nodes + 1), app)
        self.contexts = {
            nid: Context(run_id=1, node_id=nid, node_config={}, state=RecordDict(), run_config={})
            for nid in self.apps
        }
        self.drop_at = drop_at or {}
        self.server_view: list[tuple[str, int, RecordDict]] = []  # (stage, node, reply content)
        self.requests: list[tuple[str, int, dict]] = []  # (stage, node, SecAgg+ config)

    def set_run(self, run):  # pragma: no cover - not used by the workflow
        raise NotImplementedError

    @property
    def run(self):  # pragma: no cover - not used by the workflow
        raise NotImplementedError

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self):
        return list(self.apps)

    def push_messages(self, messages):  # pragma: no cover - not used by the workflow
        raise NotImplementedError

    def pull_messages(self, message_ids):  # pragma: no cover - not used by the workflow
        raise NotImplementedError

    def send_and_receive(self, messages, *, timeout=None):
        order = list(Stage.all())
        replies = []
        for msg in map(_over_the_wire, messages):
            nid = msg.metadata.dst_node_id
            configs = msg.content.config_records[RECORD_KEY_CONFIGS]
            stage = str(configs[Key.STAGE])
            self.requests.append((stage, nid, dict(configs)))  # the mod edits its copy
            if nid in self.drop_at and order.index(stage) >= order.index(self.drop_at[nid]):
                continue
            try:
                reply = _over_the_wire(self.apps[nid](msg, self.contexts[nid]))
            except Exception as exc:  # what Flower's simulation engine replies (vce_api.py)
                reason = str(type(exc)) + ":<'" + str(exc) + "'>"
                replies.append(Message(Error(code=2, reason=reason), reply_to=msg))
                continue
            assert not reply.has_error(), reply.error
            self.server_view.append((stage, nid, reply.content))
            replies.append(reply)
        return replies


def _run_round(
    cfg: SecureAggregationConfig, grid: LoopbackGrid, *, before=lambda: None, on_halt=lambda f: None
) -> tuple[bool, list[np.ndarray]]:
    """One SecAgg+ fit round; returns (parameters changed, parameters after).

    `before` runs after the workflow is built (which installs the secure PRG) and before the round.
    """
    strategy = FedAvg(fraction_fit=1.0, min_fit_clients=2, min_available_clients=2)
    ctx = LegacyContext(
        context=Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={}),
        config=ServerConfig(num_rounds=1),
        strategy=strategy,
    )
    for nid in grid.get_node_ids():
        ctx.client_manager.register(GridClientProxy(node_id=nid, grid=grid, run_id=1))
    initial = [np.full(s, 7.0) for s in SHAPES]  # a sentinel the round must replace
    ctx.state.array_records[MAIN_PARAMS_RECORD] = ArrayRecord(initial)
    ctx.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({WorkflowKey.CURRENT_ROUND: 1})
    workflow = secagg.build_secaggplus_workflow(cfg, on_halt=on_halt)
    before()
    workflow(grid, ctx)
    after = ctx.state.array_records[MAIN_PARAMS_RECORD].to_numpy_ndarrays()
    changed = not all(np.array_equal(a, b) for a, b in zip(after, initial, strict=True))
    return changed, after


def _exact_fedavg(sites: list[int]) -> list[np.ndarray]:
    weights = np.array([_num_examples(s) for s in sites], dtype=np.float64)
    return [
        sum(w * _site_delta(s)[i].astype(np.float64) for s, w in zip(sites, weights, strict=True))
        / weights.sum()
        for i in range(len(SHAPES))
    ]


def _max_abs_error(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(g - w))) for g, w in zip(got, want, strict=True))


CFG = SecureAggregationConfig(delta_clip_norm=CLIP_NORM, max_weight=200.0, timeout=5.0)


def test_round_gives_fedavg_of_the_deltas_within_the_error_bound():
    # Prepare
    grid = LoopbackGrid(num_nodes=5)
    sites = [1, 2, 3, 4, 5]
    # Execute
    changed, got = _run_round(CFG, grid)
    # Assert
    assert changed
    error = _max_abs_error(got, _exact_fedavg(sites))
    bound = secagg.aggregate_error_bound(
        clip_norm=CLIP_NORM,
        clipping_range=CFG.effective_clipping_range,
        quantization_range=CFG.quantization_range,
        max_weight=CFG.max_weight,
        num_examples=[_num_examples(s) for s in sites],
    )
    assert 0 < error <= bound, (error, bound)
    assert bound < 1e-4
    # The aggregate passes the server's plausibility check (a convex combination of deltas
    # within the clip norm, plus quantization error).
    secagg.check_delta(
        arrays=got, expected_shapes=SHAPES,
        max_norm=CLIP_NORM + bound * np.sqrt(sum(np.prod(s) for s in SHAPES)),
    )


def test_server_sees_only_masked_vectors_of_fp32_size():
    # Prepare
    grid = LoopbackGrid(num_nodes=4)
    # Execute
    _run_round(CFG, grid)
    # Assert: each upload looks uniform mod 2^32, nowhere near the site's quantized delta
    # (which would sit around Q/2 = 2^21 for small deltas), and travels as uint32: 4 bytes
    # per coordinate (plus one for the weight), like the fp32 delta.
    uploads = [c for stage, _, c in grid.server_view if stage == Stage.COLLECT_MASKED_VECTORS]
    assert len(uploads) == 4
    for content in uploads:
        vectors = [bytes_to_ndarray(b) for b in content.config_records[RECORD_KEY_CONFIGS][Key.MASKED_PARAMETERS]]
        assert [v.dtype for v in vectors] == [np.dtype(np.uint32)] * (len(SHAPES) + 1)
        flat = np.concatenate([v.ravel() for v in vectors]).astype(np.int64)
        # 68 uniform values: the mean's std is 0.035, so 0.25 (7 sigma) never fails by chance
        # (0.1 did, ~2% of runs: masks come from fresh secure keys), while an unmasked upload
        # sits at ~2^21 / 2^32 = 0.0005, i.e. 0.4995 away.
        assert abs(float(np.mean(flat)) / 2**32 - 0.5) < 0.25
        fp32_bytes = sum(4 * int(np.prod(s)) for s in SHAPES)
        assert sum(v.nbytes for v in vectors) == fp32_bytes + 4
        # The FitRes parameters travelling beside the masked vector are empty.
        assert all(len(rec) == 0 for rec in content.array_records.values())


def test_flowers_int64_uploads_still_aggregate_exactly(monkeypatch):
    # Sites without the compact encoding (or a mix) give the same result.
    import importlib

    client_mod = importlib.import_module("flwr.client.mod.secure_aggregation.secaggplus_mod")
    grid = LoopbackGrid(num_nodes=4)

    def flowers_serializer():
        monkeypatch.setattr(client_mod, "ndarray_to_bytes", ndarray_to_bytes)
        assert not secagg.is_compact_upload_installed() and secagg.is_secure_prg_installed()

    changed, got = _run_round(CFG, grid, before=flowers_serializer)
    uploads = [c for stage, _, c in grid.server_view if stage == Stage.COLLECT_MASKED_VECTORS]
    first = uploads[0].config_records[RECORD_KEY_CONFIGS][Key.MASKED_PARAMETERS][0]
    assert bytes_to_ndarray(first).dtype == np.int64
    assert changed and _max_abs_error(got, _exact_fedavg([1, 2, 3, 4])) < 1e-4


def test_round_survives_dropouts_up_to_shares_minus_threshold():
    # Prepare: 5 sites, 5 shares, threshold 4 -> one site may drop after key sharing.
    shares, threshold = resolve_shares_and_threshold(CFG, num_sampled=5)
    assert (shares, threshold) == (5, 4)
    grid = LoopbackGrid(num_nodes=5, drop_at={3: Stage.COLLECT_MASKED_VECTORS})
    # Execute
    changed, got = _run_round(CFG, grid)
    # Assert: the exact FedAvg of the sites that uploaded; site 3's pairwise masks removed.
    assert changed
    assert _max_abs_error(got, _exact_fedavg([1, 2, 4, 5])) < 1e-4


def test_round_survives_a_dropout_after_upload():
    # Prepare: site 4 uploads its masked vector, then dies before the unmask stage.
    grid = LoopbackGrid(num_nodes=5, drop_at={4: Stage.UNMASK})
    # Execute
    changed, got = _run_round(CFG, grid)
    # Assert: its contribution counts; its private mask is rebuilt from the others' shares.
    assert changed
    assert _max_abs_error(got, _exact_fedavg([1, 2, 3, 4, 5])) < 1e-4


def test_too_many_dropouts_abort_the_round_and_apply_nothing():
    # Prepare: two of five drop, the threshold of 4 cannot be met.
    grid = LoopbackGrid(
        num_nodes=5, drop_at={2: Stage.COLLECT_MASKED_VECTORS, 5: Stage.COLLECT_MASKED_VECTORS}
    )
    halts = []
    # Execute
    changed, _ = _run_round(CFG, grid, on_halt=halts.append)
    # Assert
    assert not changed
    assert len(halts) == 1  # the round's record is told it halted, with nothing to say why


def test_a_round_halted_by_declining_sites_hands_their_reasons_to_on_halt():
    # Prepare: two of five decline (no budget left); the threshold of 4 cannot be met.
    grid = LoopbackGrid(num_nodes=5, declines=frozenset({2, 5}))
    halts = []
    # Execute
    changed, _ = _run_round(CFG, grid, on_halt=halts.append)
    # Assert: nothing applied, and the sites' own sentences reach the round's record
    assert not changed
    [failures] = halts
    texts = " ".join(str(f) for f in failures)
    assert "site-2 declined round 1: no budget left" in texts
    assert "site-5 declined round 1: no budget left" in texts


def test_two_sites_halting_a_round_with_the_same_error_are_both_recorded():
    # Prepare: two of five fail with the same text (no site named in it); the threshold of 4
    # cannot be met. Flower lists each of their errors twice; the round's record gets them.
    grid = LoopbackGrid(num_nodes=5, crashes=frozenset({2, 5}))
    g = [np.zeros(s, dtype=np.float32) for s in SHAPES]
    records = []
    strategy = DeltaStrategy(
        FedAvg(),
        initial=g,
        evaluate_fn=None,
        on_round_end=lambda summary, *_: records.append(summary),
        min_results=2,
    )
    strategy.fit_summary = FitSummary(server_round=1, sampled=5)
    strategy._sampled = ["1", "2", "3", "4", "5"]
    # Execute
    changed, _ = _run_round(CFG, grid, on_halt=strategy.record_halted_round)
    strategy.evaluate(1, ndarrays_to_parameters(g))
    # Assert: two failures, not one; the other three sampled sites recorded as aborted
    [summary] = records
    assert not changed and summary.aborted
    reasons = sorted(s["reason"] for s in summary.sites)
    assert sum("out of memory" in r for r in reasons) == 2, reasons
    assert sum("round aborted" in r for r in reasons) == 3, reasons


def test_mismatched_prg_gives_garbage_that_the_norm_check_rejects(monkeypatch):
    # Prepare: the sites mask with Flower's original PRG, the server unmasks with ours. This
    # also proves the client mod really calls the PRG through its module attribute.
    import importlib

    client_mod = importlib.import_module("flwr.client.mod.secure_aggregation.secaggplus_mod")
    grid = LoopbackGrid(num_nodes=4)

    def sites_use_flowers_prg():
        monkeypatch.setattr(client_mod, "pseudo_rand_gen", secagg.flower_pseudo_rand_gen)
        assert not secagg.is_secure_prg_installed()

    # Execute
    changed, got = _run_round(CFG, grid, before=sites_use_flowers_prg)
    # Assert: Flower "completes" the round, but the result is nowhere near the mean.
    assert changed
    assert _max_abs_error(got, _exact_fedavg([1, 2, 3, 4])) > 0.1
    with pytest.raises(ValueError, match="exceeds the bound"):
        secagg.check_delta(arrays=got, expected_shapes=SHAPES, max_norm=CLIP_NORM * 1.01)


@pytest.mark.parametrize(
    ("num_shares", "threshold", "num_sampled"),
    [(1.0, 0.7, 3), (1.0, 0.7, 6), (0.5, 0.5, 6), (0.6, 0.5, 7), (0.4, 0.7, 10), (3, 2, 5),
     (4, 3, 4), (1.0, 1.0, 4), (0.3, 3, 9)],
)
def test_share_and_threshold_resolution_matches_flower(num_shares, threshold, num_sampled):
    # Prepare
    cfg = SecureAggregationConfig(num_shares=num_shares, reconstruction_threshold=threshold)
    drop_all = dict.fromkeys(range(1, num_sampled + 1), Stage.COLLECT_MASKED_VECTORS)
    grid = LoopbackGrid(num_nodes=num_sampled, drop_at=drop_all)
    # Execute: stop after key sharing (no site uploads), enough to see the protocol config.
    _run_round(cfg, grid)
    # Assert: the threshold sent at setup, and the neighbourhood size used to share keys.
    shares, threshold = resolve_shares_and_threshold(cfg, num_sampled=num_sampled)
    setup = [c for stage, _, c in grid.requests if stage == Stage.SETUP]
    share_keys = [c for stage, _, c in grid.requests if stage == Stage.SHARE_KEYS]
    assert len(setup) == len(share_keys) == num_sampled
    assert {int(c[Key.THRESHOLD]) for c in setup} == {threshold}
    # A share-keys request holds the public keys of the site's neighbours (itself included).
    assert {len(c) - 1 for c in share_keys} == {shares}


def test_even_share_count_below_the_sample_breaks_flowers_sites():
    # Why check_against_clients refuses an even num_shares: Flower tells the sites 4 shares but
    # builds 5-site neighbourhoods, and every site fails while splitting its secrets.
    cfg = SecureAggregationConfig(num_shares=4, reconstruction_threshold=2)
    grid = LoopbackGrid(num_nodes=6)
    halts = []
    changed, _ = _run_round(cfg, grid, on_halt=halts.append)
    assert not changed
    [failures] = halts
    assert failures and all("IndexError" in str(f) for f in failures)
