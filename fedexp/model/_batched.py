"""The forward pass of a whole cohort at once, for models made of dense layers.

With a leading client axis on every weight, each `Dense` becomes one batched matmul
`[clients, batch, in] @ [clients, in, out]`: the cohort trains side by side in as many
kernel launches as one client needs. Models with other layers (convolutions, dropout,
normalization, regularizers) are trained client by client instead.
"""

import tensorflow as tf


def _dense(layer, position):
    kernel = position(layer.kernel)
    bias = position(layer.bias) if layer.use_bias else None

    dtype = layer.compute_dtype  # float16 or bfloat16 under a mixed-precision policy

    def apply(trainable, h):
        h = tf.matmul(tf.cast(h, dtype), tf.cast(trainable[kernel], dtype))
        if bias is not None:
            h = h + tf.expand_dims(tf.cast(trainable[bias], dtype), -2)  # [clients, out] -> [clients, 1, out]
        return layer.activation(h)
    return apply


def _flatten(layer, position):
    return lambda trainable, h: tf.reshape(h, tf.concat([tf.shape(h)[:2], [-1]], 0))


def _reshape(layer, position):
    return lambda trainable, h: tf.reshape(h, tf.concat([tf.shape(h)[:2], layer.target_shape], 0))


def _elementwise(layer, position):
    return lambda trainable, h: layer(h)


BATCHED_LAYERS = {"Dense": _dense, "Flatten": _flatten, "Reshape": _reshape,
                  "Activation": _elementwise, "ReLU": _elementwise, "Softmax": _elementwise}


def batched_forward(keras_model):
    """`forward(trainable, x) -> outputs` over `[clients, batch, ...]`, or None if the model
    has a layer, a non-trainable weight or a regularizer this does not handle."""
    if keras_model.non_trainable_variables or any(
            getattr(layer, attr, None) is not None for layer in keras_model.layers
            for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")):
        return None
    if any(type(layer).__name__ not in BATCHED_LAYERS for layer in keras_model.layers):
        return None
    ids = [id(v) for v in keras_model.trainable_variables]

    def position(variable):
        return ids.index(id(variable))

    steps = [BATCHED_LAYERS[type(layer).__name__](layer, position) for layer in keras_model.layers]

    def forward(trainable, x):
        h = x
        for step in steps:
            h = step(trainable, h)
        return tf.cast(h, tf.float32)  # the loss is computed in float32
    return forward
