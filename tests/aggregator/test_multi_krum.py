import numpy as np
import pytest

from fedexp.aggregator.multi_krum import build_multi_krum
from tests.aggregator.test_krum import VALUE_TYPE, clients, numpy_krum_scores


def test_multi_krum_averages_the_best_scored_clients():
    flat, value = clients(np.random.default_rng(1))
    agg = build_multi_krum(VALUE_TYPE, f=2, multi=4)
    out = agg.next(agg.initialize(), value)
    best = np.argsort(numpy_krum_scores(flat, 2))[:4]
    np.testing.assert_allclose(out.result[0], flat[best, :3].mean(0), rtol=1e-5)
    assert np.abs(out.result[0] - 1.0).max() < 0.5


def test_multi_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="multi must be an integer >= 1"):
        build_multi_krum(VALUE_TYPE, multi=0)
