import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.quantize import build_quantize, hadamard
from fedexp.aggregator.unweighted_mean import build_unweighted_mean

VALUE_TYPE = (tf.TensorSpec([5, 4]), tf.TensorSpec([7]))  # 27 coordinates, 32 after padding


def value(rng):
    return rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=7).astype(np.float32)


def decoded(agg, x, clients, round_num=0):
    """Each of `clients` sends the same value x; the unweighted mean of what the server decodes."""
    state = agg.initialize()
    state["own"]["round"] = tf.constant(round_num, tf.int64)
    return agg.next(state, tuple(np.repeat(v[None], clients, 0) for v in x))


@pytest.mark.parametrize("rotation", ["none", "hadamard"])
def test_quantization_is_unbiased(rotation):
    x = value(np.random.default_rng(0))
    agg = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), bits=2, rotation=rotation)
    out = decoded(agg, x, 20000)
    one = decoded(agg, x, 1)
    for mean, single, v in zip(out.result, one.result, x):
        assert np.abs(single - v).max() > 0.05           # one client's decode is visibly off at 2 bits ...
        np.testing.assert_allclose(mean, v, atol=0.03)  # ... and the average over draws is the input


@pytest.mark.parametrize("rotation", ["none", "hadamard"])
def test_the_error_shrinks_with_bits(rotation):
    x = value(np.random.default_rng(1))
    errors = []
    for bits in (2, 4, 8):
        agg = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), bits=bits, rotation=rotation)
        out = [decoded(agg, x, 1, r).result for r in range(20)]
        errors.append(np.mean([sum(np.sum((a - v) ** 2) for a, v in zip(o, x)) for o in out]))
    assert errors[0] > 4 * errors[1] > 16 * errors[2]


def test_bits_and_compression_are_measured():
    x = value(np.random.default_rng(2))
    agg = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), bits=8, rotation="hadamard")
    m = decoded(agg, x, 3).measurements["quantize"]
    assert float(m["bits_per_client"]) == 32 * 8 + 64
    assert float(m["compression_ratio"]) == pytest.approx(27 * 32 / (32 * 8 + 64))
    assert float(m["bytes_received"]) == 3 * (32 * 8 + 64) / 8


def test_hadamard_is_orthonormal_and_its_own_inverse():
    x = np.random.default_rng(3).normal(size=(2, 16)).astype(np.float32)
    h = np.array([[1.0]])
    while len(h) < 16:
        h = np.block([[h, h], [h, -h]])
    np.testing.assert_allclose(hadamard(tf.constant(x)), x @ h / 4, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hadamard(hadamard(tf.constant(x))), x, rtol=1e-5, atol=1e-6)


def test_without_rotation_each_tensor_is_quantized_between_its_own_bounds():
    """A tensor of entries near 1e-3 next to one near 1e3: each decoded entry is within its own tensor's
    step (range / 255 at 8 bits), which a shared range would make a million times coarser."""
    rng = np.random.default_rng(4)
    x = (rng.uniform(0, 1e-3, size=(5, 4)).astype(np.float32), rng.uniform(0, 1e3, size=7).astype(np.float32))
    agg = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), bits=8, rotation="none")
    out = decoded(agg, x, 1)
    for got, v in zip(out.result, x):
        step = (v.max() - v.min()) / 255
        assert np.abs(got - v).max() <= step * 1.0001 and np.abs(got - v).max() > 0
    assert float(out.measurements["quantize"]["bits_per_client"]) == 27 * 8 + 2 * 64


@pytest.mark.parametrize("rotation", ["none", "hadamard"])
def test_tensors_at_or_below_the_threshold_are_sent_as_they_are(rotation):
    x = value(np.random.default_rng(5))
    agg = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), bits=2, rotation=rotation, threshold=7)
    out = decoded(agg, x, 1)
    np.testing.assert_array_equal(out.result[1], x[1])  # 7 elements: as is
    assert np.abs(out.result[0] - x[0]).max() > 0.05     # 20 elements: 2-bit quantized
    sent = 20 * 2 + 64 if rotation == "none" else 32 * 2 + 64  # (20 coordinates pad to 32 for the rotation)
    m = out.measurements["quantize"]
    assert float(m["bits_per_client"]) == sent + 7 * 32
    assert float(m["compression_ratio"]) == pytest.approx(27 * 32 / (sent + 7 * 32))
    everything = build_quantize(VALUE_TYPE, build_unweighted_mean(VALUE_TYPE), threshold=20, rotation=rotation)
    out = decoded(everything, x, 1)
    assert all(np.array_equal(a, v) for a, v in zip(out.result, x))
    assert float(out.measurements["quantize"]["bits_per_client"]) == 27 * 32
