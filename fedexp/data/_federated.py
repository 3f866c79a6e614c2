"""A federated dataset held in memory once: the examples as given, plus each client's indices.

Building a round's `Cohort` gathers the sampled clients' examples into padded
`[clients, steps, batch, ...]` arrays with one NumPy gather, placed on the device once;
no per-client `tf.data` pipeline is involved (DESIGN decision 3).
"""

import copy

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.data._packing import aligned_empty, as_tensors
from fedexp.data.partition._base import partition as partition_examples
from fedexp.templates.client_data import Cohort


class FederatedData:
    def __init__(self, x, y, client_sizes, order=None):
        """`x`, `y`: every example; `client_sizes[c]`: how many belong to client c, who holds
        `x[order[k]]` for the k in its range (by default the examples come client by client).
        The examples are kept as given, never copied; labels become int32."""
        self.x = np.asarray(x)
        self.y = np.asarray(y, np.int32)  # the cohort's label type
        self.client_sizes = np.asarray(client_sizes, np.int64)
        self.order = np.arange(len(self.x)) if order is None else np.asarray(order, np.int64)
        if self.client_sizes.sum() != len(self.order) or len(self.x) != len(self.y):
            raise ValueError(f"client sizes sum to {self.client_sizes.sum()}, but there are "
                             f"{len(self.order)} examples and {len(self.y)} labels")
        self.offsets = np.concatenate([[0], np.cumsum(self.client_sizes)])

    @classmethod
    def from_partition(cls, x, y, partition):
        """`partition[c]` holds the indices of client c's examples in `x` and `y`."""
        order = np.concatenate(partition) if len(partition) else np.zeros(0, np.int64)
        return cls(x, y, [len(p) for p in partition], order)

    @property
    def num_clients(self) -> int:
        return len(self.client_sizes)

    def client_indices(self, client_id):
        """Where client `client_id`'s examples are in `x` and `y`."""
        return self.order[self.offsets[client_id]:self.offsets[client_id + 1]]

    def cohort(self, client_ids, *, batch_size, epochs=1, seed=None, part=None) -> Cohort:
        """The packed data of `client_ids` for `epochs` passes in batches of `batch_size`, as
        tensors (see `pack`)."""
        return as_tensors(self.pack(client_ids, batch_size=batch_size, epochs=epochs, seed=seed, part=part))

    def pack(self, client_ids, *, batch_size, epochs=1, seed=None, part=None) -> Cohort:
        """The packed data of `client_ids` for `epochs` passes in batches of `batch_size`, as
        NumPy arrays that `as_tensors` makes tensors of without copying.

        The steps axis is padded to one of a few sizes (5, 6, 7, 8, 10, 12, 14, 16, 20, ...).
        With a seed each client's examples are shuffled anew every epoch (and batches run
        across epoch boundaries, as `ds.shuffle().repeat(epochs).batch()` would); without
        one they come in their stored order. `part` (a slice of the cohort's positions) packs only
        those clients, each shuffled as in the whole cohort: a worker's share of a round.
        """
        ids = np.asarray(client_ids, np.int64)
        sizes = self.client_sizes[ids] * epochs  # examples each client visits
        # One segment per (client, epoch), client-major; each is that client's examples, shuffled apart.
        seg_lens = np.repeat(self.client_sizes[ids], epochs)
        seg_starts = np.repeat(self.offsets[ids], epochs)
        seg_of = np.repeat(np.arange(len(seg_lens)), seg_lens)
        within = np.arange(seg_lens.sum()) - np.repeat(np.cumsum(seg_lens) - seg_lens, seg_lens)
        if seed is not None:
            within = within[np.lexsort((np.random.default_rng(seed).random(len(within)), seg_of))]
        examples = self.order[seg_starts[seg_of] + within]
        if part is not None:  # client-major: a part's examples are contiguous
            bounds = np.concatenate([[0], np.cumsum(sizes)])
            examples = examples[bounds[part.start]:bounds[part.stop]]
            ids, sizes = ids[part], sizes[part]
        steps = int(-(-sizes.max() // batch_size)) if len(ids) else 0
        granule = 1 << max(steps.bit_length() - 3, 0)  # at most 4 sizes per octave, <= 25% padding:
        steps = -(-steps // granule) * granule          # rounds share a few shapes for XLA to compile
        padded = np.full([len(ids), steps * batch_size], -1, np.int64)
        client_of = np.repeat(np.arange(len(ids)), sizes)
        padded[client_of, np.arange(len(examples)) - np.repeat(np.cumsum(sizes) - sizes, sizes)] = examples
        # Gathered here and sent to the device once per round: the dataset itself stays in host
        # memory once (a TensorFlow copy of it would double, and briefly triple, the footprint).
        shape = (len(ids), steps, batch_size)
        gathered = np.maximum(padded, 0).reshape(shape)
        packed = Cohort(aligned_empty(shape + self.x.shape[1:], self.x.dtype), aligned_empty(shape, np.int32),
                        aligned_empty(shape, np.float32), aligned_empty(ids.shape, np.int64))
        for rows, out in ((self.x, packed.x), (self.y, packed.y)):
            np.take(rows, gathered, axis=0, out=out, mode="clip")  # (valid indices; "raise" would buffer)
        np.greater_equal(padded.reshape(shape), 0, out=packed.mask, casting="unsafe")
        packed.ids[:] = ids
        return packed

    def client_dataset(self, client_id, *, batch_size) -> tf.data.Dataset:
        """One client's examples as a TFF-style dataset of `(x, y)` batches, in stored order."""
        idx = self.client_indices(client_id)
        return tf.data.Dataset.from_tensor_slices((self.x[idx], self.y[idx])).batch(batch_size)


class FederatedSplit:
    """What a data source gives a run: the clients' training data, the test data, and how each
    client serves its data (batch size, local epochs).

    `test` holds the test examples by client: the same clients' held-out examples for a
    natural split (TFF's EMNIST), or held-out clients split like the training ones for a
    partitioned source. Centralized evaluation uses all of them (`test_x`, `test_y`);
    federated evaluation samples its clients.
    """

    def __init__(self, train: FederatedData, test: FederatedData, *, batch_size, epochs, num_classes=None,
                 sources=("the training split", "the test split"), key=None):
        """`sources` name where `train` and `test` came from (a file, or a description), and `key` the builder's
        key for them (`path`), in the error refusing examples no round can learn from (`check_examples`)."""
        checks.integer("batch_size", batch_size, at_least=1)
        checks.integer("epochs", epochs, at_least=1)
        self.train, self.test = train, test
        self.sources = tuple(sources)
        self.batch_size, self.epochs = batch_size, epochs
        self.num_classes = num_classes or int(max(train.y.max(initial=0), test.y.max(initial=0))) + 1
        for data, source in zip((train, test), sources):
            check_examples(data, self.num_classes, source, key)

    @classmethod
    def partitioned(cls, x, y, test_x, test_y, *, partition, num_clients, test_clients, seed, cache_dir=None,
                    **kwargs):
        """A centralized dataset split by `partition` (a `Partitioner`) into `num_clients` training
        clients, and its test set into `test_clients` held-out clients of the same kind."""
        checks.integer("test_clients", test_clients, at_least=1)
        train_parts = partition_examples(partition, y, num_clients, seed=seed, cache_dir=cache_dir)
        try:
            test_parts = partition_examples(partition, test_y, test_clients, seed=seed + 1, cache_dir=cache_dir)
        except ValueError as e:
            checks.refuse("test_clients", e)
        return cls(FederatedData.from_partition(x, y, train_parts),
                   FederatedData.from_partition(test_x, test_y, test_parts), **kwargs)

    @property
    def test_x(self):
        return self.test.x[self.test.order]

    @property
    def test_y(self):
        return self.test.y[self.test.order]

    def reshaped(self, feature_shape) -> "FederatedSplit":
        """The same split with examples reshaped for a model's input (784 -> 28x28x1)."""
        size = int(np.prod(self.train.x.shape[1:]))
        if size != int(np.prod(feature_shape)):
            raise ValueError(f"examples have {size} values; the model's input shape {tuple(feature_shape)} "
                             f"needs {int(np.prod(feature_shape))}")
        split = copy.copy(self)  # the examples were checked when it was made
        split.train, split.test = (FederatedData(d.x.reshape(-1, *feature_shape), d.y, d.client_sizes, d.order)
                                   for d in (self.train, self.test))
        return split


def check_examples(data: FederatedData, num_classes, source, key=None):
    """Refuses examples of `data`'s clients that no round can learn from — a feature that is NaN or
    infinite, a label outside [0, num_classes) — with how many there are and the first client holding
    one: `{key}: {source} has 3 examples with a feature that is NaN or infinite, the first in client 7`."""
    flat = data.x.reshape(len(data.x), -1)
    finite = np.ones(len(flat), bool) if not np.issubdtype(flat.dtype, np.inexact) or not flat.size else \
        np.isfinite(flat.max(axis=1)) & np.isfinite(flat.min(axis=1))  # NaN and inf survive max/min; no copy
    for bad, what in ((~finite[data.order], "a feature that is NaN or infinite"),
                      (((data.y < 0) | (data.y >= num_classes))[data.order],
                       f"a label outside 0..{num_classes - 1} ({num_classes} classes)")):
        if bad.any():
            client = int(np.searchsorted(data.offsets, np.argmax(bad), side="right")) - 1
            count = int(bad.sum())
            problem = f"{source} has {count} example{'s' * (count > 1)} with {what}, the first in client {client}"
            if key:
                checks.refuse(key, problem)
            raise ValueError(problem)
