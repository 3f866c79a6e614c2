import re

import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.secure_sum import build_secure_sum


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_the_decoded_sum_is_the_plain_sum_within_the_quantization_bound(bits):
    values = np.random.default_rng(bits).uniform(-0.9, 0.9, size=(20, 50)).astype(np.float32)
    agg = build_secure_sum((tf.TensorSpec([50]),), average=False, clip_range=1.0, bits=bits, modulus_bits=32)
    out = agg.next(agg.initialize(), (values,))
    bound = 20 * 1.0 / (2 ** bits - 1)  # each client rounds by at most half a level (2r / L)
    error = np.abs(out.result[0] - values.sum(0)).max()
    assert error <= bound + 1e-4
    assert float(out.measurements["secure_sum"]["bytes_received"]) == 20 * 50 * 32 / 8


def test_values_outside_the_range_are_clipped_and_the_mean_is_available():
    values = np.array([[5.0, 0.5], [-5.0, 0.25]], np.float32)
    agg = build_secure_sum((tf.TensorSpec([2]),), clip_range=1.0, average=True)
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], [0.0, 0.375], atol=1e-4)
    assert float(out.measurements["secure_sum"]["clipped_coordinates"]) == 2.0


def test_a_modulus_that_would_wrap_is_refused():
    with pytest.raises(ValueError, match="modulus_bits=16 wraps the sum of 10 clients' 16-bit values; "
                                         "use modulus_bits >= 20"):
        build_secure_sum((tf.TensorSpec([2]),), average=False, bits=16, modulus_bits=16, clients_per_round=10)


def tff_quantized_sum(values, lower, upper):
    """TFF's secure_quantized_sum written out in NumPy (float64): clip, scale to [0, 2^32 - 1], round, sum, decode."""
    scale = (2 ** 32 - 1) / (upper - lower)
    shift = np.round(lower * scale).astype(np.int64)
    q = np.clip(np.round(np.clip(values.astype(np.float64), lower, upper) * scale).astype(np.int64) - shift, 0,
                2 ** 32 - 1)
    return ((q.sum(axis=0) + shift * len(values)).astype(np.float64) * ((upper - lower) / (2 ** 32 - 1))).astype(
        np.float32)


@pytest.mark.parametrize("lower", [None, -0.5])
def test_tffs_secure_sum_is_the_clipped_sum_quantized_to_32_bits(lower):
    import fedexp
    values = np.random.default_rng(0).uniform(-3, 3, size=(5, 40)).astype(np.float32)
    agg = fedexp.SecureSumFactory(2.0, lower).create((tf.TensorSpec([40]),))
    out = agg.next(agg.initialize(), (values,))
    low = -2.0 if lower is None else lower
    np.testing.assert_array_equal(out.result[0], tff_quantized_sum(values, low, 2.0))
    np.testing.assert_allclose(out.result[0], np.clip(values, low, 2.0).sum(0), atol=5 * (2.0 - low) / 2 ** 32 + 1e-6)
    m = out.measurements["secure_sum"]
    assert float(m["secure_upper_clipped_count"]) == np.sum(values.max(1) > 2.0)
    assert float(m["secure_lower_clipped_count"]) == np.sum(values.min(1) < low)
    assert (float(m["secure_lower_threshold"]), float(m["secure_upper_threshold"])) == (low, 2.0)


def test_an_adaptive_bound_tracks_the_quantile_of_each_clients_largest_entry():
    """TFF's no-noise quantile estimate (initial 50, quantile 0.95, rate 1, x2): clients' largest |entries|
    10, 60 and 250 -> a third at or below 50; the bound is 100, the third client clipped to it."""
    from fedexp.aggregator.secure_sum import build_secure_quantized_sum
    values = np.array([[10.0, -1.0], [3.0, -60.0], [250.0, 0.0]], np.float32)
    agg = build_secure_quantized_sum((tf.TensorSpec([2]),), upper_bound=50.0, target_quantile=0.95, learning_rate=1.0,
                                     multiplier=2.0)
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], [10 + 3 + 100, -1 - 60 + 0], atol=1e-4)
    assert float(out.state["estimate"]) == pytest.approx(50 * np.exp(-(1 / 3 - 0.95)), rel=1e-6)
    assert float(out.measurements["secure_sum"]["secure_upper_clipped_count"]) == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"upper_bound": 0.0}, "upper_bound must be a number > 0, found 0.0"),
    ({"upper_bound": 1.0, "lower_bound": 1.0}, "upper_bound must be a number > 1.0, found 1.0 (lower_bound)"),
    ({"upper_bound": 1.0, "lower_bound": 0.0, "target_quantile": 0.5}, "lower_bound must be unset with target_quantile"),
])
def test_bounds_that_make_no_range_are_refused(kwargs, message):
    from fedexp.aggregator.secure_sum import build_secure_quantized_sum
    with pytest.raises(ValueError, match=re.escape(message)):
        build_secure_quantized_sum((tf.TensorSpec([2]),), **kwargs)
