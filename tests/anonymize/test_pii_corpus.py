from __future__ import annotations

import pytest
from fedft_eval.pii_corpus import generate_pii_corpus, name_parts


def test_deterministic_for_a_seed():
    a = generate_pii_corpus(n_docs=40, seed=3)
    b = generate_pii_corpus(n_docs=40, seed=3)
    assert [d.text for d in a] == [d.text for d in b]
    assert [d.text for d in a] != [d.text for d in generate_pii_corpus(n_docs=40, seed=4)]


def test_spans_are_exact_and_skeleton_removes_them():
    for doc in generate_pii_corpus(n_docs=60, seed=0):
        for p in doc.planted:
            assert doc.text[p.start : p.end] == p.value
            assert p.value not in doc.skeleton or len(p.value) < 4


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Jan van der Berg", ["Jan", "Berg"]),
        ("Smith, John", ["Smith", "John"]),
        ("J. Lastra", ["Lastra"]),
        ("KARL-OTTO CARSTEN", ["KARL", "OTTO", "CARSTEN"]),
    ],
)
def test_name_parts_skip_particles_and_initials(name, parts):
    assert name_parts(name) == parts


def test_rejects_empty_corpus():
    with pytest.raises(ValueError, match="n_docs"):
        generate_pii_corpus(n_docs=0, seed=0)
