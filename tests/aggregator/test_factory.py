"""TFF's factory form: factories compose, build for a value type, and go into an algorithm as
`model_aggregator=`."""


import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.aggregator.clipping import build_clipping
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.templates.composers import compose_learning_process


def test_zeroing_by_default_measures_the_largest_entry_as_tff():
    vt = (tf.TensorSpec([2]),)
    agg = fedexp.zeroing_factory(1.0, fedexp.SumFactory()).create(vt)
    values = np.array([[0.8, 0.8], [2.0, 0.0]], np.float32)  # L2 1.13 (kept by max-abs 0.8) and 2 (zeroed)
    np.testing.assert_allclose(agg.next(agg.initialize(), (values,)).result[0], [0.8, 0.8])
    l2 = fedexp.zeroing_factory(1.0, fedexp.SumFactory(), norm_order=2.0).create(vt)
    np.testing.assert_allclose(l2.next(l2.initialize(), (values,)).result[0], [0.0, 0.0])
    with pytest.raises(ValueError, match="norm_order"):
        fedexp.zeroing_factory(1.0, fedexp.SumFactory(), norm_order=1.0)


def test_clipping_then_the_weighted_mean_by_hand():
    vt = (tf.TensorSpec([2]),)
    agg = fedexp.clipping_factory(1.0, fedexp.MeanFactory()).create(vt)
    values, weights = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32), np.array([1.0, 3.0], np.float32)
    result = agg.next(agg.initialize(), (values,), weights).result[0]
    np.testing.assert_allclose(result, (1 * np.array([0.6, 0.8]) + 3 * np.array([0.3, 0.4])) / 4, rtol=1e-6)
    assert "clip_norm=1.0" in repr(fedexp.clipping_factory(1.0, fedexp.MeanFactory()))
    with pytest.raises(TypeError, match="must be a factory"):
        fedexp.clipping_factory(1.0, build_weighted_mean(vt))


def test_model_aggregator_is_built_for_the_models_weights(linear_fn):
    rng = np.random.default_rng(0)
    cohort = fedexp.Cohort(rng.normal(size=(3, 2, 4, 6)).astype(np.float32),
                           rng.integers(0, 3, (3, 2, 4)).astype(np.int32), np.ones((3, 2, 4), np.float32),
                           np.arange(3))
    optimizer = fedexp.build_sgdm(0.5)
    factory = fedexp.clipping_factory(0.05, fedexp.MeanFactory())
    process = fedexp.build_weighted_fed_avg(linear_fn, optimizer, model_aggregator=factory)
    weights = fedexp.weights_type(linear_fn())
    by_hand = compose_learning_process(
        lambda: fedexp.ModelWeights.from_model(linear_fn()), fedexp.build_broadcast_process(weights),
        fedexp.build_model_delta_client_work(linear_fn, optimizer),
        build_clipping(weights.trainable, build_weighted_mean(weights.trainable), clip_norm=0.05),
        fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(1.0), weights))
    ours, theirs = (p.get_model_weights(p.next(p.initialize(), cohort).state).trainable for p in (process, by_hand))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    moved = [a - b for a, b in zip(ours, process.get_model_weights(process.initialize()).trainable)]
    assert float(tf.linalg.global_norm(moved)) <= 0.05 + 1e-6  # every client clipped to 0.05: so is their mean
    with pytest.raises(TypeError, match="model_aggregator must be an aggregation factory"):
        fedexp.build_weighted_fed_avg(linear_fn, optimizer, model_aggregator=build_weighted_mean(weights.trainable))


def test_robust_aggregator_is_the_robust_fedavg_preset():
    from fedexp.runner.build import build_experiment
    from tests.conftest import TINY, compose
    preset = build_experiment(compose(*TINY, "+algo=robust_fedavg")).process
    model_fn = build_experiment(compose(*TINY)).model_fn
    built = fedexp.build_weighted_fed_avg(model_fn, fedexp.build_sgdm(0.1),
                                          model_aggregator=fedexp.robust_aggregator())
    assert built.next_fn.type_signature == preset.next_fn.type_signature
    assert tf.nest.map_structure(float, built.get_hparams(built.initialize())) == \
        tf.nest.map_structure(float, preset.get_hparams(preset.initialize()))
    assert [float(v) for v in tf.nest.flatten(built.initialize().aggregator)] == \
        [float(v) for v in tf.nest.flatten(preset.initialize().aggregator)]  # the estimates start alike


def test_the_robust_aggregator_keeps_and_clips_a_large_update_that_is_not_one_huge_entry():
    """TFF's zeroing looks at the largest entry: an update of 100 entries of 2.5 (L2 norm 25, max 2.5)
    passes its first threshold 2 x 10 + 1 and is clipped to norm 1; an update with one entry of 30 is zeroed."""
    vt = (tf.TensorSpec([100]),)
    agg = fedexp.robust_aggregator(weighted=False).create(vt)
    values = np.stack([np.full(100, 2.5, np.float32), np.eye(100, dtype=np.float32)[0] * 30])
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], np.full(100, 2.5) / 25 / 2, rtol=1e-6)  # clipped to 1, halved
    assert float(out.measurements["zeroing"]["zeroed_count"]) == 1.0


def test_the_gaussian_mechanism_without_noise_is_the_clipped_sum_over_the_cohort_by_hand():
    vt = (tf.TensorSpec([2]),)
    agg = fedexp.DifferentiallyPrivateFactory.gaussian_fixed(0.0, 4, clip=1.0).create(vt)
    values = np.array([[3.0, 4.0], [0.3, 0.4]], np.float32)  # clipped to [0.6, 0.8]; kept
    np.testing.assert_allclose(agg.next(agg.initialize(), (values,)).result[0], [(0.6 + 0.3) / 4, (0.8 + 0.4) / 4],
                               rtol=1e-6)


def test_dp_aggregator_is_the_dp_fedavg_presets_aggregator_inside_tffs_zeroing():
    from fedexp.runner.build import build_experiment
    from tests.conftest import TINY, compose
    preset = build_experiment(compose(*TINY, "+algo=dp_fedavg", "clients_per_round=100", "data.num_clients=200")).process
    model_fn = build_experiment(compose(*TINY, "model=linear")).model_fn
    def built(zeroing):
        return fedexp.build_unweighted_fed_avg(model_fn, fedexp.build_sgdm(0.1), fedexp.build_sgdm(1.0, 0.9),
                                               model_aggregator=fedexp.dp_aggregator(1.0, 100, zeroing=zeroing))
    plain = built(False)
    assert plain.next_fn.type_signature == preset.next_fn.type_signature
    assert [float(v) for v in tf.nest.flatten(plain.initialize().aggregator)] == \
        [float(v) for v in tf.nest.flatten(preset.initialize().aggregator)]
    assert "zeroing=" in built(True).next_fn.type_signature and "zeroing=" not in plain.next_fn.type_signature


def test_compression_aggregator_quantizes_only_tensors_above_20000_elements_inside_tffs_robustness():
    """TFF 0.87's compression_aggregator: 8 bits for the 20,001-element tensor, the 10-element one as is,
    the mean of the decoded values, inside the robust aggregator's adaptive clipping and zeroing."""
    vt = (tf.TensorSpec([20001]), tf.TensorSpec([10]))
    agg = fedexp.compression_aggregator(weighted=False).create(vt)
    assert list(agg.next_fn.result_type.measurements) == ["zeroing", "clipping", "quantize", "unweighted_mean"]
    rng = np.random.default_rng(0)
    big = rng.uniform(-1, 1, size=(2, 20001)).astype(np.float32) * 1e-3  # norms ~0.08: not clipped
    small = rng.uniform(-1, 1, size=(2, 10)).astype(np.float32) * 1e-3
    out = agg.next(agg.initialize(), (big, small))
    np.testing.assert_allclose(out.result[1], small.mean(0), rtol=1e-6)
    step = (big.max(1) - big.min(1)).max() / 255
    error = np.abs(out.result[0] - big.mean(0))
    assert 0 < error.max() <= step and float(out.measurements["clipping"]["clipped_count"]) == 0
    assert float(out.measurements["quantize"]["bits_per_client"]) == 20001 * 8 + 64 + 10 * 32
    weighted = fedexp.compression_aggregator(zeroing=False, clipping=False).create(vt)
    assert list(weighted.next_fn.result_type.measurements) == ["quantize", "mean"]


def test_the_mean_over_secure_sums_is_tffs_quantized_weighted_sum_over_the_quantized_weight_sum():
    """TFF 0.87's secure_aggregator without clipping and zeroing: value x weight summed between ±100 (2 x the
    initial estimate 50), the weights between 0 and 2^20 - 1, both by TFF's 32-bit formula (test_secure_sum's)."""
    from tests.aggregator.test_secure_sum import tff_quantized_sum
    vt = (tf.TensorSpec([3]), tf.TensorSpec([2, 2]))
    rng = np.random.default_rng(1)
    values = (rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 2, 2)).astype(np.float32))
    weights = np.array([3.0, 17.0, 40.0, 1.0], np.float32)
    values[0][2, 0] = 3.0  # x 40 = 120: clipped to 100
    agg = fedexp.secure_aggregator(zeroing=False, clipping=False).create(vt)
    out = agg.next(agg.initialize(), values, weights)
    weight_sum = tff_quantized_sum(weights[:, None], 0.0, 2.0 ** 20 - 1)[0]
    assert weight_sum != weights.sum() and abs(weight_sum - weights.sum()) < 4 / 4096  # quantized: not exact
    for got, v in zip(out.result, values):
        weighted = (v * weights.reshape(-1, *[1] * (v.ndim - 1))).reshape(4, -1)
        np.testing.assert_allclose(got.numpy().ravel(), tff_quantized_sum(weighted, -100.0, 100.0) / weight_sum,
                                   rtol=1e-6)
    m = out.measurements["mean"]
    assert float(m["mean_value"]["secure_sum"]["secure_upper_threshold"]) == 100.0
    assert float(m["mean_weight"]["secure_sum"]["secure_upper_threshold"]) == 2.0 ** 20 - 1
    largest = np.array([max(np.abs(v[i] * w).max() for v in values) for i, w in enumerate(weights)])
    clipped = sum(float(m["mean_value"]["secure_sum"][f"secure_{b}_clipped_count"]) for b in ("upper", "lower"))
    assert clipped == np.sum(largest > 100) == 1
    below = np.mean(largest <= 50)
    assert float(out.state["value_sum"]["estimate"]) == pytest.approx(50 * np.exp(-(below - 0.95)), rel=1e-6)


def test_the_secure_aggregator_keeps_the_robust_aggregators_stages_and_counts_clients_exactly():
    vt = (tf.TensorSpec([100]),)
    values = np.stack([np.full(100, 2.5, np.float32), np.eye(100, dtype=np.float32)[0] * 30, np.full(100, 0.01)])
    secure = fedexp.secure_aggregator(weighted=False).create(vt)
    robust = fedexp.robust_aggregator(weighted=False).create(vt)
    assert list(secure.next_fn.result_type.measurements) == ["zeroing", "clipping", "unweighted_mean"]
    ours, theirs = (a.next(a.initialize(), (values,)) for a in (secure, robust))
    np.testing.assert_allclose(ours.result[0], theirs.result[0], atol=3 * 200 / 2 ** 32)  # 3 clients, range ±100
    assert float(ours.measurements["unweighted_mean"]["mean_weight"]["secure_sum"]["secure_upper_threshold"]) == 1.0
    assert float(ours.measurements["zeroing"]["zeroed_count"]) == 1.0


def test_a_mean_over_sums_takes_factories():
    with pytest.raises(TypeError, match="weight_sum_factory must be a factory"):
        fedexp.MeanFactory(fedexp.SumFactory(), build_weighted_mean((tf.TensorSpec([2]),)))
    plain = fedexp.UnweightedMeanFactory(fedexp.SumFactory()).create((tf.TensorSpec([2]),))
    values = np.array([[1.0, 2.0], [3.0, 6.0]], np.float32)
    np.testing.assert_array_equal(plain.next(plain.initialize(), (values,)).result[0], [2.0, 4.0])


def test_fed_avg_with_the_secure_aggregator_moves_as_with_the_robust_one(linear_fn):
    rng = np.random.default_rng(0)
    cohort = fedexp.Cohort(rng.normal(size=(3, 2, 4, 6)).astype(np.float32),
                           rng.integers(0, 3, (3, 2, 4)).astype(np.int32), np.ones((3, 2, 4), np.float32),
                           np.arange(3))
    moved = []
    for factory in (fedexp.secure_aggregator(), fedexp.robust_aggregator()):
        process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(0.5), model_aggregator=factory)
        state = process.initialize()
        for _ in range(2):
            state = process.next(state, cohort).state
        moved.append(process.get_model_weights(state).trainable)
    for a, b in zip(*moved):  # 8 examples a client, weighted updates within ±100: 3 x 200 / 2^32 / 24 apart at most
        np.testing.assert_allclose(a, b, atol=1e-6)
