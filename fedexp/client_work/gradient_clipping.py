"""The seed tutorial's client work: FedAvg local training with each step's gradient
clipped to a global norm (`clip_norm`, a hyperparameter)."""

from fedexp.client_work.model_delta import build_local_training_client_work
from fedexp.client_work.training import ClientWeighting


def build_gradient_clipping_client_work(model_fn, optimizer, clip_norm=1.0,
                                        client_weighting=ClientWeighting.NUM_EXAMPLES, *, batched="auto",
                                        devices=(), name="gradient_clipping"):
    return build_local_training_client_work(model_fn, optimizer, client_weighting, clip_norm=clip_norm,
                                            batched=batched, devices=devices, name=name)
