import numpy as np
import pytest

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


@pytest.mark.parametrize("kwargs, message", [
    (dict(hidden_units=[200, 0]), r"hidden_units must be a list of integers >= 1, found \[200, 0\]"),
    (dict(hidden_units=64), "hidden_units must be a list of integers >= 1, found 64"),
    (dict(input_shape=[28, -28]), r"input_shape must be a list of integers >= 1, found \[28, -28\]"),
    (dict(num_classes=0), "num_classes must be an integer >= 1, found 0"),
    (dict(seed=-1), "seed must be an integer >= 0, found -1"),
])
def test_sizes_and_seed_are_checked_when_built(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_mlp(**kwargs)
