"""The distributor of FedAvg: the server's model weights, sent unchanged to every client.

    next: (<()@SERVER, W@SERVER> -> <state=()@SERVER, result=W@CLIENTS, measurements=M@SERVER>)

Measures `bytes_sent`: the weights' size times the clients sent to.
"""

import tensorflow as tf

from fedexp.templates import Computation, bytes_of, DistributionProcess, MeasuredProcessOutput, federated_broadcast


def build_broadcast_process(model_weights_type, *, name="broadcast"):
    """Sends the server's model weights (of `model_weights_type`, a `ModelWeights` of specs) to
    every client. Returns a `DistributionProcess` (see the module's signature)."""
    size = bytes_of(model_weights_type)

    def initialize():
        return ()

    def next_fn(state, weights):
        sent = federated_broadcast(weights)
        clients = tf.shape(tf.nest.flatten(sent)[0])[0]
        return MeasuredProcessOutput(state, sent, {"bytes_sent": tf.cast(clients, tf.float32) * size})

    init_fn = Computation(initialize)
    return DistributionProcess(init_fn, Computation(next_fn, init_fn.result_type, model_weights_type), name=name)
