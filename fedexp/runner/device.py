"""Where a run computes, and in what precision.

`device`: auto (a GPU when TensorFlow sees one, else the CPU), cpu or gpu. GPUs get memory
growth, so a run takes what it needs rather than the whole card.
`precision`: float32, or Keras's mixed_float16 / mixed_bfloat16 policies (weights stay
float32; layers compute in 16 bits; fedexp computes the loss in float32).
"""

import contextlib

import keras
import tensorflow as tf

from fedexp import checks
from fedexp.errors import ConfigError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


def select_devices(device) -> list:
    """The devices a run computes on: every visible GPU (the cohort is split across them), or the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    checks.one_of("device", device, ("auto", "cpu", "gpu"))
    if device == "gpu" and not gpus:
        raise ConfigError("device: gpu was asked for, but TensorFlow sees no GPU; use device=auto or device=cpu")
    if device == "cpu" or not gpus:
        return ["/CPU:0"]
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized by an earlier run in this process
            pass
    return [d.name for d in tf.config.list_logical_devices("GPU")]


@contextlib.contextmanager
def precision_policy(precision):
    checks.one_of("precision", precision, PRECISIONS)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
