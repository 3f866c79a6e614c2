"""Helpers for the client-behaviour tests (`fedexp.client_work._behavior`): an honest FedAvg client work
on the 6-feature linear model, and one round of a client work on given clients."""

import numpy as np

import fedexp
from fedexp.client_work._behavior import build_client_behavior
from fedexp.model._functional import ModelWeights
from tests.conftest import broadcast, pack, random_clients


def honest(linear_fn):
    return fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(0.1))


def behaving(linear_fn, num_clients=8, **behaviors):
    return build_client_behavior(honest(linear_fn), num_clients=num_clients, num_classes=3, **behaviors)


def clients(seed=0, sizes=(9, 12, 7, 10, 8, 11)):
    return random_clients(np.random.default_rng(seed), list(sizes), batch_size=4)


def round_of(work, linear_fn, data, state=None):
    """One round of `work` on `data` (each client's batches; ids 0, 1, …): (updates as arrays, weights, output)."""
    weights = ModelWeights.from_model(linear_fn())
    out = work.next(work.initialize() if state is None else state, broadcast(weights, len(data)), pack(data))
    return [u.numpy() for u in out.result.update], out.result.update_weight.numpy(), out
