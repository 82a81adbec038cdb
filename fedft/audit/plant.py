"""A site plants its canaries: which site, consent, inclusion kept stable across rounds.

Called by `fedft.round.prepare` after anonymization and before tokenization. The
inclusion bits come from the OS CSPRNG and live only in the site's private folder
(`<state-dir>/audit/canaries.json`); in a simulation that folder is inside the run folder
(`sites/<site>/`), which therefore holds the secret answer key of the audit.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import datasets

from fedft.audit.canaries import (
    CANARY_FILE,
    CanaryRecord,
    draw_inclusion,
    make_canaries,
    plant_canaries,
    read_canary_record,
    write_canary_record,
)
from fedft.config.audit import CanaryConfig

log = logging.getLogger(__name__)

__all__ = ["plant_at_site"]


def _reusable(path: Path, fresh: CanaryRecord) -> CanaryRecord | None:
    """The recorded draw, if it was made for these very canaries and data.

    A site's data are prepared again in other worker processes and after restarts; drawing
    the bits anew each time would train on a mix of draws and void the audit.
    """
    if not path.is_file():
        return None
    try:
        old = read_canary_record(path)
    except (ValueError, KeyError, TypeError):
        return None
    same = (old.task, old.repeats, old.canaries, old.records_before) == (
        fresh.task,
        fresh.repeats,
        fresh.canaries,
        fresh.records_before,
    )
    return old if same else None


def plant_at_site(
    ds: datasets.Dataset,
    *,
    cfg: CanaryConfig,
    task: str,
    site_id: str,
    state_dir: Path,
    labels: tuple[str, ...] | None,
    simulated: bool,
) -> datasets.Dataset:
    """`ds` with this site's canaries planted, or `ds` unchanged when the site plants none."""
    if not cfg.enabled or site_id not in cfg.sites:
        return ds
    if not simulated and not cfg.consent:
        raise ValueError(
            f"audit.canaries: site {site_id!r} is asked to plant canaries in its real training "
            "data, but audit.canaries.consent is false; a site's data steward must agree "
            "(set audit.canaries.consent: true) or remove the site from audit.canaries.sites"
        )
    canaries = make_canaries(
        task=task,
        count=cfg.count,
        seed=cfg.seed,
        site=site_id,
        labels=labels,  # type: ignore[arg-type]
    )
    draft = CanaryRecord(
        site=site_id,
        task=task,  # type: ignore[arg-type]
        repeats=cfg.repeats,
        seed=cfg.seed,
        canaries=tuple(canaries),
        included=(),
        records_before=len(ds),
        records_after=0,
    )
    path = Path(state_dir) / CANARY_FILE
    record = _reusable(path, draft)
    if record is None:
        included = tuple(draw_inclusion(len(canaries), rng=secrets.SystemRandom()))
        record = CanaryRecord(
            **{
                **draft.__dict__,
                "included": included,
                "records_after": len(ds) + cfg.repeats * sum(included),
            }
        )
        write_canary_record(state_dir, record)
    planted = plant_canaries(
        ds,
        canaries=record.canaries,
        included=record.included,
        repeats=record.repeats,
        task=task,  # type: ignore[arg-type]
    )
    log.info(
        "%s: %d canaries planted (%d included x %d), recorded in %s",
        site_id,
        len(canaries),
        sum(record.included),
        record.repeats,
        path,
    )
    return planted
