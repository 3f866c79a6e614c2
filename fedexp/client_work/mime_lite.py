"""MimeLite's client work (Karimireddy et al. 2021; TFF's `build_weighted_mime_lite`).

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

The state is the optimizer's state, kept on the server. Clients receive it with the weights
and take their local steps with it held fixed, so local training follows the global
momentum (or Adam's statistics) instead of starting its own; each sends the model delta,
weighted as FedAvg's, and the gradient of its loss over all its data at the server weights.
The server then advances the optimizer state, not the weights, with the weighted mean of
those gradients: `state, _ = optimizer.next(state, zeros, mean_gradient)`. The weights move
by the aggregator and finalizer (TFF's default server optimizer: SGD with learning rate 1).
"""

import tensorflow as tf

from fedexp.client_work._full_gradient import full_gradients
from fedexp.client_work._local_training import build_local_training, local_training_process
from fedexp.client_work._result import (
    ClientWeighting, finalize_train_metrics, model_delta, parse_weighting, zero_if_non_finite)
from fedexp.model._functional import functional_model
from fedexp.templates import ClientResult, MeasuredProcessOutput, federated_mean


def build_mime_lite_client_work(model_fn, optimizer, client_weighting=ClientWeighting.NUM_EXAMPLES, *,
                                batched="auto", devices=(), name="mime_lite"):
    """MimeLite's client work with `optimizer` (its state kept on the server; its hyperparameters
    are the work's). Other arguments as `build_model_delta_client_work`'s. Returns a
    `ClientWorkProcess` (see the module's signature)."""
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
    local = build_local_training(model, optimizer, batched=batched, devices=devices)

    def initialize():
        return {"optimizer": optimizer.initialize(model.weights_type.trainable), "round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        trained, metrics = local.train({}, state["round"], weights, data, optimizer_state=state["optimizer"])
        result = model_delta(weighting, weights, trained, metrics)
        gradients, _ = full_gradients(model, state["round"], weights, data, devices)
        gradients, weight = zero_if_non_finite(gradients, result.update_weight)
        mean_gradient = federated_mean(gradients, weight)
        optimizer_state, _ = optimizer.next(state["optimizer"], tf.nest.map_structure(tf.zeros_like, mean_gradient),
                                            mean_gradient)
        return MeasuredProcessOutput({"optimizer": optimizer_state, "round": state["round"] + 1},
                                     ClientResult(result.update, weight), finalize_train_metrics(metrics, weight))

    def get_hparams(state):
        return optimizer.get_hparams(state["optimizer"])

    def set_hparams(state, hparams):
        return {**state, "optimizer": optimizer.set_hparams(state["optimizer"], hparams)}

    work = local_training_process(initialize, next_fn, model, local, name=name, get_hparams=get_hparams,
                                  set_hparams=set_hparams)
    work.state_from_cohort = True  # the optimizer state moves by the cohort's mean gradient
    return work
