"""Every decomposable aggregator aggregates a cohort split in two as it aggregates the whole:
finalize(merge(partial(A), partial(B))) == next(A ∪ B), state and measurements included, for two
rounds in a row. Those that need every value at once say they are not decomposable."""

import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.aggregator.clipping import build_clipping
from fedexp.aggregator.dp_gaussian import build_dp_gaussian
from fedexp.aggregator.krum import build_krum
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.median import build_median
from fedexp.aggregator.quantize import build_quantize
from fedexp.aggregator.secure_sum import build_secure_quantized_sum, build_secure_sum
from fedexp.aggregator.sum import build_sum
from fedexp.aggregator.trimmed_mean import build_trimmed_mean
from fedexp.aggregator.unweighted_mean import build_unweighted_mean
from fedexp.aggregator.zeroing import build_zeroing
from fedexp.templates.aggregation_process import merge_partials

T = (tf.TensorSpec([3, 4]), tf.TensorSpec([4]))

DECOMPOSABLE = {
    "mean": lambda: build_weighted_mean(T),
    "unweighted_mean": lambda: build_unweighted_mean(T),
    "sum": lambda: build_sum(T),
    "secure_sum mean": lambda: build_secure_sum(T, average=True, clip_range=2.0),
    "secure_sum sum": lambda: build_secure_sum(T, average=False, clip_range=2.0),
    "secure quantized sum, adaptive": lambda: build_secure_quantized_sum(T, upper_bound=1.0, target_quantile=0.5),
    "clipping, adaptive": lambda: build_clipping(T, build_weighted_mean(T), clip_norm=1.0, target_quantile=0.5),
    "zeroing, adaptive": lambda: build_zeroing(T, build_unweighted_mean(T), zeroing_norm=2.0, target_quantile=0.5),
    "quantize (each tensor)": lambda: build_quantize(T, build_weighted_mean(T), bits=2, rotation="none"),
    "dp_gaussian, adaptive": lambda: build_dp_gaussian(T, build_sum(T), clients_per_round=20, noise_multiplier=0.5,
                                                       target_quantile=0.5, seed=3),
    "dp_gaussian over secure_sum": lambda: build_dp_gaussian(T, build_secure_sum(T, average=False), clients_per_round=5),
    "robust_aggregator": lambda: fedexp.robust_aggregator().create(T),
    "secure_aggregator": lambda: fedexp.secure_aggregator().create(T),
    "secure_aggregator, unweighted": lambda: fedexp.secure_aggregator(weighted=False).create(T),
    "compression_aggregator": lambda: fedexp.compression_aggregator().create(T),
    "dp_aggregator": lambda: fedexp.dp_aggregator(0.5, 20).create(T),
}
NOT_DECOMPOSABLE = {
    "median": lambda: build_median(T),
    "trimmed_mean": lambda: build_trimmed_mean(T, beta=0.2),
    "krum": lambda: build_krum(T, f=1),
    "clipping around median": lambda: build_clipping(T, build_median(T)),
}


def cohort(seed, clients):
    """Two-level values (each client's tensor holds two numbers): stochastic quantization of them is
    exact, so the quantizing aggregators compare exactly too. One client's value is far out (zeroed, clipped)."""
    rng = np.random.default_rng(seed)
    value = []
    for spec in T:
        levels = rng.normal(size=[clients, 2]) * [[1.0, 0.3]]
        pick = rng.integers(0, 2, size=[clients, *spec.shape])
        value.append(np.take_along_axis(levels.reshape([clients, 2] + [1] * spec.shape.rank),
                                        pick[:, None], axis=1)[:, 0].astype(np.float32))
    value[0][0] *= 40.0
    return tf.nest.map_structure(tf.constant, (tuple(value), rng.uniform(1, 5, size=clients).astype(np.float32)))


def split_round(process, state, a, b):
    """One round with the cohort split: each part's partial, merged, finalized."""
    parts = [process.partial_fn(state, *args) for args in (a, b)]
    return process.finalize_fn(state, merge_partials(*parts))


def assert_same(x, y):
    tf.nest.map_structure(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), x, y)


@pytest.mark.parametrize("build", DECOMPOSABLE.values(), ids=DECOMPOSABLE.keys())
def test_a_split_cohort_aggregates_as_the_whole(build):
    process = build()
    assert process.is_decomposable
    state = whole_state = process.initialize()
    for round_seed in (1, 2):
        (va, wa), (vb, wb) = cohort(round_seed, 3), cohort(round_seed + 10, 2)
        a, b = ((va, wa), (vb, wb)) if process.is_weighted else ((va,), (vb,))
        whole = process.next(whole_state, *tf.nest.map_structure(lambda x, y: tf.concat([x, y], 0), a, b))
        split = split_round(process, state, a, b)
        assert_same(split.result, whole.result)
        assert_same(split.measurements, whole.measurements)
        assert_same(split.state, whole.state)
        state, whole_state = split.state, whole.state


def test_the_split_is_not_the_same_function_twice():
    """A guard on the guard: a mean over one part alone differs from the whole's."""
    process = build_weighted_mean(T)
    (va, wa), (vb, wb) = cohort(1, 3), cohort(11, 2)
    only_a = process.finalize_fn((), process.partial_fn((), va, wa))
    whole = process.next((), *tf.nest.map_structure(lambda x, y: tf.concat([x, y], 0), (va, wa), (vb, wb)))
    assert not np.allclose(only_a.result[0], whole.result[0])


@pytest.mark.parametrize("build", NOT_DECOMPOSABLE.values(), ids=NOT_DECOMPOSABLE.keys())
def test_aggregators_that_need_every_value_are_not_decomposable(build):
    process = build()
    assert not process.is_decomposable and process.partial_fn is None and process.finalize_fn is None
