"""Data preparation shared by sites and the server: rows -> anonymized rows -> tokens.

Anonymization runs before anything else touches the text; only its counts leave this module.
Audit canaries (`audit.canaries`) are planted after anonymization, so the anonymizer cannot
remove them and the audit measures what training memorizes (`fedft.audit.plant`).
Everything is built once per process (spaCy, the anonymizer, the tokenized set) and reused
every round: a simulated site lives in a long-lived worker process, a real site in its
SuperNode's app process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import datasets

from fedft.anonymize.anonymizer import Anonymizer
from fedft.anonymize.cache import machine_cache_dir
from fedft.anonymize.columns import anonymize_columns
from fedft.anonymize.pseudonym import load_or_create_site_secret
from fedft.audit.plant import plant_at_site
from fedft.config import Config
from fedft.config.anonymization import AnonymizationConfig
from fedft.config.dedup import DedupConfig
from fedft.data.dedup import find_duplicates
from fedft.round.workload import Workload, tokenize
from fedft.run.rundir import atomic_write_text
from fedft.run.site_record import ANON_POLICY_HASH_METRIC, DEDUP_METRIC_PREFIX

log = logging.getLogger(__name__)

TEXT_COLUMNS = {"classification": ("text",), "instruction": ("instruction", "input", "response")}


@dataclass(frozen=True)
class PreparedData:
    tokenized: datasets.Dataset
    anonymization_metrics: dict[str, int | float | str]  # anon_* counts and the policy hash


_anonymizers: dict[tuple[str, str], Anonymizer] = {}


def anonymizer_for(
    policy: AnonymizationConfig,
    *,
    state_dir: Path,
    create_secret: bool,
    cache: str | Path = "off",
) -> Anonymizer:
    """One anonymizer per policy, site folder and cache setting in this process.

    `create_secret`: a simulated site (or the server) gets a random pseudonymization key in its
    private folder; a real site supplies its own (policy `secret_file` / `secret_env`) and none
    is created. `cache`: `run.anonymization_cache`, the machine's cache across runs, for a
    simulated site and the server only (a real site's cache stays in its state folder), and
    for policies without pseudonyms only (a simulated key is new every run: its entries could
    never be read again, so they stay in the run folder).
    """
    key = (policy.model_dump_json(), str(state_dir), str(cache))
    if key not in _anonymizers:
        secret = None
        uses_secret = policy.enabled and policy.uses_pseudonyms
        if create_secret and uses_secret:
            secret = load_or_create_site_secret(state_dir / "private" / "pseudonym.key")
        shared = machine_cache_dir(cache) if create_secret and not uses_secret else None
        _anonymizers[key] = Anonymizer.from_config(
            policy, site_secret=secret, cache_dir=shared or state_dir / "anon-cache"
        )
    return _anonymizers[key]


def anonymize_dataset(
    ds: datasets.Dataset, *, task: str, anonymizer: Anonymizer
) -> tuple[datasets.Dataset, dict]:
    """Every text column anonymized in one batch; rows the policy drops are removed.

    Returns the dataset and the report (counts only) as a dict.
    """
    columns = TEXT_COLUMNS[task]
    result = anonymize_columns({c: list(ds[c]) for c in columns}, anonymizer=anonymizer)
    out = ds
    for c in columns:
        out = out.remove_columns(c).add_column(c, result.columns[c])
    if not all(result.kept):
        out = out.select([i for i, k in enumerate(result.kept) if k])
    return out, result.report


def deduplicate_dataset(
    ds: datasets.Dataset, *, task: str, dedup: DedupConfig
) -> tuple[datasets.Dataset, dict[str, int]]:
    """Rows that are not exact or near duplicates of an earlier row (fedft.data.dedup), and the
    counts {"exact", "near", "kept"}. A row is compared as all its text columns together."""
    columns = TEXT_COLUMNS[task]
    texts = ["\n".join(row) for row in zip(*(ds[c] for c in columns), strict=True)]
    found = find_duplicates(
        texts, threshold=dedup.threshold, shingle_words=dedup.shingle_words, num_perm=dedup.num_perm
    )
    out = ds if found.kept == len(ds) else ds.select(found.keep)
    return out, found.counts()


def prepare(
    cfg: Config,
    workload: Workload,
    ds: datasets.Dataset,
    *,
    policy: AnonymizationConfig,
    state_dir: Path,
    create_secret: bool,
    site_id: str | None = None,
    dedup: DedupConfig | None = None,
) -> PreparedData:
    """Anonymize (per `policy`), drop duplicate rows (per `dedup`, when enabled), write the
    counts-only report to `state_dir`, plant audit canaries when this site is chosen, tokenize.

    `create_secret` is true for a simulated site (see `anonymizer_for`); `site_id` defaults
    to the name of `state_dir` (a simulated site's folder is named after it). `dedup` is for
    a site's training rows; the server's held-out set is not deduplicated.
    """
    anonymizer = anonymizer_for(
        policy, state_dir=state_dir, create_secret=create_secret, cache=cfg.run.anonymization_cache
    )
    clean, report = anonymize_dataset(ds, task=cfg.data.task, anonymizer=anonymizer)
    report_dict = report.to_dict()
    dedup_metrics: dict[str, int] = {}
    if dedup is not None and dedup.enabled and len(clean):
        # On anonymized text: names replaced alike make records that differ only by them match.
        clean, counts = deduplicate_dataset(clean, task=cfg.data.task, dedup=dedup)
        report_dict["dedup"] = {**counts, "threshold": dedup.threshold}
        dedup_metrics = {f"{DEDUP_METRIC_PREFIX}{k}": v for k, v in counts.items()}
        log.info(
            "%s: dropped %d exact and %d near-duplicate rows",
            state_dir.name,
            counts["exact"],
            counts["near"],
        )
    atomic_write_text(state_dir / "anonymization_report.json", json.dumps(report_dict, indent=2))
    if len(clean) == 0:
        raise ValueError(f"{state_dir.name}: no rows left after anonymization (all dropped for residual PII)")
    log.info("%s: %d of %d rows kept after anonymization", state_dir.name, len(clean), len(ds))
    train = plant_at_site(
        clean,
        cfg=cfg.audit.canaries,
        task=cfg.data.task,
        site_id=site_id or state_dir.name,
        state_dir=state_dir,
        labels=workload.labels,
        simulated=create_secret,
    )
    # The site's own policy travels as its hash: the ledger records which rules each site ran.
    metrics = {**report.as_metrics(), ANON_POLICY_HASH_METRIC: report.policy_hash, **dedup_metrics}
    return PreparedData(tokenize(cfg, workload, train), metrics)
