"""Peak memory and wall time of a simulation at 10 vs 100 sites, same work per round.

Runs `fedft simulate simulations/scale-100-sites.yaml` twice as child processes: once as
written (100 sites, 10 sampled per round) and once with 10 sites all sampled, so both rounds
train 10 sites for the same steps on the same number of rows per site. Peak memory is the
largest sum of RSS over the whole process tree (fedft, Ray's raylet/GCS and workers), sampled
every 0.25 s. The figure that matters is the ratio: memory must not grow with the sites that
only exist on paper. Wall time is reported too (a noisy, shared machine: a ratio near 1 is
what to look for).

    python bench/bench_scale.py [--config simulations/scale-100-sites.yaml]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from proc_peak import run_measured

REPO = Path(__file__).resolve().parents[1]
FEDFT = Path(sys.executable).parent / "fedft"


def simulate(config: Path, overrides: list[str], out: Path) -> tuple[float, int]:
    cmd = [str(FEDFT), "simulate", str(config), "-o", str(out)]
    for o in overrides:
        cmd += ["--set", o]
    return run_measured(cmd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, default=REPO / "simulations" / "scale-100-sites.yaml"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # 10 sites hold a tenth of the rows, so each site has as many rows as at 100 sites.
        small = [
            "federation.num_clients=10",
            "federation.fraction_fit=1.0",
            "data.synthetic.n_train=600",
        ]
        t10, m10 = simulate(args.config, small, Path(tmp) / "sites10")
        t100, m100 = simulate(args.config, [], Path(tmp) / "sites100")
    mib = 1024 * 1024
    print(f"10 sites (all sampled):      wall {t10:6.1f} s, peak RSS {m10 / mib:7.0f} MiB")
    print(f"100 sites (10 sampled):      wall {t100:6.1f} s, peak RSS {m100 / mib:7.0f} MiB")
    print(f"peak memory 100 / 10 sites:  {m100 / m10:.2f}x  (target: ~1.0, no growth with sites)")
    print(f"wall time   100 / 10 sites:  {t100 / t10:.2f}x")


if __name__ == "__main__":
    main()
