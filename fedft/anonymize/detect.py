"""Detection pipeline: batched spaCy + Presidio analysis, name passes, clean-up, merge."""

from __future__ import annotations

from collections.abc import Sequence

import regex

from fedft.anonymize.names.eponyms import eponym_ranges
from fedft.anonymize.names.handles import handle_name_spans
from fedft.anonymize.names.shape import (
    drop_credentials,
    extend_names,
    propagate_names,
    trim_person_edges,
)
from fedft.anonymize.names.variant import variant_person_spans
from fedft.anonymize.names.words import english_lexicon
from fedft.anonymize.spans import (
    Span,
    allowed_ranges,
    clip_to_line,
    drop_allowed,
    is_date_like,
    merge_spans,
)
from fedft.config.anonymization import AnonymizationConfig

__all__ = ["Detector"]


def _blank(text: str, ranges: Sequence[tuple[int, int]]) -> str:
    """`text` with `ranges` replaced by spaces (same length: offsets stay valid)."""
    if not ranges:
        return text
    chars = list(text)
    for a, b in ranges:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


class Detector:
    """Finds what a policy says to remove. Build once (loads spaCy), call on batches."""

    def __init__(self, cfg: AnonymizationConfig, analyzer):
        self.cfg = cfg
        self.analyzer = analyzer
        self.nlp = analyzer.nlp_engine.get_nlp(cfg.language)
        self.entities = list(cfg.detected_entities)
        self.stop_words = frozenset(w.lower() for w in self.nlp.Defaults.stop_words)
        self.lexicon = english_lexicon(self.nlp)

    def detect(
        self, texts: Sequence[str], *, protect: regex.Pattern | None = None
    ) -> list[list[Span]]:
        """Merged, non-overlapping spans per text, in text order.

        protect: what fedft itself wrote (surrogate tags, mask runs) when scanning anonymized
        text. Those words are never name candidates and do not count when judging whether a
        note is ALL-CAPS: "<PERSON>" is not a capitalized name, and without this nearly every
        anonymized note would need the lowercase tagging pass (measured: 94% instead of 8%).
        """
        # Detection is a function of the text alone: identical texts in a batch are analysed
        # once. Anonymized texts repeat much more than raw ones ("Consent signed by <PERSON>
        # and witnessed by <PERSON> on <DATE_TIME>."), so this mostly pays in the residual scan.
        unique = list(dict.fromkeys(texts))
        if len(unique) == len(texts):
            return self._detect_unique(texts, protect)
        by_text = dict(zip(unique, self._detect_unique(unique, protect), strict=True))
        return [list(by_text[t]) for t in texts]

    def _detect_unique(
        self, texts: Sequence[str], protect: regex.Pattern | None
    ) -> list[list[Span]]:
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
        allowed = [allowed_ranges(t, cfg.allow_list) + eponym_ranges(t) for t in texts]
        if cfg.name_case_variants and "PERSON" in self.entities:
            own = [
                [(m.start(), m.end()) for m in protect.finditer(t)] if protect else []
                for t in texts
            ]
            extra = variant_person_spans(
                self.nlp,
                docs,
                batch_size=cfg.batch_size,
                lexicon=self.lexicon,
                stop_words=self.stop_words,
                allowed=[a + b for a, b in zip(allowed, own, strict=True)],
                case_texts=[_blank(t, ranges) for t, ranges in zip(texts, own, strict=True)],
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
                spans = spans + handle_name_spans(
                    text, spans, stop_words=self.stop_words, lexicon=self.lexicon
                )
                spans = drop_credentials(text, drop_allowed(spans, allowed_here))
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
