"""Python's, NumPy's and torch's global random generators when sites run in the server's process.

With `federation.backend: inprocess` every simulated site runs in the process (and beside the
thread) of the coordinator. Each site's own draws are seeded per (run seed, round, site), but
the process-wide generators are shared: without care, a site's code would advance the
server's streams (client sampling, the checkpointed random states) and see what the site
before it left there. `isolated_global_rng` gives each ClientApp call fresh generators from
the OS, as a new Ray worker process has, and puts the server's back afterwards.

`GLOBAL_RNG_LOCK` is held for the whole call. Whoever else replaces a global generator's
state for a draw that must not be predictable (the server's site-level DP noise,
`fedft.federation.site_dp`) takes it too: a site still running after its round timed out
could otherwise swap the state between the server's reseeding from the OS and its draw.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
from collections.abc import Iterator

import numpy as np

__all__ = ["GLOBAL_RNG_LOCK", "isolated_global_rng"]

GLOBAL_RNG_LOCK = threading.RLock()

# MT19937's full state, as NumPy seeds it from an array (see site_dp.reseed_noise_source).
_MT_WORDS = 624


@contextlib.contextmanager
def isolated_global_rng() -> Iterator[None]:
    """Fresh global generators (OS entropy) for the block; the previous states after it.

    torch: the CPU generator only (the simulation's sites run on the CPU, or seed their own
    device generators explicitly)."""
    import torch  # noqa: PLC0415 (heavy; only the in-process backend calls this)

    with GLOBAL_RNG_LOCK:
        saved = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
        random.seed(secrets.token_bytes(32))
        np.random.seed(np.frombuffer(secrets.token_bytes(_MT_WORDS * 4), dtype=np.uint32))
        torch.random.manual_seed(secrets.randbits(63))
        try:
            yield
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.random.set_rng_state(saved[2])
