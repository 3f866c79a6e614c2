import numpy as np

import fedexp
from fedexp.model.mlp import build_mlp

BUILD = build_mlp


def test_mlp_layers():
    model = build_mlp(hidden_units=(200, 100))()
    assert [tuple(v.shape) for v in model.trainable_variables] == [(784, 200), (200,), (200, 100), (100,),
                                                                    (100, 10), (10,)]


def test_the_seed_fixes_the_initial_weights():
    a, b, c = (fedexp.ModelWeights.from_model(BUILD(seed=s)()) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.trainable[0], b.trainable[0])
    assert not np.array_equal(a.trainable[0], c.trainable[0])
