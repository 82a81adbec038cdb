"""A site's anonymized, tokenized training set and held-out split, prepared once per process,
config and site, and kept for the rounds that follow (a site's client is rebuilt per message)."""

from __future__ import annotations

import logging
from pathlib import Path

from fedft.config import Config
from fedft.config.anonymization import load_policy
from fedft.federation.site_identity import SiteIdentity
from fedft.round.prepare import anonymizer_for, prepare
from fedft.round.site_eval import SiteData, held_out_split, prepare_held_out
from fedft.round.workload import site_training_data, site_workload

__all__ = ["prepared_sites", "site_data"]

log = logging.getLogger(__name__)

# Per site of the current config: a process may run several sites (a Ray actor those Ray
# gives it; the in-process backend all of them, one after another).
prepared_sites: dict[tuple[str, SiteIdentity, Path], SiteData] = {}


def site_data(cfg: Config, site: SiteIdentity, state_dir: Path) -> SiteData:
    """Anonymized, tokenized local training set and held-out split, built once per process,
    config and site."""
    config_key = cfg.model_dump_json()
    key = (config_key, site, state_dir)  # the folder too: its pseudonym key anonymized the rows
    if key not in prepared_sites:
        workload = site_workload(cfg)
        loaded = site_training_data(cfg, partition_id=site.partition_id, data_path=site.data_path)
        if loaded.bad_rows:
            bad = loaded.bad_rows
            log.warning("%s: skipped %d bad rows, first: %s", site.site_id, len(bad), bad[0])
        # The site's data steward owns its policy; a simulation shares the config's.
        policy = load_policy(site.policy_path) if site.policy_path else cfg.anonymization
        rows, held_rows = loaded.dataset, None
        if cfg.evaluation.per_site:
            synthetic = site.data_path is None and cfg.data.train is None
            rows, held_rows = held_out_split(cfg, rows, site_id=site.site_id, synthetic=synthetic)
        create_secret = site.partition_id is not None
        prepared = prepare(
            cfg,
            workload,
            rows,
            policy=policy,
            state_dir=state_dir,
            create_secret=create_secret,
            site_id=site.site_id,
            dedup=cfg.data.dedup,
        )
        held_out = None
        if held_rows is not None:
            anonymizer = anonymizer_for(
                policy,
                state_dir=state_dir,
                create_secret=create_secret,
                cache=cfg.run.anonymization_cache,
            )
            held_out = prepare_held_out(cfg, workload, held_rows, anonymizer=anonymizer)
        # One run per process at a time: free the sites of another config or run folder.
        current = (config_key, state_dir.parent)
        for stale in [k for k in prepared_sites if (k[0], k[2].parent) != current]:
            del prepared_sites[stale]
        prepared_sites[key] = SiteData(train=prepared, held_out=held_out)
    return prepared_sites[key]
