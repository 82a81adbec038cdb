"""Build Presidio's analyzer for a policy: offline spaCy NLP engine + recognizer registry.

Offline by construction: the spaCy model must be installed (Presidio would otherwise try to
download it), and tldextract, used by Presidio's e-mail recognizer, is pointed at its bundled
suffix list instead of fetching one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import lru_cache

from fedft.anonymize.attribute_ruler import install_table_ruler
from fedft.anonymize.model_pin import model_data_dir, verify_model
from fedft.config.anonymization import AnonymizationConfig

log = logging.getLogger(__name__)

# spaCy NER labels and the Presidio entity each one becomes; every other label the model
# emits is ignored explicitly, so Presidio does not warn about it for each document.
NER_TO_PRESIDIO = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
    "NORP": "NRP",
    "ORG": "ORGANIZATION",
}
# The parser is not used by any recognizer; dropping it saves ~30% of spaCy time.
_UNUSED_PIPES = ("parser",)


def ensure_offline() -> None:
    """Make tldextract use its bundled public-suffix snapshot: no HTTP request, ever."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    import tldextract.tldextract as tld

    # The module-level extractor read the environment when first imported, maybe before us.
    tld.TLD_EXTRACTOR.suffix_list_urls = ()


@lru_cache(maxsize=4)
def load_spacy(name: str):  # -> spacy.language.Language
    """Load an installed spaCy model; never download. Raises ValueError naming the fix, and
    ModelPinError when a model claiming to be fedft's pinned one differs from the pin.

    The folder that was hashed is the folder loaded (an installed package is loaded from its
    data folder, as spaCy's own package loader does). Cached per process: simulated sites in
    one process share the (read-only) model."""
    import spacy

    verify_model(name)
    nlp = spacy.load(model_data_dir(name), exclude=list(_UNUSED_PIPES))
    install_table_ruler(nlp)
    return nlp


class PolicyRegexTimeout(RuntimeError):
    """A policy recognizer's regex ran longer than POLICY_REGEX_SECONDS on one row."""


# Time one policy pattern may take on one row. Presidio's own limit (60 s) skips the pattern
# with a warning, which would let the PII it should catch through: fedft stops instead.
POLICY_REGEX_SECONDS = 2.0


class _BoundedRegex:
    """A compiled pattern whose searches stop after POLICY_REGEX_SECONDS with an error that
    names the recognizer (never the row)."""

    def __init__(self, compiled, *, recognizer: str, index: int):
        self._compiled = compiled
        self._where = (
            f"anonymization.custom_recognizers: recognizer {recognizer!r} patterns[{index}]"
        )

    def finditer(self, text: str, timeout: float | None = None):  # noqa: ARG002 - ours wins
        try:
            yield from self._compiled.finditer(text, timeout=POLICY_REGEX_SECONDS)
        except TimeoutError:
            raise PolicyRegexTimeout(
                f"{self._where}: regex took over {POLICY_REGEX_SECONDS} s on one row of "
                f"{len(text)} characters (catastrophic backtracking); simplify the regex"
            ) from None


def bound_patterns(recognizer):  # PatternRecognizer -> the same, its patterns time-bounded
    """Compile the recognizer's patterns now, behind a per-row time limit (see _BoundedRegex).

    Presidio compiles a pattern lazily unless it already holds one compiled with the flags it
    will use (the recognizer's global flags: the analyzer passes none)."""
    import regex

    flags = recognizer.global_regex_flags
    for i, pattern in enumerate(recognizer.patterns):
        if pattern.name == "deny_list":  # escaped literals: cannot backtrack
            continue
        pattern.compiled_regex = _BoundedRegex(
            regex.compile(pattern.regex, flags=flags), recognizer=recognizer.name, index=i
        )
        pattern.compiled_with_flags = flags
    return recognizer


def pipes_for(nlp, wanted: Sequence[str]) -> list[str]:
    """The components to run so that `wanted` ones work: them, plus any shared tok2vec one of
    them listens to. (en_core_web_sm's NER has its own embedding: running the shared tok2vec
    for an NER-only pass costs ~40% more and changes nothing.)"""
    needed = [p for p in wanted if p in nlp.pipe_names]
    for name, pipe in nlp.pipeline:
        listeners = getattr(pipe, "listening_components", ())
        if name not in needed and any(c in needed for c in listeners):
            needed.append(name)
    return [p for p in nlp.pipe_names if p in needed]


def build_analyzer(cfg: AnonymizationConfig, *, nlp=None):  # -> presidio_analyzer.AnalyzerEngine
    """Presidio analyzer for `cfg`: default recognizers for the language, fedft's recall
    recognizers, and the policy's custom recognizers. `nlp` reuses an already loaded model."""
    ensure_offline()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    from fedft.anonymize.recognizers.registry import (
        REPLACED,
        custom_recognizer,
        fedft_recognizers,
        guard_recognizers,
    )

    nlp = nlp if nlp is not None else load_spacy(cfg.spacy_model)
    labels = set(nlp.get_pipe("ner").labels) if "ner" in nlp.pipe_names else set()
    ner_config = NerModelConfiguration(
        model_to_presidio_entity_mapping=dict(NER_TO_PRESIDIO),
        labels_to_ignore=sorted(labels - set(NER_TO_PRESIDIO)),
        low_score_entity_names=[],
    )
    nlp_engine = SpacyNlpEngine(
        models=[{"lang_code": cfg.language, "model_name": cfg.spacy_model}],
        ner_model_configuration=ner_config,
    )
    # Hand over the loaded model instead of calling load(), which would download a missing one.
    nlp_engine.nlp = {cfg.language: nlp}  # type: ignore[assignment]  # None until loaded

    registry = RecognizerRegistry(supported_languages=[cfg.language])
    # Presidio logs a warning for each recognizer of another language it skips: expected.
    presidio_log = logging.getLogger("presidio-analyzer")
    level = presidio_log.level
    presidio_log.setLevel(logging.ERROR)
    try:
        registry.load_predefined_recognizers(languages=[cfg.language], nlp_engine=nlp_engine)
    finally:
        presidio_log.setLevel(level)
    fedft = fedft_recognizers(language=cfg.language)
    if fedft:
        for name in REPLACED:
            registry.remove_recognizer(name, language=cfg.language)
    for recognizer in fedft:
        registry.add_recognizer(recognizer)
    guard_recognizers(registry.recognizers)
    for spec in cfg.custom_recognizers:
        registry.add_recognizer(bound_patterns(custom_recognizer(spec, language=cfg.language)))
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[cfg.language],
        default_score_threshold=cfg.score_threshold,
    )
    missing = set(cfg.detected_entities) - set(analyzer.get_supported_entities(cfg.language))
    if missing:
        raise ValueError(
            f"anonymization.entities: {sorted(missing)} have no recognizer for language "
            f"{cfg.language!r}; remove them or add custom_recognizers"
        )
    log.debug("analyzer built: %d recognizers", len(analyzer.get_recognizers(cfg.language)))
    return analyzer
