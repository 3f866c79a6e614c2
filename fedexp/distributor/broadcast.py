"""The distributor of FedAvg: the server's model weights, sent unchanged to every client.

    next: (<()@SERVER, W@SERVER> -> <state=()@SERVER, result=W@CLIENTS, measurements=()@SERVER>)
"""

from fedexp.templates import Computation, DistributionProcess, MeasuredProcessOutput, federated_broadcast


def build_broadcast_process(model_weights_type, *, name="broadcast"):
    def initialize():
        return ()

    def next_fn(state, weights):
        return MeasuredProcessOutput(state, federated_broadcast(weights), ())

    init_fn = Computation(initialize)
    return DistributionProcess(init_fn, Computation(next_fn, init_fn.result_type, model_weights_type), name=name)
