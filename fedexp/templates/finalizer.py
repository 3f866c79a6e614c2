"""FinalizerProcess: the server's step from the aggregated update to new model weights.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, W@SERVER, U@SERVER> -> <state=S@SERVER, result=W@SERVER, measurements=M@SERVER>)
"""

from fedexp.templates import errors
from fedexp.templates.computation import SERVER, is_assignable, type_str
from fedexp.templates.measured_process import BlockProcess


class FinalizerProcess(BlockProcess):
    role = "finalizer"
    _min_next_args = 3
    _exact_args = True

    def _check_next(self, next_fn):
        weights_type, update_type = next_fn.parameter_type[1:]
        self._check_placement(weights_type, SERVER, "next_fn's model weights argument")
        self._check_placement(update_type, SERVER, "next_fn's update argument")
        result = next_fn.result_type.result
        self._check_placement(result, SERVER, "next_fn's result")
        if not is_assignable(weights_type, result):
            raise errors.FinalizerResultTypeError(
                f"{self._what}: the result must be the model weights it was given; "
                f"expected {type_str(weights_type)}, found {type_str(result)}")
