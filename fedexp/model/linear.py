"""The seed tutorial's linear model: flattened image -> Dense(num_classes) logits."""

import keras

from fedexp.model._compile import check_shape, compiled


def build_linear(*, input_shape=(784,), num_classes=10, seed=0):
    """Returns a `model_fn` for a linear softmax classifier (784 -> 10 in the tutorial)."""
    check_shape(input_shape=input_shape, num_classes=num_classes, seed=seed)

    def model_fn():
        return compiled(keras.Sequential([
            keras.Input(tuple(input_shape)),
            keras.layers.Flatten(),
            keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotNormal(seed=seed)),
        ], name="linear"))
    return model_fn
