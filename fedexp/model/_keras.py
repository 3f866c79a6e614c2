"""TFF's `tff.learning.models.from_keras_model` for fedexp: a Keras model that is not compiled with
a loss, given its loss and input spec, becomes what a `model_fn` returns (a model compiled with the loss).

    def model_fn():
        return fedexp.from_keras_model(create_keras_model(), loss=keras.losses.SparseCategoricalCrossentropy(),
                                       input_spec=(tf.TensorSpec([None, 784]), tf.TensorSpec([None], tf.int32)),
                                       metrics=[keras.metrics.SparseCategoricalAccuracy()])

fedexp measures every model by its loss and accuracy (`client_work/train/…`, `eval/…`), so the only
metric it takes is sparse categorical accuracy; another is refused rather than left uncomputed.
"""


def _check_input(what, keras_model, input_spec):
    x_spec = input_spec["x"] if isinstance(input_spec, dict) else input_spec[0]
    if not keras_model.built:
        keras_model.build(tuple(x_spec.shape))
    expected = tuple(keras_model.inputs[0].shape[1:]) if keras_model.inputs else None
    if expected is not None and tuple(x_spec.shape[1:]) != expected:
        raise ValueError(f"{what}: input_spec's features have shape {tuple(x_spec.shape)}, the model "
                         f"takes (None, {', '.join(map(str, expected))})")


def from_keras_model(keras_model, loss, input_spec, loss_weights=None, metrics=None):
    """`keras_model` compiled with `loss` (one Keras loss or loss function), after checking that its input
    takes `input_spec`'s features (a `(x, y)` pair or a mapping with `x`, of `tf.TensorSpec`s). Raises
    TypeError for several losses or loss weights (fedexp trains single-output classifiers) and ValueError
    for a spec the model does not take or a metric fedexp does not compute."""
    if isinstance(loss, (list, tuple, dict)) or loss_weights is not None:
        raise TypeError("from_keras_model: fedexp trains a model with one output and one loss; "
                        f"found loss={loss!r}, loss_weights={loss_weights!r}")
    _check_input("from_keras_model", keras_model, input_spec)
    for metric in metrics or ():
        name = metric if isinstance(metric, str) else type(metric).__name__
        if name not in ("SparseCategoricalAccuracy", "sparse_categorical_accuracy", "accuracy"):
            raise ValueError(f"from_keras_model: metric {name} is not computed by fedexp, which measures loss and "
                             "accuracy (SparseCategoricalAccuracy) of every model")
    keras_model.compile(loss=loss)
    return keras_model


class KerasFunctionalModel:
    """TFF's `tff.learning.models.FunctionalModel` of a Keras model: `initial_weights` (trainable and
    non-trainable NumPy arrays), `predict_on_batch(model_weights, x, training=True)` and `loss(output, label,
    sample_weight=None)`, pure functions of the weights given (`keras.Model.stateless_call`)."""

    def __init__(self, keras_model, loss_fn, input_spec, metrics_constructor=None):
        self._model, self._loss_fn = keras_model, loss_fn
        self.input_spec, self.metrics_constructor = input_spec, metrics_constructor
        self.initial_weights = (tuple(v.numpy() for v in keras_model.trainable_variables),
                                tuple(v.numpy() for v in keras_model.non_trainable_variables))

    def predict_on_batch(self, model_weights, x, training=True):
        trainable, non_trainable = model_weights
        outputs, _ = self._model.stateless_call(list(trainable), list(non_trainable), x, training=training)
        return outputs

    def loss(self, output, label, sample_weight=None):
        return self._loss_fn(label, output, sample_weight=sample_weight)


def functional_model_from_keras(keras_model, loss_fn, input_spec, metrics_constructor=None):
    """TFF's `tff.learning.models.functional_model_from_keras`, for code that trains a model by hand (TFF's
    federated core, `fedexp.core`): `keras_model` checked against `input_spec` as by `from_keras_model`.
    Returns a `KerasFunctionalModel`; raises ValueError for a spec the model does not take."""
    _check_input("functional_model_from_keras", keras_model, input_spec)
    return KerasFunctionalModel(keras_model, loss_fn, input_spec, metrics_constructor)
