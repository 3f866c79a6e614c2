import numpy as np

import fedexp
from tests.aggregator.test_mean import VALUE_TYPE


def test_unweighted_mean_matches_numpy():
    mean = fedexp.build_unweighted_mean(VALUE_TYPE)
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 3, 2)).astype(np.float32), rng.normal(size=(7, 4)).astype(np.float32)
    out = mean.next(mean.initialize(), (a, b))
    np.testing.assert_allclose(out.result[0], a.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.result[1], b.mean(0), rtol=1e-5, atol=1e-7)
    assert out.measurements["unweighted_mean"]["mean_weight"] == 7.0
    assert not mean.is_weighted
