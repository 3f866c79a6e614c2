"""compose_learning_process: four building blocks wired into one learning process.

    weights@SERVER -> distributor -> weights@CLIENTS
                      client_work(weights@CLIENTS, data@CLIENTS) -> ClientResult@CLIENTS
                      aggregator(update@CLIENTS[, update_weight@CLIENTS]) -> update@SERVER
                      finalizer(weights@SERVER, update@SERVER) -> new weights@SERVER

The types are checked here, once; the round runs as one compiled program in which
every block's function is inlined. `process.split_round()` gives the same round split at the
aggregator, for a cohort shared among workers (`fedexp.templates.split_round`).
"""

import tensorflow as tf

from fedexp.templates import errors
from fedexp.templates.aggregation_process import AggregationProcess
from fedexp.templates.client_work import ClientWorkProcess
from fedexp.templates.computation import Computation, is_assignable, member_type, type_of, type_str
from fedexp.templates.distribution_process import DistributionProcess
from fedexp.templates.finalizer import FinalizerProcess
from fedexp.templates.intrinsics import cohort
from fedexp.templates.learning_process import LearningAlgorithmState, LearningProcess, LearningProcessOutput
from fedexp.templates.split_round import SplitRound, as_sums, check_splittable, from_sums

ROLES = {
    "distributor": DistributionProcess,
    "client_work": ClientWorkProcess,
    "aggregator": AggregationProcess,
    "finalizer": FinalizerProcess,
}


def _expect(ok, error, block, what, expected, found):
    if not ok:
        raise error(f"{block.role} '{block.name}': {what}; expected {type_str(expected)}, found {type_str(found)}")


def compose_learning_process(initial_model_weights_fn, model_weights_distributor, client_work,
                             model_update_aggregator, model_finalizer, *, jit_compile=False,
                             name="composed") -> LearningProcess:
    """Composes the four blocks into a `LearningProcess` whose state is a `LearningAlgorithmState`.

    `initial_model_weights_fn` is a no-argument function returning the initial model
    weights (a `ModelWeights` of tensors); it is called once, here. With `jit_compile`
    the whole round is compiled by XLA. The blocks' round monitors become the process's.
    """
    blocks = dict(distributor=model_weights_distributor, client_work=client_work,
                  aggregator=model_update_aggregator, finalizer=model_finalizer)
    for role, block in blocks.items():
        if not isinstance(block, ROLES[role]):
            raise errors.BlockRoleError(
                f"compose_learning_process: the {role} must be a {ROLES[role].__name__}, "
                f"found {type(block).__name__} '{getattr(block, 'name', block)}'")

    initial_weights = tf.nest.map_structure(tf.convert_to_tensor, initial_model_weights_fn())
    weights_type = type_of(initial_weights)
    d, c, a, f = blocks.values()
    _expect(is_assignable(d.next_fn.parameter_type[1], weights_type), errors.ModelWeightsTypeError, d,
            "must distribute the model weights", weights_type, d.next_fn.parameter_type[1])
    distributed = member_type(d.next_fn.result_type.result)
    _expect(is_assignable(member_type(c.next_fn.parameter_type[1]), distributed), errors.ModelWeightsTypeError, c,
            "must take the weights the distributor sends", distributed, member_type(c.next_fn.parameter_type[1]))
    client_result = member_type(c.next_fn.result_type.result)
    _expect(is_assignable(a.value_type, client_result.update), errors.ClientUpdateTypeError, a,
            "must accept the client work's update", client_result.update, a.value_type)
    if a.is_weighted:
        weight_param = member_type(a.next_fn.parameter_type[2])
        _expect(is_assignable(weight_param, client_result.update_weight), errors.ClientUpdateTypeError, a,
                "must accept the client work's update_weight", client_result.update_weight, weight_param)
    _expect(is_assignable(f.next_fn.parameter_type[1], weights_type), errors.ModelWeightsTypeError, f,
            "must take and return the model weights", weights_type, f.next_fn.parameter_type[1])
    _expect(is_assignable(f.next_fn.parameter_type[2], a.next_fn.result_type.result), errors.ClientUpdateTypeError,
            f, "must take the aggregator's result", a.next_fn.result_type.result, f.next_fn.parameter_type[2])

    def initialize():
        return LearningAlgorithmState(initial_weights, *(b.initialize_fn.fn() for b in blocks.values()))

    initialize_fn = Computation(initialize)
    state_type = initialize_fn.result_type

    def clients_side(state, client_data, aggregate):
        """The distributor, the client work and `aggregate` (the aggregator's next or partial) over a cohort."""
        with cohort(tf.shape(tf.nest.flatten(client_data)[0])[0]):
            dist = d.next_fn.fn(state.distributor, state.global_model_weights)
            work = c.next_fn.fn(state.client_work, dist.result, client_data)
            update = work.result
            agg_args = (update.update, update.update_weight) if a.is_weighted else (update.update,)
            return dist, work, aggregate(state.aggregator, *agg_args)

    def server_side(state, dist_state, work_state, agg, measurements):
        """The finalizer on the aggregate, and the round's new state and metrics."""
        fin = f.next_fn.fn(state.finalizer, state.global_model_weights, agg.result)
        new_state = LearningAlgorithmState(fin.result, dist_state, work_state, agg.state, fin.state)
        metrics = dict(**measurements, aggregator=agg.measurements, finalizer=fin.measurements)
        return LearningProcessOutput(new_state, metrics)

    def next_fn(state, client_data):
        dist, work, agg = clients_side(state, client_data, a.next_fn.fn)
        return server_side(state, dist.state, work.state, agg,
                           dict(distributor=dist.measurements, client_work=work.measurements))

    def local(state, client_data):
        dist, work, partial = clients_side(state, client_data, a.partial_fn)
        sums = as_sums(dict(distributor=dist.measurements, client_work=work.measurements))
        return {"states": (dist.state, work.state), "partial": partial, "sums": sums}

    def finish(state, states, partial, sums):
        return server_side(state, *states, a.finalize_fn(state.aggregator, partial), from_sums(sums))

    def split_round():
        """The round as `SplitRound(local, finish)` for a cohort split across workers (traced when asked)."""
        check_splittable(a, c)
        local_fn = Computation(local, state_type, c.next_fn.parameter_type[2], jit_compile=jit_compile)
        out = local_fn.result_type
        return SplitRound(local_fn, Computation(finish, state_type, out["states"], out["partial"], out["sums"]))

    def get_model_weights(state):
        return state.global_model_weights

    def set_model_weights(state, weights):
        return state._replace(global_model_weights=weights)

    def get_hparams(state):
        return {role: b.get_hparams_fn.fn(getattr(state, role)) for role, b in blocks.items()}

    def set_hparams(state, hparams):
        return state._replace(**{role: b.set_hparams_fn.fn(getattr(state, role), hparams[role])
                                 for role, b in blocks.items()})

    get_hparams_fn = Computation(get_hparams, state_type)
    process = LearningProcess(
        initialize_fn,
        Computation(next_fn, state_type, c.next_fn.parameter_type[2], jit_compile=jit_compile),
        Computation(get_model_weights, state_type),
        Computation(set_model_weights, state_type, weights_type),
        get_hparams_fn,
        Computation(set_hparams, state_type, get_hparams_fn.result_type),
        name=name, monitors=[m for b in blocks.values() for m in b.monitors])
    process.split_round = split_round
    return process
