import numpy as np
import pytest
import tensorflow as tf

from fedexp.aggregator.krum import build_krum

VALUE_TYPE = (tf.TensorSpec([3]), tf.TensorSpec([2, 2]))


def numpy_krum_scores(flat, f):
    d = ((flat[:, None] - flat[None]) ** 2).sum(-1)
    m = len(flat) - f - 2
    return np.array([np.sort(np.delete(d[i], i))[:m].sum() for i in range(len(flat))])


def clients(rng, honest=7, byzantine=2):
    flat = np.concatenate([1.0 + 0.1 * rng.normal(size=(honest, 7)), rng.normal(50.0, 5.0, size=(byzantine, 7))])
    flat = flat.astype(np.float32)[rng.permutation(honest + byzantine)]
    return flat, (flat[:, :3], flat[:, 3:].reshape(-1, 2, 2))


def test_krum_picks_an_honest_client_as_the_paper_scores_them():
    flat, value = clients(np.random.default_rng(0))
    agg = build_krum(VALUE_TYPE, f=2)
    out = agg.next(agg.initialize(), value)
    best = int(np.argmin(numpy_krum_scores(flat, 2)))
    assert int(out.measurements["krum"]["selected_client"]) == best
    assert np.abs(flat[best] - 1.0).max() < 1.0  # honest
    np.testing.assert_allclose(out.result[0], flat[best, :3])
    np.testing.assert_allclose(out.result[1], flat[best, 3:].reshape(2, 2))


def test_krum_needs_enough_clients_for_f():
    with pytest.raises(ValueError, match=r"f=2 Byzantine clients need clients_per_round >= 2f \+ 3 = 7, found 5"):
        build_krum(VALUE_TYPE, f=2, clients_per_round=5)
