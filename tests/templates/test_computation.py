"""Calling a Computation: tensors of its signature go straight in; anything else is converted or refused."""

import numpy as np
import pytest
import tensorflow as tf

from fedexp.templates import Computation

SIGNATURE = ({"w": tf.TensorSpec([None, 3]), "n": tf.TensorSpec([], tf.int64)}, tf.TensorSpec([3]))


@pytest.fixture
def affine():
    return Computation(lambda state, x: {"w": state["w"] + x, "n": state["n"] + 1}, *SIGNATURE)


def test_tensors_and_convertible_values_give_the_same_result(affine):
    state = {"w": tf.ones([2, 3]), "n": tf.constant(4, tf.int64)}
    fast = affine(state, tf.constant([1.0, 2.0, 3.0]))
    converted = affine({"w": np.ones([2, 3], np.float32), "n": 4}, [1.0, 2.0, 3.0])
    for result in (fast, converted):
        np.testing.assert_array_equal(result["w"], [[2.0, 3.0, 4.0]] * 2)
        assert int(result["n"]) == 5


@pytest.mark.parametrize("state, x, error", [
    ({"w": tf.ones([2, 4]), "n": tf.constant(4, tf.int64)}, tf.ones([3]), r"do not fit its signature .*found <w=float32\[2,4\]"),
    ({"w": tf.ones([2, 3]), "n": tf.constant(4, tf.int32)}, tf.ones([3]), "int32|int64"),
    ({"w": tf.ones([2, 3])}, tf.ones([3]), "n"),
    ({"w": tf.ones([2, 3]), "n": tf.constant(4, tf.int64)}, tf.ones([3], tf.float64), "float64|double"),
], ids=["shape", "dtype", "structure", "second-argument"])
def test_arguments_off_the_signature_are_refused(affine, state, x, error):
    with pytest.raises((TypeError, ValueError), match=error):
        affine(state, x)
