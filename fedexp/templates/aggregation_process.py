"""AggregationProcess: values at CLIENTS in, one value at SERVER out.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, V@CLIENTS, *> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

`*` are optional further arguments placed at CLIENTS (a weighted mean takes the weights).
"""

from fedexp.templates import errors
from fedexp.templates.computation import CLIENTS, SERVER, is_assignable, member_type, type_str
from fedexp.templates.measured_process import BlockProcess


class AggregationProcess(BlockProcess):
    role = "aggregator"
    _min_next_args = 2
    _not_federated = errors.AggregationNotFederatedError
    _wrong_placement = errors.AggregationPlacementError

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
