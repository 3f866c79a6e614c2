"""FedAvg's client work: local training from the server weights; the update is their change.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

Each client starts the optimizer afresh with the hyperparameters in the state, takes
one step per batch, and sends `update = initial - trained` trainable weights with
weight = its number of examples (or 1 under `ClientWeighting.UNIFORM`).

Clients train one after another (`batched=False`), or side by side (`batched=True`): one
loop over steps in which every client's forward pass is vectorized over the cohort axis
and the optimizer updates the stacked `[clients, ...]` weights at once; a client whose
batches have run out keeps its weights. `batched="auto"` picks side by side for models
made only of dense layers: see `fedexp.model.batched`.
"""

import tensorflow as tf

from fedexp.client_work.training import (
    ClientWeighting, TrainMetrics, across_devices, batch_loss, client_ids, masked_loss, client_output_type, finalize_train_metrics, for_each_batch, for_each_client,
    parse_weighting, update_weight, zero_if_non_finite)
from fedexp.data.cohort import cohort_type
from fedexp.model.batched import BATCHED_LAYERS, batched_forward
from fedexp.model.functional import functional_model
from fedexp.templates import ClientResult, ClientWorkProcess, Computation, MeasuredProcessOutput, at_clients


def build_model_delta_client_work(model_fn, optimizer, client_weighting=ClientWeighting.NUM_EXAMPLES, *,
                                  batched="auto", devices=(), name="model_delta"):
    return build_local_training_client_work(model_fn, optimizer, client_weighting, batched=batched, devices=devices,
                                            name=name)


def build_local_training_client_work(model_fn, optimizer, client_weighting, *, clip_norm=None,
                                     proximal_strength=None, batched="auto", devices=(), name):
    """Local optimizer steps on every batch; with `clip_norm`, each step's gradient is first
    clipped to that global norm; with `proximal_strength` mu, the gradient of FedProx's
    mu/2 ||w - w_global||^2 is added to it (both hyperparameters, in the state next to the
    optimizer's). With several `devices` the cohort is split across them (see `across_devices`)."""
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
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
    own_hparams = ("clip_norm", "proximal_strength")  # the rest are the optimizer's
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

    def adjust(grads, hparams, trainable, initial, axes=None):
        """The loss gradient with FedProx's proximal term added, then clipped."""
        if proximal_strength is not None:
            mu = hparams["proximal_strength"]
            grads = tuple(g + mu * (w - w0) for g, w, w0 in zip(grads, trainable, initial))
        return grads if clip_norm is None else clip(grads, hparams["clip_norm"], axes)

    def train_client(hparams, round_num, client, weights, data):
        opt_hparams = {k: v for k, v in hparams.items() if k not in own_hparams}
        opt_state = optimizer.set_hparams(optimizer.initialize(trainable_type), opt_hparams)

        def step(i, trainable, non_trainable, opt_state, metrics):
            with tf.GradientTape() as tape:
                tape.watch(trainable)
                loss, non_trainable, batch_metrics = batch_loss(
                    model, trainable, non_trainable, data.x[i], data.y[i], data.mask[i])
            grads = adjust(tape.gradient(loss, trainable), hparams, trainable, weights.trainable)
            opt_state, trainable = optimizer.next(opt_state, trainable, grads)
            return trainable, non_trainable, opt_state, metrics + batch_metrics

        non_trainable = model.reseeded(weights.non_trainable, round_num, client)
        trained, _, _, metrics = for_each_batch(
            step, data.mask, (weights.trainable, non_trainable, opt_state, TrainMetrics.zeros()))
        update = tf.nest.map_structure(tf.subtract, weights.trainable, trained)
        return ClientResult(*zero_if_non_finite(update, update_weight(weighting, metrics))), metrics

    def train_side_by_side(hparams, weights, data):
        """The whole cohort at once: weights and optimizer slots carry the cohort axis."""
        opt_hparams = {k: v for k, v in hparams.items() if k not in own_hparams}
        opt_state = optimizer.set_hparams(optimizer.initialize(weights.trainable), opt_hparams)
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
            grads = adjust(tape.gradient(total, trainable), hparams, trainable, weights.trainable,
                           axes=lambda g: list(range(1, g.shape.rank)))
            new_opt_state, new_trainable = optimizer.next(opt_state, trainable, grads)
            return (tf.nest.map_structure(keep_inactive, new_trainable, trainable),
                    tf.nest.map_structure(keep_inactive, new_opt_state, opt_state),
                    metrics + batch_metrics)

        # While every client has batches left, no client needs masking; then the longer ones go on alone.
        loop_vars = (tf.constant(0), weights.trainable, opt_state, TrainMetrics(*[tf.zeros_like(steps, tf.float32)] * 4))
        # (min of max and min: an empty part of the cohort, on a device with no clients, runs no step.)
        longest = tf.reduce_max(steps)
        for until, masked in ((tf.minimum(tf.reduce_min(steps), longest), False), (longest, True)):
            loop_vars = tf.while_loop(lambda i, *_: i < until, lambda i, *v, m=masked: (i + 1, *step(i, *v, m)),
                                      loop_vars)
        _, trained, _, metrics = loop_vars
        update = tf.nest.map_structure(tf.subtract, weights.trainable, trained)
        return ClientResult(*zero_if_non_finite(update, update_weight(weighting, metrics))), metrics

    # XLA fuses each side-by-side step into a few kernels; without it the stacked weights make
    # more memory traffic than the sequential path saves (benchmarks/round_time.py). It compiles
    # once per cohort shape, which `FederatedData.cohort` keeps to a few by bucketing steps.
    train_side_by_side_xla = tf.function(train_side_by_side, jit_compile=True, autograph=False)

    def initialize():
        return {"hparams": dict(initial_hparams), "round": tf.constant(0, tf.int64)}

    def train_part(hparams, round_num, ids, weights, data):
        if batched:
            return train_side_by_side_xla(hparams, weights, data)
        return for_each_client(lambda i, w, d: train_client(hparams, round_num, i, w, d), (ids, weights, data),
                               client_output_type(trainable_type))

    def next_fn(state, weights, data):
        result, metrics = across_devices(
            devices, lambda *part: train_part(state["hparams"], state["round"], *part), (client_ids(data), weights, data))
        return MeasuredProcessOutput({**state, "round": state["round"] + 1}, result, finalize_train_metrics(metrics))

    def get_hparams(state):
        return state["hparams"]

    def set_hparams(state, hparams):
        return {**state, "hparams": hparams}

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    work = ClientWorkProcess(
        init_fn,
        Computation(next_fn, state_type, at_clients(model.weights_type), cohort_type(model.feature_shape)),
        Computation(get_hparams, state_type),
        Computation(set_hparams, state_type, state_type["hparams"]),
        name=name)
    work.batched = batched
    return work
