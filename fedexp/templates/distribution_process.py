"""DistributionProcess: a value at SERVER sent to every client of the cohort.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, V@SERVER> -> <state=S@SERVER, result=V@CLIENTS, measurements=M@SERVER>)
"""

from fedexp.templates import errors
from fedexp.templates.computation import CLIENTS, SERVER, is_assignable, member_type, type_str
from fedexp.templates.measured_process import BlockProcess


class DistributionProcess(BlockProcess):
    role = "distributor"
    _min_next_args = 2
    _exact_args = True

    def _check_next(self, next_fn):
        value_type = next_fn.parameter_type[1]
        self._check_placement(value_type, SERVER, "next_fn's value argument")
        result = next_fn.result_type.result
        self._check_placement(result, CLIENTS, "next_fn's result")
        if not is_assignable(value_type, member_type(result)):
            raise errors.TemplatePlacementError(
                f"{self._what}: the result must be the value placed at CLIENTS; "
                f"expected {type_str(value_type)} at CLIENTS, found {type_str(result)}")
