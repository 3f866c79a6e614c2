"""Adafactor against Keras (TFF's and Keras's agree with relative_step, the default), and by hand without it."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import fedexp
from tests.optimizer.conftest import SPECS, assert_equals_keras, keras_run, run


def test_adafactor_equals_keras(problem):
    assert_equals_keras(fedexp.build_adafactor(0.5), keras.optimizers.Adafactor(0.5), problem)
    assert_equals_keras(fedexp.build_adafactor(0.01, beta_2_decay=-0.5, clip_threshold=0.1),
                        keras.optimizers.Adafactor(0.01, beta_2_decay=-0.5, clip_threshold=0.1), problem)


def tff_adafactor(w, grads, lr, relative_step):
    """TFF's update rule in NumPy (float64) with the defaults, 0/0 read as 0."""
    w, r, c, v = w.astype(np.float64), 0.0, 0.0, np.zeros(w.shape)
    for t, g in enumerate(grads, start=1):
        rate = min(lr, 1 / np.sqrt(t)) if relative_step else lr
        alpha = max(1e-3, np.sqrt(np.mean(w ** 2))) * min(rate, np.sqrt(t))
        s, beta = g.astype(np.float64) ** 2 + 1e-30, 1 - t ** -0.8
        if w.ndim < 2:
            v = beta * v + (1 - beta) * s
        else:
            r, c = beta * r + (1 - beta) * s.mean(-1), beta * c + (1 - beta) * s.mean(-2)
            v = (r / r.mean())[:, None] * c[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(g == 0, 0.0, g / np.sqrt(v))
        w = w - alpha * u / max(1.0, np.sqrt(np.mean(u ** 2)) / 1.0)
    return w


def test_without_relative_step_the_learning_rate_stays_as_tffs():
    """rho = min(lr, sqrt(t)) = 0.7 throughout (Keras's min(lr, 1/sqrt(t)) would be 0.5 by step 4)."""
    rng = np.random.default_rng(1)
    w0 = (rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32))
    grads = [(rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)) for _ in range(4)]
    ours = run(fedexp.build_adafactor(0.7, relative_step=False), grads, w0)
    for i in range(2):
        np.testing.assert_allclose(ours[i], tff_adafactor(w0[i], [g[i] for g in grads], 0.7, False), rtol=1e-5)
    state = fedexp.build_adafactor(0.7).initialize(SPECS)
    assert [tuple(m.shape) for m in tf.nest.flatten(state["slots"])] == [(3,), (2,), (3, 2), (0,), (0,), (2,)]


def test_a_dead_units_zero_row_and_column_leave_the_update_finite():
    """Row 0 and column 0 of the gradient are zero (a dead ReLU unit in and out): TFF's and Keras's v is 0 where
    they cross, u 0/0 = NaN there and so everywhere; fedexp's u is 0 there, the rest as TFF's."""
    rng = np.random.default_rng(2)
    w0 = (rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32))
    grads = [(rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)) for _ in range(3)]
    for g, _ in grads:
        g[0, :], g[:, 0] = 0.0, 0.0
    assert np.isnan(keras_run(keras.optimizers.Adafactor(0.5), grads, w0)[0]).all()
    ours = run(fedexp.build_adafactor(0.5), grads, w0)
    np.testing.assert_allclose(ours[0], tff_adafactor(w0[0], [g[0] for g in grads], 0.5, True), rtol=1e-5)
    np.testing.assert_array_equal(ours[0][0], w0[0][0])  # no gradient, no move


@pytest.mark.parametrize("kwargs, message", [
    ({"beta_2_decay": 0.8}, "beta_2_decay must be a number < 0, found 0.8"),
    ({"clip_threshold": 0.0}, "clip_threshold must be a number > 0, found 0.0"),
    ({"relative_step": "yes"}, "relative_step must be true or false, found 'yes'"),
])
def test_hyperparameters_out_of_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fedexp.build_adafactor(0.01, **kwargs)


def test_clients_train_one_after_another_with_it(linear_fn):
    assert fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(0.01)).batched is True
    assert fedexp.build_model_delta_client_work(linear_fn, fedexp.build_adafactor(0.01)).batched is False
    with pytest.raises(ValueError, match="batched: the client optimizer is not elementwise"):
        fedexp.build_model_delta_client_work(linear_fn, fedexp.build_adafactor(0.01), batched=True)
