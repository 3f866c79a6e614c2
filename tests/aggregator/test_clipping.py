import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.clipping import build_clipping
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.sum import build_sum

VALUE_TYPE = (tf.TensorSpec([3]), tf.TensorSpec([2]))


def test_fixed_clipping_scales_long_updates_to_the_norm_then_averages():
    a = np.array([[3.0, 0, 0], [0.3, 0, 0], [0, 0, 0]], np.float32)
    b = np.array([[0.0, 4.0], [0.0, 0.4], [0.0, 0.0]], np.float32)  # norms 5, 0.5, 0
    w = np.array([1.0, 2.0, 1.0], np.float32)
    agg = build_clipping(VALUE_TYPE, build_weighted_mean(VALUE_TYPE), clip_norm=1.0)
    out = agg.next(agg.initialize(), (a, b), w)
    # Client 0 scaled by 1/5; the others unchanged; then the weighted mean.
    np.testing.assert_allclose(out.result[0], [(0.6 * 1 + 0.3 * 2) / 4, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(out.result[1], [0, (0.8 * 1 + 0.4 * 2) / 4], rtol=1e-6)
    assert out.measurements["clipping"] == {"clip_norm": 1.0, "clipped_count": 1.0}
    assert "mean" in out.measurements and agg.is_weighted
    assert float(agg.get_hparams(agg.initialize())["clipping"]["clip_norm"]) == 1.0


def test_adaptive_clipping_converges_to_the_target_quantile_of_the_norms():
    rng = np.random.default_rng(0)
    agg = build_clipping((tf.TensorSpec([1]),), build_sum((tf.TensorSpec([1]),)), clip_norm=0.1,
                         target_quantile=0.8, learning_rate=0.2)
    state = agg.initialize()
    for _ in range(400):  # a stream of rounds, 100 clients each, norms ~ lognormal(0, 0.5)
        norms = rng.lognormal(0.0, 0.5, size=(100, 1)).astype(np.float32)
        state = agg.next(state, (norms,)).state
    expected = np.exp(0.5 * 0.8416)  # the lognormal's 80th percentile, 1.523
    assert float(state["own"]["clip_norm"]) == pytest.approx(expected, rel=0.08)


@pytest.mark.parametrize("kwargs, message", [
    ({"clip_norm": 0}, "clip_norm must be a number > 0"),
    ({"target_quantile": 1.5}, "target_quantile must be between 0 and 1"),
    ({"target_quantile": 0.5, "learning_rate": 0}, "learning_rate must be a number > 0"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_clipping(VALUE_TYPE, build_weighted_mean(VALUE_TYPE), **kwargs)
