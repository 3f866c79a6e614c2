"""The server step of FedOpt: the aggregated update is a pseudo-gradient for an optimizer.

    next: (<S@SERVER, W@SERVER, U@SERVER> -> <state=S@SERVER, result=W@SERVER, measurements=M@SERVER>)

An update with a NaN or Inf is rejected: weights and optimizer state stay as they
were, and the measurement `update_non_finite` is 1 for that round.
"""

import tensorflow as tf

from fedexp.optimizer._base import check_optimizer
from fedexp.templates import Computation, FinalizerProcess, MeasuredProcessOutput


def build_apply_optimizer_finalizer(optimizer, model_weights_type, *, name="apply_optimizer"):
    """The server step: `optimizer` (e.g. `build_sgdm(learning_rate=1.0)`) applied to the model's
    trainable weights with the aggregated update as the gradient. Returns a `FinalizerProcess`
    whose hyperparameters are the optimizer's (see the module's signature)."""
    check_optimizer("server_optimizer_fn", optimizer)
    def initialize():
        return optimizer.initialize(model_weights_type.trainable)

    def next_fn(state, weights, update):
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(u)) for u in tf.nest.flatten(update)])
        new_state, trainable = optimizer.next(state, weights.trainable, update)

        def keep(new, old):
            return tf.where(finite, new, old)

        new_state = tf.nest.map_structure(keep, new_state, state)
        weights = weights._replace(trainable=tf.nest.map_structure(keep, trainable, weights.trainable))
        return MeasuredProcessOutput(new_state, weights, {"update_non_finite": tf.cast(~finite, tf.int32)})

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    get_hparams = Computation(optimizer.get_hparams, state_type)
    return FinalizerProcess(
        init_fn,
        Computation(next_fn, state_type, model_weights_type, model_weights_type.trainable),
        get_hparams,
        Computation(optimizer.set_hparams, state_type, get_hparams.result_type),
        name=name)
