"""Flower strategy choice, and the wrapper that lets Flower's strategies work on deltas.

Sites upload adapter *deltas* (Δ = local − global), never weights: deltas are small and
centred, which is what SecAgg+'s fixed-range quantization needs. Flower's strategies
(FedAvg, FedProx, FedAdam) reason about weights, so `DeltaStrategy` turns each Δ back into
global + Δ before handing results to the inner strategy. Under SecAgg+ the workflow gives
every result the same already-averaged Δ, and the same conversion holds.

With `site_dp` the inner strategy is Flower's `DifferentialPrivacyClientSideFixedClipping`
around FedAvg/FedProx (`fedft.federation.site_dp`): its noise lands on global + Δ̄, i.e. on
the mean update, after the secure sum. `DeltaStrategy` then insists on what that noise is
calibrated to: every sampled site's update, each with the same weight.

Sites are named by the `site_id` they declare (their node config's `site-id`; not
sensitive), with Flower's node id kept beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from flwr.common import (
    EvaluateIns,
    EvaluateRes,
    FitIns,
    FitRes,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import (
    DifferentialPrivacyClientSideFixedClipping,
    FedAdam,
    FedAvg,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    Krum,
    Strategy,
)

from fedft.config import Config
from fedft.dp.site_level import site_level_plan
from fedft.federation.site_dp import reseed_noise_source, wrap_with_site_dp
from fedft.model.state import state_sha256
from fedft.round.masking_bounds import delta_norm
from fedft.round.summary import (
    MAX_ABORTED_IN_A_ROW,
    SITE_ID_METRIC,
    FitSummary,
    RoundFailedError,
    weighted_loss,
    without_repeats,
)
from fedft.round.update_checks import UpdateSpec, rejection_reason, update_digest

log = logging.getLogger(__name__)

def _weighted_loss(results: list[tuple[ClientProxy, FitRes]]) -> float | None:
    return weighted_loss([(r.num_examples, r.metrics) for _, r in results])


class DeltaStrategy(Strategy):
    """Wraps a Flower strategy so sites can send deltas; records what each round saw.

    `evaluate_fn(round, arrays)` runs central evaluation and returns (loss, metrics);
    `on_round_end(summary, loss, metrics, arrays)` persists the round (metrics, adapter);
    `fit_config` is added to every site's instructions (e.g. the frozen adapter's hash);
    `delta_norm_bound(num_examples)`: updates above it are rejected (under SecAgg+ the one
    update is the aggregate, whose norm exposes masks that did not cancel); a round with fewer
    than `min_results` usable updates stops the run.
    """

    def __init__(
        self,
        inner: Strategy,
        *,
        initial: list[np.ndarray],
        evaluate_fn: Callable[[int, list[np.ndarray]], tuple[float, dict[str, Scalar]]] | None,
        on_round_end: Callable[[FitSummary, float | None, dict[str, Scalar], list[np.ndarray]], None],
        on_round_start: Callable[[int, int], None] | None = None,
        fit_config: dict[str, Scalar] | None = None,
        delta_norm_bound: Callable[[list[int]], float] | None = None,
        min_results: int = 1,
        update_spec: UpdateSpec | None = None,
        round_offset: int = 0,
    ) -> None:
        self.inner = inner
        self.fit_config = dict(fit_config or {})
        self.delta_norm_bound = delta_norm_bound
        self.min_results = min_results
        # Where the server sees each site's update (no SecAgg+): the checks every one must pass.
        self.update_spec = update_spec
        self._accepted: dict[str, int] = {}  # digest of every accepted update -> its round
        # A resumed run: Flower counts rounds from 1 again; the run's own numbering goes on.
        self.round_offset = round_offset
        self.global_arrays = [np.asarray(a, dtype=np.float32) for a in initial]
        self.evaluate_fn = evaluate_fn
        self.on_round_end = on_round_end
        self.on_round_start = on_round_start
        self.fit_summary = FitSummary(server_round=0)
        self.error: BaseException | None = None
        self.site_names: dict[str, str] = {}  # Flower node id -> declared site id
        self._aggregated = False  # whether this round's aggregate_fit produced an adapter
        self._aborted_in_a_row = 0
        self._sampled: list[str] = []  # node ids sampled this round

    def __repr__(self) -> str:
        return f"DeltaStrategy({self.inner!r})"

    @property
    def site_level_dp(self) -> DifferentialPrivacyClientSideFixedClipping | None:
        """Flower's site-level DP wrapper, when the inner strategy is one."""
        inner = self.inner
        return inner if isinstance(inner, DifferentialPrivacyClientSideFixedClipping) else None

    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        return ndarrays_to_parameters(self.global_arrays)

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        server_round += self.round_offset
        self.global_arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(parameters)]
        digest = state_sha256(self.global_arrays)
        instructions = self.inner.configure_fit(server_round, parameters, client_manager)
        # Copy each FitIns: never write into the inner strategy's (shared) config dicts.
        out = [
            (
                proxy,
                FitIns(
                    ins.parameters,
                    {**ins.config, **self.fit_config, "server_round": server_round, "global_sha256": digest},
                ),
            )
            for proxy, ins in instructions
        ]
        self._sampled = [proxy.cid for proxy, _ in out]
        self._aggregated = False
        self.fit_summary = FitSummary(
            server_round=server_round,
            sampled=len(out),
            bytes_down_per_client=sum(a.nbytes for a in self.global_arrays),
        )
        wrapper = self.site_level_dp
        if wrapper is not None and len(out) != wrapper.num_sampled_clients:
            # E.g. more SuperNodes connected than federation.num_clients: the noise (σC/m) and
            # the sampling rate (m/N) the account assumes would both be wrong.
            self.error = RoundFailedError(
                f"round {server_round}: {len(out)} sites sampled, but site-level DP was planned "
                f"for {wrapper.num_sampled_clients} per round; connect exactly "
                "federation.num_clients sites or adjust federation.num_clients"
            )
            raise self.error
        if self.on_round_start is not None:
            self.on_round_start(server_round, len(out))
        return out

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        server_round += self.round_offset
        summary = self.fit_summary
        failures = list(failures)
        # Decode each upload once; the norm check and the conversion to weights both use it.
        # Replies arrive in any order; a fixed order makes the float sums reproducible (resume).
        results = sorted(results, key=lambda pr: (str(pr[1].metrics.get(SITE_ID_METRIC, "")), str(pr[0].cid)))
        decoded = [(proxy, res, parameters_to_ndarrays(res.parameters)) for proxy, res in results]
        decoded = self._within_norm_bound(server_round, decoded, failures)
        decoded, rejected = self._screen_updates(server_round, decoded)
        results = [(proxy, res) for proxy, res, _ in decoded]
        summary.finished = len(results)
        summary.failures = [_describe_failure(f) for f in failures]
        for proxy, r in results:
            declared = r.metrics.get(SITE_ID_METRIC)
            if isinstance(declared, str) and declared:
                self.site_names[proxy.cid] = declared
        failed = without_repeats(
            self._failed_nodes(results, failures, rejected={cid for cid, _ in rejected}), summary.failures
        )
        summary.failures = [reason for _, reason in failed]
        summary.sites = [
            {
                "site": self._site_name(proxy.cid),
                "node": f"node-{proxy.cid}",
                "status": "trained",
                "num_examples": r.num_examples,
                "metrics": {k: v for k, v in r.metrics.items() if k != SITE_ID_METRIC},
            }
            for proxy, r in results
        ] + [
            {
                "site": "unknown" if node is None else self._site_name(node),
                "node": None if node is None else f"node-{node}",
                "status": "failed",
                "reason": reason,
            }
            for node, reason in failed
        ] + [record for _, record in rejected]
        summary.failures += [record["reason"] for _, record in rejected]
        for reason in summary.failures:
            log.warning("round %s: a site failed: %s", server_round, reason)
        if not results and self.delta_norm_bound is not None:
            # SecAgg+ could not unmask (too few shares): evaluate() records the round as aborted.
            return None, {}
        if len(results) < max(self.min_results, 1):
            # E.g. sites that declined for lack of privacy budget: too few left to go on.
            self.error = RoundFailedError(
                f"round {server_round}: {len(results)} of the {summary.sampled} sampled sites returned "
                f"an update, fewer than federation.min_fit_clients ({self.min_results}); first failure: "
                f"{summary.failures[0] if summary.failures else 'unknown'}"
            )
            raise self.error
        wrapper = self.site_level_dp
        if wrapper is not None:
            self._check_site_level_round(server_round, results, summary.failures, wrapper)
        summary.train_loss = _weighted_loss(results)
        summary.examples = None if wrapper is not None else sum(r.num_examples for _, r in results)
        summary.bytes_up_per_client = max(int(r.metrics.get("bytes_up", 0)) for _, r in results)

        as_weights = []
        for proxy, res, delta in decoded:
            _check_shapes(delta, self.global_arrays, server_round=server_round)
            weights = [g + d.astype(np.float32) for g, d in zip(self.global_arrays, delta, strict=True)]
            as_weights.append(
                (proxy, FitRes(res.status, ndarrays_to_parameters(weights), res.num_examples, res.metrics))
            )
        if wrapper is not None:
            reseed_noise_source()
        params, metrics = self.inner.aggregate_fit(server_round, as_weights, failures)
        if params is None:
            self.error = RoundFailedError(f"round {server_round}: the strategy produced no aggregate")
            raise self.error
        self.global_arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(params)]
        self._aggregated = True
        return ndarrays_to_parameters(self.global_arrays), metrics

    def _screen_updates(
        self, server_round: int, decoded: list[tuple[ClientProxy, FitRes, list[np.ndarray]]]
    ) -> tuple[list[tuple[ClientProxy, FitRes, list[np.ndarray]]], list[tuple[str, dict]]]:
        """(updates that pass `update_spec`, (node id, site record) of each rejected one)."""
        if self.update_spec is None:
            return decoded, []
        kept, rejected = [], []
        for proxy, res, delta in decoded:
            reason = rejection_reason(delta, spec=self.update_spec, accepted_before=self._accepted)
            if reason is None:
                kept.append((proxy, res, delta))
                continue
            declared = res.metrics.get(SITE_ID_METRIC)
            site = declared if isinstance(declared, str) and declared else self._site_name(proxy.cid)
            log.warning("round %s: update of %s rejected: %s", server_round, site, reason)
            record = {"site": site, "node": f"node-{proxy.cid}", "status": "failed", "reason": f"update rejected: {reason}"}
            rejected.append((proxy.cid, record))
        self._accepted.update({update_digest(delta): server_round for _, _, delta in kept})
        return kept, rejected

    def _record_aborted_round(self, server_round: int) -> None:
        """Flower's SecAgg+ workflow ends a round in which fewer sites than the reconstruction
        threshold answered in time without calling aggregate_fit: nothing is applied, the round
        is recorded as aborted (every sampled site failed) and the next one proceeds; after
        MAX_ABORTED_IN_A_ROW such rounds the run stops (the federation is not working)."""
        summary = self.fit_summary
        reason = (
            "round aborted: fewer sites than the SecAgg+ reconstruction threshold answered within "
            "secure_aggregation.timeout; nothing was applied"
        )
        summary.aborted, summary.finished, summary.examples = True, 0, 0
        summary.failures = [reason, *summary.failures]
        if not summary.sites:  # aggregate_fit never ran: no site's fate is known beyond this
            summary.sites = [
                {"site": self._site_name(cid), "node": f"node-{cid}", "status": "failed", "reason": reason}
                for cid in self._sampled
            ]
        log.warning("round %s: %s", server_round, reason)
        self._aborted_in_a_row += 1
        if self._aborted_in_a_row >= MAX_ABORTED_IN_A_ROW:
            self.error = RoundFailedError(
                f"round {server_round}: {self._aborted_in_a_row} rounds in a row aborted (no update "
                "reached the server); sites are down or too slow — raise secure_aggregation.timeout "
                "on a slow or busy machine"
            )
            raise self.error

    def _site_name(self, node: str) -> str:
        return self.site_names.get(node, f"node-{node}")

    def _failed_nodes(
        self,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
        rejected: set[str],
    ) -> list[str | None]:
        """The node id behind each failure, where it can be told.

        Flower's workflows report a site's error as a bare exception without its node; the
        sampled nodes that returned nothing are the candidates. One candidate is that node; of
        several, the one whose known site id opens the error (a site's own decline message
        starts with its id); otherwise None.
        """
        answered = rejected | {proxy.cid for proxy, _ in results} | {
            f[0].cid for f in failures if not isinstance(f, BaseException)
        }
        missing = [cid for cid in self._sampled if cid not in answered]
        out: list[str | None] = []
        for failure in failures:
            if not isinstance(failure, BaseException):
                out.append(failure[0].cid)
                continue
            text = str(failure).strip()
            named = [cid for cid in missing if cid in self.site_names and self.site_names[cid] in text]
            node = missing[0] if len(missing) == 1 else (named[0] if len(named) == 1 else None)
            if node is not None:
                missing.remove(node)
            out.append(node)
        return out

    def _check_site_level_round(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failure_reasons: list[str],
        wrapper: DifferentialPrivacyClientSideFixedClipping,
    ) -> None:
        """Stop the run rather than publish an aggregate the server noise does not cover."""
        m = wrapper.num_sampled_clients
        if failure_reasons or len(results) != m:
            # Flower's wrapper returns no aggregate when a site failed: a mean over m' < m
            # sites moves by up to C/m' per site, more than the σ·C/m noise is calibrated to.
            first = failure_reasons[0] if failure_reasons else "none reported"
            self.error = RoundFailedError(
                f"round {server_round}: site-level DP needs an update from each of the {m} "
                f"sampled sites, {len(results)} arrived (first failure: {first}); the run stops "
                "rather than publish an under-noised aggregate"
            )
            raise self.error
        weights = {r.num_examples for _, r in results}
        if len(weights) > 1:
            self.error = RoundFailedError(
                f"round {server_round}: under site-level DP every site must report the same "
                f"weight (a plain mean), got {sorted(weights)}; are all sites on the same fedft "
                "and config?"
            )
            raise self.error

    def _within_norm_bound(
        self,
        server_round: int,
        decoded: list[tuple[ClientProxy, FitRes, list[np.ndarray]]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> list[tuple[ClientProxy, FitRes, list[np.ndarray]]]:
        if self.delta_norm_bound is None or not decoded:
            return decoded
        bound = self.delta_norm_bound([r.num_examples for _, r, _ in decoded])
        kept = []
        for proxy, res, delta in decoded:
            norm = delta_norm(delta)
            if np.isfinite(norm) and norm <= bound:
                kept.append((proxy, res, delta))
            else:
                failures.append(
                    RoundFailedError(
                        f"round {server_round}: update rejected, L2 norm {norm:.4g} exceeds the bound "
                        f"{bound:.4g} (under SecAgg+: masks did not cancel; are all parties on the same fedft?)"
                    )
                )
        return kept

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        return []  # evaluation is central, on the server's held-out set

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        return None, {}

    def evaluate(self, server_round: int, parameters: Parameters) -> tuple[float, dict[str, Scalar]] | None:
        """Called by the workflow after every round (and for round 0): evaluate and persist."""
        if server_round == 0 and self.round_offset > 0:
            return None  # resumed: the checkpoint's round was evaluated and recorded already
        server_round += self.round_offset
        if server_round > 0 and not self._aggregated:
            self._record_aborted_round(server_round)
        elif server_round > 0:
            self._aborted_in_a_row = 0
        arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(parameters)]
        loss, metrics = (None, {}) if self.evaluate_fn is None else self.evaluate_fn(server_round, arrays)
        summary = self.fit_summary if server_round > 0 else FitSummary(server_round=0)
        self.on_round_end(summary, loss, metrics, arrays)
        return None if loss is None else (loss, metrics)


def _describe_failure(failure: tuple[ClientProxy, FitRes] | BaseException) -> str:
    if isinstance(failure, BaseException):
        text = str(failure).strip().splitlines()
        return text[-1] if text else type(failure).__name__
    _, res = failure
    return f"status {res.status.code.name}: {res.status.message}"


def _check_shapes(delta: list[np.ndarray], reference: list[np.ndarray], *, server_round: int) -> None:
    if len(delta) != len(reference) or any(d.shape != r.shape for d, r in zip(delta, reference)):
        got = [d.shape for d in delta]
        raise RoundFailedError(
            f"round {server_round}: a site sent {len(delta)} tensors with shapes {got[:3]}..., "
            f"expected {len(reference)} matching the global adapter; are all sites on the same config?"
        )


def build_inner_strategy(cfg: Config, *, initial: list[np.ndarray]) -> Strategy:
    """One of Flower's own strategies, configured from `strategy:` and `federation:`; with
    `site_dp`, wrapped in Flower's server-noise wrapper (schema: FedAvg or FedProx only)."""
    inner = _flower_strategy(cfg, initial=initial)
    plan = site_level_plan(cfg)
    return inner if plan is None else wrap_with_site_dp(inner, plan)


def _flower_strategy(cfg: Config, *, initial: list[np.ndarray]) -> Strategy:
    fed, s = cfg.federation, cfg.strategy
    common = dict(
        fraction_fit=fed.fraction_fit,
        min_fit_clients=fed.min_fit_clients,
        min_available_clients=fed.num_clients if fed.fraction_fit == 1.0 else fed.min_fit_clients,
        fraction_evaluate=0.0,
        min_evaluate_clients=0,
        initial_parameters=ndarrays_to_parameters(initial),
    )
    if s.name == "fedavg":
        return FedAvg(**common)
    if s.name == "fedprox":
        return FedProx(**common, proximal_mu=s.proximal_mu)
    # Robust aggregators see weights (global + Δ); global is shared, so each is the robust
    # statistic of the deltas shifted by global. Config refuses them with SecAgg+ and site_dp.
    if s.name == "fedmedian":
        return FedMedian(**common)
    if s.name == "fedtrimmedavg":
        return FedTrimmedAvg(**common, beta=s.trim_fraction)
    if s.name == "krum":
        return Krum(**common, num_malicious_clients=s.num_malicious)
    return FedAdam(**common, eta=s.server_learning_rate, beta_1=s.beta_1, beta_2=s.beta_2, tau=s.tau)
