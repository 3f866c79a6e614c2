"""What every client work shares: the masked forward pass, train metrics, the cohort loop.

Metrics are summed per client, summed across the cohort, then finalized
(sum-then-finalize, as TFF's default metrics aggregator).
"""

import enum
import os
from typing import NamedTuple

import tensorflow as tf

from fedexp.model.functional import ModelWeights
from fedexp.templates import ClientResult


class ClientWeighting(enum.Enum):
    """How a client's update is weighted in the mean: by its examples, or 1 for every client."""

    NUM_EXAMPLES = "num_examples"
    UNIFORM = "uniform"


class TrainMetrics(NamedTuple):
    """Sums over a client's batches (float32 scalars)."""

    loss_sum: tf.Tensor
    correct: tf.Tensor
    num_examples: tf.Tensor
    num_batches: tf.Tensor

    @classmethod
    def zeros(cls):
        return cls(*(tf.zeros([]) for _ in cls._fields))

    def __add__(self, other):
        return TrainMetrics(*(a + b for a, b in zip(self, other)))


def batch_loss(model, trainable, non_trainable, x, y, mask):
    """The mean loss over the real examples of one padded batch, and the batch's metrics.

    Padding (mask 0) contributes nothing: not to the loss, its gradient, or the metrics.
    Returns (loss, new non-trainable weights, metrics).
    """
    outputs, non_trainable, model_losses = model.forward(ModelWeights(trainable, non_trainable), x, training=True)
    loss, metrics = masked_loss(model, y, outputs, mask)
    return loss + model_losses, non_trainable, metrics


def masked_loss(model, y, outputs, mask):
    """(mean loss over real examples, TrainMetrics) of a batch `[..., batch]`; leading axes (clients) are kept."""
    per_example = model.per_example_loss(y, outputs) * mask
    n = tf.reduce_sum(mask, -1)
    hits = tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=y.dtype), y), tf.float32) * mask
    loss_sum = tf.reduce_sum(per_example, -1)
    metrics = TrainMetrics(loss_sum, tf.reduce_sum(hits, -1), n, tf.cast(n > 0, tf.float32))
    return tf.math.divide_no_nan(loss_sum, n), metrics


def num_batches(mask):
    """How many batches of a client hold data (they come first: see `Cohort`)."""
    return tf.reduce_sum(tf.cast(tf.reduce_any(mask > 0, axis=-1), tf.int32))


def for_each_batch(body, mask, loop_vars):
    """Runs `loop_vars = body(i, *loop_vars)` over a client's real batches, in order."""
    return tf.while_loop(lambda i, *_: i < num_batches(mask), lambda i, *v: (i + 1, *body(i, *v)),
                         (tf.constant(0), *loop_vars))[1:]


def for_each_client(client_fn, clients_args, output_type):
    """Maps `client_fn` over the cohort (the leading axis of every argument); up to 10 clients in flight."""
    return tf.map_fn(lambda args: client_fn(*args), clients_args, fn_output_signature=output_type,
                     parallel_iterations=10)


def across_devices(devices, fn, clients_args):
    """Runs `fn(*clients_args)` with the cohort split into one part per device, each part
    placed on its device, and the parts' results stacked back: the aggregator then sees the
    whole cohort and aggregates once. With fewer than two devices, `fn` runs as it is."""
    if len(devices) < 2:
        return fn(*clients_args)
    flat = tf.nest.flatten(clients_args)
    n, parts = tf.shape(flat[0])[0], len(devices)
    sizes = n // parts + tf.cast(tf.range(parts) < n % parts, tf.int32)
    splits = [tf.split(t, sizes, num=parts) for t in flat]
    outputs = []
    for k, device in enumerate(devices):
        with tf.device(device):
            outputs.append(fn(*tf.nest.pack_sequence_as(clients_args, [s[k] for s in splits])))
    stacked = [tf.concat(leaves, 0) for leaves in zip(*(tf.nest.flatten(o) for o in outputs))]
    return tf.nest.pack_sequence_as(outputs[0], stacked)


def lanes(devices, limit=8):
    """The parts a cohort trained side by side is split into: one per GPU (or the default
    device when none is given and a GPU is visible), and on a CPU one per core, up to `limit`:
    XLA runs each batched step on one core, so separate parts use them all at once."""
    if not devices and tf.config.list_logical_devices("GPU"):
        return ()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return tuple(d for d in devices or ("/CPU:0",)
                 for _ in range(min(cores, limit) if tf.DeviceSpec.from_string(d).device_type == "CPU" else 1))


def full_gradient(model, round_num, weights, data):
    """One client's gradient of its mean loss over all its examples, at `weights`, and its metrics."""
    def step(i, grad_sum, non_trainable, metrics):
        with tf.GradientTape() as tape:
            tape.watch(weights.trainable)
            loss, non_trainable, batch_metrics = batch_loss(
                model, weights.trainable, non_trainable, data.x[i], data.y[i], data.mask[i])
        grads = tape.gradient(loss, weights.trainable)
        # The batch's mean gradient times its size: summed, then divided by all examples.
        grad_sum = tf.nest.map_structure(lambda s, g: s + g * batch_metrics.num_examples, grad_sum, grads)
        return grad_sum, non_trainable, metrics + batch_metrics

    zeros = tf.nest.map_structure(tf.zeros_like, weights.trainable)
    non_trainable = model.reseeded(weights.non_trainable, round_num, data.ids)
    grad_sum, _, metrics = for_each_batch(step, data.mask, (zeros, non_trainable, TrainMetrics.zeros()))
    return tf.nest.map_structure(lambda g: tf.math.divide_no_nan(g, metrics.num_examples), grad_sum), metrics


def full_gradients(model, round_num, weights, data, devices=()):
    """`full_gradient` of every client of the cohort: (gradients, TrainMetrics), stacked."""
    return across_devices(devices, lambda w, d: for_each_client(
        lambda *args: full_gradient(model, round_num, *args), (w, d), client_output_type(model.weights_type.trainable)),
        (weights, data))


def client_output_type(trainable_type):
    """The type of what a client's training returns: (trainable weights or their gradient, TrainMetrics)."""
    return trainable_type, TrainMetrics(*[tf.TensorSpec([])] * 4)


def model_delta(client_weighting, weights, trained, metrics) -> ClientResult:
    """The cohort's `initial - trained` trainable weights, each weighted by its examples (or 1);
    a non-finite update is zeroed with weight 0."""
    update = tf.nest.map_structure(tf.subtract, weights.trainable, trained)
    return ClientResult(*zero_if_non_finite(update, update_weight(client_weighting, metrics)))


def update_weight(client_weighting: ClientWeighting, metrics: TrainMetrics):
    num_examples = metrics.num_examples
    return num_examples if client_weighting is ClientWeighting.NUM_EXAMPLES else tf.ones_like(num_examples)


def zero_if_non_finite(update, weight):
    """A client whose update has a NaN or Inf sends zeros with weight 0, as in TFF.

    `weight` is a scalar for one client, or a vector for a cohort's stacked updates."""
    lead = weight.shape.rank

    def finite(u):
        return tf.reduce_all(tf.math.is_finite(u), axis=list(range(lead, u.shape.rank)))

    ok = tf.reduce_all(tf.stack([finite(u) for u in tf.nest.flatten(update)]), axis=0)
    update = tf.nest.map_structure(
        lambda u: tf.where(tf.reshape(ok, tf.concat([tf.shape(ok), [1] * (u.shape.rank - lead)], 0)), u, 0.0),
        update)
    return update, tf.where(ok, weight, 0.0)


def finalize_train_metrics(metrics: TrainMetrics):
    """TrainMetrics@CLIENTS -> {loss, accuracy, num_examples, num_batches}@SERVER."""
    total = TrainMetrics(*(tf.reduce_sum(m) for m in metrics))
    return {"train": {
        "loss": tf.math.divide_no_nan(total.loss_sum, total.num_examples),
        "accuracy": tf.math.divide_no_nan(total.correct, total.num_examples),
        "num_examples": tf.cast(total.num_examples, tf.int64),
        "num_batches": tf.cast(total.num_batches, tf.int64),
    }}


def parse_weighting(client_weighting) -> ClientWeighting:
    """Accepts a `ClientWeighting` or its value ("num_examples", "uniform"), as YAML gives it."""
    try:
        return ClientWeighting(client_weighting)
    except ValueError:
        raise ValueError(f"client_weighting must be one of {[w.value for w in ClientWeighting]}, "
                         f"found {client_weighting!r}") from None
