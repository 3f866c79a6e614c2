import keras
import numpy as np
import pytest


@pytest.mark.parametrize("lead", [(), (2,)])  # one client's batch, or a side-by-side cohort's
def test_a_one_output_model_has_a_loss_per_example(lead):
    """Keras squeezes a [batch, 1] output and averages over the batch; the padding mask needs each example."""
    from fedexp.model._functional import functional_model

    def regression_fn():
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(loss="mse")
        return model

    y = np.zeros(lead + (3,), np.int32)
    outputs = np.arange(3, dtype=np.float32).reshape(3, 1) * np.ones(lead + (3, 1), np.float32)
    loss = functional_model(regression_fn).per_example_loss(y, outputs).numpy()
    np.testing.assert_allclose(loss, np.broadcast_to([0.0, 1.0, 4.0], lead + (3,)))
