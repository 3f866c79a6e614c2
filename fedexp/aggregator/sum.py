"""The sum of the clients' values (TFF's `SumFactory`).

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)
"""

from fedexp.aggregator._shared import build_sum_leaf
from fedexp.templates import federated_sum


def build_sum(value_type, *, name="sum"):
    """The sum of values of `value_type`. Returns an unweighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    return build_sum_leaf(value_type, federated_sum, lambda total, clients: (total, {}), name=name)
