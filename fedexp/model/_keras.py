"""TFF's `tff.learning.models.from_keras_model` for fedexp: a Keras model that is not compiled with
a loss, given its loss and input spec, becomes what a `model_fn` returns (a model compiled with the loss).

    def model_fn():
        return fedexp.from_keras_model(create_keras_model(), loss=keras.losses.SparseCategoricalCrossentropy(),
                                       input_spec=(tf.TensorSpec([None, 784]), tf.TensorSpec([None], tf.int32)),
                                       metrics=[keras.metrics.SparseCategoricalAccuracy()])

fedexp measures every model by its loss and accuracy (`client_work/train/…`, `eval/…`), so the only
metric it takes is sparse categorical accuracy; another is refused rather than left uncomputed.
"""

def from_keras_model(keras_model, loss, input_spec, loss_weights=None, metrics=None):
    """`keras_model` compiled with `loss` (one Keras loss or loss function), after checking that its input
    takes `input_spec`'s features (a `(x, y)` pair or a mapping with `x`, of `tf.TensorSpec`s). Raises
    TypeError for several losses or loss weights (fedexp trains single-output classifiers) and ValueError
    for a spec the model does not take or a metric fedexp does not compute."""
    if isinstance(loss, (list, tuple, dict)) or loss_weights is not None:
        raise TypeError("from_keras_model: fedexp trains a model with one output and one loss; "
                        f"found loss={loss!r}, loss_weights={loss_weights!r}")
    x_spec = input_spec["x"] if isinstance(input_spec, dict) else input_spec[0]
    if not keras_model.built:
        keras_model.build(tuple(x_spec.shape))
    expected = tuple(keras_model.inputs[0].shape[1:]) if keras_model.inputs else None
    if expected is not None and tuple(x_spec.shape[1:]) != expected:
        raise ValueError(f"from_keras_model: input_spec's features have shape {tuple(x_spec.shape)}, the model "
                         f"takes (None, {', '.join(map(str, expected))})")
    for metric in metrics or ():
        name = metric if isinstance(metric, str) else type(metric).__name__
        if name not in ("SparseCategoricalAccuracy", "sparse_categorical_accuracy", "accuracy"):
            raise ValueError(f"from_keras_model: metric {name} is not computed by fedexp, which measures loss and "
                             "accuracy (SparseCategoricalAccuracy) of every model")
    keras_model.compile(loss=loss)
    return keras_model

