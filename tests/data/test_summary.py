import numpy as np

from fedexp.data._federated import FederatedData, FederatedSplit
from fedexp.data._summary import describe, label_counts, summarize


def split():
    # client 0: labels 0 0 1; client 1: label 2; client 2: labels 1 1 1 1 (stored out of order)
    train = FederatedData(np.zeros((8, 2), np.float32), [0, 1, 0, 2, 1, 1, 1, 1], [3, 1, 4],
                          order=[0, 2, 1, 3, 4, 5, 6, 7])
    return FederatedSplit(train, FederatedData(np.zeros((2, 2), np.float32), [0, 2], [1, 1]), batch_size=2, epochs=1)


def test_label_counts_and_summary():
    s = split()
    np.testing.assert_array_equal(label_counts(s.train, 3), [[2, 1, 0], [0, 0, 1], [0, 4, 0]])
    assert summarize(s) == {"num_clients": 3, "num_examples": 8, "examples_per_client_min": 1,
                            "examples_per_client_median": 3.0, "examples_per_client_max": 4,
                            "labels_per_client_mean": 4 / 3, "num_classes": 3, "test_clients": 2, "test_examples": 2}
    assert describe(summarize(s)).startswith("3 clients, 8 training examples (per client: min 1, median 3, max 4)")
