"""The coordinator's side of a round outside Flower: evaluate the global adapter on the
held-out set, save it in PEFT format, append the round to metrics.jsonl, show progress."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable

import numpy as np

from fedft.config import Config
from fedft.config.anonymization import policy_hash
from fedft.config.schema import HEAD_FIT_ROUND, fits_head
from fedft.config.secure_aggregation import resolve_shares_and_threshold
from fedft.dp.site_level import site_level_plan
from fedft.model.adapter import save_adapter
from fedft.model.pooling import model_pooling
from fedft.model.state import load_trainable_state, state_sha256, trainable_state
from fedft.round.checkpoint import Checkpoint
from fedft.round.outcome import FailureKind
from fedft.round.prepare import prepare
from fedft.round.summary import FitSummary, per_site_summary, site_spread
from fedft.round.workload import Workload, eval_loader, eval_set
from fedft.run.ledger import PrivacyLedger, SiteRound
from fedft.run.metrics import append_metrics, read_metrics
from fedft.run.rundir import RunDir, atomic_write_text
from fedft.run.site_record import anonymization_record, budget_record, dp_record
from fedft.run.site_signature import signed_part
from fedft.train.evaluate import evaluate, evaluate_classification
from fedft.train.generation_metrics import generation_budget

log = logging.getLogger(__name__)


class Coordinator:
    """Holds the server's copy of the model; one instance per run."""

    def __init__(
        self,
        cfg: Config,
        workload: Workload,
        run_dir: RunDir,
        *,
        on_progress: Callable[[dict], None] | None = None,
        resumed_at: Checkpoint | None = None,
    ) -> None:
        self.cfg = cfg
        self.workload = workload
        self.run_dir = run_dir
        self.names = list(trainable_state(workload.model).keys())
        # The base model as a site downloads it: everything but the adapter's own tensors.
        self.base_model_bytes = sum(
            p.numel() * p.element_size()
            for name, p in workload.model.named_parameters()
            if "lora_" not in name and "modules_to_save" not in name
        )
        self.on_progress = on_progress
        self.detail: dict[int, dict] = {}  # central-evaluation detail by round, until recorded
        self.started = time.monotonic()
        # Resumed: the rounds up to the checkpoint (metrics.jsonl was trimmed to them).
        self.history: list[dict] = [] if resumed_at is None else read_metrics(run_dir.metrics)
        if workload.labels:
            atomic_write_text(run_dir.labels, json.dumps(list(workload.labels)))
        self.site_plan = site_level_plan(cfg)
        self.ledger = PrivacyLedger.open(run_dir.root, private_key_path=cfg.ledger.signing_key)
        if resumed_at is None:
            start = {
                **_run_start_entry(cfg, pooling=model_pooling(workload.model)),
                "ledger_key": self.ledger.custody,
            }
            self.ledger.append("run_start", start)
        else:
            # Append-only: entries after the checkpoint (a round cut short) stay, marked superseded.
            self.ledger.append(
                "resume",
                {
                    "from_round": resumed_at.server_round,
                    "entries_at_checkpoint": resumed_at.ledger_entries,
                    "superseded_entries": self.ledger.count - resumed_at.ledger_entries,
                },
            )
        # Sites train on anonymized text; the held-out set goes through the same policy.
        held_out = prepare(
            cfg,
            workload,
            eval_set(cfg).dataset,
            policy=cfg.anonymization,
            state_dir=run_dir.root / "server",
            create_secret=True,
        ).tokenized
        self.eval_loader = eval_loader(cfg, workload, held_out)

    def initial_arrays(self) -> list[np.ndarray]:
        return list(trainable_state(self.workload.model).values())

    def _load(self, arrays: list[np.ndarray]) -> None:
        if len(arrays) != len(self.names):
            raise ValueError(f"global adapter has {len(arrays)} tensors, model expects {len(self.names)}")
        load_trainable_state(self.workload.model, dict(zip(self.names, arrays, strict=True)))

    def evaluate(self, server_round: int, arrays: list[np.ndarray]) -> tuple[float, dict]:
        """Scalars for Flower; for classification, the per-class recall and the confusion
        matrix wait in `self.detail` for this round's record."""
        self._load(arrays)
        model, device = self.workload.model, self.workload.device
        if self.cfg.data.task == "classification":
            detail = evaluate_classification(model, self.eval_loader, device=device)
            result = detail.metrics
            labels = list(self.workload.labels or range(len(detail.confusion)))
            self.detail[server_round] = {
                "eval_recall_per_class": dict(
                    zip(map(str, labels), detail.recall_per_class, strict=True)
                ),
                "eval_confusion_matrix": detail.confusion,
            }
        else:
            result = evaluate(
                model,
                self.eval_loader,
                task=self.cfg.data.task,
                device=device,
                generation=generation_budget(self.cfg, tokenizer=self.workload.tokenizer),
            )
        loss = float(result["loss"])
        return loss, {k: float(v) for k, v in result.items() if k != "loss"}

    def end_round(self, summary: FitSummary, loss: float | None, metrics: dict, arrays: list[np.ndarray]) -> None:
        self._load(arrays)
        save_adapter(
            self.workload.model,
            self.run_dir.adapter(summary.server_round),
            public_base_id=self.workload.public_base_id,
        )
        record: dict = {
            "round": summary.server_round,
            "eval_loss": loss,
            **{f"eval_{k}": v for k, v in metrics.items()},
            "train_loss": summary.train_loss,
            "clients_sampled": summary.sampled,
            "clients_finished": summary.finished,
            "aborted": summary.aborted,
            "client_failures": summary.failures,
            "examples_trained": summary.examples,
            "bytes_up_per_client": summary.bytes_up_per_client,
            "bytes_down_per_client": summary.bytes_down_per_client,
            "elapsed_s": round(time.monotonic() - self.started, 2),
            **self.detail.pop(summary.server_round, {}),
            "site_metrics": summary.site_metrics,
            **site_spread(summary.site_metrics),
        }
        append_metrics(self.run_dir.metrics, record)
        if summary.server_round > 0:
            # Every round before this one completed (a round the noise does not cover stops the
            # run), so `server_round` noisy aggregations have been published.
            site_dp = (
                None
                if self.site_plan is None
                else self.site_plan.ledger_entry(rounds=summary.server_round)
            )
            self.ledger.append_round(
                server_round=summary.server_round,
                global_adapter_sha256=state_sha256(arrays),
                sites=[_site_round(s, weights_are_counts=site_dp is None) for s in summary.sites],
                secure_aggregation=_secure_aggregation_entry(self.cfg, sampled=summary.sampled),
                site_dp=site_dp,
            )
        self.history.append(record)
        log.info("round %s: %s", summary.server_round, record)
        if self.on_progress is not None:
            self.on_progress(record)


def _run_start_entry(cfg: Config, *, pooling: str) -> dict:
    return {
        "rounds_planned": cfg.federation.rounds,
        # Round 1 uploads feature statistics, not a delta (model.head_fit; docs/threat-model.md).
        "head_fit_round": HEAD_FIT_ROUND if fits_head(cfg, pooling=pooling) else None,
        "num_clients": cfg.federation.num_clients,
        "dp": cfg.dp.model_dump(mode="json"),
        "site_dp": cfg.site_dp.model_dump(mode="json"),
        "secure_aggregation": cfg.secure_aggregation.model_dump(mode="json"),
        "anonymization_policy_hash": policy_hash(cfg.anonymization),
    }


def _secure_aggregation_entry(cfg: Config, *, sampled: int) -> dict:
    sa = cfg.secure_aggregation
    if not sa.enabled or sampled < 2:
        return {"enabled": False, "num_shares": None, "reconstruction_threshold": None}
    shares, threshold = resolve_shares_and_threshold(sa, num_sampled=sampled)
    return {"enabled": True, "num_shares": shares, "reconstruction_threshold": threshold}


def _site_round(site: dict, *, weights_are_counts: bool = True) -> SiteRound:
    """A site's ledger part, from what it declared (counts and DP account only).

    Under site-level DP a site reports a shared weight, not its record count: recorded as None.
    """
    if site["status"] != "trained":
        return SiteRound(
            site=site["site"],
            node=site.get("node"),
            status="declined" if site["kind"] == FailureKind.DECLINED else "failed",
            reason=site.get("reason"),
        )
    metrics = site["metrics"]
    # Recorded as the site sent them: the site signed these values (run.site_signature).
    return SiteRound(
        site=site["site"],
        node=site.get("node"),
        status="trained",
        num_examples=site["num_examples"] if weights_are_counts else None,
        dp=dp_record(metrics),
        anonymization=anonymization_record(metrics),
        budget=budget_record(metrics),
        site_signature=signed_part(metrics),
    )


def summarize(history: list[dict], *, task: str, base_model_bytes: int) -> dict:
    """First vs last round, in the units people read (accuracy in %, perplexity)."""
    if not history:
        return {}
    key = "eval_accuracy" if task == "classification" else "eval_perplexity"
    # First and last *scored* rounds: with evaluation.every_n_rounds, or a run that stopped
    # early, the last round may have no score.
    scored = [h for h in history if h.get(key) is not None] or history
    first, last = scored[0], scored[-1]
    out = {
        "rounds": history[-1]["round"],
        "scored_round": last["round"],
        "metric": key,
        "first": first.get(key),
        "last": last.get(key),
        "eval_loss_first": first.get("eval_loss"),
        "eval_loss_last": last.get("eval_loss"),
        "bytes_up_per_client": max((h["bytes_up_per_client"] for h in history), default=0),
        "base_model_bytes": base_model_bytes,
        "elapsed_s": history[-1].get("elapsed_s"),
    }
    if task == "classification" and out["first"] is not None and out["last"] is not None:
        out["gain_points"] = round(100 * (out["last"] - out["first"]), 2)
    if isinstance(out["last"], float) and not math.isfinite(out["last"]):
        out["last"] = None
    per_site = per_site_summary(history, task=task)
    if per_site:
        out.update(per_site)
    return out

