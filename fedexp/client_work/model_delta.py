"""FedAvg's client work: local training from the server weights; the update is their change.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

Each client starts the optimizer afresh with the hyperparameters in the state, takes
one step per batch (`fedexp.client_work._local_training`: one after another or side by side),
and sends `update = initial - trained` trainable weights with weight = its number of
examples (or 1 under `ClientWeighting.UNIFORM`).
"""

from fedexp.client_work._local_training import build_local_training_client_work
from fedexp.client_work._result import ClientWeighting


def build_model_delta_client_work(model_fn, optimizer, client_weighting=ClientWeighting.NUM_EXAMPLES, *,
                                  batched="auto", devices=(), name="model_delta"):
    """FedAvg's client work (TFF's `build_model_delta_client_work`).

    `model_fn`: a no-argument function returning a Keras model compiled with a loss;
    `optimizer`: the clients' (`fedexp.build_sgdm`, …; its hyperparameters are the work's);
    `client_weighting`: `ClientWeighting` or "num_examples" / "uniform"; `batched`: train the
    cohort side by side ("auto": for models of dense layers), `devices`: split it across these.
    Returns a `ClientWorkProcess`; raises ValueError for a bad weighting or `batched`."""
    return build_local_training_client_work(model_fn, optimizer, client_weighting, batched=batched, devices=devices,
                                            name=name)
