import numpy as np
import tensorflow as tf

from fedexp.aggregator.sum import build_sum

VALUE_TYPE = (tf.TensorSpec([3, 2], tf.float32), tf.TensorSpec([4], tf.float32))


def test_sum_matches_numpy_and_counts_the_bytes_received():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 2)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    agg = build_sum(VALUE_TYPE)
    out = agg.next(agg.initialize(), (a, b))
    np.testing.assert_allclose(out.result[0], a.sum(0), rtol=1e-5)
    np.testing.assert_allclose(out.result[1], b.sum(0), rtol=1e-5)
    assert float(out.measurements["sum"]["bytes_received"]) == 5 * (6 + 4) * 4
    assert not agg.is_weighted
