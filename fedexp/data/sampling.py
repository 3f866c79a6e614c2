"""Which clients take part in each round, and their packed data, prepared one round ahead."""

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf


def sample_clients(num_clients, per_round, *, seed, round_num) -> np.ndarray:
    """`per_round` distinct client ids, uniformly at random, drawn from the root seed and the round."""
    return np.random.default_rng([seed, 1, round_num]).choice(num_clients, per_round, replace=False)


def cohorts(split, per_round, round_nums, *, seed, device=None):
    """Yields `(round_num, client_ids, Cohort)` for each of `round_nums`, as the `fedexp` command trains.

    While the caller runs a round, the next round's cohort is sampled and packed in a
    background thread (NumPy's gather and TensorFlow's execution both release the GIL),
    as `tf.data`'s prefetch would: with rounds back to back, packing costs no time.
    The cohort is placed on `device`.
    """
    def prepare(round_num):
        clients = sample_clients(split.train.num_clients, per_round, seed=seed, round_num=round_num)
        with tf.device(device) if device else contextlib.nullcontext():
            return clients, split.train.cohort(clients, batch_size=split.batch_size, epochs=split.epochs,
                                               seed=[seed, 2, round_num])

    round_nums = list(round_nums)
    with ThreadPoolExecutor(1, thread_name_prefix="fedexp-cohort") as pool:
        ahead = pool.submit(prepare, round_nums[0]) if round_nums else None
        for i, round_num in enumerate(round_nums):
            clients, cohort = ahead.result()
            if i + 1 < len(round_nums):
                ahead = pool.submit(prepare, round_nums[i + 1])
            yield round_num, clients, cohort
