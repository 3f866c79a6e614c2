"""Which clients take part in each round, and their packed data, prepared one round ahead."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fedexp.data._packing import as_tensors


def sample_clients(num_clients, per_round, *, seed, round_num, sizes=None, stream=1) -> np.ndarray:
    """`per_round` distinct client ids drawn from the root seed and the round: uniformly, or,
    given the clients' `sizes`, each draw with probability proportional to the size of the
    clients not yet drawn (numpy's weighted sampling without replacement). `stream` keeps
    other draws (federated evaluation's) apart from training's."""
    p = None if sizes is None else np.asarray(sizes, np.float64) / np.sum(sizes)
    return np.random.default_rng([seed, stream, round_num]).choice(num_clients, per_round, replace=False, p=p)


def worker_part(per_round, rank, workers) -> slice:
    """The positions of a round's cohort that worker `rank` of `workers` trains: contiguous, as even as can be."""
    return slice(rank * per_round // workers, (rank + 1) * per_round // workers)


def cohorts(split, per_round, round_nums, *, seed, by_size=False, device=None, part=None):
    """Yields `(round_num, client_ids, Cohort)` for each of `round_nums`, as the `fedexp` command trains.

    While the caller runs a round, the next round's cohort is sampled and packed in a
    background thread, as `tf.data`'s prefetch would. The thread runs NumPy only: TensorFlow
    ops issued from it slow the round's own (by 0.3 ms of a linear model's 3.5 ms round).
    The cohort is placed on `device`; `by_size` samples clients in proportion to their size.
    `part` (a slice of the cohort's positions, `worker_part`) yields only those clients' data.
    """
    sizes = split.train.client_sizes if by_size else None

    def prepare(round_num):
        clients = sample_clients(split.train.num_clients, per_round, seed=seed, round_num=round_num, sizes=sizes)
        return clients, split.train.pack(clients, batch_size=split.batch_size, epochs=split.epochs,
                                         seed=[seed, 2, round_num], part=part)

    round_nums = list(round_nums)
    with ThreadPoolExecutor(1, thread_name_prefix="fedexp-cohort") as pool:
        ahead = pool.submit(prepare, round_nums[0]) if round_nums else None
        for i, round_num in enumerate(round_nums):
            clients, packed = ahead.result()
            if i + 1 < len(round_nums):
                ahead = pool.submit(prepare, round_nums[i + 1])
            yield round_num, clients, as_tensors(packed, device)
