"""A composed round split at the aggregator: the parts' local results, summed, finish as the whole
cohort's round; rounds that cannot be split say why."""

import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.aggregator.median import build_median
from fedexp.templates import RoundNotSplittableError
from fedexp.templates.aggregation_process import merge_partials
from fedexp.templates.split_round import as_sums, from_sums
from tests.conftest import pack, random_clients

SIZES = [7, 12, 3, 9, 5]  # an odd cohort, uneven clients


def split(process, state, parts):
    """A round on each part, merged by a sum, finished once."""
    split = process.split_round()
    locals_ = [split.local(state, pack(part)) for part in parts]
    merged = merge_partials(*[(out["partial"], out["sums"]) for out in locals_])
    return split.finish(state, locals_[0]["states"], *merged)


@pytest.mark.parametrize("aggregator", [None, fedexp.robust_aggregator()], ids=["mean", "robust"])
def test_a_round_split_in_two_is_the_whole_cohorts_round(linear_fn, aggregator):
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(0.5), fedexp.build_sgdm(1.0),
                                            model_aggregator=aggregator)
    state = process.initialize()
    rng = np.random.default_rng(0)
    for _ in range(3):
        clients = random_clients(rng, SIZES, batch_size=4)
        whole = process.next(state, pack(clients))
        halves = split(process, state, [clients[:2], clients[2:]])
        tf.nest.map_structure(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), halves, whole)
        state = halves.state
    train = halves.metrics["client_work"]["train"]
    assert int(train["num_examples"]) == sum(SIZES)  # counts add up; the loss is the whole cohort's (compared above)


def test_rates_are_carried_as_sums_and_divided_back():
    worker = [{"train": {"loss": tf.constant(2.0), "num_examples": tf.constant(3, tf.int64)}, "bytes": tf.constant(8.0)},
              {"train": {"loss": tf.constant(4.0), "num_examples": tf.constant(1, tf.int64)}, "bytes": tf.constant(8.0)}]
    merged = from_sums(merge_partials(*[as_sums(w) for w in worker]))
    assert float(merged["train"]["loss"]) == (2.0 * 3 + 4.0 * 1) / 4 and int(merged["train"]["num_examples"]) == 4
    assert float(merged["bytes"]) == 16.0


def test_a_round_that_cannot_be_split_says_why(linear_fn):
    median = fedexp.AggregationFactory(build_median)
    with pytest.raises(RoundNotSplittableError, match="aggregator 'median' needs every client's value at once"):
        fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(0.5), model_aggregator=median).split_round()
    with pytest.raises(RoundNotSplittableError, match="client_work 'mime_lite' keeps server state that depends on"):
        fedexp.build_weighted_mime_lite(linear_fn, fedexp.build_sgdm(0.5)).split_round()
