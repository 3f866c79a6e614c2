"""`from_keras_model`: TFF's wrapper, for Keras models not compiled with a loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import fedexp

SPEC = (tf.TensorSpec([None, 6], tf.float32), tf.TensorSpec([None], tf.int32))


def uncompiled():
    """Probabilities softmax([2, 0, 0]) for every input (zero kernel, bias [2, 0, 0])."""
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        3, activation="softmax", kernel_initializer=keras.initializers.Zeros(),
        bias_initializer=keras.initializers.Constant([2.0, 0.0, 0.0]))])


def test_a_tff_model_fn_trains_with_its_own_loss():
    """Probabilities and a loss without logits, as the TFF tutorials write it: every label 0, so the loss is
    -log(e^2 / (e^2 + 2)) = 0.2395 (fedexp's own loss, on logits, would give 0.6995)."""
    def model_fn():
        return fedexp.from_keras_model(uncompiled(), loss=keras.losses.SparseCategoricalCrossentropy(),
                                       input_spec=SPEC, metrics=[keras.metrics.SparseCategoricalAccuracy()])
    process = fedexp.build_weighted_fed_avg(model_fn, fedexp.build_sgdm(1e-6))  # the weights stay at zero
    rng = np.random.default_rng(0)
    datasets = [tf.data.Dataset.from_tensor_slices((rng.normal(size=(8, 6)).astype(np.float32),
                                                    np.zeros(8, np.int32))).batch(4)
                for _ in range(2)]
    metrics = process.next(process.initialize(), datasets).metrics
    assert float(metrics["client_work"]["train"]["loss"]) == pytest.approx(-np.log(np.e ** 2 / (np.e ** 2 + 2)), rel=1e-5)


@pytest.mark.parametrize("kwargs, error", [
    ({"input_spec": (tf.TensorSpec([None, 5]), tf.TensorSpec([None], tf.int32))}, "shape \\(None, 5\\)"),
    ({"metrics": [keras.metrics.AUC()]}, "metric AUC is not computed"),
    ({"loss": [keras.losses.MeanSquaredError()] * 2}, "one output and one loss"),
])
def test_what_fedexp_cannot_honour_is_refused(kwargs, error):
    arguments = {"loss": keras.losses.SparseCategoricalCrossentropy(), "input_spec": SPEC, **kwargs}
    with pytest.raises((TypeError, ValueError), match=error):
        fedexp.from_keras_model(uncompiled(), **arguments)
