import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.sum import build_sum
from fedexp.aggregator.zeroing import build_zeroing
from fedexp.aggregator.unweighted_mean import build_unweighted_mean


def test_updates_over_the_norm_or_not_finite_are_zeroed_and_counted():
    values = np.array([[1.0, 1.0], [30.0, 40.0], [np.nan, 0.0], [2.0, 0.0]], np.float32)
    vt = (tf.TensorSpec([2]),)
    agg = build_zeroing(vt, build_unweighted_mean(vt), zeroing_norm=10.0)
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], [(1 + 2) / 4, 1 / 4])  # zeros still count, as in TFF
    assert out.measurements["zeroing"] == {"zeroing_norm": 10.0, "zeroed_count": 2.0}


def test_max_abs_norm():
    values = np.array([[3.0, 3.0], [0.0, 5.0]], np.float32)  # L2 4.24 / 5, max-abs 3 / 5
    vt = (tf.TensorSpec([2]),)
    agg = build_zeroing(vt, build_sum(vt), zeroing_norm=4.0, norm_order="inf")
    np.testing.assert_allclose(agg.next(agg.initialize(), (values,)).result[0], [3.0, 3.0])


def test_the_adaptive_threshold_is_a_multiple_of_the_quantile_plus_an_increment():
    rng = np.random.default_rng(1)
    vt = (tf.TensorSpec([1]),)
    agg = build_zeroing(vt, build_sum(vt), zeroing_norm=10.0, target_quantile=0.5, learning_rate=0.2)
    state = agg.initialize()
    for _ in range(300):
        out = agg.next(state, (rng.uniform(0, 4, size=(200, 1)).astype(np.float32),))
        state = out.state
    # The median of U(0, 4) is 2: threshold 2 * 2 + 1.
    assert float(out.measurements["zeroing"]["zeroing_norm"]) == pytest.approx(5.0, rel=0.08)
    assert float(out.measurements["zeroing"]["zeroed_count"]) == 0.0
