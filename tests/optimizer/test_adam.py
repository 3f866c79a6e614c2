"""Adam against Keras."""

import keras

import fedexp
from tests.optimizer.conftest import assert_equals_keras


def test_adam_equals_keras(problem):
    assert_equals_keras(fedexp.build_adam(learning_rate=0.01), keras.optimizers.Adam(0.01), problem)
