"""A site's side of site-level DP: clip the whole delta to the server's announced norm, refuse
a server that does not run the mechanism the site's config promises, report a shared weight."""

import numpy as np
import pytest

from fedft.config import load_config
from fedft.federation.site_dp import clip_for_site_dp, reported_weight
from fedft.round.masking_bounds import delta_norm

SITE_DP = ["site_dp.enabled=true", "site_dp.noise_multiplier=1.0", "site_dp.clipping_norm=0.5"]


def test_the_delta_is_clipped_to_the_announced_norm_and_not_modified_in_place():
    # Prepare: norm 5 over two tensors
    cfg = load_config(None, SITE_DP)
    delta = [np.full(4, 2.0, dtype=np.float32), np.array([3.0], dtype=np.float32)]

    # Execute
    out = clip_for_site_dp(cfg, delta, server_config={"clipping_norm": 0.5}, site_id="s")

    # Assert: scaled by 0.5 / 5, direction kept, inputs untouched
    assert delta_norm(out) <= 0.5 and delta_norm(out) == pytest.approx(0.5, rel=1e-6)
    np.testing.assert_allclose(out[1] / out[0][0], [1.5], rtol=1e-6)
    assert delta[0][0] == 2.0


def test_a_small_delta_is_left_as_is():
    cfg = load_config(None, SITE_DP)
    delta = [np.array([0.1, 0.2], dtype=np.float32)]
    out = clip_for_site_dp(cfg, delta, server_config={"clipping_norm": 0.5}, site_id="s")
    np.testing.assert_array_equal(out[0], delta[0])


@pytest.mark.parametrize(
    ("overrides", "server_config", "message"),
    [
        (SITE_DP, {}, "s: site_dp.enabled is true here, but the server's round config has no clipping_norm"),
        (SITE_DP, {"clipping_norm": 2.0}, "s: the server clips updates to 2, this site's site_dp.clipping_norm is 0.5"),
        ([], {"clipping_norm": float("nan")}, "s: the server announced clipping_norm=nan"),
    ],
)
def test_a_site_refuses_a_server_that_does_not_match_its_promise(overrides, server_config, message):
    cfg = load_config(None, overrides)
    with pytest.raises(ValueError, match=message):
        clip_for_site_dp(cfg, [np.ones(2, np.float32)], server_config=server_config, site_id="s")


def test_a_site_without_site_dp_still_clips_when_the_server_asks():
    # The server's noise covers only clipped updates, whatever the site's own config says.
    cfg = load_config(None, [])
    out = clip_for_site_dp(cfg, [np.full(4, 1.0, np.float32)], server_config={"clipping_norm": 1.0}, site_id="s")
    assert delta_norm(out) == pytest.approx(1.0, rel=1e-6)


def test_the_reported_weight_is_shared_under_site_dp_and_the_record_count_otherwise():
    with_secagg = load_config(None, [*SITE_DP, "secure_aggregation.max_weight=300"])
    without = load_config(None, [*SITE_DP, "secure_aggregation.enabled=false", "federation.min_fit_clients=1"])
    assert reported_weight(with_secagg, num_records=123, site_dp_round=False) == 123
    # SecAgg+ scales by weight / max_weight: a factor of exactly 1 keeps full precision.
    assert reported_weight(with_secagg, num_records=123, site_dp_round=True) == 300
    assert reported_weight(without, num_records=123, site_dp_round=True) == 1
