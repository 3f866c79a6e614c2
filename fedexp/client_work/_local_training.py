"""Local training of a cohort, shared by the client works that train from the server's weights
(FedAvg, FedProx, gradient clipping, MimeLite, SCAFFOLD), and the client work built on it.

    train(hparams, round_num, weights@CLIENTS, Cohort@CLIENTS, *, optimizer_state=None, correction=())
        -> (trained trainable weights@CLIENTS, TrainMetrics@CLIENTS)

Each client takes one optimizer step per batch. The optimizer starts afresh from the
hyperparameters in `hparams` (the optimizer's), or, given `optimizer_state` (MimeLite), every
step uses that state and leaves it unchanged. A step's gradient is the loss gradient plus the
client's `correction` (SCAFFOLD's c - c_i), then changed by the option's `GradientTerm`
(FedProx's proximal term, gradient clipping), whose own hyperparameters are nested under its
name, `hparams[term.name]`. The client work's `get_hparams` shows them all as one flat dict
(`{"learning_rate": …, "clip_norm": …}`).

Clients train one after another (`batched=False`), or side by side (`batched=True`): one
loop over steps in which every client's forward pass is vectorized over the cohort axis
and the optimizer updates the stacked `[clients, ...]` weights at once; a client whose
batches have run out keeps its weights. `batched="auto"` picks side by side for models
made only of dense layers (see `fedexp.model._batched`) when the optimizer is elementwise
(not Adafactor). With several `devices` the cohort is split across them (see
`across_devices`); side by side on a CPU, into one part per core (see `lanes`).
"""

from typing import Callable, NamedTuple

import tensorflow as tf

from fedexp import checks
from fedexp.optimizer._base import check_optimizer
from fedexp.client_work._devices import across_devices, lanes
from fedexp.client_work._loops import client_output_type, for_each_batch, for_each_client
from fedexp.client_work._result import finalize_train_metrics, model_delta, parse_weighting
from fedexp.model._batched import BATCHED_LAYERS, batched_forward
from fedexp.model._functional import functional_model
from fedexp.model._loss import TrainMetrics, batch_loss, masked_loss
from fedexp.templates import ClientWorkProcess, Computation, MeasuredProcessOutput, at_clients
from fedexp.templates.client_data import cohort_type, num_batches
from fedexp.templates.client_values import per_client


class GradientTerm(NamedTuple):
    """An option's change to every local step's gradient, with hyperparameters of its own.

    `apply(grads, hparams, trainable, initial, side_by_side) -> grads`: `hparams` are the
    term's (`{name: value}` as in `initial_hparams`), `initial` the server's weights, and with
    `side_by_side` every tensor carries the cohort axis."""

    name: str
    initial_hparams: dict
    apply: Callable


class LocalTraining(NamedTuple):
    initial_hparams: dict  # the optimizer's, and with a term {term.name: {its own}}
    batched: bool
    train: Callable


def build_local_training(model, optimizer, *, term=None, batched="auto", devices=()) -> LocalTraining:
    check_optimizer("client_optimizer_fn", optimizer)
    trainable_type = model.weights_type.trainable
    initial_hparams = optimizer.get_hparams(optimizer.initialize(trainable_type))
    if term is not None:
        initial_hparams[term.name] = {k: tf.constant(v, tf.float32) for k, v in term.initial_hparams.items()}
    checks.require("batched", batched, batched in ("auto", True, False), "'auto', true or false")
    forward = batched_forward(model.keras_model)
    if batched is True and forward is None:
        checks.refuse("batched", f"'{model.keras_model.name}' has layers that cannot train side by side "
                                 f"(supported: {', '.join(BATCHED_LAYERS)}); use batched=false")
    if batched is True and not optimizer.elementwise:
        checks.refuse("batched", "the client optimizer is not elementwise (Adafactor): clients cannot train side "
                                 "by side; use batched=false")
    batched = forward is not None and optimizer.elementwise and batched in ("auto", True)

    def adjust(grads, hparams, trainable, initial, correction, side_by_side=False):
        """The loss gradient with the correction added, then changed by the term."""
        if correction:
            grads = tuple(g + c for g, c in zip(grads, correction))
        if term is None:
            return grads
        return term.apply(grads, hparams[term.name], trainable, initial, side_by_side)

    def start(hparams, like, optimizer_state):
        """(the optimizer state to start from, whether steps update it)."""
        if optimizer_state is not None:
            return optimizer_state, False
        own = {k: v for k, v in hparams.items() if term is None or k != term.name}
        return optimizer.set_hparams(optimizer.initialize(like), own), True

    def train_client(hparams, round_num, optimizer_state, weights, data, correction):
        opt_state, updates_state = start(hparams, trainable_type, optimizer_state)

        def step(i, trainable, non_trainable, opt_state, metrics):
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                loss, non_trainable, batch_metrics = batch_loss(
                    model, trainable, non_trainable, data.x[i], data.y[i], data.mask[i])
            grads = adjust(tape.gradient(loss, trainable), hparams, trainable, weights.trainable, correction)
            new_opt_state, trainable = optimizer.next(opt_state, trainable, grads)
            return trainable, non_trainable, new_opt_state if updates_state else opt_state, metrics + batch_metrics

        non_trainable = model.reseeded(weights.non_trainable, round_num, data.ids)
        trained, _, _, metrics = for_each_batch(
            step, data.mask, (weights.trainable, non_trainable, opt_state, TrainMetrics.zeros()))
        return trained, metrics

    def train_side_by_side(hparams, optimizer_state, weights, data, correction):
        """The whole cohort at once: weights (and a fresh optimizer's slots) carry the cohort axis."""
        opt_state, updates_state = start(hparams, weights.trainable, optimizer_state)
        steps = num_batches(data.mask)  # [clients]

        def step(i, trainable, opt_state, metrics, masked):
            active = i < steps  # clients whose batches have not run out

            def keep_inactive(new, old):
                if not masked or new.shape.rank == 0:  # the step count and hyperparameters are shared
                    return new
                return tf.where(per_client(active, new), new, old)

            with tf.GradientTape() as tape:
                tape.watch(trainable)
                loss, batch_metrics = masked_loss(model, data.y[:, i], forward(trainable, data.x[:, i]),
                                                  data.mask[:, i])
                total = tf.reduce_sum(loss)  # clients are independent: d total / d w_c = d loss_c / d w_c
            grads = adjust(tape.gradient(total, trainable), hparams, trainable, weights.trainable, correction,
                           side_by_side=True)
            new_opt_state, new_trainable = optimizer.next(opt_state, trainable, grads)
            if updates_state:
                opt_state = tf.nest.map_structure(keep_inactive, new_opt_state, opt_state)
            return tf.nest.map_structure(keep_inactive, new_trainable, trainable), opt_state, metrics + batch_metrics

        # While every client has batches left, no client needs masking; then the longer ones go on alone.
        loop_vars = (tf.constant(0), weights.trainable, opt_state, TrainMetrics(*[tf.zeros_like(steps, tf.float32)] * 4))
        # (min of max and min: an empty part of the cohort, on a device with no clients, runs no step.)
        longest = tf.reduce_max(steps)
        for until, masked in ((tf.minimum(tf.reduce_min(steps), longest), False), (longest, True)):
            loop_vars = tf.while_loop(lambda i, *_: i < until, lambda i, *v, m=masked: (i + 1, *step(i, *v, m)),
                                      loop_vars)
        _, trained, _, metrics = loop_vars
        return trained, metrics

    # XLA fuses each side-by-side step into a few kernels; without it the stacked weights make
    # more memory traffic than the sequential path saves (benchmarks/round_time.py). It compiles
    # once per cohort shape, which `FederatedData.cohort` keeps to a few by bucketing steps.
    train_side_by_side_xla = tf.function(train_side_by_side, jit_compile=True, autograph=False)

    def train(hparams, round_num, weights, data, *, optimizer_state=None, correction=()):
        def part(weights, data, correction):
            if batched:
                return train_side_by_side_xla(hparams, optimizer_state, weights, data, correction)
            return for_each_client(lambda *args: train_client(hparams, round_num, optimizer_state, *args),
                                   (weights, data, correction), client_output_type(trainable_type))
        return across_devices(lanes(devices) if batched else devices, part, (weights, data, correction))

    return LocalTraining(initial_hparams, batched, train)


def local_training_process(initialize, next_fn, model, local, *, name, get_hparams=None, set_hparams=None):
    """The `ClientWorkProcess` of a client work built on `local`: `next_fn(state, weights, data)`,
    its hyperparameters at `state["hparams"]` (nested as `local.initial_hparams`, shown flat)
    unless `get_hparams`/`set_hparams` say otherwise."""
    def hparams_of(state):
        flat = {}
        for k, v in state["hparams"].items():
            flat.update(v if isinstance(v, dict) else {k: v})
        return flat

    def with_hparams(state, hparams):
        return {**state, "hparams": {k: {n: hparams[n] for n in v} if isinstance(v, dict) else hparams[k]
                                     for k, v in state["hparams"].items()}}

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    get_hparams_fn = Computation(get_hparams or hparams_of, state_type)
    work = ClientWorkProcess(
        init_fn,
        Computation(next_fn, state_type, at_clients(model.weights_type), cohort_type(model.feature_shape)),
        get_hparams_fn,
        Computation(set_hparams or with_hparams, state_type, get_hparams_fn.result_type),
        name=name)
    work.batched = local.batched
    return work


def build_local_training_client_work(model_fn, optimizer, client_weighting, *, term=None, batched="auto",
                                     devices=(), name):
    """FedAvg's client work, each local step's gradient changed by `term` when given
    (FedProx's proximal term, gradient clipping): see `build_local_training`.

        next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)
    """
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
    local = build_local_training(model, optimizer, term=term, batched=batched, devices=devices)

    def initialize():
        return {"hparams": dict(local.initial_hparams), "round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        trained, metrics = local.train(state["hparams"], state["round"], weights, data)
        result = model_delta(weighting, weights, trained, metrics)
        return MeasuredProcessOutput({**state, "round": state["round"] + 1}, result,
                                     finalize_train_metrics(metrics, result.update_weight))

    return local_training_process(initialize, next_fn, model, local, name=name)
