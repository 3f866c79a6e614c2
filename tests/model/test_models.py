import keras
import numpy as np
import pytest

import fedexp
from fedexp.model.emnist_cnn import build_emnist_cnn
from fedexp.model.linear import build_linear
from fedexp.model.mlp import build_mlp


def test_linear_is_the_tutorials_784_to_10():
    model = build_linear()()
    assert [tuple(v.shape) for v in model.trainable_variables] == [(784, 10), (10,)]


def test_mlp_layers():
    model = build_mlp(hidden_units=(200, 100))()
    assert [tuple(v.shape) for v in model.trainable_variables] == [(784, 200), (200,), (200, 100), (100,),
                                                                    (100, 10), (10,)]


def test_emnist_cnn_is_reddi_et_al():
    model = build_emnist_cnn()()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.5]
    assert model.count_params() == 1_206_590  # the 62-class model's parameter count in the paper's code
    assert model.output_shape == (None, 62)


@pytest.mark.parametrize("build", [build_linear, build_mlp, build_emnist_cnn])
def test_the_seed_fixes_the_initial_weights(build):
    a, b, c = (fedexp.ModelWeights.from_model(build(seed=s)()) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.trainable[0], b.trainable[0])
    assert not np.array_equal(a.trainable[0], c.trainable[0])


def test_fed_avg_with_the_cnn_runs_a_round(digits):
    from fedexp.data._federated import FederatedData
    x, y = digits
    data = FederatedData(x[:60].reshape(-1, 28, 28, 1), y[:60], [20, 40])
    process = fedexp.build_weighted_fed_avg(build_emnist_cnn(num_classes=10), fedexp.build_sgdm(learning_rate=0.05))
    out = process.next(process.initialize(), data.cohort([0, 1], batch_size=20))
    assert out.metrics["client_work"]["train"]["num_examples"] == 60
    assert out.metrics["finalizer"]["update_non_finite"] == 0


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
