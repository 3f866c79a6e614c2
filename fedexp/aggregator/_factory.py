"""TFF's factory form of aggregators: say what to aggregate with now, build it for a value type later.

TFF code composes factories (`clipping_factory(1.0, MeanFactory())`) and passes one as
`model_aggregator=`; the algorithm calls `create(value_type)` with its model's weights type.
Here a factory holds a fedexp builder, its hyperparameters and its inner factory:

    MeanFactory()                                  build_weighted_mean
    UnweightedMeanFactory()                        build_unweighted_mean
    MeanFactory(value_sum_factory, weight_sum_factory), UnweightedMeanFactory(value_sum_factory, count_sum_factory)
                                                   build_mean_of_sums
    SumFactory()                                   build_sum
    SecureSumFactory(upper_bound_threshold, lower_bound_threshold=None)   build_secure_quantized_sum
    clipping_factory(clipping_norm, inner)         build_clipping
    zeroing_factory(zeroing_norm, inner, norm_order=math.inf)   build_zeroing (TFF's max-abs default)
    robust_aggregator(zeroing=True, clipping=True, weighted=True)   adaptive zeroing, adaptive clipping, mean
    compression_aggregator(zeroing=True, clipping=True, weighted=True)   the same around 8-bit build_quantize
    secure_aggregator(zeroing=True, clipping=True, weighted=True)   the same around the mean over secure sums
    DifferentiallyPrivateFactory.gaussian_fixed(noise_multiplier, clients_per_round, clip)    build_dp_gaussian
    DifferentiallyPrivateFactory.gaussian_adaptive(noise_multiplier, clients_per_round, …)    build_dp_gaussian
    dp_aggregator(noise_multiplier, clients_per_round, zeroing=True)   adaptive zeroing around the adaptive one

The DP factories build the Gaussian mechanism without a privacy ledger (the `fedexp` command gives it the
population and logs epsilon; through the Python API, pass `num_clients=` to `build_dp_gaussian`).
"""

import math

from fedexp import checks
from fedexp.aggregator._mean_of_sums import build_mean_of_sums
from fedexp.aggregator._shared import WEIGHT_TYPE
from fedexp.aggregator.clipping import build_clipping
from fedexp.aggregator.dp_gaussian import build_dp_gaussian
from fedexp.aggregator.mean import build_weighted_mean
from fedexp.aggregator.quantize import build_quantize
from fedexp.aggregator.secure_sum import build_secure_quantized_sum
from fedexp.aggregator.sum import build_sum
from fedexp.aggregator.unweighted_mean import build_unweighted_mean
from fedexp.aggregator.zeroing import build_zeroing


class AggregationFactory:
    """`create(value_type)` builds `build(value_type[, inner.create(value_type)], **hyperparameters)`."""

    def __init__(self, build, inner=None, **hyperparameters):
        if inner is not None and not isinstance(inner, AggregationFactory):
            raise TypeError(f"{build.__name__}: the inner aggregator must be a factory (MeanFactory(), "
                            f"clipping_factory(...), ...), found {type(inner).__name__}")
        self.build, self.inner, self.hyperparameters = build, inner, hyperparameters

    def create(self, value_type, weight_type=None):
        """The aggregation process for values of `value_type` (`weight_type`, TFF's second argument of a
        weighted factory, is float32 here and not needed)."""
        inner = () if self.inner is None else (self.inner.create(value_type, weight_type),)
        return self.build(value_type, *inner, **self.hyperparameters)

    def __repr__(self):
        args = [repr(self.inner)] if self.inner else []
        args += [f"{k}={v!r}" for k, v in self.hyperparameters.items()]
        return f"{self.build.__name__}({', '.join(args)})"


class _MeanOfSums(AggregationFactory):
    """`create` builds the value sum for the value type and the weight (or count) sum for one float32."""

    def __init__(self, value_sum, weight_sum, weighted):
        for key, factory in (("value_sum_factory", value_sum), ("weight_sum_factory", weight_sum)):
            if not isinstance(factory, AggregationFactory):
                raise TypeError(f"{key} must be a factory (SumFactory(), SecureSumFactory(...), ...), "
                                f"found {type(factory).__name__}")
        super().__init__(build_mean_of_sums, value_sum=value_sum, weight_sum=weight_sum, weighted=weighted)

    def create(self, value_type, weight_type=None):
        hp = self.hyperparameters
        return build_mean_of_sums(value_type, hp["value_sum"].create(value_type), hp["weight_sum"].create(WEIGHT_TYPE),
                                  weighted=hp["weighted"])


def MeanFactory(value_sum_factory=None, weight_sum_factory=None):  # noqa: N802 (TFF's class names)
    """The weighted mean (`build_weighted_mean`), as `tff.aggregators.MeanFactory()`; with an inner
    sum given (the other one `SumFactory()`), TFF's sum of the weighted values over the sum of the
    weights (`build_mean_of_sums`)."""
    if value_sum_factory is None and weight_sum_factory is None:
        return AggregationFactory(build_weighted_mean)
    return _MeanOfSums(value_sum_factory or SumFactory(), weight_sum_factory or SumFactory(), weighted=True)


def UnweightedMeanFactory(value_sum_factory=None, count_sum_factory=None):  # noqa: N802
    """The unweighted mean (`build_unweighted_mean`), as `tff.aggregators.UnweightedMeanFactory()`;
    with an inner sum given, TFF's sum of the values over the sum of a one from each client."""
    if value_sum_factory is None and count_sum_factory is None:
        return AggregationFactory(build_unweighted_mean)
    return _MeanOfSums(value_sum_factory or SumFactory(), count_sum_factory or SumFactory(), weighted=False)


def SumFactory():  # noqa: N802
    """The sum (`build_sum`), as `tff.aggregators.SumFactory()`."""
    return AggregationFactory(build_sum)


def SecureSumFactory(upper_bound_threshold, lower_bound_threshold=None):  # noqa: N802
    """The clipped values' sum, quantized to 32 bits and summed exactly (`build_secure_quantized_sum`), as
    `tff.aggregators.SecureSumFactory` with constant bounds (lower: -upper unless given). TFF's estimation
    process as the bound is `build_secure_quantized_sum(…, target_quantile=…)`."""
    return AggregationFactory(build_secure_quantized_sum, upper_bound=upper_bound_threshold,
                              lower_bound=lower_bound_threshold)


def clipping_factory(clipping_norm, inner_agg_factory):
    """Clips each client's value to L2 norm `clipping_norm`, then `inner_agg_factory`
    (`build_clipping`), as `tff.aggregators.clipping_factory`."""
    return AggregationFactory(build_clipping, inner_agg_factory, clip_norm=clipping_norm)


def zeroing_factory(zeroing_norm, inner_agg_factory, norm_order=math.inf):
    """Zeroes each client's value whose `norm_order` norm (math.inf, TFF's default: the largest absolute
    entry; or 2) exceeds `zeroing_norm`, then `inner_agg_factory` (`build_zeroing`), as
    `tff.aggregators.zeroing_factory`. Raises ValueError for another order."""
    orders = {math.inf: "inf", 2: 2}
    checks.one_of("norm_order", norm_order, tuple(orders))
    return AggregationFactory(build_zeroing, inner_agg_factory, zeroing_norm=zeroing_norm,
                              norm_order=orders[norm_order])


def _default_zeroing(factory):
    """TFF's adaptive zeroing: the largest absolute entry against twice an estimate of its 98th percentile
    plus one (starting at 10, learning rate log 10)."""
    return AggregationFactory(build_zeroing, factory, zeroing_norm=10.0, target_quantile=0.98,
                              learning_rate=math.log(10.0), multiplier=2.0, increment=1.0, norm_order="inf")


def _default_robustness(factory, zeroing, clipping):
    """TFF's adaptive L2 clipping at an estimate of the norms' 80th percentile (starting at 1, learning
    rate 0.2) around `factory`, inside `_default_zeroing`."""
    if clipping:
        factory = AggregationFactory(build_clipping, factory, clip_norm=1.0, target_quantile=0.8, learning_rate=0.2)
    return _default_zeroing(factory) if zeroing else factory


def robust_aggregator(zeroing=True, clipping=True, weighted=True):
    """TFF's `tff.learning.robust_aggregator()`: the (weighted) mean, inside adaptive L2 clipping at an
    estimate of the norms' 80th percentile (starting at 1, learning rate 0.2), inside adaptive zeroing by
    the largest absolute entry at twice an estimate of its 98th percentile plus one (starting at 10,
    learning rate log 10); the `robust_fedavg` preset."""
    return _default_robustness(MeanFactory() if weighted else UnweightedMeanFactory(), zeroing, clipping)


def compression_aggregator(zeroing=True, clipping=True, weighted=True):
    """TFF 0.87's `tff.learning.compression_aggregator()`: each tensor of more than 20,000 elements
    quantized to 8 bits between its own minimum and maximum with stochastic rounding (TFF's
    `EncodedSumFactory.quantize_above_threshold(8, 20000)`), then the (weighted) mean, inside
    `robust_aggregator`'s adaptive clipping and zeroing. TFF quantizes the weighted values inside its
    mean; fedexp quantizes the values before it (both unbiased)."""
    mean = MeanFactory() if weighted else UnweightedMeanFactory()
    factory = AggregationFactory(build_quantize, mean, bits=8, rotation="none", threshold=20000)
    return _default_robustness(factory, zeroing, clipping)


def secure_aggregator(zeroing=True, clipping=True, weighted=True):
    """TFF 0.87's `tff.learning.secure_aggregator()`: the mean over secure sums — the weighted values'
    between ±(2 x an estimate of the 95th percentile of each client's largest absolute weighted entry,
    starting at 50, learning rate 1), the weights' between 0 and 2^20 - 1 (unweighted: the count of
    clients), each quantized to 32 bits and summed exactly — inside `robust_aggregator`'s adaptive
    clipping and zeroing. TFF estimates those two norms and counts the clipped and zeroed clients
    with secure sums too, of values (±0.5, 0/1) that its 32-bit quantization changes by less than
    float32 can hold: here they are plain sums."""
    value_sum = AggregationFactory(build_secure_quantized_sum, upper_bound=50.0, target_quantile=0.95,
                                   learning_rate=1.0, multiplier=2.0)
    if weighted:
        mean = MeanFactory(value_sum, SecureSumFactory(float(2 ** 20 - 1), 0.0))
    else:
        mean = UnweightedMeanFactory(value_sum, SecureSumFactory(1.0, 0.0))
    return _default_robustness(mean, zeroing, clipping)


class DifferentiallyPrivateFactory:
    """TFF's `tff.aggregators.DifferentiallyPrivateFactory` constructors for the Gaussian mechanism."""

    @staticmethod
    def gaussian_fixed(noise_multiplier, clients_per_round, clip):
        """Clip to L2 norm `clip`, sum, add noise of standard deviation `noise_multiplier` x `clip`, divide by
        `clients_per_round`."""
        return AggregationFactory(build_dp_gaussian, SumFactory(), noise_multiplier=noise_multiplier,
                                  clients_per_round=clients_per_round, clip_norm=clip)

    @staticmethod
    def gaussian_adaptive(noise_multiplier, clients_per_round, initial_l2_norm_clip=0.1, target_unclipped_quantile=0.5,
                          learning_rate=0.2, clipped_count_stddev=None):
        """As `gaussian_fixed`, with the clip an estimate of the `target_unclipped_quantile` of the norms
        (Andrew et al. 2021), its count released with noise (default standard deviation clients_per_round / 20)."""
        return AggregationFactory(build_dp_gaussian, SumFactory(), noise_multiplier=noise_multiplier,
                                  clients_per_round=clients_per_round, clip_norm=initial_l2_norm_clip,
                                  target_quantile=target_unclipped_quantile, learning_rate=learning_rate,
                                  clipped_count_stddev=clipped_count_stddev)


def dp_aggregator(noise_multiplier, clients_per_round, zeroing=True):
    """TFF's `tff.learning.dp_aggregator`: `gaussian_adaptive` with its defaults, inside TFF's adaptive
    zeroing; the `dp_fedavg` preset's aggregator is `zeroing=False`."""
    factory = DifferentiallyPrivateFactory.gaussian_adaptive(noise_multiplier, clients_per_round)
    return _default_zeroing(factory) if zeroing else factory
