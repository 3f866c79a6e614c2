import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.median import build_median

VALUE_TYPE = (tf.TensorSpec([3, 2], tf.float32), tf.TensorSpec([4], tf.float32))


@pytest.mark.parametrize("n", [5, 6])
def test_median_matches_numpy(n):
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=(n, 3, 2)).astype(np.float32), rng.normal(size=(n, 4)).astype(np.float32)
    agg = build_median(VALUE_TYPE)
    out = agg.next(agg.initialize(), (a, b))
    np.testing.assert_allclose(out.result[0], np.median(a, 0), rtol=1e-6)
    np.testing.assert_allclose(out.result[1], np.median(b, 0), rtol=1e-6)


def test_one_wildly_wrong_client_barely_moves_the_median():
    rng = np.random.default_rng(0)
    honest = 1.0 + 0.1 * rng.normal(size=(9, 4)).astype(np.float32)
    values = np.concatenate([honest, np.full((1, 4), 1e6, np.float32)])
    agg = build_median((tf.TensorSpec([4]),))
    (result,) = agg.next(agg.initialize(), (values,)).result
    assert np.abs(result - 1.0).max() < 0.2
    assert np.abs(values.mean(0) - 1.0).min() > 1e4  # the mean is ruined
