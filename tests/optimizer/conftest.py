"""What the optimizer tests share: a small problem, and runs of ours and of Keras's on it."""

import keras
import numpy as np
import pytest
import tensorflow as tf


SPECS = (tf.TensorSpec([3, 2]), tf.TensorSpec([2]))


def run(optimizer, grads_per_step, weights):
    state = optimizer.initialize(SPECS)
    step = tf.function(optimizer.next)
    for grads in grads_per_step:
        state, weights = step(state, weights, grads)
    return [w.numpy() for w in weights]


def keras_run(optimizer, grads_per_step, weights):
    variables = [keras.Variable(w) for w in weights]
    for grads in grads_per_step:
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
    return [v.numpy() for v in variables]


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    weights = (rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32))
    grads = [(rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)) for _ in range(5)]
    return weights, grads


def assert_equals_keras(ours, theirs, problem):
    """Five steps of `ours` equal five of Keras's optimizer `theirs` on the same gradients."""
    weights, grads = problem
    for a, b in zip(run(ours, grads, weights), keras_run(theirs, grads, weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
