"""The SecAgg+ mask PRG: installed on both sides, uniform, keyed by every bit of the secret."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedft.federation import secagg

CLIENT_MOD = "flwr.client.mod.secure_aggregation.secaggplus_mod"
SERVER_WORKFLOW = "flwr.server.workflow.secure_aggregation.secaggplus_workflow"
UTILS = "flwr.common.secure_aggregation.secaggplus_utils"

# Critical values of chi-square at significance 0.001 (scipy.stats.chi2.ppf(0.999, dof)),
# written out so the test does not depend on scipy.
CHI2_CRIT_999 = {3: 16.266, 255: 330.520, 999: 1142.848}


def _secret(label: str, n: int = 32) -> bytes:
    # Deterministic "random" secrets, so the statistics below are reproducible.
    return hashlib.shake_256(label.encode()).digest(n)


def _chi2(values: np.ndarray, bins: int) -> float:
    counts = np.bincount(values, minlength=bins)
    expected = values.size / bins
    return float(np.sum((counts - expected) ** 2) / expected)


# --- installation ---------------------------------------------------------------------------


def test_install_replaces_the_prg_in_client_mod_and_server_workflow():
    # Execute
    secagg.install_secure_prg()
    # Assert: by identity, on the modules Flower's code looks the name up in.
    for name in (CLIENT_MOD, SERVER_WORKFLOW, UTILS):
        assert importlib.import_module(name).pseudo_rand_gen is secagg.secure_pseudo_rand_gen
        assert sys.modules[name].pseudo_rand_gen is secagg.secure_pseudo_rand_gen
    assert set(secagg.PRG_SITES) == {CLIENT_MOD, SERVER_WORKFLOW, UTILS}
    assert secagg.is_secure_prg_installed()
    assert secagg.is_compact_upload_installed()


def test_the_import_as_trap_gives_the_function_not_the_module():
    # `import pkg.secaggplus_mod as m` binds the function the package re-exports under the
    # submodule's name; setting m.pseudo_rand_gen would patch nothing.
    import flwr.client.mod.secure_aggregation.secaggplus_mod as m

    assert callable(m) and not hasattr(m, "pseudo_rand_gen")
    assert importlib.import_module(CLIENT_MOD).secaggplus_mod is m


@pytest.mark.parametrize("site", [CLIENT_MOD, SERVER_WORKFLOW, UTILS])
def test_one_unpatched_site_is_detected_and_install_is_idempotent(monkeypatch, site):
    # Prepare
    secagg.install_secure_prg()
    monkeypatch.setattr(importlib.import_module(site), "pseudo_rand_gen", secagg.flower_pseudo_rand_gen)
    # Execute / Assert
    assert not secagg.is_secure_prg_installed()
    secagg.install_secure_prg()
    secagg.install_secure_prg()
    assert secagg.is_secure_prg_installed()


def test_grep_of_installed_flower_finds_no_other_prg_import():
    # If a Flower upgrade imports pseudo_rand_gen somewhere new, PRG_SITES must grow.
    import flwr

    root = importlib.import_module("pathlib").Path(flwr.__file__).parent
    users = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts)
        for p in root.rglob("*.py")
        if "pseudo_rand_gen" in p.read_text(encoding="utf-8")
    }
    assert users == set(secagg.PRG_SITES)


def test_fresh_process_uses_flowers_prg_until_install():
    # A new process (a Ray actor, a SuperNode) starts with Flower's PRG; install fixes it.
    code = (
        "import importlib\n"
        "from fedft.federation import secagg\n"
        "before = secagg.is_secure_prg_installed() or secagg.is_compact_upload_installed()\n"
        "secagg.install_secure_prg()\n"
        f"from {CLIENT_MOD} import pseudo_rand_gen as late\n"
        "print(before, secagg.is_secure_prg_installed(), late is secagg.secure_pseudo_rand_gen)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


# --- output contract ---------------------------------------------------------------------------


def test_output_matches_flowers_contract():
    # Prepare
    shapes = [(), (2, 3), (0,), (4,)]
    # Execute
    ours = secagg.secure_pseudo_rand_gen(_secret("a"), 2**32, shapes)
    theirs = secagg.flower_pseudo_rand_gen(_secret("a"), 2**32, shapes)
    # Assert
    assert [a.shape for a in ours] == [a.shape for a in theirs] == shapes
    assert [a.dtype for a in ours] == [a.dtype for a in theirs] == [np.dtype(np.int64)] * 4


def test_known_answer_is_hkdf_sha256_then_aes256_ctr():
    # The construction, spelled out: a change here breaks sites on different fedft versions.
    seed = bytes(range(32))
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=b"fedft secagg+ mask prg v1 (AES-256-CTR)",
    ).derive(seed)
    stream = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor().update(bytes(24))
    expected = [int.from_bytes(stream[i : i + 4], "little") for i in range(0, 24, 4)]
    # Execute
    got = secagg.secure_pseudo_rand_gen(seed, 2**32, [(2,), (4,)])
    # Assert
    assert [int(v) for a in got for v in a] == expected
    assert expected == [3896062569, 2524719788, 1008714037, 2039720271, 1068748553, 4027802168]


def test_same_secret_same_mask():
    secret = _secret("determinism")
    first = secagg.secure_pseudo_rand_gen(secret, 2**32, [(1000,), (7, 7)])
    second = secagg.secure_pseudo_rand_gen(secret, 2**32, [(1000,), (7, 7)])
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("seed", [b"", b"short", 12345])
def test_short_or_non_bytes_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed must be at least 16 bytes"):
        secagg.secure_pseudo_rand_gen(seed, 2**32, [(3,)])


@pytest.mark.parametrize("num_range", [0, 1, 2**63 + 1])
def test_out_of_range_num_range_is_refused(num_range):
    with pytest.raises(ValueError, match="num_range"):
        secagg.secure_pseudo_rand_gen(_secret("r"), num_range, [(3,)])


# --- uniformity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["u1", "u2", "u3"])
def test_masks_are_uniform_over_2_to_the_32(key):
    # Prepare
    values = secagg.secure_pseudo_rand_gen(_secret(key), 2**32, [(1_000_000,)])[0]
    # Execute: chi-square over 256 bins of the top byte and of the bottom byte.
    top, bottom = _chi2(values >> 24, 256), _chi2(values & 0xFF, 256)
    # Assert
    assert values.min() >= 0 and values.max() < 2**32
    assert top < CHI2_CRIT_999[255], top
    assert bottom < CHI2_CRIT_999[255], bottom


def test_masks_are_uniform_for_a_range_that_is_not_a_power_of_two():
    # 3 * 2^30: rejection sampling; wide-integer modulo would also be fine here, but must not
    # favour the lower thirds.
    values = secagg.secure_pseudo_rand_gen(_secret("thirds"), 3 * 2**30, [(300_000,)])[0]
    assert values.max() < 3 * 2**30
    assert _chi2(values // 2**30, 3) < CHI2_CRIT_999[3]
    small = secagg.secure_pseudo_rand_gen(_secret("small"), 1000, [(200_000,)])[0]
    assert _chi2(small, 1000) < CHI2_CRIT_999[999]


def test_top_value_is_reachable_unlike_flowers():
    # Flower draws randint(0, num_range - 1), i.e. from [0, num_range - 2].
    ours = secagg.secure_pseudo_rand_gen(_secret("top"), 4, [(4000,)])[0]
    theirs = secagg.flower_pseudo_rand_gen(_secret("top"), 4, [(4000,)])[0]
    assert set(np.unique(ours)) == {0, 1, 2, 3}
    assert set(np.unique(theirs)) == {0, 1, 2}


# --- seed sensitivity ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", [32, 44])  # private-mask seed; pairwise key (base64 text)
def test_flipping_any_bit_of_the_secret_changes_the_mask(length):
    # Prepare
    secret = _secret("bits", length)
    base = secagg.secure_pseudo_rand_gen(secret, 2**32, [(64,)])[0]
    changed_fraction = []
    for bit in range(8 * length):
        flipped = bytearray(secret)
        flipped[bit // 8] ^= 1 << (bit % 8)
        # Execute
        other = secagg.secure_pseudo_rand_gen(bytes(flipped), 2**32, [(64,)])[0]
        # Assert: every bit matters, and the mask changes completely (avalanche).
        assert not np.array_equal(base, other), f"bit {bit} does not affect the mask"
        changed_fraction.append(np.mean(base != other))
    assert min(changed_fraction) > 0.9


def test_secrets_colliding_in_flowers_32_bit_fold_give_different_masks():
    # Prepare: swapping two 4-byte words keeps the XOR fold Flower seeds RandomState with.
    a = _secret("fold")
    b = a[4:8] + a[0:4] + a[8:]
    assert a != b
    # Execute
    flower_a, flower_b = (secagg.flower_pseudo_rand_gen(s, 2**32, [(100,)])[0] for s in (a, b))
    ours_a, ours_b = (secagg.secure_pseudo_rand_gen(s, 2**32, [(100,)])[0] for s in (a, b))
    # Assert: Flower's masks collide (only 2^32 distinct masks exist); ours do not.
    assert np.array_equal(flower_a, flower_b)
    assert not np.array_equal(ours_a, ours_b)
