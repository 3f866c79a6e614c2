"""A round's cohort packed by NumPy into memory that TensorFlow computes on without a copy."""

import math

import numpy as np
import tensorflow as tf

from fedexp.templates.client_data import Cohort

ALIGNMENT = 64  # bytes, as TensorFlow's CPU kernels (Eigen) require


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
