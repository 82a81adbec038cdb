"""The default config shrunk for integration tests: 2 sites, 2 rounds, 96 training rows, short
texts, 3 local steps; small enough for a real Flower simulation in a test, large enough that
every stage of a round (anonymization, SecAgg+, evaluation, ledger) runs. Without the sites'
local-only baseline (an extra local training per site and round): a test that checks it turns
it on (LOCAL_BASELINE)."""

SMALL = [
    "federation.num_clients=2",
    "federation.rounds=2",
    "federation.min_fit_clients=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=48",
    "data.max_length=64",
    "training.max_steps=3",
    "training.batch_size=8",
    "evaluation.local_baseline=false",
]
LOCAL_BASELINE = "evaluation.local_baseline=true"
