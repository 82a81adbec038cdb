"""fedft's recognizers: close the recall gaps of Presidio's English defaults, keep precision.

Measured gaps of the defaults (tests/anonymize/test_recall.py, docs/anonymization.md): phone
numbers with `00`/`001-` prefixes, `(0)` trunk digits and extensions; credit cards of the
Mastercard 2-series; dates like "apr 15 2025" or "14th of march 1985"; street addresses (no
English recognizer at all); record numbers (tagged as driver licences, if at all). Names in
lowercase / ALL-CAPS are handled in anonymize/names/ (they need a second NER pass, not a
pattern).

Each recognizer is a Presidio PatternRecognizer (the extension point Presidio defines);
`invalidate_result` rejects look-alikes (dates, IP addresses, amounts) so the broad patterns do
not eat clinical values. By family: numbers.py (phones, long numbers, cards, IBANs), dates.py,
web.py (obfuscated e-mails, URLs), addresses.py (US streets), places.py (international street
lines and address blocks, postal codes, towns after "lives in"), identifiers.py (ages over 89,
fax, licence, vehicle and device numbers), person.py (names after labels, particle names),
patterns.py (their shared Presidio arguments, flags, look-alikes); registry.py lists
them for an analyzer, builds a policy's custom recognizers and guards recognizers that cannot
match a text.
"""
