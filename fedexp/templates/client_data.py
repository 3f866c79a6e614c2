"""The packed cohort: the client data of one round as padded tensors (DESIGN decision 3).

    x:    [clients, steps, batch, *features]
    y:    [clients, steps, batch]             integer labels
    mask: [clients, steps, batch]             1.0 for a real example, 0.0 for padding
    ids:  [clients]                           int64 client ids in the federated dataset

A client's real batches come first; padding only ever follows them, so a client's
local training visits exactly its own batches, in order. The ids let a stateful client
work (SCAFFOLD) keep per-client state, and seed each client's randomness by who it is.
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf


class Cohort(NamedTuple):
    x: tf.Tensor
    y: tf.Tensor
    mask: tf.Tensor
    ids: tf.Tensor


def cohort_type(feature_shape, x_dtype=tf.float32, y_dtype=tf.int32):
    """The type of a packed cohort whose examples have `feature_shape`: `Cohort`@CLIENTS
    (the leading, unknown axis is the cohort's)."""
    return Cohort(x=tf.TensorSpec([None, None, None, *feature_shape], x_dtype),
                  y=tf.TensorSpec([None, None, None], y_dtype),
                  mask=tf.TensorSpec([None, None, None], tf.float32),
                  ids=tf.TensorSpec([None], tf.int64))


def pack_batches(client_batches, data_type, ids=None) -> Cohort:
    """Packs each client's list of `(x, y)` batches (arrays) into a `Cohort` of `data_type`;
    the clients' `ids` are 0, 1, ... unless given.

    Empty batches are dropped; labels of shape [batch, 1] are flattened.
    """
    feature_shape = data_type.x.shape[3:]
    clients = [[(np.asarray(x), np.asarray(y).reshape(len(x))) for x, y in batches if len(x)]
               for batches in client_batches]
    steps = max((len(b) for b in clients), default=0)
    batch = max((len(x) for b in clients for x, _ in b), default=0)
    x = np.zeros([len(clients), steps, batch, *feature_shape], data_type.x.dtype.as_numpy_dtype)
    y = np.zeros([len(clients), steps, batch], data_type.y.dtype.as_numpy_dtype)
    mask = np.zeros([len(clients), steps, batch], np.float32)
    for c, batches in enumerate(clients):
        for s, (bx, by) in enumerate(batches):
            if bx.shape[1:] != tuple(feature_shape):
                raise ValueError(
                    f"client {c}, batch {s}: examples have shape {bx.shape[1:]}, the model expects {tuple(feature_shape)}")
            x[c, s, :len(bx)] = bx
            y[c, s, :len(bx)] = by
            mask[c, s, :len(bx)] = 1.0
    ids = np.arange(len(clients)) if ids is None else ids
    return Cohort(tf.constant(x), tf.constant(y), tf.constant(mask), tf.constant(ids, tf.int64))


def num_batches(mask):
    """How many batches hold data: of one client (`mask` [steps, batch]) or of each client of a
    cohort (`[clients, steps, batch]` -> `[clients]`). They come first: see `Cohort`."""
    return tf.reduce_sum(tf.cast(tf.reduce_any(mask > 0, axis=-1), tf.int32), axis=-1)
