"""Pathological non-IID (McMahan et al. 2017): every client holds exactly k classes."""

import numpy as np

from fedexp import checks
from fedexp.errors import InvalidValueError
from fedexp.data.partition._base import Partitioner


def build_shards(*, classes_per_client=2) -> Partitioner:
    """Pathological non-IID (McMahan et al. 2017): every client holds exactly `classes_per_client`
    classes, the least used so far (ties drawn at random), so each class is shared by about
    num_clients x classes_per_client / num_classes clients, who split its examples evenly.
    Returns a `Partitioner`; raises ValueError for classes_per_client < 1."""
    checks.integer("classes_per_client", classes_per_client, at_least=1)

    def split(labels, num_clients, rng):
        classes = np.unique(labels)
        k = classes_per_client
        if k > len(classes):
            refuse(f" is {k}, but the data has {len(classes)} classes")
        if num_clients * k < len(classes):
            refuse(f": {num_clients} clients x {k} classes cannot hold all {len(classes)} classes; "
                   f"raise num_clients or classes_per_client")
        holders, usage = {c: [] for c in classes}, np.zeros(len(classes))
        for client in range(num_clients):  # the k least used classes, ties broken at random
            for j in np.lexsort((rng.random(len(classes)), usage))[:k]:
                holders[classes[j]].append(client)
                usage[j] += 1
        parts = [[] for _ in range(num_clients)]
        for c, clients in holders.items():
            idx = rng.permutation(np.flatnonzero(labels == c))
            if len(idx) < len(clients):
                refuse(f": class {c} has {len(idx)} examples for {len(clients)} clients; "
                       f"lower num_clients or classes_per_client")
            for client, chunk in zip(clients, np.array_split(idx, len(clients))):
                parts[client].append(chunk)
        return [rng.permutation(np.concatenate(p)) for p in parts]

    return Partitioner({"kind": "shards", "classes_per_client": classes_per_client}, split)


def refuse(problem):
    """The data cannot be split so: the key as the data source's config names it."""
    key = "partition.classes_per_client"
    raise InvalidValueError(key, key + problem)
