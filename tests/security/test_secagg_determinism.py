"""Two runs of the default config (SecAgg+ on) with one seed end with bit-identical adapters.

Flower's SecAgg+ quantization rounds stochastically with numpy's global RNG; fedft seeds it per
(run seed, round, site) in its client mod (fedft.federation.secagg.client_mods).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from fedft.federation.secagg import quantization_seed

REPO = Path(__file__).resolve().parents[2]
FEDFT = str(Path(sys.executable).parent / "fedft")
ROUNDS = 2
OVERRIDES = [
    "federation.num_clients=2",
    f"federation.rounds={ROUNDS}",
    "federation.min_fit_clients=2",
    "data.synthetic.n_train=96",
    "data.synthetic.n_eval=32",
    "data.max_length=64",
    "training.max_steps=4",
    "training.batch_size=8",
]


def test_quantization_seed_is_a_function_of_seed_round_and_site():
    one = quantization_seed(seed=0, server_round="1", site_id="site-0")
    assert np.array_equal(one, quantization_seed(seed=0, server_round=1, site_id="site-0"))
    others = [
        quantization_seed(seed=1, server_round=1, site_id="site-0"),
        quantization_seed(seed=0, server_round=2, site_id="site-0"),
        quantization_seed(seed=0, server_round=1, site_id="site-1"),
    ]
    assert not any(np.array_equal(one, o) for o in others)


@pytest.mark.integration
def test_two_runs_with_secure_aggregation_give_bit_identical_adapters(tmp_path):
    adapters = []
    for name in ("a", "b"):
        out = tmp_path / name
        cmd = [FEDFT, "simulate", str(REPO / "configs" / "default.yaml"), "-o", str(out)]
        for o in OVERRIDES:
            cmd += ["--set", o]
        subprocess.run(cmd, check=True, capture_output=True, timeout=900)
        [file] = (out / "rounds" / f"round-{ROUNDS:03d}" / "adapter").glob("*.safetensors")
        adapters.append(load_file(str(file)))
    first, second = adapters
    assert first.keys() == second.keys()
    for key in first:
        assert np.array_equal(first[key], second[key]), key
