"""Keras 3 models used functionally (DESIGN decision 4).

A `model_fn` is a no-argument function returning a Keras model compiled with a loss
(`model.compile(loss=...)`). Blocks never touch the model's variables: they call
`model.stateless_call(trainable, non_trainable, x)`, so every block is a pure
function of tensors.
"""

from typing import Any, NamedTuple

import keras
import tensorflow as tf


class ModelWeights(NamedTuple):
    """The weights of a model: tuples of tensors in the order of the Keras model's variables."""

    trainable: Any
    non_trainable: Any

    @classmethod
    def from_model(cls, model) -> "ModelWeights":
        return cls(tuple(tf.convert_to_tensor(v) for v in model.trainable_variables),
                   tuple(tf.convert_to_tensor(v) for v in model.non_trainable_variables))

    def assign_weights_to(self, model) -> None:
        """Writes these weights into a Keras model's variables (to save or evaluate it with Keras)."""
        for variables, values in ((model.trainable_variables, self.trainable),
                                  (model.non_trainable_variables, self.non_trainable)):
            for v, value in zip(variables, values):
                v.assign(value)


def weights_type(model) -> ModelWeights:
    """The type of a model's weights: a `ModelWeights` of `tf.TensorSpec`s."""
    def specs(variables):
        return tuple(tf.TensorSpec(v.shape, v.dtype) for v in variables)
    return ModelWeights(specs(model.trainable_variables), specs(model.non_trainable_variables))


class FunctionalModel(NamedTuple):
    """What a block needs of a Keras model: its forward pass, per-example loss and types."""

    keras_model: Any
    weights_type: ModelWeights
    feature_shape: tuple
    seed_states: tuple  # indices of the non-trainable weights that are random-seed states (dropout)

    def forward(self, weights: ModelWeights, x, training: bool):
        """(outputs, new non-trainable weights, the model's own losses such as regularizers)."""
        outputs, non_trainable, losses = self.keras_model.stateless_call(
            list(weights.trainable), list(weights.non_trainable), x, training=training, return_losses=True)
        losses = tf.add_n([tf.cast(loss, tf.float32) for loss in losses]) if losses else 0.0
        return tf.cast(outputs, tf.float32), tuple(non_trainable), losses  # the loss is float32 under mixed precision

    def reseeded(self, non_trainable, round_num, client):
        """Non-trainable weights whose seed states are moved to this round and client, so that
        dropout draws fresh masks on every client in every round (the server's copy never moves).
        `client` is a position in the cohort, or a vector of them for stacked weights."""
        client = tf.cast(client, tf.int64)
        offset = tf.stack([tf.broadcast_to(tf.cast(round_num, tf.int64), tf.shape(client)), client * 2**32], -1)
        return tuple(w + offset if i in self.seed_states else w for i, w in enumerate(non_trainable))

    def per_example_loss(self, y, outputs):
        """The loss of each example: `y`'s shape (`[..., batch]`)."""
        if outputs.shape[-1] == 1 and len(y.shape) == len(outputs.shape) - 1:
            # One output (regression, binary): Keras would squeeze it and average over the batch axis.
            y = y[..., None]
        loss = keras.losses.get(self.keras_model.loss)
        return loss.call(y, outputs) if isinstance(loss, keras.losses.Loss) else loss(y, outputs)


def functional_model(model_fn) -> FunctionalModel:
    """Builds the model once, outside any compiled function, and checks it can be trained."""
    model = model_fn()
    if not isinstance(model, keras.Model):
        raise TypeError(f"model_fn must return a keras.Model, found {type(model).__name__}")
    if getattr(model, "loss", None) is None:
        raise ValueError(f"model_fn must return a model compiled with a loss (model.compile(loss=...)); "
                         f"'{model.name}' has none")
    seed_states = tuple(i for i, v in enumerate(model.non_trainable_variables) if "seed_generator_state" in v.path)
    return FunctionalModel(model, weights_type(model), tuple(model.inputs[0].shape[1:]), seed_states)


def initial_weights_fn(model_fn):
    """A no-argument function returning a fresh model's weights (for `compose_learning_process`)."""
    return lambda: ModelWeights.from_model(model_fn())
