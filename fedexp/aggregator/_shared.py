"""What aggregators share: leaves that reduce the clients' values, stages that wrap an inner
aggregator (TFF's factory nesting), the adaptive quantile estimate and the checks.

A chain `zeroing -> clipping -> mean` is a stage whose inner is a stage whose inner is a
leaf. Leaves whose clients' values add up (means, sums, secure sums) and the stages around them
are decomposable (see `fedexp.templates.aggregation_process`): each client's value is
transformed on its own and every cohort-wide quantity is a sum, so a cohort split across
workers aggregates as one.

Each stage keeps `{"own": its state, "inner": the inner's state}`, reports its
measurements and hyperparameters under its name next to the inner's
(`{"zeroing": {...}, "clipping": {...}, "mean": {...}}`), takes the clients' weights
exactly when its inner does, and declares its inner's round monitors with its own.
As in TFF's `clipping_factory(clip, inner_agg_factory)`, a stage's inner is required in
Python; the YAML options give the default one.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.templates import AggregationProcess, Computation, MeasuredProcessOutput, at_clients, bytes_of
from fedexp.templates.client_values import num_clients

WEIGHT_TYPE = tf.TensorSpec([], tf.float32)


def next_quantile_estimate(estimate, below_fraction, target_quantile, learning_rate):
    """One step of the geometric update of Andrew et al. (2021): the estimate shrinks when more
    than `target_quantile` of the norms fall below it, and grows when fewer do."""
    return estimate * tf.exp(-learning_rate * (below_fraction - target_quantile))


def check_quantile(target_quantile, learning_rate):
    if target_quantile is not None:
        checks.fraction("target_quantile", target_quantile)
    checks.number("learning_rate", learning_rate, above=0)


def check_inner(inner):
    return checks.require("inner", inner, isinstance(inner, AggregationProcess), "an aggregator")


def no_state():
    return ()


def build_leaf(value_type, reduce, *, name, weighted=False):
    """An aggregator that needs every client's value at once (a median, Krum):
    `reduce(value[, weight]) -> (result, measurements)`. Not decomposable. It also measures the
    bytes it received (values, and weights when weighted)."""
    wire = bytes_of(value_type) + (WEIGHT_TYPE.dtype.size if weighted else 0)

    def next_fn(state, value, *weight):
        result, measurements = reduce(value, *weight)
        received = tf.cast(num_clients(value), tf.float32) * wire
        return MeasuredProcessOutput(state, result, {name: {"bytes_received": received, **measurements}})

    init_fn = Computation(no_state)
    weight_types = (at_clients(WEIGHT_TYPE),) if weighted else ()
    return AggregationProcess(init_fn, Computation(next_fn, (), at_clients(value_type), *weight_types), name=name)


def build_decomposed(value_type, *, name, initialize, partial, finalize, weighted=False, **process_args):
    """A decomposable aggregator from `partial(state, value[, weight]) -> P` (sums over some clients)
    and `finalize(state, P) -> MeasuredProcessOutput`; its `next` is one after the other.
    `process_args`: `AggregationProcess`'s (get/set_hparams_fn, monitors)."""
    def next_fn(state, value, *weight):
        return finalize(state, partial(state, value, *weight))

    init_fn = Computation(initialize)
    weight_types = (at_clients(WEIGHT_TYPE),) if weighted else ()
    return AggregationProcess(init_fn, Computation(next_fn, init_fn.result_type, at_clients(value_type), *weight_types),
                              name=name, partial_fn=partial, finalize_fn=finalize, **process_args)


def build_sum_leaf(value_type, sums, finish, *, name, weighted=False):
    """A decomposable, stateless leaf: `sums(value[, weight])` adds up the clients' values (a nest),
    `finish(sums, clients) -> (result, measurements)` on the sums of the whole cohort and its size.
    It also measures the bytes it received (values, and weights when weighted)."""
    wire = bytes_of(value_type) + (WEIGHT_TYPE.dtype.size if weighted else 0)

    def partial(state, value, *weight):
        return {"clients": tf.cast(num_clients(value), tf.float32), "sums": sums(value, *weight)}

    def finalize(state, merged):
        result, measurements = finish(merged["sums"], merged["clients"])
        return MeasuredProcessOutput(state, result, {name: {"bytes_received": merged["clients"] * wire,
                                                            **measurements}})

    return build_decomposed(value_type, name=name, initialize=no_state, partial=partial, finalize=finalize,
                            weighted=weighted)


def build_stage(value_type, inner, *, name, initial_state, prepare, finish, hparams=(), monitors=()):
    """An aggregation stage around `inner`, in two steps:

    `prepare(own_state, value) -> (value for inner, sums)`: each client's value transformed on its
    own (clipped, zeroed, quantized), and what the stage adds up over the clients (counts);
    `finish(own_state, sums, result) -> (own_state, result, measurements)`: with the sums of the
    whole cohort and the inner's result. The inner aggregator runs on the transformed values, with
    the clients' weights if it takes them; the stage is decomposable when its inner is. `hparams`:
    keys of the own state exposed through get/set_hparams (schedulable). `monitors`: the stage's own
    round monitors; the inner's are declared too.
    """
    check_inner(inner)
    inner_measurements = inner.next_fn.result_type.measurements
    if isinstance(inner_measurements, dict) and name in inner_measurements:
        raise ValueError(f"two aggregator stages are named '{name}': give one of them another `name`")
    hparams = tuple(hparams)

    def initialize():
        return {"own": initial_state(), "inner": inner.initialize_fn.fn()}

    def finished(state, sums, out):
        own, result, measurements = finish(state["own"], sums, out.result)
        return MeasuredProcessOutput({"own": own, "inner": out.state}, result, {name: measurements, **out.measurements})

    def next_fn(state, value, *weight):
        value, sums = prepare(state["own"], value)
        return finished(state, sums, inner.next_fn.fn(state["inner"], value, *weight))

    def partial(state, value, *weight):
        value, sums = prepare(state["own"], value)
        return {"own": sums, "inner": inner.partial_fn(state["inner"], value, *weight)}

    def finalize(state, merged):
        return finished(state, merged["own"], inner.finalize_fn(state["inner"], merged["inner"]))

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
    split = dict(partial_fn=partial, finalize_fn=finalize) if inner.is_decomposable else {}
    return AggregationProcess(
        init_fn, Computation(next_fn, state_type, at_clients(value_type), *weight_types),
        get_fn, Computation(set_hparams, state_type, get_fn.result_type), name=name,
        monitors=(*inner.monitors, *monitors), **split)
