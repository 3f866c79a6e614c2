"""What partitioners share: the `Partitioner` pair, and `partition`, which runs one, seeded, and
caches its result on disk under a hash of everything it depends on.

A partitioner is built from its hyperparameters and called as

    partitioner(labels, num_clients, rng) -> [index array of client 0, client 1, ...]

covering every example exactly once.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from fedexp import checks


class Partitioner(NamedTuple):
    config: dict  # its name and hyperparameters: part of the cache key
    split: Callable


def check_min_size(min_size):
    checks.integer("min_size", min_size, at_least=1)


def check_enough_examples(labels, num_clients, min_size):
    if num_clients * min_size > len(labels):
        raise ValueError(f"{len(labels)} examples cannot give {num_clients} clients {min_size} each")


def largest_remainder(quotas) -> np.ndarray:
    """Integers summing to round(sum(quotas)), each the floor of its quota or one more."""
    sizes = np.floor(quotas).astype(np.int64)
    extra = int(round(quotas.sum())) - sizes.sum()
    sizes[np.argsort(sizes - quotas)[:extra]] += 1
    return sizes


def partition(partitioner: Partitioner, labels, num_clients, *, seed, cache_dir=None):
    """`partitioner`'s split of `labels` into `num_clients`, from `seed`; with `cache_dir`,
    read from (or written to) `<cache_dir>/partition-<hash>.npz`, the hash covering the
    partitioner's config, the labels, the number of clients and the seed."""
    labels = np.asarray(labels)
    checks.integer("num_clients", num_clients, at_least=1)
    checks.require("num_clients", num_clients, num_clients <= len(labels),
                   f"at most the number of examples ({len(labels)})")
    path = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps([partitioner.config, num_clients, seed], sort_keys=True).encode()
                             + np.ascontiguousarray(labels).tobytes()).hexdigest()[:16]
        path = Path(cache_dir) / f"partition-{key}.npz"
        if path.exists():
            with np.load(path) as saved:
                return np.split(saved["order"], np.cumsum(saved["sizes"])[:-1])
    parts = partitioner.split(labels, num_clients, np.random.default_rng([seed, 0]))
    empty = [c for c, p in enumerate(parts) if len(p) == 0]
    if empty:
        raise ValueError(f"the partition leaves {len(empty)} client(s) without examples (client {empty[0]}); "
                         f"lower num_clients or change the partition")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: parallel jobs of a sweep may write the same partition at once.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
            np.savez(f, order=np.concatenate(parts), sizes=[len(p) for p in parts])
        os.replace(f.name, path)
    return parts
