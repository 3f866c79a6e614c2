"""RMSprop against Keras."""

import keras

import fedexp
from tests.optimizer.conftest import assert_equals_keras


def test_rmsprop_equals_keras(problem):
    assert_equals_keras(fedexp.build_rmsprop(learning_rate=0.01), keras.optimizers.RMSprop(0.01), problem)
