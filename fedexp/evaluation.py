"""Evaluation of the global model: centralized on the whole test set, or federated on sampled
test clients; each compiled once."""

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.data._sampling import sample_clients
from fedexp.model._functional import functional_model
from fedexp.model._loss import masked_loss
from fedexp.templates.client_data import cohort_type


def build_centralized_evaluation(model_fn, x, y, *, batch_size=1000):
    """Returns `evaluate(weights) -> {"loss", "accuracy"}` over all of (x, y), in inference mode.

    The test set is placed on the device once, as padded batches with a mask.
    """
    model = functional_model(model_fn)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int32)
    steps = -(-len(x) // batch_size)
    pad = steps * batch_size - len(x)
    xs = tf.constant(np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]).reshape(steps, batch_size, *x.shape[1:]))
    ys = tf.constant(np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(steps, batch_size))
    mask = tf.constant((np.arange(steps * batch_size) < len(x)).reshape(steps, batch_size), tf.float32)

    @tf.function(input_signature=[model.weights_type], autograph=False)
    def evaluate(weights):
        def batch(i, loss_sum, correct):
            outputs, _, _ = model.forward(weights, xs[i], training=False)
            loss_sum += tf.reduce_sum(model.per_example_loss(ys[i], outputs) * mask[i])
            hits = tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), ys[i]), tf.float32)
            return i + 1, loss_sum, correct + tf.reduce_sum(hits * mask[i])

        _, loss_sum, correct = tf.while_loop(lambda i, *_: i < steps, batch, (0, 0.0, 0.0))
        return {"loss": loss_sum / len(x), "accuracy": correct / len(x)}

    return evaluate


def build_federated_evaluation(model_fn, test, *, clients_per_round, seed, batch_size=100):
    """Returns `evaluate(weights, round_num) -> {"loss", "accuracy", "client_accuracy_mean",
    "client_accuracy_p10", "num_clients"}`: `clients_per_round` clients of `test` (a
    `FederatedData`), sampled anew each round from `seed`, evaluate the model on all their
    examples; loss and accuracy are weighted by examples (as TFF's federated evaluation),
    and the spread of the clients' accuracies is reported too."""
    checks.require("clients_per_round", clients_per_round,
                   isinstance(clients_per_round, int) and 1 <= clients_per_round <= test.num_clients,
                   f"an integer between 1 and the {test.num_clients} test clients (data.test_clients)")
    model = functional_model(model_fn)

    @tf.function(input_signature=[model.weights_type, cohort_type(model.feature_shape)], autograph=False)
    def client_sums(weights, cohort):
        def step(i, loss_sum, correct):
            x, mask = cohort.x[:, i], cohort.mask[:, i]  # [clients, batch, ...]: one batch of every client
            outputs, _, _ = model.forward(weights, tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0)),
                                          training=False)
            outputs = tf.reshape(outputs, tf.concat([tf.shape(mask), tf.shape(outputs)[1:]], 0))
            _, metrics = masked_loss(model, cohort.y[:, i], outputs, mask)
            return i + 1, loss_sum + metrics.loss_sum, correct + metrics.correct

        zeros = tf.zeros(tf.shape(cohort.mask)[:1])
        _, loss_sum, correct = tf.while_loop(lambda i, *_: i < tf.shape(cohort.mask)[1], step, (0, zeros, zeros))
        return loss_sum, correct, tf.reduce_sum(cohort.mask, [1, 2])

    def evaluate(weights, round_num):
        clients = sample_clients(test.num_clients, clients_per_round, seed=seed, round_num=round_num, stream=3)
        loss_sum, correct, n = (t.numpy() for t in client_sums(weights, test.cohort(clients, batch_size=batch_size)))
        accuracy = correct / n
        return {"loss": loss_sum.sum() / n.sum(), "accuracy": correct.sum() / n.sum(),
                "client_accuracy_mean": accuracy.mean(), "client_accuracy_p10": np.percentile(accuracy, 10),
                "num_clients": len(clients)}

    return evaluate
