import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from fedexp.aggregator.trimmed_mean import build_trimmed_mean


@pytest.mark.parametrize("beta, n", [(0.1, 10), (0.2, 11), (0.0, 4), (0.45, 7)])
def test_trimmed_mean_matches_scipy(beta, n):
    values = np.random.default_rng(n).normal(size=(n, 3, 5)).astype(np.float32)
    agg = build_trimmed_mean((tf.TensorSpec([3, 5]),), beta=beta)
    out = agg.next(agg.initialize(), (values,))
    np.testing.assert_allclose(out.result[0], stats.trim_mean(values, beta, axis=0), rtol=1e-5, atol=1e-6)
    assert float(out.measurements["trimmed_mean"]["trimmed_count"]) == np.floor(beta * n)


def test_one_wildly_wrong_client_is_trimmed_away():
    values = np.concatenate([np.ones((9, 4), np.float32), np.full((1, 4), -1e6, np.float32)])
    agg = build_trimmed_mean((tf.TensorSpec([4]),), beta=0.1)
    np.testing.assert_allclose(agg.next(agg.initialize(), (values,)).result[0], np.ones(4))


@pytest.mark.parametrize("beta", [0.5, -0.1, "x"])
def test_beta_must_leave_values_to_average(beta):
    with pytest.raises(ValueError, match="beta must be a fraction in"):
        build_trimmed_mean((tf.TensorSpec([4]),), beta=beta)


def test_a_beta_that_trims_nothing_of_the_cohort_is_refused():
    with pytest.raises(ValueError, match=r"beta must be at least 1/clients_per_round = 0.2 to trim anything of 5 "
                                         r"clients \(or 0 for a plain mean\), found 0.1"):
        build_trimmed_mean((tf.TensorSpec([4]),), beta=0.1, clients_per_round=5)
    build_trimmed_mean((tf.TensorSpec([4]),), beta=0.2, clients_per_round=5)  # trims one of each end
    build_trimmed_mean((tf.TensorSpec([4]),), beta=0.0, clients_per_round=5)
