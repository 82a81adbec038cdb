"""Flower wiring: the only package that imports flwr."""
