"""`fedft audit RUN_DIR --empirical`: score the planted canaries under the run's final adapter
and write `empirical_audit.json` into the run folder, next to the accounted ε.

Inputs, all from the run folder: `config.yaml`, the last `rounds/round-NNN/adapter` (and
round 0, the untrained adapter, as the reference that calibrates each canary's loss),
`labels.json` (classification), the claimed ε per site from the verified ledger, and each
site's secret canary record `sites/<site>/audit/canaries.json`. That record is the answer key
of the audit: in a simulation it sits in the run folder; in a deployment only the site has it
and the site runs the audit (it needs the published adapter and its own record).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fedft.audit.canaries import CANARY_FILE, read_canary_record
from fedft.audit.measure import score_canaries, site_result
from fedft.config import load_config
from fedft.run.rundir import RunDir, atomic_write_text

log = logging.getLogger(__name__)

__all__ = ["EMPIRICAL_FILE", "EMPIRICAL_FORMAT", "run_empirical_audit"]

EMPIRICAL_FILE = "empirical_audit.json"
EMPIRICAL_FORMAT = "fedft-empirical-audit/1"


def _claims(
    run_dir: Path, recompute: Callable[..., float] | None
) -> dict[str, tuple[float | None, float | None, int]]:
    """Per site, the ε the audit report states (max of reported and recomputed), its δ and
    the group size it holds for."""
    from fedft.run.report.audit import build_audit

    audit = build_audit(run_dir, recompute=recompute)
    if not audit.verification.ok:
        log.warning(
            "the ledger of %s failed verification; the claimed ε below is unverified", run_dir
        )
    return {m.name: (m.epsilon, m.delta, m.group_size) for m in audit.sites}


def run_empirical_audit(
    run_dir: str | Path,
    *,
    candidates: int | None = None,
    recompute: Callable[..., float] | None = None,
    claims: Mapping[str, tuple[float | None, float | None, int]] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Compute every site's canary figures, write them to `<run_dir>/empirical_audit.json`,
    return them. `candidates` overrides audit.canaries.candidates (R); `claims` (site ->
    (ε, δ, group size)) replaces the claims read from the ledger, e.g. to audit a claim made
    elsewhere."""
    from fedft.model.adapter import load_adapter_for_inference

    rd = RunDir(Path(run_dir).expanduser().resolve())
    if not rd.config.is_file():
        raise ValueError(f"{rd.root}: no config.yaml; give a fedft run folder")
    cfg = load_config(rd.config)
    records = sorted((rd.root / "sites").glob(f"*/{CANARY_FILE.as_posix()}"))
    if not records:
        raise ValueError(
            f"{rd.root}: no canary record (sites/<site>/{CANARY_FILE.as_posix()}); run with "
            "audit.canaries.enabled: true to plant canaries, then audit"
        )
    rounds = rd.rounds_saved()
    if not rounds:
        raise ValueError(
            f"{rd.root}: no saved adapter under rounds/; the run did not finish a round"
        )
    final = rounds[-1]
    task = cfg.data.task
    label2id = None
    if task == "classification":
        labels = json.loads(rd.labels.read_text(encoding="utf-8"))
        label2id = {str(label): i for i, label in enumerate(labels)}
    model, tokenizer = load_adapter_for_inference(rd.adapter(final), task=task, device=device)
    reference = None
    if 0 in rounds and final != 0:
        reference, _ = load_adapter_for_inference(rd.adapter(0), task=task, device=device)
    stated = dict(claims) if claims is not None else _claims(rd.root, recompute)
    audit_cfg = cfg.audit.canaries
    r_candidates = audit_cfg.candidates if candidates is None else candidates
    sites = []
    for path in records:
        record = read_canary_record(path)
        scores = score_canaries(
            model,
            tokenizer,
            record=record,
            reference=reference,
            label2id=label2id,
            candidates=r_candidates,
            max_length=cfg.data.max_length,
            device=device,
        )
        eps, delta, group_size = stated.get(record.site, (None, None, 1))
        sites.append(
            site_result(
                scores,
                record=record,
                claimed_epsilon=eps,
                claimed_delta=delta,
                claimed_group_size=group_size,
                confidence=audit_cfg.confidence,
            )
        )
    result = {
        "format": EMPIRICAL_FORMAT,
        "adapter_round": final,
        "reference_round": 0 if reference is not None else None,
        "candidates": r_candidates if task == "instruction" else None,
        "confidence": audit_cfg.confidence,
        "sites": sites,
    }
    atomic_write_text(rd.root / EMPIRICAL_FILE, json.dumps(result, indent=2))
    return result
