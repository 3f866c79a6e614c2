"""The EMNIST CNN of Reddi et al. 2021 ("Adaptive Federated Optimization").

Conv(32, 3x3) -> Conv(64, 3x3) -> MaxPool(2x2) -> Dropout(0.25) -> Flatten
-> Dense(128) -> Dropout(0.5) -> Dense(num_classes); ReLU activations.
"""

import keras

from fedexp.model._compile import check_shape, compiled


def build_emnist_cnn(*, input_shape=(28, 28, 1), num_classes=62, seed=0):
    """Returns a `model_fn` for the EMNIST CNN (62 classes for EMNIST, 10 for digits)."""
    check_shape(input_shape=input_shape, num_classes=num_classes, seed=seed)

    def model_fn():
        def init(i):
            return keras.initializers.GlorotUniform(seed=seed + i)
        return compiled(keras.Sequential([
            keras.Input(tuple(input_shape)),
            keras.layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(0)),
            keras.layers.Conv2D(64, 3, activation="relu", kernel_initializer=init(1)),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dropout(0.25, seed=seed),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu", kernel_initializer=init(2)),
            keras.layers.Dropout(0.5, seed=seed + 1),
            keras.layers.Dense(num_classes, kernel_initializer=init(3)),
        ], name="emnist_cnn"))
    return model_fn
