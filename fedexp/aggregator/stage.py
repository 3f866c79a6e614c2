"""What aggregators share: leaves that reduce the clients' values, stages that wrap an inner
aggregator (TFF's factory nesting), per-client norms and the adaptive quantile estimate.

A chain `zeroing -> clipping -> mean` is a stage whose inner is a stage whose inner is a
leaf. Each stage keeps `{"own": its state, "inner": the inner's state}`, reports its
measurements and hyperparameters under its name next to the inner's
(`{"zeroing": {...}, "clipping": {...}, "mean": {...}}`), and takes the clients' weights
exactly when its inner does.
"""

import numpy as np
import tensorflow as tf

from fedexp.templates import AggregationProcess, Computation, MeasuredProcessOutput, at_clients, bytes_of

WEIGHT_TYPE = tf.TensorSpec([], tf.float32)


def num_clients(value):
    return tf.shape(tf.nest.flatten(value)[0])[0]


def client_vectors(value):
    """Each client's whole value as one row: [clients, coordinates]."""
    n = num_clients(value)
    return tf.concat([tf.reshape(v, [n, -1]) for v in tf.nest.flatten(value)], axis=1)


def client_norms(value, order=2):
    """Each client's global norm of its whole value (L2, or max-abs with order='inf'): [clients]."""
    leaves = [tf.reshape(v, [num_clients(value), -1]) for v in tf.nest.flatten(value)]
    if order in ("inf", np.inf):
        return tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(v), axis=1) for v in leaves]), axis=0)
    return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(v), axis=1) for v in leaves]))


def scale_clients(value, factor):
    """Multiplies client c's value by `factor[c]`."""
    return tf.nest.map_structure(
        lambda v: v * tf.reshape(tf.cast(factor, v.dtype), [-1] + [1] * (v.shape.rank - 1)), value)


def next_quantile_estimate(estimate, below_fraction, target_quantile, learning_rate):
    """One step of the geometric update of Andrew et al. (2021): the estimate shrinks when more
    than `target_quantile` of the norms fall below it, and grows when fewer do."""
    return estimate * tf.exp(-learning_rate * (below_fraction - target_quantile))


def check_quantile(target_quantile, learning_rate):
    if target_quantile is not None and not 0 < target_quantile < 1:
        raise ValueError(f"target_quantile must be between 0 and 1, found {target_quantile!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, found {learning_rate!r}")


def check_positive(key, value):
    if not (isinstance(value, (int, float)) and value > 0):
        raise ValueError(f"{key} must be a number > 0, found {value!r}")


def build_leaf(value_type, reduce, *, name, weighted=False):
    """An aggregator that receives every client's value: `reduce(value[, weight]) -> (result, measurements)`.
    It also measures the bytes it received (values, and weights when weighted)."""
    wire = bytes_of(value_type) + (WEIGHT_TYPE.dtype.size if weighted else 0)

    def initialize():
        return ()

    def next_fn(state, value, *weight):
        result, measurements = reduce(value, *weight)
        received = tf.cast(num_clients(value), tf.float32) * wire
        return MeasuredProcessOutput(state, result, {name: {"bytes_received": received, **measurements}})

    init_fn = Computation(initialize)
    weight_types = (at_clients(WEIGHT_TYPE),) if weighted else ()
    return AggregationProcess(init_fn, Computation(next_fn, (), at_clients(value_type), *weight_types), name=name)


def build_stage(value_type, inner, *, name, initial_state, step, hparams=()):
    """An aggregation stage around `inner`.

    `step(own_state, value, aggregate) -> (own_state, result, measurements)`, where
    `aggregate(value)` runs the inner aggregator on (transformed) client values, with the
    clients' weights if it takes them, and returns its result. `hparams`: keys of the own
    state exposed through get/set_hparams (schedulable).
    """
    inner_measurements = inner.next_fn.result_type.measurements
    if isinstance(inner_measurements, dict) and name in inner_measurements:
        raise ValueError(f"two aggregator stages are named '{name}': give one of them another `name`")
    hparams = tuple(hparams)

    def initialize():
        return {"own": initial_state(), "inner": inner.initialize_fn.fn()}

    def next_fn(state, value, *weight):
        ran = []

        def aggregate(v):
            ran.append(inner.next_fn.fn(state["inner"], v, *weight))
            return ran[-1].result

        own, result, measurements = step(state["own"], value, aggregate)
        (out,) = ran
        return MeasuredProcessOutput({"own": own, "inner": out.state}, result, {name: measurements, **out.measurements})

    def get_hparams(state):
        own = {k: state["own"][k] for k in hparams}
        return {**({name: own} if own else {}), **inner.get_hparams_fn.fn(state["inner"])}

    def set_hparams(state, values):
        own = {**state["own"], **values.get(name, {})}
        inner_values = {k: v for k, v in values.items() if k != name}
        return {"own": own, "inner": inner.set_hparams_fn.fn(state["inner"], inner_values)}

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    weight_types = (inner.next_fn.parameter_type[2],) if inner.is_weighted else ()
    get_fn = Computation(get_hparams, state_type)
    process = AggregationProcess(
        init_fn, Computation(next_fn, state_type, at_clients(value_type), *weight_types),
        get_fn, Computation(set_hparams, state_type, get_fn.result_type), name=name)
    process.privacy = getattr(inner, "privacy", None)  # a DP stage's ledger, wherever it sits in the chain
    return process


def inner_or_mean(value_type, inner):
    """The inner aggregator a stage wraps: as given, or the weighted mean."""
    if inner is not None:
        if not isinstance(inner, AggregationProcess):
            raise TypeError(f"inner must be an aggregator, found {type(inner).__name__}")
        return inner
    from fedexp.aggregator.mean import build_weighted_mean
    return build_weighted_mean(value_type)

