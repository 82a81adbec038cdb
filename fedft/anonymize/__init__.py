"""Anonymization at a site (Presidio + spaCy): detect PII, replace it, count what was found."""
