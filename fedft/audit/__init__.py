"""Empirical privacy audit: canaries planted at sites, and what the trained adapter gives away
about them (exposure, membership inference, a one-run lower bound on ε).

Pure measures live in `exposure`, `membership` and `lower_bound`; `canaries` makes and plants
the records; `scoring` needs a model; `empirical` reads a run folder and writes the results.
"""
