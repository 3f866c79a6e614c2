"""Local training of a cohort, shared by the client works that train from the server's weights
(FedAvg, FedProx, gradient clipping, MimeLite, SCAFFOLD).

    train(hparams, round_num, weights@CLIENTS, Cohort@CLIENTS, *, optimizer_state=None, correction=())
        -> (trained trainable weights@CLIENTS, TrainMetrics@CLIENTS)

Each client takes one optimizer step per batch. The optimizer starts afresh from the
hyperparameters in `hparams`, or, given `optimizer_state` (MimeLite), every step uses that
state and leaves it unchanged. A step's gradient is the loss gradient plus the client's
`correction` (SCAFFOLD's c - c_i) plus, with `proximal_strength` mu, FedProx's mu (w - w_global),
then clipped to the global norm `clip_norm`; `clip_norm` and `proximal_strength` are
hyperparameters next to the optimizer's.

Clients train one after another (`batched=False`), or side by side (`batched=True`): one
loop over steps in which every client's forward pass is vectorized over the cohort axis
and the optimizer updates the stacked `[clients, ...]` weights at once; a client whose
batches have run out keeps its weights. `batched="auto"` picks side by side for models
made only of dense layers: see `fedexp.model.batched`. With several `devices` the cohort
is split across them (see `across_devices`); side by side on a CPU, into one part per core
(see `lanes`).
"""

from typing import Callable, NamedTuple

import tensorflow as tf

from fedexp.client_work.training import (
    TrainMetrics, across_devices, batch_loss, client_output_type, for_each_batch, for_each_client, lanes, masked_loss)
from fedexp.templates.client_data import cohort_type
from fedexp.model.batched import BATCHED_LAYERS, batched_forward
from fedexp.templates import ClientWorkProcess, Computation, at_clients

OWN_HPARAMS = ("clip_norm", "proximal_strength")  # the others are the optimizer's


class LocalTraining(NamedTuple):
    initial_hparams: dict
    batched: bool
    train: Callable


def build_local_training(model, optimizer, *, clip_norm=None, proximal_strength=None, batched="auto",
                         devices=()) -> LocalTraining:
    trainable_type = model.weights_type.trainable
    initial_hparams = optimizer.get_hparams(optimizer.initialize(trainable_type))
    if clip_norm is not None:
        if not clip_norm > 0:
            raise ValueError(f"clip_norm must be > 0, found {clip_norm!r}")
        initial_hparams["clip_norm"] = tf.constant(clip_norm, tf.float32)
    if proximal_strength is not None:
        if not (isinstance(proximal_strength, (int, float)) and proximal_strength >= 0):
            raise ValueError(f"proximal_strength must be a number >= 0, found {proximal_strength!r}")
        initial_hparams["proximal_strength"] = tf.constant(proximal_strength, tf.float32)
    if batched not in ("auto", True, False):
        raise ValueError(f"batched must be 'auto', true or false, found {batched!r}")
    forward = batched_forward(model.keras_model)
    if batched is True and forward is None:
        raise ValueError(f"batched: '{model.keras_model.name}' has layers that cannot train side by side "
                         f"(supported: {', '.join(BATCHED_LAYERS)}); use batched=false")
    batched = forward is not None and batched in ("auto", True)

    def clip(grads, clip_norm, axes=None):
        """Clips to a global norm: of all of `grads`, or per client (axes: all but the cohort axis)."""
        if axes is None:
            return tuple(tf.clip_by_global_norm(grads, clip_norm)[0])
        norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g), axes(g)) for g in grads]))  # [clients]
        scale = clip_norm / tf.maximum(norm, clip_norm)
        return tuple(g * tf.reshape(scale, [-1] + [1] * (g.shape.rank - 1)) for g in grads)

    def adjust(grads, hparams, trainable, initial, correction, axes=None):
        """The loss gradient with the correction and the proximal term added, then clipped."""
        if correction:
            grads = tuple(g + c for g, c in zip(grads, correction))
        if proximal_strength is not None:
            mu = hparams["proximal_strength"]
            grads = tuple(g + mu * (w - w0) for g, w, w0 in zip(grads, trainable, initial))
        return grads if clip_norm is None else clip(grads, hparams["clip_norm"], axes)

    def start(hparams, like, optimizer_state):
        """(the optimizer state to start from, whether steps update it)."""
        if optimizer_state is not None:
            return optimizer_state, False
        opt_hparams = {k: v for k, v in hparams.items() if k not in OWN_HPARAMS}
        return optimizer.set_hparams(optimizer.initialize(like), opt_hparams), True

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
        steps = tf.reduce_sum(tf.cast(tf.reduce_any(data.mask > 0, axis=-1), tf.int32), axis=-1)  # [clients]

        def step(i, trainable, opt_state, metrics, masked):
            active = i < steps  # clients whose batches have not run out

            def keep_inactive(new, old):
                if not masked or new.shape.rank == 0:  # the step count and hyperparameters are shared
                    return new
                return tf.where(tf.reshape(active, [-1] + [1] * (new.shape.rank - 1)), new, old)

            with tf.GradientTape() as tape:
                tape.watch(trainable)
                loss, batch_metrics = masked_loss(model, data.y[:, i], forward(trainable, data.x[:, i]),
                                                  data.mask[:, i])
                total = tf.reduce_sum(loss)  # clients are independent: d total / d w_c = d loss_c / d w_c
            grads = adjust(tape.gradient(total, trainable), hparams, trainable, weights.trainable, correction,
                           axes=lambda g: list(range(1, g.shape.rank)))
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
    its hyperparameters at `state["hparams"]` unless `get_hparams`/`set_hparams` say otherwise."""
    def hparams_of(state):
        return state["hparams"]

    def with_hparams(state, hparams):
        return {**state, "hparams": hparams}

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
