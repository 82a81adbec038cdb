"""Evaluation material for tests and benchmarks (not part of the library): a planted-PII corpus,
its scorer, and the canary experiment."""
