"""TFF's form of a cohort, one tf.data.Dataset per client, packed inside one compiled function:
checked against iterating the same datasets in Python (`pack_batches`)."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from fedexp.templates.client_data import cohort_type, pack_batches
from fedexp.templates.client_datasets import pack_datasets


def eager(datasets, data_type):
    """The reference: each dataset iterated batch by batch in Python, as TFF's tutorials do."""
    pairs = [[(b["x"], b["y"]) if isinstance(b, dict) else b for b in ds.as_numpy_iterator()] for ds in datasets]
    return pack_batches(pairs, data_type)


def assert_same(cohort, reference):
    for got, want in zip(cohort, reference):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def examples(cohort, client):
    return cohort.y[client].numpy()[cohort.mask[client].numpy() > 0].tolist()


def clients(sizes, features=3, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    return [tf.data.Dataset.from_tensor_slices((rng.random((n, features), np.float32),
                                                rng.integers(0, 10, n).astype(np.int32))).batch(batch)
            for n in sizes]


def test_a_cohort_equals_iterating_the_datasets_in_python():
    datasets = clients([7, 12, 1])
    cohort = pack_datasets(datasets, cohort_type((3,)))
    assert cohort.x.shape == (3, 3, 4, 3)  # 12 examples -> 3 batches of 4
    assert_same(cohort, eager(datasets, cohort_type((3,))))


def test_tff_tutorial_batches_mappings_labels_of_shape_batch_1_and_other_dtypes_are_taken():
    x = np.arange(14, dtype=np.float64).reshape(7, 2)
    ds = tf.data.Dataset.from_tensor_slices(collections.OrderedDict(x=x, y=np.arange(7, dtype=np.int64).reshape(7, 1)))
    cohort = pack_datasets([ds.batch(3), ds.take(3).batch(3)], cohort_type((2,)))
    assert cohort.x.shape == (2, 3, 3, 2) and cohort.x.dtype == tf.float32 and cohort.y.dtype == tf.int32
    assert examples(cohort, 0) == list(range(7)) and examples(cohort, 1) == [0, 1, 2]
    np.testing.assert_array_equal(cohort.x[0, 2, 0].numpy(), [12, 13])


@pytest.mark.parametrize("labels", [[0, 3, 0, 255, 1], [0, -1, 2, -3, 1], [0., -1., 2.5, 2.0 ** 90, 1.]])
def test_every_label_is_kept_whatever_its_type_and_value(labels):
    dtype = np.uint16 if min(labels) >= 0 else np.float32 if isinstance(labels[0], float) else np.int32
    ds = tf.data.Dataset.from_tensor_slices((np.ones((5, 2), np.float32), np.array(labels, dtype)))
    cohort = pack_datasets([ds.batch(2)], cohort_type((2,), y_dtype=tf.as_dtype(dtype)))
    assert cohort.mask.numpy().sum() == 5 and examples(cohort, 0) == labels


def test_a_shuffling_dataset_is_reshuffled_each_round_as_tff_iterates_it():
    def make():
        ds = tf.data.Dataset.from_tensor_slices((np.zeros((20, 1), np.float32), np.arange(20, dtype=np.int32)))
        return ds.shuffle(20, seed=1).batch(5)

    dataset, reference = make(), make()
    rounds = [examples(pack_datasets([dataset], cohort_type((1,))), 0) for _ in range(3)]
    assert rounds == [[int(v) for b in reference for v in b[1]] for _ in range(3)]  # the same iterations, in order
    assert rounds[0] != rounds[1] and sorted(rounds[0]) == list(range(20))


def test_empty_clients_and_empty_batches_keep_the_cohort_layout():
    def batches():
        for n in (2, 0, 3, 0):
            yield np.full((n, 2), n, np.float32), np.full(n, n, np.int32)

    spec = (tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.int32))
    with_gaps = tf.data.Dataset.from_generator(batches, output_signature=spec)  # length unknown to TensorFlow
    empty = clients([0])[0].map(lambda x, y: (x[:, :2], y))
    cohort = pack_datasets([with_gaps, empty, clients([5], features=2)[0]], cohort_type((2,)))
    assert cohort.x.shape == (3, 4, 4, 2)
    np.testing.assert_array_equal(cohort.mask[0].numpy().sum(axis=-1), [2, 3, 0, 0])  # real batches first
    assert examples(cohort, 0) == [2, 2, 3, 3, 3] and examples(cohort, 1) == []
    np.testing.assert_array_equal(cohort.x[0, 1, :3].numpy(), np.full((3, 2), 3))
    assert pack_datasets([empty], cohort_type((2,))).x.shape == (1, 0, 0, 2)


@pytest.mark.parametrize("dataset, message", [
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 3), np.float32), np.zeros(4))).batch(2),
     r"^client 1: examples have shape \(3,\), the model expects \(2,\)$"),
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), np.float32), np.zeros((4, 3)))).batch(2),
     r"^client 1: labels must have shape \[batch\] or \[batch, 1\]; found \(None, 3\)$"),
    (tf.data.Dataset.from_tensor_slices({"pixels": np.zeros((4, 2)), "label": np.zeros(4)}).batch(2),
     r"^client 1: a client's dataset must yield \(x, y\) batches or mappings with 'x' and 'y'; "
     r"found a mapping with keys \['label', 'pixels'\]$"),
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.array(list("abcd")))).batch(2),
     r"^client 1: a batch must hold numeric tensors with a batch axis; found TensorSpec\(shape=\(None,\), "
     r"dtype=tf.string"),
    ([(np.zeros((2, 2)), np.zeros(2))], r"^client 1: expected a tf.data.Dataset, found list$"),
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 2), np.float64), np.zeros(4, np.int32))).batch(2),
     r"^client 1: batches of \(x, y\) types \('float64', 'int32'\), client 0's \('float32', 'int32'\): "
     r"every client's dataset must yield the same types"),
    (tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.zeros(4))).batch(2).repeat(),
     r"^client 1: the dataset is infinite \(repeat\(\) without a count\)$"),
])
def test_a_dataset_that_cannot_be_packed_is_refused_naming_its_client(dataset, message):
    with pytest.raises(ValueError, match=message):
        pack_datasets([clients([3], features=2)[0], dataset], cohort_type((2,)))


def test_a_dataset_of_unknown_length_is_read_up_to_its_limit():
    unknown = clients([12], features=2, batch=1)[0].filter(lambda x, y: True)
    assert pack_datasets([unknown], cohort_type((2,)), max_batches=12).x.shape[1] == 12
    with pytest.raises(ValueError, match=r"^client 0: a dataset of unknown length has more than 11 batches "):
        pack_datasets([unknown], cohort_type((2,)), max_batches=11)
