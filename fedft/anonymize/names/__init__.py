"""Person names beyond spaCy's NER: cue words, name shapes, case variants."""
