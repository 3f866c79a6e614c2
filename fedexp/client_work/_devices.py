"""Where a cohort trains: split across devices, and side by side on a CPU in one part per core."""

import os

import tensorflow as tf


def across_devices(devices, fn, clients_args):
    """Runs `fn(*clients_args)` with the cohort split into one part per device, each part
    placed on its device, and the parts' results stacked back: the aggregator then sees the
    whole cohort and aggregates once. With fewer than two devices, `fn` runs as it is."""
    if len(devices) < 2:
        return fn(*clients_args)
    flat = tf.nest.flatten(clients_args)
    n, parts = tf.shape(flat[0])[0], len(devices)
    sizes = n // parts + tf.cast(tf.range(parts) < n % parts, tf.int32)
    splits = [tf.split(t, sizes, num=parts) for t in flat]
    outputs = []
    for k, device in enumerate(devices):
        with tf.device(device):
            outputs.append(fn(*tf.nest.pack_sequence_as(clients_args, [s[k] for s in splits])))
    stacked = [tf.concat(leaves, 0) for leaves in zip(*(tf.nest.flatten(o) for o in outputs))]
    return tf.nest.pack_sequence_as(outputs[0], stacked)


def lanes(devices, limit=8):
    """The parts a cohort trained side by side is split into: one per GPU (or the default
    device when none is given and a GPU is visible), and on a CPU one per core, up to `limit`:
    XLA runs each batched step on one core, so separate parts use them all at once."""
    if not devices and tf.config.list_logical_devices("GPU"):
        return ()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return tuple(d for d in devices or ("/CPU:0",)
                 for _ in range(min(cores, limit) if tf.DeviceSpec.from_string(d).device_type == "CPU" else 1))
