import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.model._functional import ModelWeights

WEIGHTS_TYPE = ModelWeights((tf.TensorSpec([2, 2]), tf.TensorSpec([2])), (tf.TensorSpec([], tf.int64),))


@pytest.fixture(scope="module")
def finalizer():
    return fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=0.5, momentum=0.9), WEIGHTS_TYPE)


def weights():
    return ModelWeights((np.ones([2, 2], np.float32), np.zeros([2], np.float32)), (np.int64(7),))


def test_the_update_is_a_pseudo_gradient(finalizer):
    update = (np.full([2, 2], 2.0, np.float32), np.array([1.0, -1.0], np.float32))
    state = finalizer.initialize()
    out = finalizer.next(state, weights(), update)
    np.testing.assert_allclose(out.result.trainable[0], 1.0 - 0.5 * 2.0)
    np.testing.assert_allclose(out.result.trainable[1], [-0.5, 0.5])
    assert out.result.non_trainable[0] == 7
    assert out.measurements["update_non_finite"] == 0
    # Momentum carries over to the next round: a <- 0.9 a + g.
    out2 = finalizer.next(out.state, out.result, update)
    np.testing.assert_allclose(out2.result.trainable[0], 0.0 - 0.5 * (0.9 * 2.0 + 2.0), rtol=1e-6)


def test_a_non_finite_update_is_rejected(finalizer):
    state = finalizer.initialize()
    first = finalizer.next(state, weights(), (np.ones([2, 2], np.float32), np.ones([2], np.float32)))
    bad = (np.full([2, 2], np.nan, np.float32), np.ones([2], np.float32))
    out = finalizer.next(first.state, first.result, bad)
    assert out.measurements["update_non_finite"] == 1
    for kept, before in zip(tf.nest.flatten(out), tf.nest.flatten((first.state, first.result))):
        np.testing.assert_array_equal(kept, before)


def test_hparams_are_the_server_optimizers(finalizer):
    state = finalizer.set_hparams(finalizer.initialize(), {"learning_rate": 0.0, "momentum": 0.9})
    out = finalizer.next(state, weights(), (np.ones([2, 2], np.float32), np.ones([2], np.float32)))
    np.testing.assert_allclose(out.result.trainable[0], 1.0)
    assert float(finalizer.get_hparams(state)["learning_rate"]) == 0.0
