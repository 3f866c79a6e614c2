"""Multi-Krum (Blanchard et al. 2017): the mean of the `multi` clients Krum scores best.
See `fedexp.aggregator.krum`."""

from fedexp.aggregator.krum import build_krum


def build_multi_krum(value_type, *, f=1, multi=3, clients_per_round=None, name="multi_krum"):
    """Multi-Krum: `build_krum` averaging the `multi` best-scored clients. Returns an unweighted
    `AggregationProcess`; raises as `build_krum`."""
    return build_krum(value_type, f=f, multi=multi, clients_per_round=clients_per_round, name=name)
