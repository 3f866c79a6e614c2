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
