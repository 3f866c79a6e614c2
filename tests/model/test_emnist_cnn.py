import keras
import numpy as np

import fedexp
from fedexp.model.emnist_cnn import build_emnist_cnn

BUILD = build_emnist_cnn


def test_emnist_cnn_is_reddi_et_al():
    model = build_emnist_cnn()()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.5]
    assert model.count_params() == 1_206_590  # the 62-class model's parameter count in the paper's code
    assert model.output_shape == (None, 62)


def test_fed_avg_with_the_cnn_runs_a_round(digits):
    from fedexp.data._federated import FederatedData
    x, y = digits
    data = FederatedData(x[:60].reshape(-1, 28, 28, 1), y[:60], [20, 40])
    process = fedexp.build_weighted_fed_avg(build_emnist_cnn(num_classes=10), fedexp.build_sgdm(learning_rate=0.05))
    out = process.next(process.initialize(), data.cohort([0, 1], batch_size=20))
    assert out.metrics["client_work"]["train"]["num_examples"] == 60
    assert out.metrics["finalizer"]["update_non_finite"] == 0


def test_the_seed_fixes_the_initial_weights():
    a, b, c = (fedexp.ModelWeights.from_model(BUILD(seed=s)()) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.trainable[0], b.trainable[0])
    assert not np.array_equal(a.trainable[0], c.trainable[0])
