"""SecAgg+ mask PRG: fedft's AES-256-CTR (full secret) vs Flower's RandomState (32-bit seed).

Prints, per vector size, the median time of each PRG and their ratio, then the bytes a site
uploads per masked vector with Flower's int64 encoding and with fedft's uint32 one, relative
to the fp32 delta. A site computes 1 + (neighbours) masks per round; the server recomputes
one per surviving site plus the pairwise masks of each dropped site.

    python bench/bench_secagg_prg.py [--sizes 100000 1000000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

import numpy as np
from flwr.common import ndarray_to_bytes

from fedft.federation import secagg

MOD_RANGE = 2**32  # Flower's default modulus_range, the one fedft uses


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations, cipher backend load
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    seed = hashlib.sha256(b"bench").digest()  # 32 bytes, like Flower's private-mask seed
    print(f"{'elements':>10} {'fedft ms':>9} {'flower ms':>10} {'fedft/flower':>13}")
    for n in args.sizes:
        # Shapes like an adapter: a few matrices summing to n elements.
        shapes = [(n // 4,)] * 3 + [(n - 3 * (n // 4),)]
        ours = _median_seconds(lambda s=shapes: secagg.secure_pseudo_rand_gen(seed, MOD_RANGE, s), args.repeats)
        theirs = _median_seconds(lambda s=shapes: secagg.flower_pseudo_rand_gen(seed, MOD_RANGE, s), args.repeats)
        print(f"{n:>10} {ours * 1e3:>9.2f} {theirs * 1e3:>10.2f} {ours / theirs:>13.2f}")

    print()
    print(f"{'elements':>10} {'int64 B':>10} {'uint32 B':>10} {'fp32 B':>10} {'int64/fp32':>11} {'uint32/fp32':>12}")
    for n in args.sizes:
        masked = [np.array([12345])] + secagg.secure_pseudo_rand_gen(seed, MOD_RANGE, [(n // 2,), (n - n // 2,)])
        flower = sum(len(ndarray_to_bytes(a)) for a in masked)
        compact = sum(len(secagg._compact_ndarray_to_bytes(a)) for a in masked)
        fp32 = 4 * n
        print(f"{n:>10} {flower:>10} {compact:>10} {fp32:>10} {flower / fp32:>11.3f} {compact / fp32:>12.3f}")


if __name__ == "__main__":
    main()
