"""SCAFFOLD's client work (Karimireddy et al. 2020): local steps corrected for client drift.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

The state holds the server's control variate c and every client's c_i, by client id (zeros
until the client first trains), so they are saved and restored with the rest of the state;
they take `num_clients` times the trainable weights' memory. A sampled client i starts
from the server weights x and takes its K steps on the corrected gradient g_i(y) - c_i + c,
then updates its control variate, by the paper's

    option II (control_update: delta):    c_i+ = c_i - c + (x - y) / (K lr)   (plain SGD clients)
    option I  (control_update: gradient): c_i+ = the gradient of its loss over all its data at x

It sends x - y as its update, which the aggregator and finalizer apply as FedAvg's (the
server's learning rate is the paper's eta_g), and the server adds the clients' control
changes: c <- c + sum_i (c_i+ - c_i) / num_clients, which keeps c the mean of all c_i. A
client without data, or whose update is not finite, keeps its c_i.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.client_work._full_gradient import full_gradients
from fedexp.client_work._local_training import build_local_training, local_training_process
from fedexp.client_work._result import (
    ClientWeighting, finalize_train_metrics, model_delta, parse_weighting, zero_if_non_finite)
from fedexp.errors import InvalidValueError
from fedexp.model._functional import functional_model
from fedexp.templates import MeasuredProcessOutput
from fedexp.templates.client_values import per_client

CONTROL_UPDATES = ("delta", "gradient")


def build_scaffold_client_work(model_fn, optimizer, num_clients, control_update="delta",
                               client_weighting=ClientWeighting.NUM_EXAMPLES, *, batched="auto", devices=(),
                               name="scaffold"):
    """SCAFFOLD's client work with `optimizer` (plain SGD for `control_update` "delta", the paper's
    option II; any for "gradient", option I). `num_clients`: how many clients the federated dataset
    has (the `fedexp` command injects it); cohort ids must be below it. Other arguments as
    `build_model_delta_client_work`'s. Returns a `ClientWorkProcess` (see the module's signature);
    raises ValueError for a bad `num_clients` or `control_update`, or option II with another optimizer."""
    weighting = parse_weighting(client_weighting)
    checks.integer("num_clients", num_clients, at_least=1)
    checks.one_of("control_update", control_update, CONTROL_UPDATES)
    model = functional_model(model_fn)
    local = build_local_training(model, optimizer, batched=batched, devices=devices)
    if control_update == "delta" and set(local.initial_hparams) != {"learning_rate"}:
        raise InvalidValueError("control_update", f"control_update 'delta' (option II) divides the update by steps x "
                                f"learning rate, so it needs plain SGD clients; this optimizer has hyperparameters "
                                f"{sorted(local.initial_hparams)}: use control_update=gradient or optimizer sgd")
    trainable_type = model.weights_type.trainable

    def initialize():
        return {"hparams": dict(local.initial_hparams), "round": tf.constant(0, tf.int64),
                "control": tf.nest.map_structure(lambda s: tf.zeros(s.shape, s.dtype), trainable_type),
                "client_controls": tf.nest.map_structure(lambda s: tf.zeros([num_clients, *s.shape], s.dtype),
                                                         trainable_type)}

    def next_fn(state, weights, data):
        ids = data.ids
        with tf.control_dependencies([tf.debugging.assert_less(
                ids, tf.constant(num_clients, tf.int64), message=f"scaffold: client ids must be < num_clients = {num_clients}")]):
            c_i = tf.nest.map_structure(lambda table: tf.gather(table, ids), state["client_controls"])
        c = state["control"]
        correction = tf.nest.map_structure(tf.subtract, c, c_i)  # c - c_i, broadcast to [clients, ...]
        trained, metrics = local.train(state["hparams"], state["round"], weights, data, correction=correction)
        result = model_delta(weighting, weights, trained, metrics)
        if control_update == "delta":
            scale = tf.math.divide_no_nan(1.0, metrics.num_batches * state["hparams"]["learning_rate"])  # 1 / (K lr)
            new_c_i = tf.nest.map_structure(lambda ci, cs, u: ci - cs + u * per_client(scale, u),
                                            c_i, c, result.update)
        else:
            new_c_i, _ = full_gradients(model, state["round"], weights, data, devices)
        _, weight = zero_if_non_finite(new_c_i, result.update_weight)  # 0: no update, or a non-finite c_i+
        keep = (metrics.num_examples > 0) & (weight > 0)
        new_c_i = tf.nest.map_structure(lambda new, old: tf.where(per_client(keep, new), new, old), new_c_i, c_i)
        client_controls = tf.nest.map_structure(lambda table, new: tf.tensor_scatter_nd_update(table, ids[:, None], new),
                                                state["client_controls"], new_c_i)
        control = tf.nest.map_structure(lambda cs, new, old: cs + tf.reduce_sum(new - old, 0) / num_clients,
                                        c, new_c_i, c_i)
        measurements = {**finalize_train_metrics(metrics, result.update_weight),
                        "control_norm": tf.linalg.global_norm(tf.nest.flatten(control)),
                        "controls_updated": tf.reduce_sum(tf.cast(keep, tf.int64))}
        return MeasuredProcessOutput({**state, "round": state["round"] + 1, "control": control,
                                      "client_controls": client_controls}, result, measurements)

    work = local_training_process(initialize, next_fn, model, local, name=name)
    work.state_from_cohort = True  # the controls of the clients that trained
    return work
