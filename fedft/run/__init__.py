"""Run folder artefacts: config, metrics, checkpoints, ledger, reports."""
