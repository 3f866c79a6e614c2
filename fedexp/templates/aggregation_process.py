"""AggregationProcess: values at CLIENTS in, one value at SERVER out.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, V@CLIENTS, *> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

`*` are optional further arguments placed at CLIENTS (a weighted mean takes the weights).

A *decomposable* aggregator (TFF's MapReduceForm split) also offers, as plain functions of tensors:

    partial_fn:  (<S@SERVER, V@CLIENTS, *> -> P@SERVER)      what some of the clients add up to
    finalize_fn: (<S@SERVER, P@SERVER> -> <state, result, measurements>@SERVER)

where partials merge by adding them leaf by leaf, and `next` is `finalize(state, partial(state, …))`.
So a cohort split across workers aggregates as one: each worker's partial, one sum of them (an
all-reduce), and the same `finalize` on every worker.
"""

import tensorflow as tf

from fedexp.templates import errors
from fedexp.templates.computation import CLIENTS, SERVER, is_assignable, member_type, type_str
from fedexp.templates.measured_process import BlockProcess


class AggregationProcess(BlockProcess):
    role = "aggregator"
    _min_next_args = 2
    _not_federated = errors.AggregationNotFederatedError
    _wrong_placement = errors.AggregationPlacementError

    def __init__(self, initialize_fn, next_fn, get_hparams_fn=None, set_hparams_fn=None, *, name=None, monitors=(),
                 partial_fn=None, finalize_fn=None):
        super().__init__(initialize_fn, next_fn, get_hparams_fn, set_hparams_fn, name=name, monitors=monitors)
        if (partial_fn is None) != (finalize_fn is None):
            raise TypeError(f"{self._what}: give both partial_fn and finalize_fn, or neither")
        self.partial_fn, self.finalize_fn = partial_fn, finalize_fn

    def _check_next(self, next_fn):
        value_type, *extra_types = next_fn.parameter_type[1:]
        self._check_placement(value_type, CLIENTS, "next_fn's value argument")
        for i, extra in enumerate(extra_types, start=3):
            self._check_placement(extra, CLIENTS, f"next_fn's argument {i}")
        result = next_fn.result_type.result
        self._check_placement(result, SERVER, "next_fn's result")
        if not is_assignable(member_type(value_type), result):
            raise errors.AggregationValueTypeMismatchError(
                f"{self._what}: the result must have the type of the values aggregated; "
                f"expected {type_str(member_type(value_type))}, found {type_str(result)}")
        self.value_type = member_type(value_type)

    @property
    def is_weighted(self) -> bool:
        """True if `next` takes a weight for each client's value."""
        return len(self.next_fn.parameter_type) == 3

    @property
    def is_decomposable(self) -> bool:
        """True if the clients' values reduce to partials that add up (`partial_fn`, `finalize_fn`)."""
        return self.partial_fn is not None


def merge_partials(*partials):
    """The partials of several parts of a cohort, merged: added leaf by leaf."""
    return tf.nest.map_structure(lambda *leaves: tf.add_n(leaves), *partials)
