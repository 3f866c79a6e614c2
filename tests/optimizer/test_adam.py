"""Adam against Keras."""

import keras
import numpy as np
import pytest

import fedexp
from tests.optimizer.conftest import keras_run, run


@pytest.mark.parametrize("ours, theirs", [
    (lambda: fedexp.build_adam(learning_rate=0.01), lambda: keras.optimizers.Adam(0.01)),
])
def test_equals_keras(problem, ours, theirs):
    weights, grads = problem
    for a, b in zip(run(ours(), grads, weights), keras_run(theirs(), grads, weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
