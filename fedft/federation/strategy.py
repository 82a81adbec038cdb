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
sensitive), with Flower's node id kept beside it; which site trained, failed or was rejected
each round, and why, is read by `fedft.federation.site_records`.

Per-site evaluation (Flower's evaluate path, after each round's central evaluation): the
round's record waits for the sites' scores (`site_metrics`, `fedft.federation.site_scores`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

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
from flwr.server.strategy import DifferentialPrivacyClientSideFixedClipping, Strategy

from fedft.federation.flower_strategies import build_inner_strategy
from fedft.federation.head_fit_round import HEAD_FIT_ROUND, KEY_HEAD_FIT, HeadFit
from fedft.federation.site_dp import reseed_noise_source
from fedft.federation.site_records import (
    check_declines_leave_enough,
    distinct_failures,
    screen_updates,
    site_records,
)
from fedft.federation.site_scores import evaluate_instructions, scores_by_site
from fedft.federation.uploads import Upload, as_weights, decode
from fedft.model.state import state_sha256
from fedft.round.guards import (
    check_aborted_in_a_row,
    check_enough_updates,
    check_sampled_for_site_dp,
    check_site_level_round,
    norm_bound_violation,
)
from fedft.round.summary import FitSummary, RoundFailedError, aborted, site_label
from fedft.round.update_checks import UpdateSpec, update_digest

__all__ = ["DeltaStrategy", "build_inner_strategy"]

log = logging.getLogger(__name__)


class DeltaStrategy(Strategy):
    """Wraps a Flower strategy so sites can send deltas; records what each round saw.

    `evaluate_fn(round, arrays)` runs central evaluation and returns (loss, metrics);
    `on_round_end(summary, loss, metrics, arrays)` persists the round (metrics, adapter);
    `fit_config` is added to every site's instructions (e.g. the frozen adapter's hash);
    `delta_norm_bound(num_examples)`: updates above it are rejected (under SecAgg+ the one
    update is the aggregate, whose norm exposes masks that did not cancel); a round with fewer
    than `min_results` usable updates stops the run. `head_fit`: round 1 collects feature
    statistics instead of deltas and sets the head from their average.
    """

    def __init__(
        self,
        inner: Strategy,
        *,
        initial: list[np.ndarray],
        evaluate_fn: Callable[[int, list[np.ndarray]], tuple[float, dict[str, Scalar]]] | None,
        on_round_end: Callable[
            [FitSummary, float | None, dict[str, Scalar], list[np.ndarray]], None
        ],
        on_round_start: Callable[[int, int], None] | None = None,
        fit_config: dict[str, Scalar] | None = None,
        delta_norm_bound: Callable[[list[int]], float] | None = None,
        min_results: int = 1,
        update_spec: UpdateSpec | None = None,
        round_offset: int = 0,
        site_evaluation: bool = False,
        evaluate_config: dict[str, Scalar] | None = None,
        head_fit: HeadFit | None = None,
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
        self._stopped_round_recorded = False
        self.site_evaluation = site_evaluation  # sites score each round on their held-out split
        self.evaluate_config = dict(evaluate_config or {})
        # Round 1 fits the head from the sites' statistics (`fedft.federation.head_fit_round`).
        self.head_fit = head_fit
        # A round's record waiting for the sites' scores: (summary, loss, metrics, arrays).
        self._pending: tuple[FitSummary, float | None, dict, list[np.ndarray]] | None = None

    @property
    def awaiting_site_metrics(self) -> bool:
        return self._pending is not None

    def flush_pending(self, site_metrics: dict[str, dict[str, float]] | None = None) -> None:
        """Write the waiting round's record, with the sites' scores when they came."""
        if self._pending is None:
            return
        (summary, loss, metrics, arrays), self._pending = self._pending, None
        summary.site_metrics = dict(site_metrics or {})
        self.on_round_end(summary, loss, metrics, arrays)

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
        self.flush_pending()  # a round whose site evaluation never ran is written without it
        self.global_arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(parameters)]
        digest = state_sha256(self.global_arrays)
        instructions = self.inner.configure_fit(server_round, parameters, client_manager)
        # Copy each FitIns: never write into the inner strategy's (shared) config dicts.
        out = [
            (
                proxy,
                FitIns(
                    ins.parameters,
                    {
                        **ins.config,
                        **self.fit_config,
                        "server_round": server_round,
                        "global_sha256": digest,
                        **({KEY_HEAD_FIT: 1} if self._fits_head(server_round) else {}),
                    },
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
        if wrapper is not None:
            with self._stops_run():
                check_sampled_for_site_dp(
                    server_round=server_round, sampled=len(out), planned=wrapper.num_sampled_clients
                )
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
        summary, failures, wrapper = self.fit_summary, list(failures), self.site_level_dp
        with self._stops_run():
            uploads = self._within_norm_bound(server_round, decode(results), failures)
            uploads, rejected = self._screen_updates(server_round, uploads)
            self._record_sites(server_round, uploads, failures, rejected)
            if not uploads and self.delta_norm_bound is not None:
                # SecAgg+ could not unmask (too few shares): evaluate() records it as aborted.
                return None, {}
            self._check_updates(server_round, uploads)
            replies = [(u.res.num_examples, u.res.metrics) for u in uploads]
            summary.record_training(replies, counts_are_examples=wrapper is None)
            if self._fits_head(server_round):
                return self._fit_head(server_round, uploads)
            weights = as_weights(uploads, self.global_arrays, server_round=server_round)
            if wrapper is not None:
                reseed_noise_source()
            params, metrics = self.inner.aggregate_fit(server_round, weights, failures)
            if params is None:
                raise RoundFailedError(f"round {server_round}: the strategy produced no aggregate")
        self.global_arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(params)]
        self._aggregated = True
        return ndarrays_to_parameters(self.global_arrays), metrics

    def _fits_head(self, server_round: int) -> bool:
        return self.head_fit is not None and server_round == HEAD_FIT_ROUND

    def _fit_head(
        self, server_round: int, uploads: list[Upload]
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        """Only the head changes: set from the sites' statistics (`HeadFit.apply`)."""
        assert self.head_fit is not None
        self.global_arrays = self.head_fit.apply(
            uploads, self.global_arrays, server_round=server_round
        )
        self._aggregated = True
        return ndarrays_to_parameters(self.global_arrays), {}

    def _check_updates(self, server_round: int, uploads: list[Upload]) -> None:
        """Enough updates to go on and, under site-level DP, the ones the noise covers."""
        check_enough_updates(
            server_round=server_round,
            arrived=len(uploads),
            sampled=self.fit_summary.sampled,
            min_results=self.min_results,
            failures=self.fit_summary.failures,
        )
        wrapper = self.site_level_dp
        if wrapper is not None:
            check_site_level_round(
                server_round=server_round,
                planned=wrapper.num_sampled_clients,
                arrived=len(uploads),
                failures=self.fit_summary.failures,
                weights=[u.res.num_examples for u in uploads],
            )

    @contextmanager
    def _stops_run(self) -> Iterator[None]:
        """A round failure is kept in `error` too: Flower's workflow may swallow the raise,
        `server_app` raises it after the workflow ends."""
        try:
            yield
        except RoundFailedError as exc:
            self.error = exc
            self._record_stopping_round()
            raise

    def _record_stopping_round(self) -> None:
        """The round that stops the run is recorded too (metrics and ledger: who declined or
        failed, and why); nothing was applied, so it is marked aborted with the global adapter
        unchanged."""
        summary = self.fit_summary
        if summary is None or summary.server_round == 0 or self._stopped_round_recorded:
            return
        self._stopped_round_recorded = True
        self.on_round_end(replace(summary, aborted=True, finished=0), None, {}, self.global_arrays)

    def _record_sites(
        self,
        server_round: int,
        uploads: list[Upload],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
        rejected: list[tuple[str, dict]],
    ) -> None:
        """Fill this round's summary: every sampled site trained, failed or was rejected."""
        self.site_names.update({u.node: u.declared_site for u in uploads if u.declared_site})
        summary = self.fit_summary
        summary.finished = len(uploads)
        summary.failures, summary.sites = site_records(
            server_round=server_round,
            uploads=uploads,
            failures=failures,
            rejected=rejected,
            sampled=self._sampled,
            site_names=self.site_names,
        )

    def _screen_updates(
        self, server_round: int, uploads: list[Upload]
    ) -> tuple[list[Upload], list[tuple[str, dict]]]:
        """(updates that pass `update_spec`, (node id, site record) of each rejected one)."""
        if self.update_spec is None:
            return uploads, []
        spec = self.update_spec
        if self._fits_head(server_round):
            assert self.head_fit is not None
            spec = UpdateSpec(tuple(self.head_fit.shapes(self.global_arrays)), max_norm=None)
        kept, rejected = screen_updates(
            uploads,
            spec=spec,
            accepted_before=self._accepted,
            server_round=server_round,
            site_names=self.site_names,
        )
        self._accepted.update({update_digest(u.delta): server_round for u in kept})
        return kept, rejected

    def _within_norm_bound(
        self, server_round: int, uploads: list[Upload], failures: list
    ) -> list[Upload]:
        """The uploads within `delta_norm_bound`; each one over it is added to `failures`."""
        if self.delta_norm_bound is None or not uploads:
            return uploads
        bound = self.delta_norm_bound([u.res.num_examples for u in uploads])
        verdicts = [
            (u, norm_bound_violation(u.delta, bound=bound, server_round=server_round))
            for u in uploads
        ]
        failures.extend(RoundFailedError(reason) for _, reason in verdicts if reason is not None)
        return [u for u, reason in verdicts if reason is None]

    def _record_aborted_round(self, server_round: int) -> None:
        """Flower's SecAgg+ workflow ends a round in which fewer sites than the reconstruction
        threshold answered in time without calling aggregate_fit: nothing is applied, the round
        is recorded as aborted (every sampled site failed) and the next one proceeds; after
        MAX_ABORTED_IN_A_ROW such rounds the run stops (the federation is not working)."""
        self.fit_summary = aborted(
            self.fit_summary, sampled_sites=[(self._site_name(cid), cid) for cid in self._sampled]
        )
        log.warning("round %s: %s", server_round, self.fit_summary.failures[0])
        self._aborted_in_a_row += 1
        with self._stops_run():
            check_aborted_in_a_row(
                server_round=server_round, aborted_in_a_row=self._aborted_in_a_row
            )

    def record_halted_round(self, failures: list[BaseException]) -> None:
        """SecAgg+ halted the round (too few sites answered) before `aggregate_fit`: record what
        the sites' errors say. When declines leave fewer than federation.min_fit_clients sites
        the run stops (`check_declines_leave_enough`); otherwise `evaluate` records an aborted
        round and the next one proceeds."""
        summary = self.fit_summary
        unique = distinct_failures(failures)
        with self._stops_run():
            self._record_sites(summary.server_round, [], unique, [])
            check_declines_leave_enough(summary, min_results=self.min_results)

    def _site_name(self, node: str) -> str:
        return site_label(self.site_names, node)

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        if not self.site_evaluation or self._pending is None:
            return []
        config = {**self.evaluate_config, "server_round": server_round + self.round_offset}
        return evaluate_instructions(parameters, client_manager, config=config)

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        at = server_round + self.round_offset
        self.flush_pending(
            scores_by_site(results, failures, server_round=at, site_name=self._site_name)
        )
        return None, {}

    def evaluate(
        self, server_round: int, parameters: Parameters
    ) -> tuple[float, dict[str, Scalar]] | None:
        """Called by the workflow after every round (and for round 0): evaluate and persist."""
        if server_round == 0 and self.round_offset > 0:
            return None  # resumed: the checkpoint's round was evaluated and recorded already
        server_round += self.round_offset
        if server_round > 0 and not self._aggregated:
            self._record_aborted_round(server_round)
        elif server_round > 0:
            self._aborted_in_a_row = 0
        arrays = [a.astype(np.float32) for a in parameters_to_ndarrays(parameters)]
        loss, metrics = (
            (None, {}) if self.evaluate_fn is None else self.evaluate_fn(server_round, arrays)
        )
        summary = self.fit_summary if server_round > 0 else FitSummary(server_round=0)
        self.flush_pending()
        if self.site_evaluation:
            self._pending = (summary, loss, metrics, arrays)  # written by aggregate_evaluate
        else:
            self.on_round_end(summary, loss, metrics, arrays)
        return None if loss is None else (loss, metrics)
