"""ClientWorkProcess: local work on each client of the cohort.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, W@CLIENTS, D@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

W is the model weights type and D the client data type (a packed `Cohort`).
"""

from typing import Any, NamedTuple

from fedexp.templates import errors
from fedexp.templates.computation import CLIENTS, type_str
from fedexp.templates.measured_process import BlockProcess


class ClientResult(NamedTuple):
    """What one client sends back: its update and the weight of that update."""

    update: Any
    update_weight: Any


class ClientWorkProcess(BlockProcess):
    role = "client_work"
    _min_next_args = 3
    _exact_args = True
    state_from_cohort = False  # True: the state after a round depends on which clients trained (SCAFFOLD's controls)

    def _check_next(self, next_fn):
        self._check_placement(next_fn.parameter_type[1], CLIENTS, "next_fn's model weights argument")
        self._check_placement(next_fn.parameter_type[2], CLIENTS, "next_fn's client data argument")
        result = next_fn.result_type.result
        if not isinstance(result, ClientResult):
            raise errors.ClientResultTypeError(
                f"{self._what}: next_fn's result must be a ClientResult(update, update_weight), found {type_str(result)}")
        self._check_placement(result, CLIENTS, "next_fn's result")
