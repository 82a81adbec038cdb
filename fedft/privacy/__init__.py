"""Anonymization and differential privacy; usable without Flower."""
