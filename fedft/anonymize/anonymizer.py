"""On-site anonymization: policy in, anonymized texts + a counts-only report out.

    anonymizer = Anonymizer.from_config(cfg, site_secret=None, cache_dir=site_dir / "anon-cache")
    result = anonymizer.anonymize_texts(texts)   # batched; cached by content hash
    train_on([t for t, keep in zip(result.texts, result.kept) if keep])
    send_metrics(result.report.as_metrics())     # counts only

Build once per site (loading spaCy and the recognizers takes seconds), reuse for every round.
Every configuration problem (missing model, missing secret for pseudonyms, unsupported entity)
raises in `from_config`, before any text is read. Nothing here logs, reports or caches-by-key
a raw value or the site secret.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex

from fedft.anonymize import cache
from fedft.anonymize.detect import Detector
from fedft.anonymize.engine import build_analyzer, ensure_offline, load_spacy
from fedft.anonymize.forking import NoFork, fork_map
from fedft.anonymize.model_pin import ModelIdentity, verify_model
from fedft.anonymize.normalize import fold, unfold_spans
from fedft.anonymize.pseudonym import resolve_site_secret, secret_fingerprint
from fedft.anonymize.report import AnonymizationReport
from fedft.anonymize.spans import Span
from fedft.anonymize.surrogates import caps_noise, operator_config, surrogate_pattern
from fedft.config.anonymization import AnonymizationConfig, policy_hash

__all__ = [
    "AnonymizationResult",
    "Anonymizer",
    "ResidualPIIError",
    "policy_hash",
]

log = logging.getLogger(__name__)

# Rows handed to spaCy/Presidio at a time: bounds memory on large corpora.
_CHUNK_ROWS = 2048
# Below this many distinct rows per worker, forking costs more than it saves (a fork of a
# process holding the model takes ~60-70 ms here; the model anonymizes ~100 notes/s per core).
_MIN_ROWS_PER_WORKER = 32


class ResidualPIIError(RuntimeError):
    """Detections remained after anonymization and the policy says `residual: fail`.

    Carries counts per entity type only, never the text.
    """

    def __init__(self, counts: Mapping[str, int], rows: int):
        self.counts = dict(counts)
        self.rows = rows
        summary = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        super().__init__(
            f"anonymization.residual: {sum(self.counts.values())} detection(s) left in {rows} "
            f"row(s) after anonymization ({summary}); review the policy with `fedft anonymize "
            "--preview`, or set residual: drop_row to drop such rows"
        )


@dataclass(frozen=True)
class AnonymizationResult:
    """texts[i] is row i anonymized, or "" when kept[i] is False (dropped for residual PII)."""

    texts: list[str]
    kept: list[bool]
    report: AnonymizationReport


class Anonymizer:
    """A site's anonymizer for one policy. Use `Anonymizer.from_config`."""

    def __init__(
        self,
        *,
        cfg: AnonymizationConfig,
        detector: Detector | None,
        secret: bytes | None,
        cache_dir: Path | None,
        model: ModelIdentity | None,
        workers: int = 1,
    ):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
        self.cfg = cfg
        self.workers = workers
        self.policy_hash = policy_hash(cfg)
        self.model_identity = model
        # "name==version" as reports and cache keys name it; "none" when disabled.
        self.model = model.label if model is not None else "none"
        self.cache_dir = cache_dir
        self._detector = detector
        self._secret = secret
        self._surrogates = surrogate_pattern(cfg)
        self._engine: Any = None  # presidio_anonymizer.AnonymizerEngine when enabled
        self._operators: dict[str, Any] = {}
        if detector is not None:
            from presidio_anonymizer import AnonymizerEngine

            self._engine = AnonymizerEngine()
            self._operators = {e: operator_config(cfg, e, secret) for e in cfg.detected_entities}

    @property
    def _model_sha256(self) -> str:
        return self.model_identity.sha256 if self.model_identity is not None else ""

    def __repr__(self) -> str:  # never show the secret
        return f"Anonymizer(policy={self.policy_hash[:12]}, model={self.model!r})"

    @classmethod
    def from_config(
        cls,
        cfg: AnonymizationConfig,
        *,
        site_secret: bytes | None = None,
        cache_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
        workers: int = 1,
    ) -> Anonymizer:
        """Validate everything the policy needs at this site and build the engine.

        site_secret: the pseudonymization key, if the caller holds it (e.g. a simulated site's
          key from `load_or_create_site_secret`); otherwise read from the policy's
          `secret_file` / `secret_env`. Needed only if some entity is pseudonymized.
        cache_dir: folder for the anonymized-corpus cache (at the site); None = no cache.
        workers: processes per `anonymize_texts` call (>= 1). Above 1, the distinct rows are
          split and all but one share go to forked children that inherit the loaded model;
          same output, faster only when cores are idle. Falls back to one process where fork
          is unavailable (not POSIX, a daemonic process) or the batch is small.
        """
        ensure_offline()
        secret = None
        if cfg.enabled and cfg.uses_pseudonyms:
            secret = (
                site_secret
                if site_secret is not None
                else resolve_site_secret(cfg, environ=environ)
            )
            if secret is None:
                where = f"environment variable {cfg.secret_env}" if cfg.secret_env else "secret_env"
                raise ValueError(
                    "anonymization.operator: 'pseudonymize' needs the site secret, but none was "
                    f"found; set {where} or anonymization.secret_file (at least 16 bytes, e.g. "
                    "python -c 'import secrets; print(secrets.token_hex(32))')"
                )
            if len(secret) < 16:
                raise ValueError(
                    f"site_secret: must be at least 16 bytes, got {len(secret)}; "
                    "use 32 random bytes"
                )
        cache_path = Path(cache_dir) if cache_dir is not None else None
        if not cfg.enabled:
            log.warning("anonymization disabled by policy: texts pass through unchanged")
            return cls(
                cfg=cfg, detector=None, secret=None, cache_dir=None, model=None, workers=workers
            )
        # Hash check first: a model that is not the pinned one is refused before it is loaded.
        identity = verify_model(cfg.spacy_model)
        nlp = load_spacy(cfg.spacy_model)
        analyzer = build_analyzer(cfg, nlp=nlp)
        return cls(
            cfg=cfg,
            detector=Detector(cfg, analyzer),
            secret=secret,
            cache_dir=cache_path,
            model=identity,
            workers=workers,
        )

    # -- detection -------------------------------------------------------------------------

    def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """The spans the policy removes from each text (merged, non-overlapping)."""
        return self._detect(texts, protect=None)

    def _detect(self, texts: Sequence[str], *, protect: regex.Pattern | None) -> list[list[Span]]:
        if self._detector is None:
            return [[] for _ in texts]
        out: list[list[Span]] = []
        for lo in range(0, len(texts), _CHUNK_ROWS):
            # Detection reads the folded text (no invisible or look-alike characters), the
            # spans come back in the original's offsets: see fedft.anonymize.normalize.
            folded = [fold(t) for t in texts[lo : lo + _CHUNK_ROWS]]
            found = self._detector.detect([f.text for f in folded], protect=protect)
            out.extend(unfold_spans(s, f) for s, f in zip(found, folded, strict=True))
        return out

    def _residual(self, texts: Sequence[str]) -> list[list[Span]]:
        """Detections in anonymized texts, other than fedft's own surrogates."""
        found = self._detect(texts, protect=self._surrogates)
        lexicon = self._detector.lexicon if self._detector is not None else frozenset()
        out = []
        for text, spans in zip(texts, found, strict=True):
            mine = [(m.start(), m.end()) for m in self._surrogates.finditer(text)]
            out.append(
                [
                    s
                    for s in spans
                    if not any(a < s.end and s.start < b for a, b in mine)
                    and not caps_noise(text[s.start : s.end], s.source, lexicon)
                ]
            )
        return out

    # -- anonymization ---------------------------------------------------------------------

    def _apply(self, text: str, spans: list[Span], entities: Counter, operators: Counter) -> str:
        from presidio_anonymizer.entities import RecognizerResult

        if not spans or self._engine is None:
            return text
        results = [RecognizerResult(s.entity, s.start, s.end, s.score) for s in spans]
        engine_result = self._engine.anonymize(
            text=text, analyzer_results=results, operators=self._operators
        )
        for item in engine_result.items:
            entities[item.entity_type] += 1
            operators[self.cfg.operator_for(item.entity_type)] += 1
        return engine_result.text

    def _work(self, unique: list[str]) -> list[tuple[str, Counter, Counter, list[Span]]]:
        """(anonymized text, entity counts, operator counts, residual hits) per distinct row."""
        spans = self.detect(unique)
        done = []
        for text, found in zip(unique, spans, strict=True):
            ents: Counter[str] = Counter()
            ops: Counter[str] = Counter()
            done.append((self._apply(text, found, ents, ops), ents, ops, []))
        # Detection is deterministic: a row the first pass left unchanged has nothing to find.
        touched = [i for i, found in enumerate(spans) if found]
        for i, hits in zip(touched, self._residual([done[i][0] for i in touched]), strict=True):
            done[i][3].extend(hits)
        return done

    def _spread(self, unique: list[str]) -> list[tuple[str, Counter, Counter, list[Span]]]:
        """`_work` over the rows, split across `workers` processes when that can pay."""
        n = min(self.workers, len(unique) // _MIN_ROWS_PER_WORKER)
        if n < 2:
            return self._work(unique)
        size = -(-len(unique) // n)
        parts = [unique[i : i + size] for i in range(0, len(unique), size)]
        try:
            results = fork_map(self._work, parts)
        except NoFork as exc:
            log.info("anonymization: one process (%s)", exc)
            return self._work(unique)
        return [row for part in results for row in part]

    def anonymize_texts(self, texts: Sequence[str]) -> AnonymizationResult:
        """Anonymize `texts` (one row each) under the policy; see the module docstring.

        Raises TypeError for a non-string row (naming its index), ResidualPIIError when the
        policy says `residual: fail` and detections remain.
        """
        return self._run(texts, residual_action=self.cfg.residual, use_cache=True)

    def _run(
        self, texts: Sequence[str], *, residual_action: str, use_cache: bool
    ) -> AnonymizationResult:
        started = time.perf_counter()
        rows = list(texts)
        for i, row in enumerate(rows):
            if not isinstance(row, str):
                raise TypeError(f"texts[{i}]: expected str, got {type(row).__name__}")
        cfg = self.cfg
        if self._detector is None:
            report = self._report(rows=len(rows), changed=0, dropped=0, entities=Counter(),
                                  operators=Counter(), residual=Counter(), enabled=False,
                                  started=started)  # fmt: skip
            return AnonymizationResult(texts=rows, kept=[True] * len(rows), report=report)

        key = None
        if self.cache_dir is not None and use_cache:
            fingerprint = secret_fingerprint(self._secret) if self._secret else None
            key = cache.corpus_key(
                texts=rows, policy_hash=self.policy_hash,
                model=f"{self.model}@{self._model_sha256}", secret_fingerprint=fingerprint,
            )  # fmt: skip
            entry = cache.read_entry(self.cache_dir, key)
            if entry is not None:
                stored = AnonymizationReport.from_dict(entry["report"])
                report = AnonymizationReport(
                    **{**stored.__dict__, "cache_hit": True,
                       "seconds": time.perf_counter() - started},
                )  # fmt: skip
                log.info("anonymization cache hit: %d rows", len(rows))
                return AnonymizationResult(
                    texts=list(entry["texts"]), kept=list(entry["kept"]), report=report
                )

        entities: Counter = Counter({e: 0 for e in cfg.detected_entities})
        operators: Counter = Counter({cfg.operator_for(e): 0 for e in cfg.detected_entities})
        residual: Counter = Counter({e: 0 for e in cfg.detected_entities})
        # Identical rows (templated notes, repeated memos) are anonymized once; counts still
        # cover every row.
        unique = list(dict.fromkeys(rows))
        times = Counter(rows)
        out_unique, residual_unique = [], {}
        for text, (anonymized, ents, ops, hits) in zip(unique, self._spread(unique), strict=True):
            out_unique.append(anonymized)
            for name, n in ents.items():
                entities[name] += n * times[text]
            for name, n in ops.items():
                operators[name] += n * times[text]
            if hits:
                residual_unique[text] = hits
                for hit in hits:
                    residual[hit.entity] += times[text]
        by_text = dict(zip(unique, out_unique, strict=True))
        out = [by_text[t] for t in rows]
        changed = sum(a != b for a, b in zip(rows, out, strict=True))
        residual_rows = [i for i, t in enumerate(rows) if t in residual_unique]
        kept = [True] * len(rows)
        if residual_rows:
            log.warning(
                "anonymization: %d detection(s) remain in %d row(s) after anonymization (%s)",
                sum(residual.values()), len(residual_rows), residual_action,
            )  # fmt: skip
            if residual_action == "fail":
                raise ResidualPIIError(+residual, rows=len(residual_rows))
            if residual_action == "drop_row":
                for i in residual_rows:
                    kept[i], out[i] = False, ""
        report = self._report(
            rows=len(rows), changed=changed, dropped=kept.count(False), entities=entities,
            operators=operators, residual=residual, enabled=True, started=started,
        )  # fmt: skip
        if key is not None and self.cache_dir is not None:
            cache.write_entry(
                self.cache_dir, key, {"texts": out, "kept": kept, "report": report.to_dict()}
            )
        log.info(
            "anonymized %d rows: %d spans, %d rows dropped, %.2fs",
            len(rows), report.entities_total, report.rows_dropped, report.seconds,
        )  # fmt: skip
        return AnonymizationResult(texts=out, kept=kept, report=report)

    def preview(self, text: str) -> tuple[str, AnonymizationReport]:
        """One text anonymized, with its report (residual hits counted, the row not dropped,
        no cache): for a steward checking a policy. Training applies the residual policy."""
        result = self._run([text], residual_action="report", use_cache=False)
        return result.texts[0], result.report

    def _report(self, *, rows, changed, dropped, entities, operators, residual, enabled, started):
        return AnonymizationReport(
            rows_processed=rows,
            rows_changed=changed,
            rows_dropped=dropped,
            entities=dict(entities),
            operators=dict(operators),
            residual=dict(residual),
            policy_hash=self.policy_hash,
            model=self.model,
            model_sha256=self._model_sha256,
            model_pinned=self.model_identity is not None and self.model_identity.pinned,
            enabled=enabled,
            cache_hit=False,
            seconds=time.perf_counter() - started,
        )
