"""AdamW against Keras."""

import keras

import fedexp
from tests.optimizer.conftest import assert_equals_keras


def test_adamw_equals_keras(problem):
    assert_equals_keras(fedexp.build_adamw(learning_rate=0.01, weight_decay=0.1),
                        keras.optimizers.AdamW(0.01, weight_decay=0.1), problem)


def test_adamw_without_decay_is_adam(problem):
    assert_equals_keras(fedexp.build_adamw(0.01, weight_decay=0.0), keras.optimizers.Adam(0.01), problem)
