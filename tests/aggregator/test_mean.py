import numpy as np
import pytest
import tensorflow as tf

import fedexp

VALUE_TYPE = (tf.TensorSpec([3, 2], tf.float32), tf.TensorSpec([4], tf.float32))


@pytest.fixture(scope="module")
def mean():
    return fedexp.build_weighted_mean(VALUE_TYPE)


def test_weighted_mean_matches_numpy(mean):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 2)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    w = rng.uniform(0, 10, 5).astype(np.float32)
    out = mean.next(mean.initialize(), (a, b), w)
    np.testing.assert_allclose(out.result[0], np.average(a, axis=0, weights=w), rtol=1e-5)
    np.testing.assert_allclose(out.result[1], np.average(b, axis=0, weights=w), rtol=1e-5)
    assert float(out.measurements["mean"]["mean_weight"]) == pytest.approx(w.sum(), rel=1e-6)
    assert float(out.measurements["mean"]["bytes_received"]) == 5 * (6 + 4 + 1) * 4  # values and weights
    assert mean.is_weighted


def test_zero_total_weight_gives_zero_not_nan(mean):
    out = mean.next(mean.initialize(), (np.ones([2, 3, 2], np.float32), np.ones([2, 4], np.float32)), [0.0, 0.0])
    assert not out.result[0].numpy().any()


def test_the_signature_places_values_at_clients_and_the_result_at_server(mean):
    assert mean.next_fn.type_signature == (
        "(<<>,<float32[?,3,2],float32[?,4]>@CLIENTS,float32[?]@CLIENTS> -> "
        "<state=<>,result=<float32[3,2],float32[4]>@SERVER,measurements=<mean=<bytes_received=float32,mean_weight=float32>>@SERVER>)")
