import numpy as np

import fedexp
from fedexp.model.linear import build_linear

BUILD = build_linear


def test_linear_is_the_tutorials_784_to_10():
    model = build_linear()()
    assert [tuple(v.shape) for v in model.trainable_variables] == [(784, 10), (10,)]


def test_the_seed_fixes_the_initial_weights():
    a, b, c = (fedexp.ModelWeights.from_model(BUILD(seed=s)()) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.trainable[0], b.trainable[0])
    assert not np.array_equal(a.trainable[0], c.trainable[0])
