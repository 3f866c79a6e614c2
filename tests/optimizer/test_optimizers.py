"""Each optimizer against Keras's implementation, or the formula by hand where Keras has none."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fedexp

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


@pytest.mark.parametrize("ours, theirs", [
    (lambda: fedexp.build_sgdm(learning_rate=0.1), lambda: keras.optimizers.SGD(0.1)),
    (lambda: fedexp.build_sgdm(learning_rate=0.1, momentum=0.9), lambda: keras.optimizers.SGD(0.1, momentum=0.9)),
    (lambda: fedexp.build_adam(learning_rate=0.01), lambda: keras.optimizers.Adam(0.01)),
    (lambda: fedexp.build_adagrad(learning_rate=0.1), lambda: keras.optimizers.Adagrad(0.1)),
    (lambda: fedexp.build_rmsprop(learning_rate=0.01), lambda: keras.optimizers.RMSprop(0.01)),
], ids=["sgd", "sgdm", "adam", "adagrad", "rmsprop"])
def test_equals_keras(problem, ours, theirs):
    weights, grads = problem
    for a, b in zip(run(ours(), grads, weights), keras_run(theirs(), grads, weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_yogi_by_hand(problem):
    weights, grads = problem
    lr, b1, b2, eps = 0.05, 0.9, 0.99, 1e-3
    w = [x.astype(np.float64) for x in weights]
    m = [np.zeros_like(x) for x in w]
    v = [np.full_like(x, 1e-6) for x in w]
    for t, g in enumerate(grads, start=1):
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = v[i] - (1 - b2) * np.sign(v[i] - g[i] ** 2) * g[i] ** 2
            w[i] = w[i] - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m[i] / (np.sqrt(v[i]) + eps)
    ours = run(fedexp.build_yogi(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps), grads, weights)
    for a, b in zip(ours, w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("build", [fedexp.build_sgdm, fedexp.build_adam, fedexp.build_adagrad,
                                   fedexp.build_yogi, fedexp.build_rmsprop])
def test_hparams_round_trip_and_take_effect(build, problem):
    weights, grads = problem
    optimizer = build(learning_rate=0.1)
    state = optimizer.initialize(SPECS)
    hparams = {k: float(v) for k, v in optimizer.get_hparams(state).items()}
    assert hparams["learning_rate"] == pytest.approx(0.1)
    state = optimizer.set_hparams(state, {**hparams, "learning_rate": 0.0})
    _, new_weights = optimizer.next(state, weights, grads[0])
    for a, b in zip(new_weights, weights):
        np.testing.assert_array_equal(a, b)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="learning_rate must be a number >= 0, found -0.1"):
        fedexp.build_sgdm(learning_rate=-0.1)
    optimizer = fedexp.build_adam()
    with pytest.raises(KeyError, match="unknown hyperparameter"):
        optimizer.set_hparams(optimizer.initialize(SPECS), {"momentum": 0.9})
