"""A multi-layer perceptron: Dense(ReLU) hidden layers, then Dense(num_classes) logits."""

import keras

from fedexp.model._compile import check_shape, compiled


def build_mlp(*, input_shape=(784,), hidden_units=(200, 200), num_classes=10, seed=0):
    """Returns a `model_fn` for an MLP (McMahan et al. 2017's 2NN with the defaults)."""
    check_shape(input_shape=input_shape, num_classes=num_classes, seed=seed, hidden_units=hidden_units)

    def model_fn():
        layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
        for i, units in enumerate(hidden_units):
            layers.append(keras.layers.Dense(
                units, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i)))
        layers.append(keras.layers.Dense(
            num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + len(hidden_units))))
        return compiled(keras.Sequential(layers, name="mlp"))
    return model_fn
