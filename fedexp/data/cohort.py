"""The packed cohort: the client data of one round as padded tensors (DESIGN decision 3).

    x:    [clients, steps, batch, *features]
    y:    [clients, steps, batch]             integer labels
    mask: [clients, steps, batch]             1.0 for a real example, 0.0 for padding
    ids:  [clients]                           int64 client ids in the federated dataset

A client's real batches come first; padding only ever follows them, so a client's
local training visits exactly its own batches, in order. The ids let a stateful client
work (SCAFFOLD) keep per-client state, and seed each client's randomness by who it is.
"""

import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf

ALIGNMENT = 64  # bytes, as TensorFlow's CPU kernels (Eigen) require


class Cohort(NamedTuple):
    x: tf.Tensor
    y: tf.Tensor
    mask: tf.Tensor
    ids: tf.Tensor


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialized array whose memory TensorFlow can compute on as it is (see `as_tensors`)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize  # (math.prod: np.prod costs 4 us a call)
    memory = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -memory.ctypes.data % ALIGNMENT
    return memory[start:start + nbytes].view(dtype).reshape(shape)


def as_tensors(cohort: Cohort, device=None) -> Cohort:
    """A cohort of arrays as tensors over the same memory when it is `aligned_empty`'s (DLPack:
    a round's cohort is megabytes, and a copy costs as much as a small model's round), else as
    copies; the arrays must not be written to afterwards. Copied to `device` if not the CPU."""
    def tensor(a):
        if a.ctypes.data % ALIGNMENT or not a.flags.c_contiguous:
            return tf.constant(a)
        return tf.experimental.dlpack.from_dlpack(a.__dlpack__())

    tensors = Cohort(*map(tensor, cohort))
    if device is None or tf.DeviceSpec.from_string(device).device_type in (None, "CPU"):
        return tensors
    with tf.device(device):
        return tf.nest.map_structure(tf.identity, tensors)


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


def pack_datasets(datasets, data_type, ids=None) -> Cohort:
    """Packs a TFF-style cohort, one `tf.data.Dataset` of `(x, y)` batches per client, iterated as given."""
    return pack_batches([[(x.numpy(), y.numpy()) for x, y in ds] for ds in datasets], data_type, ids)
