"""Detection pipeline: batched spaCy + Presidio analysis, name passes, clean-up, merge."""

from __future__ import annotations

from collections.abc import Sequence

from fedft.config.anonymization import AnonymizationConfig
from fedft.privacy.name_spans import extend_names, propagate_names, trim_person_edges
from fedft.privacy.name_variant import variant_person_spans
from fedft.privacy.names import english_lexicon
from fedft.privacy.spans import (
    Span,
    allowed_ranges,
    clip_to_line,
    drop_allowed,
    is_date_like,
    merge_spans,
)

__all__ = ["Detector"]


class Detector:
    """Finds what a policy says to remove. Build once (loads spaCy), call on batches."""

    def __init__(self, cfg: AnonymizationConfig, analyzer):
        self.cfg = cfg
        self.analyzer = analyzer
        self.nlp = analyzer.nlp_engine.get_nlp(cfg.language)
        self.entities = list(cfg.detected_entities)
        self.stop_words = frozenset(w.lower() for w in self.nlp.Defaults.stop_words)
        self.lexicon = english_lexicon(self.nlp)

    def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """Merged, non-overlapping spans per text, in text order."""
        cfg = self.cfg
        artifacts = self.analyzer.nlp_engine.process_batch(
            texts=list(texts), language=cfg.language, batch_size=cfg.batch_size
        )
        raw: list[list[Span]] = []
        docs = []
        for text, nlp_artifacts in artifacts:
            docs.append(nlp_artifacts.tokens)
            results = self.analyzer.analyze(
                text=text,
                language=cfg.language,
                entities=self.entities,
                score_threshold=cfg.score_threshold,
                nlp_artifacts=nlp_artifacts,
            )
            converted = (self._to_span(r, text) for r in results)
            raw.append([s for s in converted if s is not None])
        allowed = [allowed_ranges(t, cfg.allow_list) for t in texts]
        if cfg.name_case_variants and "PERSON" in self.entities:
            extra = variant_person_spans(
                self.nlp,
                docs,
                batch_size=cfg.batch_size,
                lexicon=self.lexicon,
                stop_words=self.stop_words,
                allowed=allowed,
            )
            raw = [a + b for a, b in zip(raw, extra, strict=True)]
        out = []
        for text, spans, allowed_here in zip(texts, raw, allowed, strict=True):
            spans = drop_allowed(spans, allowed_here)
            if "PERSON" in self.entities:
                spans = trim_person_edges(text, spans, stop_words=self.stop_words)
                spans = extend_names(
                    text,
                    spans,
                    stop_words=self.stop_words,
                    lexicon=self.lexicon,
                    allowed=allowed_here,
                )
                if cfg.name_propagation:
                    spans = spans + propagate_names(text, spans, stop_words=self.stop_words)
                spans = drop_allowed(spans, allowed_here)
            out.append(merge_spans(spans, text=text))
        return out

    @staticmethod
    def _to_span(result, text: str) -> Span | None:
        source = (result.recognition_metadata or {}).get("recognizer_name", "")
        # spaCy's DATE also tags durations and frequencies ("3 days", "daily"): not identifiers.
        if result.entity_type == "DATE_TIME" and source == "SpacyRecognizer":
            if not is_date_like(text[result.start : result.end]):
                return None
        span = Span(result.entity_type, result.start, result.end, float(result.score), source)
        # NER runs across line breaks ("John Smith\nEmail"); a name or place never does.
        return clip_to_line(span, text) if source == "SpacyRecognizer" else span
