"""SGD and SGD with momentum against Keras."""

import keras

import fedexp
from tests.optimizer.conftest import assert_equals_keras


def test_sgd_equals_keras(problem):
    assert_equals_keras(fedexp.build_sgdm(learning_rate=0.1), keras.optimizers.SGD(0.1), problem)


def test_sgdm_equals_keras(problem):
    assert_equals_keras(fedexp.build_sgdm(learning_rate=0.1, momentum=0.9), keras.optimizers.SGD(0.1, momentum=0.9),
                        problem)
