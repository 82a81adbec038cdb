"""A site's Flower ClientApp: set the global adapter, train locally, send back the delta.

Only the trainable adapter tensors' delta and declared scalar metrics leave the site.
`build_client_app(cfg)` binds a resolved config (in-process simulation); deployments
(`flwr run`) load `fedft.federation.site_app:app`, which reads it from Flower's run config. Site-specific settings
come from the SuperNode's node config: `data-path`, `policy-path`, `state-dir`, `site-id`
(a simulation gives `partition-id` instead).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
from flwr.app import Context
from flwr.client import Client, ClientApp, NumPyClient

from fedft.config import Config
from fedft.config.anonymization import load_policy
from fedft.config.site_policy import unmet_minimums
from fedft.federation.head_fit_round import KEY_HEAD_FIT, site_statistics
from fedft.federation.outbox import outbox_mod
from fedft.federation.secagg import (
    check_delta,
    check_weight,
    client_mods,
    clip_delta_norm,
    install_secure_prg,
)
from fedft.federation.site_data import site_data
from fedft.federation.site_dp import KEY_CLIPPING_NORM, clip_for_site_dp, reported_weight
from fedft.federation.site_identity import SiteIdentity
from fedft.federation.site_signing import signed_metrics, site_signing_key
from fedft.model.state import (
    frozen_adapter_sha256,
    load_trainable_state,
    state_delta,
    state_nbytes,
    state_sha256,
    trainable_state,
)
from fedft.round.local_baseline import baseline_folder, local_baseline_scores
from fedft.round.outcome import declined_message
from fedft.round.summary import SITE_ID_METRIC
from fedft.round.workload import collator, eval_loader, site_workload
from fedft.run.progress import StepReporter
from fedft.run.site_record import (
    BUDGET_HEAD_METRIC,
    BUDGET_RECORDS_METRIC,
    BUDGET_RECOVERIES_METRIC,
)
from fedft.train.evaluate import evaluate
from fedft.train.local import TrainResult, make_optimizer, train_local

log = logging.getLogger(__name__)

# On import, so every Ray worker and SuperNode process that loads the app masks with it.
install_secure_prg()

# The only values a site reports besides its masked delta: declared, scalar, per round —
# these, plus the anonymization counts (`anon_*`, AnonymizationReport.as_metrics) and, under
# DP, the round's privacy account (`dp_*`, RoundAccount.as_metrics) instead of train_loss;
# and the site's id (SITE_ID_METRIC, its node config's `site-id`: a name, not data) so the
# ledger names sites by it; and its signature over its record (site_signing).
DECLARED_FIT_METRICS = ("train_loss", "steps", "bytes_up")
# What `evaluate` reports of the site's held-out split (as eval_*, and local_* for its
# local-only baseline), with the split's size as the reply's example count: aggregates only.
DECLARED_EVALUATE_METRICS = ("loss", "accuracy", "macro_f1", "perplexity")
ANONYMIZATION_METRIC_PREFIX = "anon_"


def _round_seed(seed: int, server_round: int, site_id: str) -> int:
    # hashlib, not hash(): Python salts str hashes per process, which would break reproducibility.
    digest = hashlib.sha256(f"{seed}:{server_round}:{site_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class SiteClient(NumPyClient):
    def __init__(
        self,
        cfg: Config,
        site: SiteIdentity,
        *,
        progress_dir: Path | None = None,
        sites_root: Path | None = None,
    ):
        self.cfg = cfg
        self.site = site
        self.progress_dir = progress_dir
        self.state_dir = site.resolved_state_dir(sites_root)

    def _train_private(self, train_set, *, server_round: int, on_step) -> tuple[TrainResult, dict]:
        """DP-SGD with the site's own budget (on its disk, never trusted to the server)."""
        # Imported here: Opacus and its accountants are a quarter of a site's import time
        # and a site without DP never needs them.
        from fedft.dp.budget import BudgetExhausted, BudgetTampered, SiteBudget
        from fedft.dp.plan import plan_for_site
        from fedft.dp.sgd import train_round_private

        cfg, workload = self.cfg, site_workload(self.cfg)
        plan = plan_for_site(cfg, n_records=len(train_set))
        try:
            # Sealed by the site's key, its head mirrored beside the key (budget_seal): a
            # deleted or edited budget makes the site refuse, never restart from ε = 0.
            budget = SiteBudget.load(
                self.state_dir / "dp-budget.json",
                accountant=plan.accountant,
                delta=plan.delta,
                max_epsilon=cfg.dp.max_epsilon,
                group_size=plan.group_size,
                signing_key=site_signing_key(self.site, self.state_dir),
                marker=self.state_dir / "keys" / "dp-budget.marker",
            )
            private = train_round_private(
                workload.model,
                train_set,
                collate_fn=collator(cfg, workload),
                plan=plan,
                budget=budget,
                server_round=server_round,
                learning_rate=cfg.training.learning_rate,
                weight_decay=cfg.training.weight_decay,
                device=workload.device,
                on_step=on_step,
                optimizer=cfg.training.optimizer,
                momentum=cfg.training.momentum,
            )
        except (BudgetExhausted, BudgetTampered) as exc:
            log.error("%s", exc)
            raise RuntimeError(
                declined_message(site_id=self.site.site_id, server_round=server_round, reason=str(exc))
            ) from None
        budget_metrics = {
            BUDGET_RECORDS_METRIC: len(budget.records),
            BUDGET_HEAD_METRIC: budget.head,
            BUDGET_RECOVERIES_METRIC: budget.recoveries,
        }
        return private.train, {**private.account.as_metrics(), **budget_metrics}

    def _train_plain(
        self, train_set, *, server_round: int, global_state: dict, proximal_mu: float, on_step=None
    ) -> TrainResult:
        """One round of local training without DP, from the adapter loaded in the model."""
        cfg, workload, t = self.cfg, site_workload(self.cfg), self.cfg.training
        seed = _round_seed(cfg.run.seed, server_round, self.site.site_id)
        # A fresh, explicit seed per (run, round, site): reproducible, and different per round.
        loader = torch.utils.data.DataLoader(
            train_set,
            batch_size=t.batch_size,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
            collate_fn=collator(cfg, workload),
        )
        # Dropout draws from torch's global generator: seeded per (run, round, site) as well, so
        # a round replayed after a server crash trains exactly as before.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return train_local(
                workload.model,
                loader,
                epochs=t.local_epochs,
                max_steps=t.max_steps,
                learning_rate=t.learning_rate,
                weight_decay=t.weight_decay,
                proximal_mu=proximal_mu,
                global_state=global_state,
                max_grad_norm=t.max_grad_norm,
                device=workload.device,
                on_step=on_step,
                optimizer=make_optimizer(
                    workload.model,
                    learning_rate=t.learning_rate,
                    weight_decay=t.weight_decay,
                    kind=t.optimizer,
                    momentum=t.momentum,
                ),
            )

    def evaluate(self, parameters, config):
        """Scores of the global adapter on this site's held-out split: aggregate scalars only
        (DECLARED_EVALUATE_METRICS), never rows or per-example values; with `local_baseline`
        in the instructions, also those of the site's local-only model (`local_` prefix)."""
        cfg, site = self.cfg, self.site
        server_round = int(config.get("server_round", 0))
        expected = config.get("global_sha256")
        if expected and state_sha256(parameters) != expected:
            raise ValueError(f"{site.site_id}: global adapter hash mismatch in round {server_round}")
        workload = site_workload(cfg)
        names = list(trainable_state(workload.model).keys())
        global_state = dict(zip(names, (np.asarray(p, dtype=np.float32) for p in parameters), strict=True))
        load_trainable_state(workload.model, global_state)
        data = site_data(cfg, site, self.state_dir)
        if data.held_out is None:
            raise RuntimeError(f"{site.site_id}: asked to evaluate but evaluation.per_site is off")
        loader = eval_loader(cfg, workload, data.held_out)

        def score() -> dict[str, float]:
            result = evaluate(workload.model, loader, task=cfg.data.task, device=workload.device)
            return {k: float(v) for k, v in result.items() if k in DECLARED_EVALUATE_METRICS}

        scores = score()
        loss = scores.pop("loss")
        metrics: dict = {f"eval_{k}": v for k, v in scores.items()}
        metrics[SITE_ID_METRIC] = site.site_id
        if config.get("local_baseline"):
            train_set = data.train.tokenized
            mu = float(config.get("proximal_mu", 0.0))
            folder = baseline_folder(
                cfg, state_dir=self.state_dir, site_id=site.site_id, train_set=train_set
            )
            local = local_baseline_scores(
                workload.model,
                folder=folder,
                server_round=server_round,
                global_state=global_state,
                train_round=lambda r, start: self._train_plain(
                    train_set, server_round=r, global_state=dict(start), proximal_mu=mu
                ),
                score=score,
            )
            metrics.update({f"local_{k}": v for k, v in (local or {}).items() if k != "loss"})
            load_trainable_state(workload.model, global_state)
        n_eval = len(data.held_out)
        return loss, n_eval, metrics

    def get_parameters(self, config):
        return list(trainable_state(site_workload(self.cfg).model).values())

    def fit(self, parameters, config):
        cfg, site = self.cfg, self.site
        server_round = int(config.get("server_round", 0))
        _require_site_minimums(cfg, site, server_round=server_round)
        expected = config.get("global_sha256")
        if expected and state_sha256(parameters) != expected:
            raise ValueError(f"{site.site_id}: global adapter hash mismatch in round {server_round}")
        workload = site_workload(cfg)
        frozen = config.get("frozen_sha256")
        if frozen and frozen_adapter_sha256(workload.model) != frozen:
            raise ValueError(
                f"{site.site_id}: this site's frozen LoRA matrices differ from the server's; "
                "use the same config (run.seed, lora.*) and the same torch version everywhere"
            )
        names = list(trainable_state(workload.model).keys())
        if len(parameters) != len(names):
            raise ValueError(
                f"{site.site_id}: server sent {len(parameters)} tensors, this site's adapter has "
                f"{len(names)}; the server and the site run different configs"
            )
        global_state = dict(zip(names, (np.asarray(p, dtype=np.float32) for p in parameters), strict=True))
        load_trainable_state(workload.model, global_state)

        prepared = site_data(cfg, site, self.state_dir).train
        train_set = prepared.tokenized
        on_step = (
            StepReporter(self.progress_dir, site.site_id, server_round=server_round)
            if self.progress_dir is not None
            else None
        )
        if config.get(KEY_HEAD_FIT):
            return self._head_statistics(prepared, server_round=server_round)
        if cfg.dp.enabled:
            # Dropout draws from torch's global generator: seeded per (run, round, site) as
            # in _train_plain, so a replayed round trains exactly as before.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(_round_seed(cfg.run.seed, server_round, site.site_id))
                result, dp_metrics = self._train_private(train_set, server_round=server_round, on_step=on_step)
        else:
            dp_metrics = {}
            result = self._train_plain(
                train_set,
                server_round=server_round,
                global_state=global_state,
                proximal_mu=float(config.get("proximal_mu", 0.0)),
                on_step=on_step,
            )
        delta = state_delta(new=trainable_state(workload.model), old=global_state)
        # Site-level DP: the whole update is clipped to the server's announced norm before
        # masking, and reported with the weight every site shares (the mean the noise covers).
        clipped = clip_for_site_dp(cfg, list(delta.values()), server_config=config, site_id=site.site_id)
        delta = dict(zip(delta, clipped, strict=True))
        weight = reported_weight(cfg, num_records=len(train_set), site_dp_round=KEY_CLIPPING_NORM in config)
        arrays = _checked_for_secure_aggregation(cfg, site, delta, num_examples=weight)
        values = (float(result.loss), int(result.steps), int(state_nbytes(delta)))
        metrics = {
            **dict(zip(DECLARED_FIT_METRICS, values, strict=True)),
            **prepared.anonymization_metrics,
            SITE_ID_METRIC: site.site_id,
        }
        if cfg.dp.enabled:
            # The training loss is computed from the records without noise: it is not covered
            # by the DP guarantee, so it stays at the site (its progress file shows it there).
            del metrics["train_loss"]
            metrics.update(dp_metrics)
        return arrays, weight, self._signed(metrics, server_round=server_round)

    def _signed(self, metrics: dict, *, server_round: int) -> dict:
        """The reply's metrics with this site's signature over its record of the round."""
        key = site_signing_key(self.site, self.state_dir)
        return signed_metrics(metrics, site_id=self.site.site_id, server_round=server_round, key=key)

    def _head_statistics(self, prepared, *, server_round: int):
        """Round 1 under model.head_fit: this site's feature statistics, no training."""
        cfg, site = self.cfg, self.site
        statistics, n = site_statistics(cfg, site_workload(cfg), prepared.tokenized, site_id=site.site_id)
        weight = reported_weight(cfg, num_records=n, site_dp_round=False)
        arrays = _checked_for_secure_aggregation(cfg, site, statistics, num_examples=weight)
        values = (0, sum(a.nbytes for a in arrays))
        metrics = {
            **dict(zip(DECLARED_FIT_METRICS[1:], values, strict=True)),
            **prepared.anonymization_metrics,
            SITE_ID_METRIC: site.site_id,
        }
        return arrays, weight, self._signed(metrics, server_round=server_round)


def _require_site_minimums(cfg: Config, site: SiteIdentity, *, server_round: int) -> None:
    """Decline, before touching data, a run that asks for less than the site's steward requires."""
    policy = load_policy(site.policy_path) if site.policy_path else cfg.anonymization
    unmet = unmet_minimums(cfg, site.minimums, anonymization_enabled=policy.enabled)
    if unmet:
        reason = "site policy: " + "; ".join(unmet)
        log.error("%s: %s", site.site_id, reason)
        raise RuntimeError(declined_message(site_id=site.site_id, server_round=server_round, reason=reason))


def _checked_for_secure_aggregation(
    cfg: Config, site: SiteIdentity, delta: dict[str, np.ndarray], *, num_examples: int
) -> list[np.ndarray]:
    """Clip and check the delta before it is masked: under SecAgg+ the server cannot check it."""
    sa = cfg.secure_aggregation
    arrays = list(delta.values())
    if not sa.enabled:
        return arrays
    arrays, norm = clip_delta_norm(arrays=arrays, max_norm=sa.delta_clip_norm)
    if norm > sa.delta_clip_norm:
        log.info("%s: delta norm %.4g clipped to %.4g", site.site_id, norm, sa.delta_clip_norm)
    check_delta(
        arrays=arrays,
        expected_shapes=[a.shape for a in delta.values()],
        max_norm=sa.delta_clip_norm,
        names=list(delta),
    )
    check_weight(num_examples=num_examples, max_weight=sa.max_weight)
    return arrays


def build_client_app(
    cfg: Config, *, progress_dir: Path | None = None, sites_root: Path | None = None
) -> ClientApp:
    """`progress_dir`: where simulated sites report local steps for the terminal;
    `sites_root`: parent of the simulated sites' private folders."""

    def client_fn(context: Context) -> Client:
        site = SiteIdentity.from_node_config(dict(context.node_config))
        return SiteClient(cfg, site, progress_dir=progress_dir, sites_root=sites_root).to_client()

    def state_dir_of(context: Context) -> Path:
        return SiteIdentity.from_node_config(dict(context.node_config)).resolved_state_dir(sites_root)

    # Outermost first: the outbox sees the reply as it leaves, after SecAgg+ masking.
    return ClientApp(client_fn=client_fn, mods=[outbox_mod(state_dir_of), *client_mods(cfg.secure_aggregation, seed=cfg.run.seed)])

