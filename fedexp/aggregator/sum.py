"""The sum of the clients' values (TFF's `SumFactory`).

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)
"""

from fedexp.aggregator._shared import build_leaf
from fedexp.templates import federated_sum


def build_sum(value_type, *, name="sum"):
    """The sum of values of `value_type`. Returns an unweighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    return build_leaf(value_type, lambda value: (federated_sum(value), {}), name=name)
