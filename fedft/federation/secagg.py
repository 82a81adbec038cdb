"""The only module that touches Flower's SecAgg+ internals.

Flower 1.41's mask PRG (`secaggplus_utils.pseudo_rand_gen`) XOR-folds the shared secret into a
32-bit seed for `np.random.RandomState` (upstream issue #7522): whoever sees a masked vector can
try all 2^32 seeds. `install_secure_prg()` swaps in `secure_pseudo_rand_gen`, keyed by the whole
secret, at every place Flower looks the PRG up by name: the client mod and the server workflow
each bind it at import (`from ... import pseudo_rand_gen`), so patching the defining module
alone changes nothing. Client and server must run the same PRG or the "unmasked" sum is garbage
and Flower still logs success; call `install_secure_prg()` on import of the module defining the
apps so every Ray actor and SuperNode process gets it.
"""

from __future__ import annotations

import contextvars
import hashlib
import importlib
import logging
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from numpy.typing import NDArray

from fedft.round.masking_bounds import (
    aggregate_error_bound,
    check_delta,
    check_weight,
    choose_clipping_range,
    clip_delta_norm,
    delta_norm,
    weight_factor,
)

if TYPE_CHECKING:
    from fedft.config.secure_aggregation import SecureAggregationConfig

__all__ = [
    "PRG_SITES",
    "aggregate_error_bound",
    "build_secaggplus_workflow",
    "check_delta",
    "check_weight",
    "choose_clipping_range",
    "client_mods",
    "clip_delta_norm",
    "delta_norm",
    "flower_pseudo_rand_gen",
    "install_secure_prg",
    "quantization_seed",
    "is_compact_upload_installed",
    "is_secure_prg_installed",
    "secure_pseudo_rand_gen",
    "weight_factor",
]

log = logging.getLogger(__name__)

_UTILS = "flwr.common.secure_aggregation.secaggplus_utils"
# Every module that holds `pseudo_rand_gen` as a global (grep of flwr 1.41: these three).
# The defining module is included so any later `from ... import pseudo_rand_gen` gets ours.
_CLIENT_MOD = "flwr.client.mod.secure_aggregation.secaggplus_mod"
PRG_SITES = (
    _UTILS,
    _CLIENT_MOD,  # client: private and pairwise masks
    "flwr.server.workflow.secure_aggregation.secaggplus_workflow",  # server: removes masks
)
_ATTR = "pseudo_rand_gen"
_SERIALIZER = "ndarray_to_bytes"  # used by the client mod for the masked vector only

# Domain separation: Flower also uses the pairwise key as a Fernet key for the share
# ciphertexts, so the mask key is derived under its own label rather than taken as is.
_HKDF_INFO = b"fedft secagg+ mask prg v1 (AES-256-CTR)"
# One fixed counter block is safe: each derived key drives exactly one keystream (a secret
# always yields the same mask, which is what makes the masks cancel).
_CTR_NONCE = bytes(16)
_MIN_SEED_BYTES = 16


def _keystream(seed: bytes) -> Any:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(seed)
    return Cipher(algorithms.AES(key), modes.CTR(_CTR_NONCE)).encryptor()


def _words(stream: Any, count: int, dtype: str) -> NDArray[np.unsignedinteger]:
    """`count` little-endian unsigned words of keystream (AES-CTR over zeros)."""
    nbytes = count * np.dtype(dtype).itemsize
    # update_into with preallocated numpy buffers: about 5x faster than update(bytes(n)).
    out = np.empty(nbytes + 15, dtype=np.uint8)  # the API wants block_size - 1 spare bytes
    stream.update_into(np.zeros(nbytes, dtype=np.uint8), out)
    return out[:nbytes].view(dtype)


def _uniform(stream: Any, count: int, num_range: int) -> NDArray[np.int64]:
    """`count` integers uniform in [0, num_range), read from an AES-CTR keystream."""
    if num_range & (num_range - 1) == 0:
        # Power of two (always so in Flower, which requires modulus_range = 2^k): keep the low
        # bits of each word; exactly uniform, no rejection. 4-byte words while they suffice.
        dtype = "<u4" if num_range <= 2**32 else "<u8"
        words = _words(stream, count, dtype)
        if num_range == 2 ** (8 * words.itemsize):
            return words.astype(np.int64)
        # Allocated after the keystream: the other order measured 4x slower (page faults).
        out = np.empty(count, dtype=np.int64)
        np.bitwise_and(words, np.array(num_range - 1, dtype=dtype), out=out, casting="unsafe")
        return out
    out = np.empty(count, dtype=np.int64)
    # Any other range: rejection sampling on 64-bit words, exactly uniform. A word is rejected
    # with probability < num_range / 2^64, and refills continue the same keystream, so the
    # output is still a deterministic function of the seed.
    limit = np.uint64(2**64 - (2**64 % num_range) - 1)  # accept words <= limit
    filled = 0
    while filled < count:
        need = count - filled
        words = _words(stream, need, "<u8")
        kept = words[words <= limit]
        out[filled : filled + kept.size] = kept % np.uint64(num_range)
        filled += kept.size
    return out


def secure_pseudo_rand_gen(
    seed: bytes, num_range: int, dimensions_list: Sequence[tuple[int, ...]]
) -> list[NDArray[np.int64]]:
    """Masks for SecAgg+: one int64 array per shape, entries uniform in [0, num_range).

    Same call contract as Flower's `pseudo_rand_gen` (a 0-d array for the shape `()`), but
    keyed by the whole secret: key = HKDF-SHA256(seed), stream = AES-256-CTR. Deterministic in
    (seed, num_range, shapes); the arrays are filled in order from one stream. Flower draws
    from [0, num_range - 2]; this draws from the full [0, num_range), which is what a mask
    mod num_range needs. num_range: 2 .. 2^63 (int64 output); seed: >= 16 bytes.
    """
    if not isinstance(seed, bytes | bytearray) or len(seed) < _MIN_SEED_BYTES:
        raise ValueError(
            f"seed must be at least {_MIN_SEED_BYTES} bytes of secret, got "
            f"{len(seed) if isinstance(seed, bytes | bytearray) else type(seed).__name__}"
        )
    num_range = operator.index(num_range)
    if not 2 <= num_range <= 2**63:
        raise ValueError(f"num_range must be in [2, 2^63], got {num_range}")
    shapes = [tuple(int(d) for d in dims) for dims in dimensions_list]
    sizes = [int(np.prod(shape, dtype=np.int64)) for shape in shapes]
    flat = _uniform(_keystream(bytes(seed)), sum(sizes), num_range)
    out: list[NDArray[np.int64]] = []
    start = 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(flat[start : start + size].reshape(shape))
        start += size
    return out


def _module(name: str) -> Any:
    # importlib, not `import a.b.secaggplus_mod as m`: the package re-exports the *function*
    # `secaggplus_mod` under the submodule's name, so that form yields the function.
    return importlib.import_module(name)


def _capture_flower_prg() -> Callable[..., list[NDArray[np.int64]]]:
    current = getattr(_module(_UTILS), _ATTR)
    # After a reload of this module the attribute may already be an earlier secure PRG.
    return getattr(current, "__fedft_flower_original__", current)


flower_pseudo_rand_gen = _capture_flower_prg()
"""Flower's original 32-bit-seeded PRG, kept for the benchmark and the tests only."""
# Lets a reloaded copy of this module find Flower's original (see _capture_flower_prg).
secure_pseudo_rand_gen.__fedft_flower_original__ = flower_pseudo_rand_gen


_flower_ndarray_to_bytes = _module("flwr.common").ndarray_to_bytes  # what the mod imports


def _compact_ndarray_to_bytes(arr: NDArray) -> bytes:
    """Flower's `ndarray_to_bytes`, storing an int vector with values < 2^32 as uint32."""
    arr = np.asarray(arr)
    if (
        np.issubdtype(arr.dtype, np.integer)
        and arr.dtype.itemsize > 4
        and (arr.size == 0 or (int(arr.min()) >= 0 and int(arr.max()) < 2**32))
    ):
        arr = arr.astype(np.uint32)
    return _flower_ndarray_to_bytes(arr)


def install_secure_prg(*, compact_uploads: bool = True) -> None:
    """Replace Flower's mask PRG in every module that looks it up (idempotent).

    compact_uploads: also make the client mod send masked vectors as uint32 instead of int64
    (they are residues mod 2^32), halving the upload to the size of the fp32 delta. The
    server needs no change: `bytes_to_ndarray` keeps the dtype, and uint32 sums wrap mod 2^32,
    which is the modulus fedft uses (Flower documents modulus_range <= 2^32). Sites with and
    without it can be mixed in one round.
    """
    replaced = []
    for name in PRG_SITES:
        mod = _module(name)
        if not hasattr(mod, _ATTR):
            # A Flower upgrade moved the PRG; failing beats silently masking with 32-bit seeds.
            raise RuntimeError(f"{name} has no {_ATTR}; re-check fedft.federation.secagg")
        if getattr(mod, _ATTR) is not secure_pseudo_rand_gen:
            setattr(mod, _ATTR, secure_pseudo_rand_gen)
            replaced.append(name)
    if compact_uploads:
        client = _module(_CLIENT_MOD)
        if not hasattr(client, _SERIALIZER):
            raise RuntimeError(
                f"{_CLIENT_MOD} has no {_SERIALIZER}; re-check fedft.federation.secagg"
            )
        setattr(client, _SERIALIZER, _compact_ndarray_to_bytes)
    if replaced:
        log.debug("SecAgg+ mask PRG replaced (AES-256-CTR, full secret) in %s", replaced)


def is_secure_prg_installed() -> bool:
    """True when every module in PRG_SITES resolves `pseudo_rand_gen` to the secure PRG."""
    return all(getattr(_module(name), _ATTR, None) is secure_pseudo_rand_gen for name in PRG_SITES)


def is_compact_upload_installed() -> bool:
    """True when the client mod serializes masked vectors as uint32."""
    return getattr(_module(_CLIENT_MOD), _SERIALIZER, None) is _compact_ndarray_to_bytes


def client_mods(cfg: SecureAggregationConfig, *, seed: int) -> list[Callable[..., Any]]:
    """The mods for `ClientApp(client_fn=..., mods=...)`: Flower's `secaggplus_mod` when enabled,
    with its stochastic rounding drawn from (seed = run.seed, round, site).

    Installs the secure PRG first (the site masks in this process).
    """
    if not cfg.enabled:
        return []
    install_secure_prg()
    _install_seeded_quantize()
    return [SeededSecAggPlusMod(seed=seed)]


class SeededSecAggPlusMod:
    """Flower's `secaggplus_mod` with its stochastic rounding seeded per (run seed, round,
    site). A class, not a closure: Ray pickles the ClientApp, and a closure would carry this
    module's ContextVar with it (not picklable); an instance carries only the seed."""

    def __init__(self, *, seed: int):
        self.seed = seed

    def __call__(self, msg: Any, ctxt: Any, call_next: Any) -> Any:
        # The site is the node config's site-id, as the training client names it.
        from fedft.federation.site_identity import SiteIdentity  # noqa: PLC0415 (cheap)

        _install_seeded_quantize()  # idempotent; this may be a fresh Ray actor process
        site = SiteIdentity.from_node_config(dict(ctxt.node_config)).site_id
        token = _QUANTIZE_SEED.set(
            quantization_seed(seed=self.seed, server_round=run_round(msg), site_id=site)
        )
        try:
            return _module("flwr.client.mod").secaggplus_mod(msg, ctxt, call_next)
        finally:
            _QUANTIZE_SEED.reset(token)


# Flower quantizes with stochastic rounding drawn from numpy's *global* RNG
# (quantization._stochastic_round), unseeded in each Ray actor and shared by whichever sites
# that actor runs: two runs of one config differ from round 1, and a resumed run never
# reproduces the uninterrupted one. fedft seeds those draws per (run seed, round, site), set by
# the client mod for the call that masks, and restores the global state afterwards.
_QUANTIZE_SEED: contextvars.ContextVar[NDArray[np.uint32] | None] = contextvars.ContextVar(
    "fedft_secagg_quantize_seed", default=None
)
_QUANTIZE = "quantize"
_FIT_CONFIG = "fitins.config"  # where Flower's legacy message layout keeps FitIns.config


def run_round(msg: Any) -> str | int:
    """The run's round number for a SecAgg+ message.

    The stage that quantizes carries the fit instructions, whose `server_round` is the run's
    own count; Flower's group id restarts at 1 in a resumed run, so seeding from it made a
    resumed round 2 reuse round 1's draws. Other stages do not quantize: the group id will do.
    """
    fit_config = msg.content.config_records.get(_FIT_CONFIG)
    if fit_config is not None and "server_round" in fit_config:
        return int(fit_config["server_round"])
    return msg.metadata.group_id


def quantization_seed(*, seed: int, server_round: str | int, site_id: str) -> NDArray[np.uint32]:
    """256-bit MT19937 seed for one site's stochastic rounding in one round of one run."""
    digest = hashlib.sha256(f"fedft secagg quantize:{seed}:{server_round}:{site_id}".encode())
    return np.frombuffer(digest.digest(), dtype=np.uint32).copy()


def _install_seeded_quantize() -> None:
    """Make the client mod's `quantize` draw from the seed its fedft mod sets (idempotent)."""
    client = _module(_CLIENT_MOD)
    current = getattr(client, _QUANTIZE, None)
    if current is None:
        raise RuntimeError(f"{_CLIENT_MOD} has no {_QUANTIZE}; re-check fedft.federation.secagg")
    if getattr(current, "fedft_seeded", False):
        return
    flower_quantize = current

    def seeded_quantize(*args: Any, **kwargs: Any) -> Any:
        seed = _QUANTIZE_SEED.get()
        if seed is None:
            raise RuntimeError(
                "SecAgg+ quantization outside fedft's seeded client mod: use client_mods()"
            )
        saved = np.random.get_state()
        np.random.seed(seed)
        try:
            return flower_quantize(*args, **kwargs)
        finally:
            np.random.set_state(saved)

    seeded_quantize.fedft_seeded = True  # type: ignore[attr-defined]
    setattr(client, _QUANTIZE, seeded_quantize)


def build_secaggplus_workflow(
    cfg: SecureAggregationConfig, *, on_halt: Callable[[list[BaseException]], None]
) -> Any:
    """Flower's `SecAggPlusWorkflow` configured from the `secure_aggregation:` section.

    Installs the secure PRG first (the server unmasks in this process). The caller wraps it:
    `DefaultWorkflow(fit_workflow=build_secaggplus_workflow(cfg, on_halt=...))`.

    `on_halt(failures)` is called when a stage halts the round because too few sites answered:
    Flower then skips `aggregate_fit`, and with it the sites' own errors (a site that declined
    for lack of budget says so); `on_halt` gets them, so the round is not recorded as a bare
    timeout.
    """
    if not cfg.enabled:
        raise ValueError("secure_aggregation.enabled is false; use Flower's default fit workflow")
    install_secure_prg()
    from flwr.server.workflow import SecAggPlusWorkflow  # noqa: PLC0415 (Flower-only path)

    class HaltReportingSecAggPlusWorkflow(SecAggPlusWorkflow):  # type: ignore[misc]
        def _reported(self, stage: Callable[..., bool], *args: Any) -> bool:
            ok = stage(*args)
            if not ok:
                on_halt(list(args[-1].failures))  # args: grid, context, workflow state
            return ok

        def setup_stage(self, *args: Any) -> bool:
            return self._reported(super().setup_stage, *args)

        def share_keys_stage(self, *args: Any) -> bool:
            return self._reported(super().share_keys_stage, *args)

        def collect_masked_vectors_stage(self, *args: Any) -> bool:
            return self._reported(super().collect_masked_vectors_stage, *args)

        def unmask_stage(self, *args: Any) -> bool:
            return self._reported(super().unmask_stage, *args)

    return HaltReportingSecAggPlusWorkflow(
        num_shares=cfg.num_shares,
        reconstruction_threshold=cfg.reconstruction_threshold,
        max_weight=cfg.max_weight,
        clipping_range=cfg.effective_clipping_range,
        quantization_range=cfg.quantization_range,
        timeout=cfg.timeout,
    )
