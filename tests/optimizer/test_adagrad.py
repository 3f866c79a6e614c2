"""Adagrad against Keras."""

import keras

import fedexp
from tests.optimizer.conftest import assert_equals_keras


def test_adagrad_equals_keras(problem):
    assert_equals_keras(fedexp.build_adagrad(learning_rate=0.1), keras.optimizers.Adagrad(0.1), problem)
