"""Splitting a centralized dataset into clients (`conf/data/partition/*.yaml`).

A partitioner is built from its hyperparameters and called as

    partitioner(labels, num_clients, rng) -> [index array of client 0, client 1, ...]

covering every example exactly once. `partition` runs one, seeded, and caches its result
on disk under a hash of everything it depends on.
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np


class Partitioner(NamedTuple):
    config: dict  # its name and hyperparameters: part of the cache key
    split: Callable


def build_iid() -> Partitioner:
    """Shuffled examples in parts whose sizes differ by at most one."""
    return Partitioner({"kind": "iid"}, lambda labels, num_clients, rng: iid_partition(len(labels), num_clients, rng))


def build_dirichlet(*, alpha=0.5, min_size=1) -> Partitioner:
    """Label skew (Hsu et al. 2019): each class is spread over the clients in proportions drawn
    from Dirichlet(alpha); a small alpha gives each client few classes."""
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"alpha must be a number > 0, found {alpha!r}")
    check_min_size(min_size)
    return Partitioner({"kind": "dirichlet", "alpha": alpha, "min_size": min_size},
                       lambda labels, num_clients, rng: dirichlet_partition(labels, num_clients, alpha, rng,
                                                                            min_size=min_size))


def build_shards(*, classes_per_client=2) -> Partitioner:
    """Pathological non-IID (McMahan et al. 2017): every client holds exactly `classes_per_client`
    classes, the least used so far (ties drawn at random), so each class is shared by about
    num_clients x classes_per_client / num_classes clients, who split its examples evenly."""
    if not (isinstance(classes_per_client, int) and classes_per_client >= 1):
        raise ValueError(f"classes_per_client must be an integer >= 1, found {classes_per_client!r}")

    def split(labels, num_clients, rng):
        classes = np.unique(labels)
        k = classes_per_client
        if k > len(classes):
            raise ValueError(f"partition.classes_per_client is {k}, but the data has {len(classes)} classes")
        if num_clients * k < len(classes):
            raise ValueError(f"partition.classes_per_client: {num_clients} clients x {k} classes cannot hold all "
                             f"{len(classes)} classes; raise num_clients or classes_per_client")
        holders, usage = {c: [] for c in classes}, np.zeros(len(classes))
        for client in range(num_clients):  # the k least used classes, ties broken at random
            for j in np.lexsort((rng.random(len(classes)), usage))[:k]:
                holders[classes[j]].append(client)
                usage[j] += 1
        parts = [[] for _ in range(num_clients)]
        for c, clients in holders.items():
            idx = rng.permutation(np.flatnonzero(labels == c))
            if len(idx) < len(clients):
                raise ValueError(f"partition.classes_per_client: class {c} has {len(idx)} examples for "
                                 f"{len(clients)} clients; lower num_clients or classes_per_client")
            for client, chunk in zip(clients, np.array_split(idx, len(clients))):
                parts[client].append(chunk)
        return [rng.permutation(np.concatenate(p)) for p in parts]

    return Partitioner({"kind": "shards", "classes_per_client": classes_per_client}, split)


def build_size_skew(*, distribution="lognormal", sigma=1.0, exponent=1.5, min_size=1) -> Partitioner:
    """IID labels, unequal sizes: client shares drawn log-normal(0, sigma) or power law
    (Pareto with `exponent`), every client given at least `min_size` examples."""
    draws = {"lognormal": lambda rng, n: rng.lognormal(0.0, sigma, n),
             "power_law": lambda rng, n: rng.pareto(exponent, n) + 1.0}
    if distribution not in draws:
        raise ValueError(f"distribution must be one of {sorted(draws)}, found {distribution!r}")
    for key, value in (("sigma", sigma), ("exponent", exponent)):
        if not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"{key} must be a number > 0, found {value!r}")
    check_min_size(min_size)

    def split(labels, num_clients, rng):
        spare = len(labels) - num_clients * min_size
        if spare < 0:
            raise ValueError(f"{len(labels)} examples cannot give {num_clients} clients {min_size} each")
        share = draws[distribution](rng, num_clients)
        sizes = min_size + largest_remainder(share / share.sum() * spare)
        return np.split(rng.permutation(len(labels)), np.cumsum(sizes)[:-1])

    return Partitioner({"kind": "size_skew", "distribution": distribution, "sigma": sigma, "exponent": exponent,
                        "min_size": min_size}, split)


def check_min_size(min_size):
    if not (isinstance(min_size, int) and min_size >= 1):
        raise ValueError(f"min_size must be an integer >= 1, found {min_size!r}")


def largest_remainder(quotas) -> np.ndarray:
    """Integers summing to round(sum(quotas)), each the floor of its quota or one more."""
    sizes = np.floor(quotas).astype(np.int64)
    extra = int(round(quotas.sum())) - sizes.sum()
    sizes[np.argsort(sizes - quotas)[:extra]] += 1
    return sizes


def iid_partition(num_examples, num_clients, rng):
    return np.array_split(rng.permutation(num_examples), num_clients)


def dirichlet_partition(labels, num_clients, alpha, rng, *, min_size=1, max_tries=1000):
    """Redrawn until every client has at least `min_size` examples."""
    labels = np.asarray(labels)
    if num_clients * min_size > len(labels):
        raise ValueError(f"{len(labels)} examples cannot give {num_clients} clients {min_size} each")
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    for _ in range(max_tries):
        parts = [[] for _ in range(num_clients)]
        for idx in by_class:
            cuts = (np.cumsum(rng.dirichlet(np.full(num_clients, alpha))) * len(idx)).astype(int)[:-1]
            for part, chunk in zip(parts, np.split(idx, cuts)):
                part.append(chunk)
        parts = [np.concatenate(p) for p in parts]
        if min(len(p) for p in parts) >= min_size:
            return [rng.permutation(p) for p in parts]
    raise ValueError(f"Dirichlet(alpha={alpha}) left a client with fewer than {min_size} examples "
                     f"in {max_tries} draws; raise alpha or lower num_clients")


def partition(partitioner: Partitioner, labels, num_clients, *, seed, cache_dir=None):
    """`partitioner`'s split of `labels` into `num_clients`, from `seed`; with `cache_dir`,
    read from (or written to) `<cache_dir>/partition-<hash>.npz`, the hash covering the
    partitioner's config, the labels, the number of clients and the seed."""
    labels = np.asarray(labels)
    if not (isinstance(num_clients, int) and num_clients >= 1):
        raise ValueError(f"num_clients must be an integer >= 1, found {num_clients!r}")
    if num_clients > len(labels):
        raise ValueError(f"num_clients must be at most the number of examples ({len(labels)}), found {num_clients}")
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
