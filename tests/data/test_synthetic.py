import numpy as np
import pytest

from fedexp.data.synthetic import build_synthetic, generate


def test_the_seed_fixes_the_data():
    a, b, c = (generate(alpha=1.0, beta=1.0, num_clients=5, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(xa, xb) and np.array_equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert not np.array_equal(a[0][0][:10], c[0][0][:10])


def test_the_papers_shapes_and_power_law_sizes():
    split = build_synthetic(alpha=0.5, beta=0.5, num_clients=200, seed=0)
    assert split.train.x.shape[1:] == (60,) and split.train.x.dtype == np.float32
    assert split.num_classes == 10 and set(np.unique(split.train.y)) <= set(range(10))
    sizes = split.train.client_sizes + split.test.client_sizes
    assert sizes.min() >= 50 and sizes.max() > 20 * np.median(sizes) / 2  # lognormal(4, 2) + 50: a heavy tail
    assert np.allclose(split.test.client_sizes / sizes, 0.1, atol=0.02)


def test_beta_moves_the_clients_inputs_apart():
    def spread(beta):
        return np.std([x.mean() for x, _ in generate(alpha=0.0, beta=beta, num_clients=100, seed=0)])
    assert spread(10.0) > 5 * spread(0.0)


def test_iid_clients_share_one_model():
    """With a shared model, the labels of all clients together are those of one softmax over the inputs."""
    from sklearn.linear_model import LogisticRegression

    def fit(clients):  # 60 examples of each client
        x, y = np.concatenate([x[:60] for x, _ in clients]), np.concatenate([y[:60] for _, y in clients])
        return LogisticRegression(C=100.0, max_iter=500).fit(x, y).score(x, y)
    iid = generate(alpha=1.0, beta=1.0, num_clients=20, iid=True, seed=0)
    assert fit(iid) > 0.95
    # Each client's own model and inputs give it few labels (the paper's heterogeneity).
    labels = {name: np.mean([len(np.unique(y)) for _, y in clients]) for name, clients in
              (("iid", iid), ("non-iid", generate(alpha=1.0, beta=1.0, num_clients=20, seed=0)))}
    assert labels["non-iid"] < 4 < labels["iid"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(alpha=-1), "alpha must be a number >= 0, found -1"),
    (dict(num_clients=0), "num_clients must be an integer >= 1, found 0"),
    (dict(test_fraction=1.0), "test_fraction must be between 0 and 1, found 1.0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_synthetic(**kwargs)
