"""What a client sends back: its update, weighted by its examples (or uniformly), zeroed when
not finite; and the cohort's training metrics, summed then finalized (sum-then-finalize, as
TFF's default metrics aggregator)."""

import enum

import tensorflow as tf

from fedexp import checks
from fedexp.model._loss import TrainMetrics
from fedexp.templates import ClientResult
from fedexp.templates.client_values import per_client


class ClientWeighting(enum.Enum):
    """How a client's update is weighted in the mean: by its examples, or 1 for every client."""

    NUM_EXAMPLES = "num_examples"
    UNIFORM = "uniform"


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
    def finite(u):
        return tf.reduce_all(tf.math.is_finite(u), axis=list(range(weight.shape.rank, u.shape.rank)))

    ok = tf.reduce_all(tf.stack([finite(u) for u in tf.nest.flatten(update)]), axis=0)
    update = tf.nest.map_structure(lambda u: tf.where(per_client(ok, u), u, 0.0), update)
    return update, tf.where(ok, weight, 0.0)


def finalize_train_metrics(metrics: TrainMetrics, update_weight):
    """(TrainMetrics@CLIENTS, the weight each client's update is sent with@CLIENTS) ->
    {train: {loss, accuracy, num_examples, num_batches}, non_finite_updates}@SERVER, where
    `non_finite_updates` counts the clients with examples whose update was zeroed for a NaN or Inf."""
    total = TrainMetrics(*(tf.reduce_sum(m) for m in metrics))
    dropped = (metrics.num_examples > 0) & tf.equal(update_weight, 0.0)
    return {"non_finite_updates": tf.reduce_sum(tf.cast(dropped, tf.int64)), "train": {
        "loss": tf.math.divide_no_nan(total.loss_sum, total.num_examples),
        "accuracy": tf.math.divide_no_nan(total.correct, total.num_examples),
        "num_examples": tf.cast(total.num_examples, tf.int64),
        "num_batches": tf.cast(total.num_batches, tf.int64),
    }}


def parse_weighting(client_weighting) -> ClientWeighting:
    """Accepts a `ClientWeighting` or its value ("num_examples", "uniform"), as YAML gives it."""
    if isinstance(client_weighting, ClientWeighting):
        return client_weighting
    return ClientWeighting(checks.one_of("client_weighting", client_weighting, [w.value for w in ClientWeighting]))
