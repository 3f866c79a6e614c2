import numpy as np
import pytest
import tensorflow as tf

from fedexp.data._packing import ALIGNMENT, as_tensors
from fedexp.data.partition.iid import iid_partition
from fedexp.data._federated import FederatedData


@pytest.fixture
def data():
    x = np.arange(30, dtype=np.float32).reshape(15, 2)  # example i has features (2i, 2i+1)
    return FederatedData(x, np.arange(15, dtype=np.int32), [4, 7, 1, 3])


def examples(cohort, client):
    return cohort.y[client].numpy()[cohort.mask[client].numpy() > 0].tolist()


def test_cohort_is_padded_and_masked(data):
    cohort = data.cohort([1, 2], batch_size=3, epochs=2)
    assert cohort.x.shape == (2, 5, 3, 2)  # client 1: 14 examples -> 5 batches of 3
    assert examples(cohort, 0) == [4, 5, 6, 7, 8, 9, 10] * 2
    assert examples(cohort, 1) == [11, 11]
    # Padding only follows the real examples.
    mask = cohort.mask.numpy().reshape(2, -1)
    assert (np.diff(mask, axis=1) <= 0).all()
    np.testing.assert_array_equal(cohort.x.numpy()[0, 0, 0], [8.0, 9.0])


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.float64])
def test_a_cohort_is_packed_into_memory_tensorflow_computes_on_as_it_is(dtype):
    x = np.arange(16 * 3 * 7).reshape(16, 3, 7).astype(dtype)[1:]  # (a view that does not start aligned)
    data = FederatedData(x, np.arange(15) % 4, [4, 7, 1, 3])
    packed = data.pack([1, 2], batch_size=3)
    cohort = data.cohort([1, 2], batch_size=3)
    assert cohort.x.dtype == dtype and cohort.x.shape == (2, 3, 3, 3, 7)
    for array, tensor in zip(packed, cohort):
        assert array.ctypes.data % ALIGNMENT == 0
        np.testing.assert_array_equal(tensor.numpy(), array)
    np.testing.assert_array_equal(cohort.x[0, 0, 0], x[4])
    # The tensors share the arrays' memory, and TensorFlow's kernels read them (misaligned
    # memory would abort the process here).
    tensors = as_tensors(packed)
    packed.x[0, 0, 0] = 0
    assert not tensors.x[0, 0, 0].numpy().any()
    np.testing.assert_array_equal(tf.gather(tensors.x, [1, 0]).numpy(), packed.x[[1, 0]])
    assert data.cohort([], batch_size=3).x.shape == (0, 0, 3, 3, 7)
    # Arrays in other memory are copied, never handed to TensorFlow misaligned or strided.
    memory = np.empty(packed.x.nbytes + ALIGNMENT + packed.x.itemsize, np.uint8)
    start = -memory.ctypes.data % ALIGNMENT + packed.x.itemsize
    misaligned = memory[start:start + packed.x.nbytes].view(dtype).reshape(packed.x.shape)
    misaligned[...] = packed.x
    for x in (misaligned, packed.x[..., 1:]):
        np.testing.assert_array_equal(tf.gather(as_tensors(packed._replace(x=x)).x, [1, 0]).numpy(), x[[1, 0]])


def test_shuffling_is_seeded_and_never_repeats_an_example_in_an_epoch(data):
    a, b, c = (data.cohort([0, 1, 3], batch_size=2, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert sorted(examples(a, 1)) == list(range(4, 11))


def test_a_part_of_a_cohort_is_packed_as_in_the_whole(data):
    """A worker packs only its share of a round, each client's examples in the whole cohort's shuffled order."""
    ids = [3, 0, 1, 2]
    whole = data.cohort(ids, batch_size=2, epochs=2, seed=5)
    for part in (slice(0, 1), slice(1, 3), slice(3, 4), slice(2, 2)):
        packed = data.cohort(ids, batch_size=2, epochs=2, seed=5, part=part)
        assert packed.ids.numpy().tolist() == ids[part]
        assert [examples(packed, c) for c in range(len(ids[part]))] == \
            [examples(whole, c) for c in range(len(ids))][part]


def test_client_sizes_must_add_up():
    with pytest.raises(ValueError, match="client sizes sum to 5, but there are 6 examples"):
        FederatedData(np.zeros((6, 2)), np.zeros(6), [2, 3])


def test_iid_partition_covers_every_example_once():
    parts = iid_partition(103, 10, np.random.default_rng(0))
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert {len(p) for p in parts} == {10, 11}


def test_digits_are_real_mnist(digits):
    x, y = digits
    assert x.shape == (5000, 784) and x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(y).tolist() == [500] * 10


def test_the_steps_axis_is_bucketed_to_a_few_sizes():
    data = FederatedData(np.zeros((9, 2), np.float32), np.zeros(9, np.int32), [9])
    assert data.cohort([0], batch_size=1).x.shape[1] == 10  # 9 steps -> 10 (sizes: ..., 7, 8, 10, 12, ...)
    assert data.cohort([0], batch_size=3).x.shape[1] == 3
