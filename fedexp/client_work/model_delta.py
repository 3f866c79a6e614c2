"""FedAvg's client work: local training from the server weights; the update is their change.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

Each client starts the optimizer afresh with the hyperparameters in the state, takes
one step per batch, and sends `update = initial - trained` trainable weights with
weight = its number of examples (or 1 under `ClientWeighting.UNIFORM`).
"""

import tensorflow as tf

from fedexp.client_work.training import (
    ClientWeighting, TrainMetrics, batch_loss, client_ids, client_output_type, finalize_train_metrics, for_each_batch, for_each_client,
    parse_weighting, update_weight, zero_if_non_finite)
from fedexp.data.cohort import cohort_type
from fedexp.model.functional import functional_model
from fedexp.templates import ClientResult, ClientWorkProcess, Computation, MeasuredProcessOutput, at_clients


def build_model_delta_client_work(model_fn, optimizer, client_weighting=ClientWeighting.NUM_EXAMPLES, *,
                                  name="model_delta"):
    return build_local_training_client_work(model_fn, optimizer, client_weighting, name=name)


def build_local_training_client_work(model_fn, optimizer, client_weighting, *, clip_norm=None, name):
    """Local optimizer steps on every batch; with `clip_norm`, each step's gradient is first
    clipped to that global norm (a hyperparameter, in the state next to the optimizer's)."""
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
    trainable_type = model.weights_type.trainable
    initial_hparams = optimizer.get_hparams(optimizer.initialize(trainable_type))
    if clip_norm is not None:
        if not clip_norm > 0:
            raise ValueError(f"{name}: clip_norm must be > 0, found {clip_norm!r}")
        initial_hparams["clip_norm"] = tf.constant(clip_norm, tf.float32)

    def train_client(hparams, round_num, client, weights, data):
        opt_hparams = {k: v for k, v in hparams.items() if k != "clip_norm"}
        opt_state = optimizer.set_hparams(optimizer.initialize(trainable_type), opt_hparams)

        def step(i, trainable, non_trainable, opt_state, metrics):
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                loss, non_trainable, batch_metrics = batch_loss(
                    model, trainable, non_trainable, data.x[i], data.y[i], data.mask[i])
            grads = tape.gradient(loss, trainable)
            if clip_norm is not None:
                grads = tuple(tf.clip_by_global_norm(grads, hparams["clip_norm"])[0])
            opt_state, trainable = optimizer.next(opt_state, trainable, grads)
            return trainable, non_trainable, opt_state, metrics + batch_metrics

        non_trainable = model.reseeded(weights.non_trainable, round_num, client)
        trained, _, _, metrics = for_each_batch(
            step, data.mask, (weights.trainable, non_trainable, opt_state, TrainMetrics.zeros()))
        update = tf.nest.map_structure(tf.subtract, weights.trainable, trained)
        return ClientResult(*zero_if_non_finite(update, update_weight(weighting, metrics))), metrics

    def initialize():
        return {"hparams": dict(initial_hparams), "round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        result, metrics = for_each_client(
            lambda i, w, d: train_client(state["hparams"], state["round"], i, w, d),
            (client_ids(data), weights, data), client_output_type(trainable_type))
        return MeasuredProcessOutput({**state, "round": state["round"] + 1}, result, finalize_train_metrics(metrics))

    def get_hparams(state):
        return state["hparams"]

    def set_hparams(state, hparams):
        return {**state, "hparams": hparams}

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    return ClientWorkProcess(
        init_fn,
        Computation(next_fn, state_type, at_clients(model.weights_type), cohort_type(model.feature_shape)),
        Computation(get_hparams, state_type),
        Computation(set_hparams, state_type, state_type["hparams"]),
        name=name)
