"""What a federated split looks like: how many clients, how big, which labels each holds.

Logged to MLflow once per run (`data/…` metrics at step 0; the per-client counts and their
heatmap are drawn by `fedexp.tracking._artifacts`) and printed by `fedexp … +inspect=true`.
"""

import numpy as np


def label_counts(data, num_classes) -> np.ndarray:
    """`[clients, classes]`: how many examples of each label every client of `data` holds."""
    counts = np.zeros((data.num_clients, num_classes), np.int64)
    np.add.at(counts, (np.repeat(np.arange(data.num_clients), data.client_sizes), data.y[data.order]), 1)
    return counts


def summarize(split) -> dict:
    sizes = split.train.client_sizes
    held = (label_counts(split.train, split.num_classes) > 0).sum(1)
    return {"num_clients": split.train.num_clients, "num_examples": int(sizes.sum()),
            "examples_per_client_min": int(sizes.min()), "examples_per_client_median": float(np.median(sizes)),
            "examples_per_client_max": int(sizes.max()), "labels_per_client_mean": float(held.mean()),
            "num_classes": split.num_classes, "test_clients": split.test.num_clients,
            "test_examples": int(split.test.client_sizes.sum())}


def describe(summary) -> str:
    s = summary
    return (f"{s['num_clients']} clients, {s['num_examples']} training examples "
            f"(per client: min {s['examples_per_client_min']}, median {s['examples_per_client_median']:g}, "
            f"max {s['examples_per_client_max']}), {s['num_classes']} classes "
            f"({s['labels_per_client_mean']:.2f} per client on average); "
            f"test: {s['test_examples']} examples on {s['test_clients']} clients")
