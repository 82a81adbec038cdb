"""Names spelled in e-mail addresses and profile links go where they recur (names/handles.py)."""

from __future__ import annotations

import pytest

from fedft.anonymize.names.handles import handle_name_spans
from fedft.anonymize.spans import Span


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        # A handle with a word English does not know: its words go wherever they stand.
        (
            "Pics: https://www.facebook.com/william.davis.265 William works at the mill now.",
            ["William"],
            ["works at the mill"],
        ),
        # Only English words: they go where they stand together, in the handle's order.
        ("Email me at joy.glasses@wp.pl. Thanks!\n— Joy Glasses", ["Joy Glasses"], ["Thanks!"]),
        # A LinkedIn member profile is built from the member's name: English words go too.
        ("CV: linkedin.com/in/grace-bell-88a. Grace sings tenor.", ["Grace"], ["sings tenor"]),
        # ... but not a company page's, nor another site's /in/ path.
        ("See linkedin.com/company/best-kettles. Best kettles!", [], ["Best kettles"]),
        ("See example.com/in/hope-field. Hope you are well.", [], ["Hope you are well"]),
        # Not a name: a product link, a role mailbox.
        ("See example.com/products/best-kettles-2024 for the Best kettles.", [], ["Best kettles"]),
        ("Write to billing.team@acme.com. Billing Team will answer.", [], ["Billing Team"]),
    ],
)
def test_names_in_handles(default_anonymizer, text, gone, kept):
    out = default_anonymizer.anonymize_texts([text]).texts[0]
    for value in gone:
        assert value not in out, out
    for value in kept:
        assert value in out, out


def test_handle_words_outside_found_spans_only():
    text = "Mail anna.kowalczyk@example.pl or ask Kowalczyk."
    email = Span("EMAIL_ADDRESS", 5, 30, 1.0)
    assert text[email.start : email.end] == "anna.kowalczyk@example.pl"
    spans = handle_name_spans(text, [email], stop_words=frozenset(), lexicon=frozenset())
    assert [(text[s.start : s.end], s.entity) for s in spans] == [("Kowalczyk", "PERSON")]
    already = Span("PERSON", text.index("Kowalczyk."), len(text) - 1, 0.8)
    none = frozenset()
    assert handle_name_spans(text, [email, already], stop_words=none, lexicon=none) == []
