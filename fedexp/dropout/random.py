"""Random dropout: each sampled client fails to report with probability `rate`, independently, drawn
from the seed, the round and its id. With `over_selection` the round samples
ceil(clients_per_round x (1 + over_selection)) clients and keeps the first clients_per_round that
report (TFF's and Bonawitz et al.'s over-selection); the aggregator sees only the clients kept."""

import math
from typing import NamedTuple

from fedexp import checks


class Dropout(NamedTuple):
    rate: float
    over_selection: float

    def sampled(self, clients_per_round) -> int:
        """How many clients a round samples to keep `clients_per_round`."""
        return math.ceil(round(clients_per_round * (1 + self.over_selection), 6))  # (10 x 1.2 is 12.000000000000002)


def build_random_dropout(*, rate=0.1, over_selection=0.0):
    """Clients fail to report with probability `rate` (0 to 1); `over_selection` (>= 0) samples that
    fraction more. Returns a `Dropout`; raises ValueError for values out of range."""
    checks.probability("rate", rate)
    checks.number("over_selection", over_selection, at_least=0)
    return Dropout(float(rate), float(over_selection))
