"""FedAvg's client work: local training from the server weights; the update is their change.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

Each client starts the optimizer afresh with the hyperparameters in the state, takes
one step per batch (`fedexp.client_work.local_training`: one after another or side by side),
and sends `update = initial - trained` trainable weights with weight = its number of
examples (or 1 under `ClientWeighting.UNIFORM`).
"""

import tensorflow as tf

from fedexp.client_work.local_training import build_local_training, local_training_process
from fedexp.client_work.training import ClientWeighting, finalize_train_metrics, model_delta, parse_weighting
from fedexp.model.functional import functional_model
from fedexp.templates import MeasuredProcessOutput


def build_model_delta_client_work(model_fn, optimizer, client_weighting=ClientWeighting.NUM_EXAMPLES, *,
                                  batched="auto", devices=(), name="model_delta"):
    return build_local_training_client_work(model_fn, optimizer, client_weighting, batched=batched, devices=devices,
                                            name=name)


def build_local_training_client_work(model_fn, optimizer, client_weighting, *, clip_norm=None,
                                     proximal_strength=None, batched="auto", devices=(), name):
    """FedAvg's client work, with each step's gradient clipped to `clip_norm` and with FedProx's
    proximal term of strength `proximal_strength` when they are given (see `build_local_training`)."""
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
    local = build_local_training(model, optimizer, clip_norm=clip_norm, proximal_strength=proximal_strength,
                                 batched=batched, devices=devices)

    def initialize():
        return {"hparams": dict(local.initial_hparams), "round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        trained, metrics = local.train(state["hparams"], state["round"], weights, data)
        return MeasuredProcessOutput({**state, "round": state["round"] + 1},
                                     model_delta(weighting, weights, trained, metrics), finalize_train_metrics(metrics))

    return local_training_process(initialize, next_fn, model, local, name=name)
